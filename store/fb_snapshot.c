/*
 * fb_snapshot.c: writing and loading snapshot files (fb_snapshot.h has
 * the format).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fb_crc32c.h"
#include "fb_io.h"
#include "fb_record.h"
#include "fb_snapshot.h"

#define FB_SNAP_BUF        (1 << 20)
#define FB_SNAP_ENTRY      22          /* an entry without its owner */
#define FB_SNAP_ENTRY_MAX  (FB_SNAP_ENTRY + FB_OWNER_MAX_BYTES)

#define fb_jlog(log, level, err, ...)                                      \
    do { if ((log) != NULL) (log)(level, err, __VA_ARGS__); } while (0)


/* A buffered writer that keeps the body's CRC and length. */
typedef struct {
    int              fd;
    const char      *path;
    unsigned char   *buf;
    size_t           len;
    uint32_t         crc;
    uint64_t         body;
} fb_snap_out_t;


static int
fb_snap_flush(fb_snap_out_t *o, fb_jlog_pt log)
{
    if (o->len == 0) {
        return FB_OK;
    }

    if (fb_io_write_all(o->fd, o->buf, o->len, NULL) != 0) {
        fb_jlog(log, FB_JLOG_ERR, errno, "write() \"%s\" failed", o->path);
        return FB_ERROR;
    }

    o->len = 0;
    return FB_OK;
}


static void
fb_snap_header(unsigned char *h, uint64_t seq, uint64_t count,
    uint64_t body_len, uint32_t body_crc, uint32_t more)
{
    memset(h, 0, FB_SNAPSHOT_HEADER);
    memcpy(h, FB_SNAPSHOT_MAGIC, 8);
    fb_put_u32(h + 8, FB_SNAPSHOT_VERSION);
    fb_put_u64(h + 16, seq);
    fb_put_u64(h + 24, count);
    fb_put_u64(h + 32, body_len);
    fb_put_u32(h + 40, fb_crc32c_mask(body_crc));
    fb_put_u32(h + 44, more);
    fb_put_u32(h + 12, fb_crc32c_mask(fb_crc32c(0, h + 16,
                                                FB_SNAPSHOT_HEADER - 16)));
}


int
fb_snapshot_write(const char *path, fb_store_t *s, uint64_t seq,
    fb_snapshot_end_pt end, void *arg, fb_snapshot_info_t *info,
    fb_jlog_pt log)
{
    int             rc = FB_ERROR;
    int64_t         id;
    uint64_t        count, last;
    fb_account_t    a;
    fb_snap_out_t   o;
    unsigned char   hdr[FB_SNAPSHOT_HEADER], *e;

    memset(&o, 0, sizeof(o));
    o.path = path;

    o.buf = malloc(FB_SNAP_BUF);
    if (o.buf == NULL) {
        fb_jlog(log, FB_JLOG_ERR, errno, "malloc() failed for a snapshot");
        return FB_ERROR;
    }

    o.fd = fb_io_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (o.fd < 0) {
        fb_jlog(log, FB_JLOG_ERR, errno, "open() \"%s\" failed", path);
        free(o.buf);
        return FB_ERROR;
    }

    /* The header is written last, when the body's CRC is known. */
    memset(o.buf, 0, FB_SNAPSHOT_HEADER);
    o.len = FB_SNAPSHOT_HEADER;

    /*
     * Accounts created after this load are not in the image; their create
     * records come after seq (the caller's barrier saw to every record up
     * to seq), so replay brings them back.
     */
    count = fb_store_count(s);

    for (id = 1; (uint64_t) id <= count; id++) {
        if (fb_store_get(s, id, &a) != FB_STORE_OK) {
            fb_jlog(log, FB_JLOG_ERR, 0, "snapshot \"%s\": account %lld "
                    "vanished", path, (long long) id);
            goto failed;
        }

        if (FB_SNAP_BUF - o.len < FB_SNAP_ENTRY_MAX
            && fb_snap_flush(&o, log) != FB_OK)
        {
            goto failed;
        }

        e = o.buf + o.len;
        fb_put_u64(e, (uint64_t) a.balance);
        fb_put_u64(e + 8, a.lsn);
        fb_put_u32(e + 16, (uint32_t) a.created);
        fb_put_u16(e + 20, (uint16_t) a.owner_len);
        memcpy(e + FB_SNAP_ENTRY, a.owner, a.owner_len);

        o.crc = fb_crc32c(o.crc, e, FB_SNAP_ENTRY + a.owner_len);
        o.len += FB_SNAP_ENTRY + a.owner_len;
        o.body += FB_SNAP_ENTRY + a.owner_len;
    }

    if (fb_snap_flush(&o, log) != FB_OK) {
        goto failed;
    }

    /*
     * Every change the scan read was appended by now: replayed up to
     * last, the image is exact.  More than 2^32 records during one scan
     * would take hours at any rate this service reaches.
     */
    last = end != NULL ? end(arg) : seq;
    if (last < seq) {
        last = seq;
    }
    if (last - seq > UINT32_MAX) {
        fb_jlog(log, FB_JLOG_ERR, 0, "snapshot \"%s\": %llu records came "
                "during the scan, more than its header holds", path,
                (unsigned long long) (last - seq));
        goto failed;
    }

    fb_snap_header(hdr, seq, count, o.body, o.crc, (uint32_t) (last - seq));

    if (fb_io_pwrite(o.fd, hdr, sizeof(hdr), 0) != (ssize_t) sizeof(hdr)) {
        fb_jlog(log, FB_JLOG_ERR, errno, "pwrite() \"%s\" failed", path);
        goto failed;
    }

    if (fb_io_fsync(o.fd) != 0) {
        fb_jlog(log, FB_JLOG_ERR, errno, "fsync() \"%s\" failed", path);
        goto failed;
    }

    if (info != NULL) {
        info->seq = seq;
        info->exact = last;
        info->accounts = count;
        info->bytes = FB_SNAPSHOT_HEADER + o.body;
    }

    rc = FB_OK;

failed:

    if (close(o.fd) != 0 && rc == FB_OK) {
        fb_jlog(log, FB_JLOG_ERR, errno, "close() \"%s\" failed", path);
        rc = FB_ERROR;
    }

    if (rc != FB_OK) {
        (void) fb_io_unlink(path);
    }

    free(o.buf);
    return rc;
}


/* A buffered reader over the body, keeping its CRC. */
typedef struct {
    int              fd;
    unsigned char   *buf;
    size_t           pos, len;
    uint64_t         off;         /* file offset of buf[pos] */
    uint32_t         crc;
} fb_snap_in_t;


/* Makes n bytes available at in->buf + in->pos; 0, or -1 at EOF (errno 0)
 * or on a read error. */
static int
fb_snap_fill(fb_snap_in_t *in, size_t n)
{
    ssize_t  r;

    if (in->len - in->pos >= n) {
        return 0;
    }

    memmove(in->buf, in->buf + in->pos, in->len - in->pos);
    in->len -= in->pos;
    in->pos = 0;

    while (in->len < n) {
        r = read(in->fd, in->buf + in->len, FB_SNAP_BUF - in->len);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (r == 0) {
            errno = 0;
            return -1;
        }
        in->len += (size_t) r;
    }

    return 0;
}


int
fb_snapshot_load(const char *path, fb_store_t *s, fb_snapshot_info_t *info,
    fb_jlog_pt log)
{
    int             rc = FB_ERROR;
    size_t          olen;
    int64_t         id, balance;
    uint64_t        seq, count, body_len, lsn, created;
    struct stat     st;
    fb_snap_in_t    in;
    fb_store_rc_e   src;
    unsigned char   hdr[FB_SNAPSHOT_HEADER], *e;

    memset(&in, 0, sizeof(in));

    in.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (in.fd < 0) {
        fb_jlog(log, FB_JLOG_ERR, errno, "open() \"%s\" failed", path);
        return FB_ERROR;
    }

    in.buf = malloc(FB_SNAP_BUF);
    if (in.buf == NULL) {
        fb_jlog(log, FB_JLOG_ERR, errno, "malloc() failed");
        goto done;
    }

    if (fstat(in.fd, &st) != 0) {
        fb_jlog(log, FB_JLOG_ERR, errno, "fstat() \"%s\" failed", path);
        goto done;
    }

    if (fb_snap_fill(&in, FB_SNAPSHOT_HEADER) != 0) {
        if (errno != 0) {
            fb_jlog(log, FB_JLOG_ERR, errno, "read() \"%s\" failed", path);
            goto done;
        }
        fb_jlog(log, FB_JLOG_ERR, 0, "snapshot \"%s\": %lld bytes, shorter "
                "than its header", path, (long long) st.st_size);
        rc = FB_DECLINED;
        goto done;
    }

    memcpy(hdr, in.buf, FB_SNAPSHOT_HEADER);
    in.pos = FB_SNAPSHOT_HEADER;
    in.off = FB_SNAPSHOT_HEADER;

    if (memcmp(hdr, FB_SNAPSHOT_MAGIC, 8) != 0
        || fb_get_u32(hdr + 8) != FB_SNAPSHOT_VERSION
        || fb_crc32c_unmask(fb_get_u32(hdr + 12))
           != fb_crc32c(0, hdr + 16, FB_SNAPSHOT_HEADER - 16))
    {
        fb_jlog(log, FB_JLOG_ERR, 0, "snapshot \"%s\": bad header (magic, "
                "version or CRC) at offset 0", path);
        rc = FB_DECLINED;
        goto done;
    }

    seq = fb_get_u64(hdr + 16);
    count = fb_get_u64(hdr + 24);
    body_len = fb_get_u64(hdr + 32);

    if (fb_get_u32(hdr + 44) > UINT64_MAX - seq) {
        fb_jlog(log, FB_JLOG_ERR, 0, "snapshot \"%s\": bad header (sequence "
                "out of range) at offset 16", path);
        rc = FB_DECLINED;
        goto done;
    }

    if ((uint64_t) st.st_size != FB_SNAPSHOT_HEADER + body_len) {
        fb_jlog(log, FB_JLOG_ERR, 0, "snapshot \"%s\": %lld bytes, the "
                "header says %llu", path, (long long) st.st_size,
                (unsigned long long) (FB_SNAPSHOT_HEADER + body_len));
        rc = FB_DECLINED;
        goto done;
    }

    for (id = 1; (uint64_t) id <= count; id++) {
        if (fb_snap_fill(&in, FB_SNAP_ENTRY) != 0) {
            goto short_read;
        }

        e = in.buf + in.pos;
        olen = fb_get_u16(e + 20);

        if (olen == 0 || olen > FB_OWNER_MAX_BYTES) {
            goto bad_entry;
        }

        if (fb_snap_fill(&in, FB_SNAP_ENTRY + olen) != 0) {
            goto short_read;
        }

        e = in.buf + in.pos;
        balance = (int64_t) fb_get_u64(e);
        lsn = fb_get_u64(e + 8);
        created = fb_get_u32(e + 16);

        src = fb_store_restore_account(s, id, (const char *) e + FB_SNAP_ENTRY,
                                       olen, (int64_t) created, balance, lsn);
        if (src == FB_STORE_NOMEM || src == FB_STORE_FULL) {
            fb_jlog(log, FB_JLOG_ERR, 0, "snapshot \"%s\": account %lld: %s",
                    path, (long long) id, fb_store_strerror(src));
            goto done;
        }
        if (src != FB_STORE_OK) {
            goto bad_entry;
        }

        in.crc = fb_crc32c(in.crc, e, FB_SNAP_ENTRY + olen);
        in.pos += FB_SNAP_ENTRY + olen;
        in.off += FB_SNAP_ENTRY + olen;
    }

    if (in.off != FB_SNAPSHOT_HEADER + body_len
        || in.crc != fb_crc32c_unmask(fb_get_u32(hdr + 40)))
    {
        fb_jlog(log, FB_JLOG_ERR, 0, "snapshot \"%s\": the body's length or "
                "CRC does not match its header", path);
        rc = FB_DECLINED;
        goto done;
    }

    if (info != NULL) {
        info->seq = seq;
        info->exact = seq + fb_get_u32(hdr + 44);
        info->accounts = count;
        info->bytes = (uint64_t) st.st_size;
    }

    rc = FB_OK;
    goto done;

short_read:

    if (errno != 0) {
        fb_jlog(log, FB_JLOG_ERR, errno, "read() \"%s\" failed", path);
        goto done;
    }

    fb_jlog(log, FB_JLOG_ERR, 0, "snapshot \"%s\": ends at offset %llu, "
            "inside account %lld", path, (unsigned long long) in.off,
            (long long) id);
    rc = FB_DECLINED;
    goto done;

bad_entry:

    fb_jlog(log, FB_JLOG_ERR, 0, "snapshot \"%s\": bad entry for account "
            "%lld at offset %llu", path, (long long) id,
            (unsigned long long) in.off);
    rc = FB_DECLINED;

done:

    free(in.buf);
    close(in.fd);
    return rc;
}
