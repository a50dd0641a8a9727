/*
 * fb_recover.c: snapshot + journal -> store, at start-up and for
 * fastbank --check.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fb_io.h"
#include "fb_record.h"
#include "fb_recover.h"
#include "fb_snapshot.h"

#define fb_jlog(log, level, err, ...)                                      \
    do { if ((log) != NULL) (log)(level, err, __VA_ARGS__); } while (0)

typedef struct {
    uint64_t   *v;
    size_t      n, cap;
} fb_seqs_t;

typedef struct {
    const char          *dir;
    fb_store_t          *store;
    fb_recover_mode_e    mode;
    fb_jlog_pt           log;
    fb_recovery_t       *out;
    uint64_t             snap_seq;
    uint64_t             snap_exact;  /* the snapshot needs records to it */
    uint64_t             next;        /* the sequence number expected next */
    char                 path[4096];
} fb_recover_t;


static int
fb_seqs_add(fb_seqs_t *a, uint64_t v)
{
    uint64_t  *nv;

    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        nv = realloc(a->v, a->cap * sizeof(uint64_t));
        if (nv == NULL) {
            return -1;
        }
        a->v = nv;
    }

    a->v[a->n++] = v;
    return 0;
}


static int
fb_seq_cmp(const void *a, const void *b)
{
    uint64_t  x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return x < y ? -1 : x > y;
}


static double
fb_recover_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


/* Lists the data directory: segments, snapshots, a leftover tmp. */
static int
fb_recover_list(fb_recover_t *rc, fb_seqs_t *segs, fb_seqs_t *snaps,
    int *tmp)
{
    DIR            *d;
    uint64_t        seq;
    struct dirent  *de;

    d = opendir(rc->dir);
    if (d == NULL) {
        fb_jlog(rc->log, FB_JLOG_ERR, errno, "opendir() \"%s\" failed",
                rc->dir);
        return FB_CHECK_IO;
    }

    *tmp = 0;

    while ((errno = 0, de = readdir(d)) != NULL) {
        if (fb_segment_name_parse(de->d_name, &seq) == 0) {
            if (fb_seqs_add(segs, seq) != 0) {
                goto nomem;
            }
        } else if (fb_snapshot_name_parse(de->d_name, &seq) == 0) {
            if (fb_seqs_add(snaps, seq) != 0) {
                goto nomem;
            }
        } else if (strcmp(de->d_name, FB_SNAPSHOT_TMP) == 0) {
            *tmp = 1;
        }
    }

    if (errno != 0) {
        fb_jlog(rc->log, FB_JLOG_ERR, errno, "readdir() \"%s\" failed",
                rc->dir);
        closedir(d);
        return FB_CHECK_IO;
    }

    closedir(d);

    if (segs->n > 1) {
        qsort(segs->v, segs->n, sizeof(uint64_t), fb_seq_cmp);
    }

    if (snaps->n > 1) {
        qsort(snaps->v, snaps->n, sizeof(uint64_t), fb_seq_cmp);
    }

    return FB_CHECK_OK;

nomem:

    fb_jlog(rc->log, FB_JLOG_ERR, errno, "realloc() failed");
    closedir(d);
    return FB_CHECK_IO;
}


static const char *
fb_recover_file(fb_recover_t *rc, const char *name)
{
    snprintf(rc->path, sizeof(rc->path), "%s/%s", rc->dir, name);
    return rc->path;
}


/* Reads a whole file into a new buffer. */
static int
fb_recover_read(fb_recover_t *rc, const char *path, unsigned char **buf,
    size_t *size)
{
    int             fd;
    size_t          off = 0;
    ssize_t         n;
    struct stat     st;
    unsigned char  *b;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fb_jlog(rc->log, FB_JLOG_ERR, errno, "open() \"%s\" failed", path);
        return FB_CHECK_IO;
    }

    if (fstat(fd, &st) != 0) {
        fb_jlog(rc->log, FB_JLOG_ERR, errno, "fstat() \"%s\" failed", path);
        close(fd);
        return FB_CHECK_IO;
    }

    b = malloc((size_t) st.st_size + 1);
    if (b == NULL) {
        fb_jlog(rc->log, FB_JLOG_ERR, errno, "malloc(%lld) failed for \"%s\"",
                (long long) st.st_size, path);
        close(fd);
        return FB_CHECK_IO;
    }

    while (off < (size_t) st.st_size) {
        n = read(fd, b + off, (size_t) st.st_size - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                break;          /* shrank meanwhile: take what there is */
            }
            fb_jlog(rc->log, FB_JLOG_ERR, errno, "read() \"%s\" failed",
                    path);
            free(b);
            close(fd);
            return FB_CHECK_IO;
        }
        off += (size_t) n;
    }

    close(fd);
    *buf = b;
    *size = off;
    return FB_CHECK_OK;
}


/* Applies one record to the store; a record that does not fit the store
 * (an account that does not exist yet) is corruption. */
static int
fb_recover_apply(fb_recover_t *rc, const fb_record_t *r, const char *path,
    size_t off)
{
    const char     *why;
    fb_store_rc_e   src;
    const fb_op_t  *op = &r->op;

    switch (op->type) {
    case FB_OP_CREATE:
        src = fb_store_restore_account(rc->store, op->id, op->owner,
                                       op->owner_len, op->created, 0, r->seq);
        break;

    case FB_OP_DEPOSIT:
    case FB_OP_WITHDRAW:
        src = fb_store_restore_balance(rc->store, op->id, op->balance, r->seq);
        break;

    default:
        src = fb_store_restore_balance(rc->store, op->id, op->balance, r->seq);
        if (src == FB_STORE_OK) {
            src = fb_store_restore_balance(rc->store, op->to_id,
                                           op->to_balance, r->seq);
        }
        break;
    }

    if (src == FB_STORE_OK) {
        rc->out->replayed++;
        return FB_CHECK_OK;
    }

    if (src == FB_STORE_NOMEM || src == FB_STORE_FULL) {
        fb_jlog(rc->log, FB_JLOG_ERR, 0, "journal \"%s\": record %" PRIu64
                " at offset %zu: %s%s", path, r->seq, off,
                fb_store_strerror(src),
                src == FB_STORE_FULL ? " (see --max-accounts)" : "");
        return FB_CHECK_IO;
    }

    why = src == FB_STORE_NOT_FOUND ? "names an account that does not exist"
                                    : "holds an impossible value";
    fb_jlog(rc->log, FB_JLOG_ERR, 0, "journal \"%s\": record %" PRIu64
            " at offset %zu %s: the journal is corrupt", path, r->seq, off,
            why);
    return FB_CHECK_CORRUPT;
}


/*
 * Is there a valid record anywhere after a bad one at off?  If so the bad
 * one is not a tail the process left unwritten.  Only a record numbered
 * at or after the one expected counts.  Returns the first one's offset,
 * or 0, and in *write_start the offset of the first one that begins a
 * write() (FB_RECORD_WRITE), or 0.
 */
static size_t
fb_recover_valid_after(const unsigned char *buf, size_t size, size_t off,
    uint64_t next, size_t *write_start)
{
    size_t           o, len, first = 0;
    uint64_t         seq;
    fb_record_t      r;
    fb_record_rc_e   rrc;

    *write_start = 0;

    for (o = off + 1; o + FB_RECORD_HEAD + FB_RECORD_FIXED <= size; o++) {
        len = fb_get_u32(buf + o);
        if (len < FB_RECORD_FIXED || len > FB_RECORD_MAX - FB_RECORD_HEAD
            || o + FB_RECORD_HEAD + len > size)
        {
            continue;
        }

        seq = fb_get_u64(buf + o + FB_RECORD_HEAD);
        if (seq < next || seq - next > size) {
            continue;
        }

        /* FB_RECORD_INVALID counts: its CRC says it was written whole. */
        rrc = fb_record_decode(buf + o, size - o, &r);
        if (rrc == FB_RECORD_SHORT || rrc == FB_RECORD_BAD) {
            continue;
        }

        if (first == 0) {
            first = o;
        }

        if (r.write_start) {
            *write_start = o;
            break;
        }

        o += r.size - 1;
    }

    return first;
}


/*
 * The smallest unit a disk writes whole: a power cut keeps or loses whole
 * sectors of a write, never part of one.
 */
#define FB_SECTOR  512


/*
 * Does the damage from off to valid (the next valid record) look like
 * sectors a power cut lost: zeros, as the segment holds ahead of its
 * records, from off or from a sector boundary after it to the next
 * boundary?  A flipped bit or garbage does not.
 */
static int
fb_recover_lost_sectors(const unsigned char *buf, size_t off, size_t valid)
{
    size_t  z, end, i;

    for (z = off; z < valid; z = end) {
        end = (z / FB_SECTOR + 1) * FB_SECTOR;
        if (end > valid) {
            break;
        }

        for (i = z; i < end && buf[i] == 0; i++) {
            /* void */
        }

        if (i == end) {
            return 1;
        }
    }

    return 0;
}


/* Cuts the last segment at off, durably. */
static int
fb_recover_cut(fb_recover_t *rc, const char *path, size_t off)
{
    int  fd;

    fd = fb_io_open(path, O_WRONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        fb_jlog(rc->log, FB_JLOG_ERR, errno, "open() \"%s\" failed", path);
        return FB_CHECK_IO;
    }

    if (fb_io_ftruncate(fd, (off_t) off) != 0) {
        fb_jlog(rc->log, FB_JLOG_ERR, errno, "ftruncate() \"%s\" failed",
                path);
        close(fd);
        return FB_CHECK_IO;
    }

    if (fb_io_fsync(fd) != 0) {
        fb_jlog(rc->log, FB_JLOG_ERR, errno, "fsync() \"%s\" failed", path);
        close(fd);
        return FB_CHECK_IO;
    }

    close(fd);
    return FB_CHECK_OK;
}


/*
 * Only zeros from off to the end: the journal writes zeros ahead of its
 * records (fb_journal_prealloc), so this is where the segment ended, not
 * damage.  The last segment is cut back to its records, except by a
 * check; an older one keeps them (its own cut did not reach the disk).
 */
static int
fb_recover_zeros(fb_recover_t *rc, const char *path, size_t size, size_t off,
    int last)
{
    fb_jlog(rc->log, FB_JLOG_INFO, 0, "journal \"%s\": %zu bytes of zeros "
            "after the last record at offset %zu%s", path, size - off, off,
            last && rc->mode != FB_RECOVER_CHECK ? ": cut off" : "");

    if (!last || rc->mode == FB_RECOVER_CHECK) {
        return FB_CHECK_OK;
    }

    return fb_recover_cut(rc, path, off);
}


/*
 * A bad or short record at off: the zeros after the last record, a torn
 * tail, a torn write, or corruption.  marks: the segment's records mark
 * the start of each write() (version 2).
 */
static int
fb_recover_bad(fb_recover_t *rc, const char *path, const unsigned char *buf,
    size_t size, size_t off, int last, int marks)
{
    int     torn;
    size_t  valid, write_start, i;

    if (off >= FB_SEGMENT_HEADER) {
        for (i = off; i < size && buf[i] == 0; i++) {
            /* void */
        }
        if (i == size) {
            return fb_recover_zeros(rc, path, size, off, last);
        }
    }

    if (!last) {
        fb_jlog(rc->log, FB_JLOG_ERR, 0, "journal \"%s\": bad record at "
                "offset %zu of %zu, and later segments exist: the journal "
                "is corrupt", path, off, size);
        return FB_CHECK_CORRUPT;
    }

    valid = fb_recover_valid_after(buf, size, off, rc->next, &write_start);
    torn = marks && write_start == 0
           && fb_recover_lost_sectors(buf, off, valid);

    if (valid != 0 && !torn) {
        fb_jlog(rc->log, FB_JLOG_ERR, 0, "journal \"%s\": bad record at "
                "offset %zu followed by a valid one at offset %zu%s: the "
                "journal is corrupt", path, off,
                write_start ? write_start : valid,
                write_start ? ", which a later write() began"
                : marks ? ", and no sector between them is zeros" : "");
        return FB_CHECK_CORRUPT;
    }

    rc->out->torn_bytes = size - off;

    if (valid != 0) {
        /*
         * Valid records after the damage, none begins a write(), and
         * the damage is sectors of zeros: the last write, which a power
         * cut left with some of its sectors on disk and not others.
         * Under --fsync always none of it was acknowledged
         * (doc/journal.txt, section 9).
         */
        if (rc->mode == FB_RECOVER_CHECK) {
            fb_jlog(rc->log, FB_JLOG_WARN, 0, "journal \"%s\": torn write: "
                    "bad record at offset %zu, valid ones of the same "
                    "write() from offset %zu, %zu bytes to the end "
                    "(--repair cuts them off)", path, off, valid,
                    size - off);
            return FB_CHECK_TORN;
        }

        fb_jlog(rc->log, FB_JLOG_WARN, 0, "journal \"%s\": torn write: bad "
                "record at offset %zu, valid ones of the same write() from "
                "offset %zu, %zu bytes to the end: cut off (a write a power "
                "cut left in part)", path, off, valid, size - off);

        return fb_recover_cut(rc, path, off);
    }

    if (rc->mode == FB_RECOVER_CHECK) {
        fb_jlog(rc->log, FB_JLOG_WARN, 0, "journal \"%s\": torn record at "
                "offset %zu, %zu bytes to the end (--repair cuts them off)",
                path, off, size - off);
        return FB_CHECK_TORN;
    }

    fb_jlog(rc->log, FB_JLOG_WARN, 0, "journal \"%s\": torn record at offset "
            "%zu, %zu bytes to the end: cut off (a write the process did not "
            "finish)", path, off, size - off);

    return fb_recover_cut(rc, path, off);
}


/*
 * Syncs the last segment, whose records are now taken as durable: a
 * process killed after writing a batch and before its sync left it in
 * the page cache only.  Without this sync a power cut after start-up
 * could lose that batch from the middle of the journal, once later
 * segments hold records answered since (PostgreSQL syncs its data
 * directory after a crash for the same reason).
 */
static int
fb_recover_sync(fb_recover_t *rc, uint64_t first)
{
    int   fd;
    char  name[FB_FILE_NAME_MAX], path[4096];

    fb_segment_name(name, first);
    snprintf(path, sizeof(path), "%s/%s", rc->dir, name);

    fd = fb_io_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        fb_jlog(rc->log, FB_JLOG_ERR, errno, "open() \"%s\" failed", path);
        return FB_CHECK_IO;
    }

    if (fb_io_fdatasync(fd) != 0) {
        fb_jlog(rc->log, FB_JLOG_ERR, errno, "fdatasync() \"%s\" failed",
                path);
        close(fd);
        return FB_CHECK_IO;
    }

    close(fd);
    return FB_CHECK_OK;
}


/*
 * The snapshot's image may hold changes up to snap_exact, made while it
 * was read (a transfer's credit without its debit): it is a state the
 * service was in only once the records up to there are replayed.  A
 * journal that ends before them (a snapshot file copied without the
 * segments after it, segments deleted by hand) would start with money
 * made or lost.  The snapshot thread syncs those records before it
 * renames the snapshot into place, so no crash leaves this.
 */
static int
fb_recover_exact(fb_recover_t *rc, uint64_t last)
{
    char  name[FB_FILE_NAME_MAX];

    if (rc->snap_exact <= rc->snap_seq || last >= rc->snap_exact) {
        return FB_CHECK_OK;
    }

    fb_snapshot_name(name, rc->snap_seq);
    fb_jlog(rc->log, FB_JLOG_ERR, 0, "snapshot \"%s/%s\" is exact only with "
            "the records up to %" PRIu64 ", and the journal ends at %" PRIu64
            ": records are missing", rc->dir, name, rc->snap_exact, last);
    return FB_CHECK_CORRUPT;
}


/* Reads one segment and replays the records after the snapshot. */
static int
fb_recover_segment(fb_recover_t *rc, uint64_t first, int last)
{
    int              rv, version;
    char             name[FB_FILE_NAME_MAX], path[4096];
    size_t           size, off;
    uint64_t         n0;
    fb_record_t      r;
    unsigned char   *buf;
    fb_record_rc_e   rrc;

    fb_segment_name(name, first);
    snprintf(path, sizeof(path), "%s/%s", rc->dir, name);

    if (first != rc->next) {
        fb_jlog(rc->log, FB_JLOG_ERR, 0, "journal \"%s\" begins at %" PRIu64
                " but %" PRIu64 " was expected: records are missing",
                path, first, rc->next);
        return FB_CHECK_CORRUPT;
    }

    rv = fb_recover_read(rc, path, &buf, &size);
    if (rv != FB_CHECK_OK) {
        return rv;
    }

    n0 = rc->next;

    version = size < FB_SEGMENT_HEADER ? -1 : fb_segment_header_check(buf);
    if (version < 0 && size >= FB_SEGMENT_HEADER
        && memcmp(buf, FB_SEGMENT_MAGIC, 8) == 0)
    {
        /* Whole, with a version this release does not know: a newer
         * release wrote it.  Read as a header that never made it, a last
         * segment with no record this release can decode would be cut
         * off entirely, whatever that release had acknowledged. */
        fb_jlog(rc->log, FB_JLOG_ERR, 0, "journal \"%s\" has format version "
                "%" PRIu32 ", which this release does not read (1 to %d): "
                "the journal is corrupt, or from a newer release", path,
                fb_get_u32(buf + 8), FB_SEGMENT_VERSION);
        rv = FB_CHECK_CORRUPT;
        goto done;
    }

    if (version < 0) {
        /* A segment whose header never made it: created just before the
         * process died.  Only the last one can be so. */
        rv = fb_recover_bad(rc, path, buf, size, 0, last, 0);
        goto done;
    }

    off = FB_SEGMENT_HEADER;
    rv = FB_CHECK_OK;

    while (off < size) {
        rrc = fb_record_decode(buf + off, size - off, &r);

        if (rrc == FB_RECORD_INVALID) {
            /* Its CRC matched: whole, as written, so not torn.  Cutting it
             * as a torn tail would drop what a newer release wrote. */
            fb_jlog(rc->log, FB_JLOG_ERR, 0, "journal \"%s\": record at "
                    "offset %zu has a valid checksum and an impossible "
                    "payload: the journal is corrupt", path, off);
            rv = FB_CHECK_CORRUPT;
            break;
        }

        if (rrc != FB_RECORD_OK) {
            rv = fb_recover_bad(rc, path, buf, size, off, last,
                                version >= 2);
            break;
        }

        if (r.seq != rc->next) {
            fb_jlog(rc->log, FB_JLOG_ERR, 0, "journal \"%s\": record at "
                    "offset %zu is %" PRIu64 ", %" PRIu64 " was expected: "
                    "the journal is corrupt", path, off, r.seq, rc->next);
            rv = FB_CHECK_CORRUPT;
            break;
        }

        if (r.seq > rc->snap_seq) {
            rv = fb_recover_apply(rc, &r, path, off);
            if (rv != FB_CHECK_OK) {
                break;
            }
        }

        rc->next++;
        rc->out->records++;
        off += r.size;
    }

done:

    if (rc->next > n0) {
        fb_jlog(rc->log, FB_JLOG_INFO, 0, "%s: records %" PRIu64 "..%" PRIu64
                ", %zu bytes%s", name, n0, rc->next - 1, size,
                rc->next - 1 <= rc->snap_seq ? " (all in the snapshot)" : "");
    } else {
        fb_jlog(rc->log, FB_JLOG_INFO, 0, "%s: no records, %zu bytes", name,
                size);
    }

    free(buf);
    return rv;
}


int
fb_recover(const char *dir, fb_store_t *s, fb_recover_mode_e mode,
    fb_jlog_pt log, fb_recovery_t *out)
{
    int                  rv, tmp;
    char                 name[FB_FILE_NAME_MAX];
    double               t0;
    size_t               i, start;
    int64_t              id;
    fb_seqs_t            segs, snaps;
    fb_account_t         a;
    fb_recover_t         rc;
    fb_snapshot_info_t   si;

    t0 = fb_recover_now();

    memset(out, 0, sizeof(*out));
    memset(&segs, 0, sizeof(segs));
    memset(&snaps, 0, sizeof(snaps));
    memset(&rc, 0, sizeof(rc));
    rc.dir = dir;
    rc.store = s;
    rc.mode = mode;
    rc.log = log;
    rc.out = out;

    rv = fb_recover_list(&rc, &segs, &snaps, &tmp);
    if (rv != FB_CHECK_OK) {
        goto done;
    }

    if (tmp) {
        fb_recover_file(&rc, FB_SNAPSHOT_TMP);
        if (mode == FB_RECOVER_CHECK) {
            fb_jlog(log, FB_JLOG_INFO, 0, "%s: an unfinished snapshot, "
                    "ignored", FB_SNAPSHOT_TMP);
        } else if (fb_io_unlink(rc.path) != 0) {
            fb_jlog(log, FB_JLOG_WARN, errno, "unlink() \"%s\" failed",
                    rc.path);
        }
    }

    if (snaps.n > 0) {
        fb_snapshot_name(name, snaps.v[snaps.n - 1]);
        fb_recover_file(&rc, name);

        switch (fb_snapshot_load(rc.path, s, &si, log)) {
        case FB_OK:
            break;
        case FB_DECLINED:
            rv = FB_CHECK_CORRUPT;
            goto done;
        default:
            rv = FB_CHECK_IO;
            goto done;
        }

        if (si.seq != snaps.v[snaps.n - 1]) {
            fb_jlog(log, FB_JLOG_ERR, 0, "snapshot \"%s\" holds sequence %"
                    PRIu64 ", not the one its name says", rc.path, si.seq);
            rv = FB_CHECK_CORRUPT;
            goto done;
        }

        rc.snap_seq = si.seq;
        rc.snap_exact = si.exact;
        out->snapshot_seq = si.seq;
        out->snapshot_accounts = si.accounts;
        fb_jlog(log, FB_JLOG_INFO, 0, "%s: %" PRIu64 " accounts as of "
                "record %" PRIu64 " (exact with the records up to %" PRIu64
                "), %" PRIu64 " bytes", name, si.accounts, si.seq, si.exact,
                si.bytes);

        if (snaps.n > 1) {
            fb_jlog(log, FB_JLOG_INFO, 0, "%zu older snapshot(s), ignored",
                    snaps.n - 1);
        }
    }

    out->segments = segs.n;

    if (segs.n == 0) {
        rv = fb_recover_exact(&rc, rc.snap_seq);
        if (rv != FB_CHECK_OK) {
            goto done;
        }
        out->last_seq = rc.snap_seq;
        goto summary;
    }

    out->first_seq = segs.v[0];

    /* The segment holding the first record after the snapshot: the last
     * one that begins at or before it.  Earlier ones are all in the
     * snapshot (left over if the process died before deleting them). */
    if (segs.v[0] > rc.snap_seq + 1) {
        fb_segment_name(name, segs.v[0]);
        fb_jlog(log, FB_JLOG_ERR, 0, "journal \"%s/%s\" begins at %" PRIu64
                " but the %s ends at %" PRIu64 ": records are missing", dir,
                name, segs.v[0], rc.snap_seq ? "snapshot" : "(empty) start",
                rc.snap_seq);
        rv = FB_CHECK_CORRUPT;
        goto done;
    }

    start = 0;
    for (i = 0; i < segs.n; i++) {
        if (segs.v[i] <= rc.snap_seq + 1) {
            start = i;
        }
    }

    /*
     * Segments before start hold only records the snapshot has: the
     * process stopped while deleting them after the snapshot.  They are
     * not read (and need not chain: deletion may have left any subset).
     */
    for (i = 0; i < start; i++) {
        fb_segment_name(name, segs.v[i]);
        fb_jlog(log, FB_JLOG_INFO, 0, "%s: before the snapshot, not read "
                "(left over; the next snapshot deletes it)", name);
    }

    rc.next = segs.v[start];

    for (i = start; i < segs.n; i++) {
        rv = fb_recover_segment(&rc, segs.v[i], i == segs.n - 1);
        if (rv != FB_CHECK_OK && rv != FB_CHECK_TORN) {
            goto done;
        }
    }

    if (fb_recover_exact(&rc, rc.next - 1) != FB_CHECK_OK) {
        rv = FB_CHECK_CORRUPT;
        goto done;
    }

    if (mode != FB_RECOVER_CHECK && rv == FB_CHECK_OK
        && fb_recover_sync(&rc, segs.v[segs.n - 1]) != FB_CHECK_OK)
    {
        rv = FB_CHECK_IO;
        goto done;
    }

    out->last_seq = rc.next - 1 > rc.snap_seq ? rc.next - 1 : rc.snap_seq;

    if (rc.next - 1 < rc.snap_seq) {
        fb_jlog(log, FB_JLOG_WARN, 0, "the journal ends at %" PRIu64
                ", before the snapshot's %" PRIu64 "; going on from the "
                "snapshot", rc.next - 1, rc.snap_seq);
    }

summary:

    out->accounts = fb_store_count(s);
    out->sum = 0;

    for (id = 1; (uint64_t) id <= out->accounts; id++) {
        if (fb_store_get(s, id, &a) == FB_STORE_OK
            && __builtin_add_overflow(out->sum, a.balance, &out->sum))
        {
            out->sum = INT64_MAX;
            break;
        }
    }

done:

    out->seconds = fb_recover_now() - t0;
    free(segs.v);
    free(snaps.v);
    return rv;
}
