/*
 * fb_record.c: encoding and decoding journal records, segment headers and
 * the names of the data directory's files.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fb_crc32c.h"
#include "fb_record.h"

#define FB_PAYLOAD_CREATE_MIN   18
#define FB_PAYLOAD_MOVE         24
#define FB_PAYLOAD_TRANSFER     40

_Static_assert(FB_RECORD_HEAD + FB_RECORD_FIXED + FB_PAYLOAD_TRANSFER
               <= FB_RECORD_MAX, "a transfer fits a record");


size_t
fb_record_encode(const fb_op_t *op, uint64_t seq, unsigned char *dst)
{
    size_t          n;
    unsigned char  *p = dst + FB_RECORD_HEAD + FB_RECORD_FIXED;

    switch (op->type) {
    case FB_OP_CREATE:
        fb_put_u64(p, (uint64_t) op->id);
        fb_put_u64(p + 8, (uint64_t) op->created);
        fb_put_u16(p + 16, (uint16_t) op->owner_len);
        memcpy(p + 18, op->owner, op->owner_len);
        n = FB_PAYLOAD_CREATE_MIN + op->owner_len;
        break;

    case FB_OP_DEPOSIT:
    case FB_OP_WITHDRAW:
        fb_put_u64(p, (uint64_t) op->id);
        fb_put_u64(p + 8, (uint64_t) op->amount);
        fb_put_u64(p + 16, (uint64_t) op->balance);
        n = FB_PAYLOAD_MOVE;
        break;

    default:  /* FB_OP_TRANSFER */
        fb_put_u64(p, (uint64_t) op->id);
        fb_put_u64(p + 8, (uint64_t) op->to_id);
        fb_put_u64(p + 16, (uint64_t) op->amount);
        fb_put_u64(p + 24, (uint64_t) op->balance);
        fb_put_u64(p + 32, (uint64_t) op->to_balance);
        n = FB_PAYLOAD_TRANSFER;
        break;
    }

    n += FB_RECORD_FIXED;

    fb_put_u64(dst + FB_RECORD_HEAD, seq);
    dst[FB_RECORD_HEAD + 8] = (unsigned char) op->type;
    fb_put_u32(dst, (uint32_t) n);
    fb_put_u32(dst + 4,
               fb_crc32c_mask(fb_crc32c(0, dst + FB_RECORD_HEAD, n)));

    return FB_RECORD_HEAD + n;
}


void
fb_record_mark_write(unsigned char *p)
{
    size_t  n = fb_get_u32(p);

    p[FB_RECORD_HEAD + 8] |= FB_RECORD_WRITE;
    fb_put_u32(p + 4, fb_crc32c_mask(fb_crc32c(0, p + FB_RECORD_HEAD, n)));
}


static int
fb_record_amount_ok(int64_t amount)
{
    return amount >= FB_AMOUNT_MIN && amount <= FB_AMOUNT_MAX;
}


fb_record_rc_e
fb_record_decode(const unsigned char *p, size_t avail, fb_record_t *r)
{
    size_t                len, plen;
    fb_op_t              *op = &r->op;
    const unsigned char  *q;

    if (avail < FB_RECORD_HEAD) {
        return FB_RECORD_SHORT;
    }

    len = fb_get_u32(p);
    if (len < FB_RECORD_FIXED || len > FB_RECORD_MAX - FB_RECORD_HEAD) {
        return FB_RECORD_BAD;
    }

    if (avail < FB_RECORD_HEAD + len) {
        return FB_RECORD_SHORT;
    }

    if (fb_crc32c_unmask(fb_get_u32(p + 4))
        != fb_crc32c(0, p + FB_RECORD_HEAD, len))
    {
        return FB_RECORD_BAD;
    }

    memset(op, 0, sizeof(*op));
    r->seq = fb_get_u64(p + FB_RECORD_HEAD);
    r->size = FB_RECORD_HEAD + len;
    r->write_start = (p[FB_RECORD_HEAD + 8] & FB_RECORD_WRITE) != 0;
    op->type = (fb_op_type_e) (p[FB_RECORD_HEAD + 8] & ~FB_RECORD_WRITE);
    q = p + FB_RECORD_HEAD + FB_RECORD_FIXED;
    plen = len - FB_RECORD_FIXED;

    if (r->seq == 0) {
        return FB_RECORD_INVALID;
    }

    /*
     * The CRC matched, so these checks fail only on a bug in the writer, a
     * newer release's record or a forged file, never on a torn write:
     * FB_RECORD_INVALID, which recovery calls corruption wherever it is.
     * They keep replay from storing what the store would never produce.
     */
    switch (op->type) {
    case FB_OP_CREATE:
        if (plen < FB_PAYLOAD_CREATE_MIN + 1) {
            return FB_RECORD_INVALID;
        }
        op->id = (int64_t) fb_get_u64(q);
        op->created = (int64_t) fb_get_u64(q + 8);
        op->owner_len = fb_get_u16(q + 16);
        op->owner = (const char *) q + 18;
        if (op->owner_len != plen - FB_PAYLOAD_CREATE_MIN
            || op->owner_len > FB_OWNER_MAX_BYTES || op->id < 1
            || op->created < 0)
        {
            return FB_RECORD_INVALID;
        }
        break;

    case FB_OP_DEPOSIT:
    case FB_OP_WITHDRAW:
        if (plen != FB_PAYLOAD_MOVE) {
            return FB_RECORD_INVALID;
        }
        op->id = (int64_t) fb_get_u64(q);
        op->amount = (int64_t) fb_get_u64(q + 8);
        op->balance = (int64_t) fb_get_u64(q + 16);
        if (op->id < 1 || !fb_record_amount_ok(op->amount)
            || op->balance < 0)
        {
            return FB_RECORD_INVALID;
        }
        break;

    case FB_OP_TRANSFER:
        if (plen != FB_PAYLOAD_TRANSFER) {
            return FB_RECORD_INVALID;
        }
        op->id = (int64_t) fb_get_u64(q);
        op->to_id = (int64_t) fb_get_u64(q + 8);
        op->amount = (int64_t) fb_get_u64(q + 16);
        op->balance = (int64_t) fb_get_u64(q + 24);
        op->to_balance = (int64_t) fb_get_u64(q + 32);
        if (op->id < 1 || op->to_id < 1 || op->id == op->to_id
            || !fb_record_amount_ok(op->amount) || op->balance < 0
            || op->to_balance < 0)
        {
            return FB_RECORD_INVALID;
        }
        break;

    default:
        return FB_RECORD_INVALID;
    }

    return FB_RECORD_OK;
}


void
fb_segment_header(unsigned char *hdr)
{
    memcpy(hdr, FB_SEGMENT_MAGIC, 8);
    fb_put_u32(hdr + 8, FB_SEGMENT_VERSION);
    fb_put_u32(hdr + 12, 0);
}


int
fb_segment_header_check(const unsigned char *hdr)
{
    uint32_t  v = fb_get_u32(hdr + 8);

    if (memcmp(hdr, FB_SEGMENT_MAGIC, 8) != 0 || v < 1
        || v > FB_SEGMENT_VERSION)
    {
        return -1;
    }

    return (int) v;
}


void
fb_segment_name(char *buf, uint64_t first_seq)
{
    snprintf(buf, FB_FILE_NAME_MAX, FB_SEGMENT_PREFIX "%020" PRIu64
             FB_SEGMENT_SUFFIX, first_seq);
}


void
fb_snapshot_name(char *buf, uint64_t seq)
{
    snprintf(buf, FB_FILE_NAME_MAX, FB_SNAPSHOT_PREFIX "%020" PRIu64
             FB_SNAPSHOT_SUFFIX, seq);
}


/* prefix, exactly 20 digits, suffix, and nothing else. */
static int
fb_name_parse(const char *name, const char *prefix, const char *suffix,
    uint64_t *out)
{
    int       i;
    size_t    pl = strlen(prefix);
    uint64_t  v = 0;

    if (strncmp(name, prefix, pl) != 0) {
        return -1;
    }

    name += pl;

    for (i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return -1;
        }
        if (v > (UINT64_MAX - (uint64_t) (name[i] - '0')) / 10) {
            return -1;
        }
        v = v * 10 + (uint64_t) (name[i] - '0');
    }

    if (strcmp(name + 20, suffix) != 0) {
        return -1;
    }

    *out = v;
    return 0;
}


int
fb_segment_name_parse(const char *name, uint64_t *first_seq)
{
    return fb_name_parse(name, FB_SEGMENT_PREFIX, FB_SEGMENT_SUFFIX,
                         first_seq);
}


int
fb_snapshot_name_parse(const char *name, uint64_t *seq)
{
    return fb_name_parse(name, FB_SNAPSHOT_PREFIX, FB_SNAPSHOT_SUFFIX, seq);
}
