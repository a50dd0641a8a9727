/*
 * fuzz-record.c: the journal record decoder, as recovery meets it: any
 * bytes at the tail of a segment.  Input: a run of records.
 *
 * Promises checked: fb_record_decode reads no byte past avail (the input
 * is an exact-size copy, so ASan sees any overread); a record it accepts
 * takes at least a header and at most avail bytes; encoding the decoded
 * operation again gives a record that decodes to the same operation and
 * sequence number, and, marked again if the input was (FB_RECORD_WRITE,
 * fb_record_mark_write), the input's very bytes: the mark is the type's
 * top bit alone and its CRC the one the writer computes; any record,
 * marked, decodes to the same operation with the mark; and a record cut
 * short is never accepted.
 */

#include "fb_fuzz.h"

#include <string.h>

#include "fb_record.h"


static void
same_op(const fb_record_t *a, const fb_record_t *b)
{
    fb_fuzz_assert(a->seq == b->seq);
    fb_fuzz_assert(a->op.type == b->op.type);
    fb_fuzz_assert(a->op.id == b->op.id);
    fb_fuzz_assert(a->op.to_id == b->op.to_id);
    fb_fuzz_assert(a->op.amount == b->op.amount);
    fb_fuzz_assert(a->op.balance == b->op.balance);
    fb_fuzz_assert(a->op.to_balance == b->op.to_balance);
    fb_fuzz_assert(a->op.created == b->op.created);
    fb_fuzz_assert(a->op.owner_len == b->op.owner_len);
    fb_fuzz_assert(a->op.owner_len == 0
                   || memcmp(a->op.owner, b->op.owner, a->op.owner_len) == 0);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          off = 0, n;
    unsigned char  *buf, *again;
    fb_record_t     r, r2;

    buf = malloc(size ? size : 1);
    again = malloc(FB_RECORD_MAX);
    fb_fuzz_assert(buf != NULL && again != NULL);
    memcpy(buf, data, size);

    while (off < size) {
        if (fb_record_decode(buf + off, size - off, &r) != FB_RECORD_OK) {
            break;
        }

        fb_fuzz_assert(r.size > 0 && r.size <= size - off);
        fb_fuzz_assert(r.size <= FB_RECORD_MAX);

        n = fb_record_encode(&r.op, r.seq, again);
        fb_fuzz_assert(n > 0 && n <= FB_RECORD_MAX);
        fb_fuzz_assert(fb_record_decode(again, n, &r2) == FB_RECORD_OK);
        fb_fuzz_assert(r2.size == n);
        fb_fuzz_assert(!r2.write_start);
        same_op(&r, &r2);

        if (r.write_start) {
            fb_record_mark_write(again);
            fb_fuzz_assert(fb_record_decode(again, n, &r2) == FB_RECORD_OK);
            fb_fuzz_assert(r2.write_start);
            same_op(&r, &r2);
        }
        fb_fuzz_assert(n == r.size && memcmp(again, buf + off, n) == 0);

        /* Any shorter prefix of a good record is short, never a record. */
        fb_fuzz_assert(fb_record_decode(again, n - 1, &r2) != FB_RECORD_OK);

        fb_record_mark_write(again);
        fb_fuzz_assert(fb_record_decode(again, n, &r2) == FB_RECORD_OK);
        fb_fuzz_assert(r2.write_start && r2.size == n);
        same_op(&r, &r2);

        off += r.size;
    }

    free(again);
    free(buf);
    return 0;
}
