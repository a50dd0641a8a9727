/*
 * fb_journal.c: the journal at run time: the append hook, the writer
 * thread (group commit), waiting for durability, failure, segments and
 * snapshots.  doc/journal.txt has the design; fb_record.c the format,
 * fb_recover.c the way back.
 *
 * Threads:
 *   workers     append records in the store's hook; wait for their LSN
 *   writer      write()s each batch, fdatasync()s per policy, publishes
 *               written_lsn and synced_lsn, rotates segments
 *   snapshotter writes a snapshot when enough records have gone by
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fb_atomic.h"
#include "fb_io.h"
#include "fb_journal.h"
#include "fb_record.h"
#include "fb_recover.h"
#include "fb_snapshot.h"

#define FB_JBUF_INITIAL  (64 * 1024)

#define fb_jlog(j, level, err, ...)                                        \
    do {                                                                   \
        if ((j)->conf.log != NULL) (j)->conf.log(level, err, __VA_ARGS__); \
    } while (0)


/*
 * A waiter for an LSN, in the list the writer walks: a thread blocked in
 * fb_journal_wait (on its own stack, woken through its semaphore), or an
 * fb_jnotify_t of fb_journal_notify (its function called).  The writer
 * wakes exactly the waiters its batch satisfied, rather than every waiter
 * at every batch (those whose records are in the next batch would wake
 * only to sleep again), and each through its own semaphore or function: a
 * condition variable would make each woken thread take the list's mutex
 * again while the writer still holds it, a convoy of context switches per
 * batch (measured: doc/journal-bench.txt).
 */
struct fb_jwaiter_s {
    uint64_t         lsn;
    sem_t            sem;
    fb_jnotify_pt    notify;        /* NULL: post sem */
    void            *arg;
    fb_jwaiter_t    *next;
    unsigned         linked:1;      /* in waiters (under wait_mutex) */
};


/* A batch of encoded records. */
typedef struct {
    unsigned char  *data;
    size_t          len;
    size_t          cap;
} fb_jbuf_t;


struct fb_journal_s {
    fb_journal_conf_t   conf;
    char               *dir;
    int                 dirfd;         /* flock'ed: one process per dir */
    fb_store_t         *store;

    /*
     * mutex protects the append side: last_lsn (the last LSN handed out),
     * the buffer being filled (bufs[cur]) and which one that is, and the
     * writer's orders (writer_idle, stopping, rotate*, sync_wanted) and
     * how long it gathers (gathering, gather_lsn).  It is taken inside
     * the store's locks, by the hook, so it is a leaf: nothing is called
     * with it held but memcpy, the CRC, a condition signal and, when the
     * buffer must grow, realloc (and the log, once per shortage); never
     * the store, never I/O.  Records enter bufs[cur] in LSN order, and
     * the writer writes whole buffers in turn, so the file holds records
     * in LSN order too.
     */
    pthread_mutex_t     mutex;
    pthread_cond_t      work;          /* the writer sleeps here */
    fb_jbuf_t           bufs[2];
    int                 cur;
    uint64_t            last_lsn;
    unsigned            writer_idle:1;
    unsigned            stopping:1;    /* refuse records; writer drains */
    unsigned            rotate:1;      /* a snapshot wants a new segment */
    unsigned            sync_wanted:1; /* a snapshot wants an fdatasync */
    unsigned            nomem_logged:1; /* until the writer takes bufs[cur]
                                           or a growth succeeds */
    unsigned            gathering:1;   /* the writer waits for gather_lsn */
    uint64_t            gather_lsn;    /* the gather ends at this LSN */
    size_t              rotate_off;    /* after this many bytes of bufs[cur] */
    uint64_t            rotate_seq;    /* the snapshot's S0 */

    /* Published by the writer (release), read anywhere without a lock. */
    fb_atomic_i64_t     written_lsn;
    fb_atomic_i64_t     synced_lsn;
    fb_atomic_i64_t     segment_seq;   /* first LSN of the current segment */
    uint64_t            recovered_lsn; /* set before any thread runs */
    fb_atomic_i64_t     failed;        /* set once, never cleared */

    /*
     * wait_mutex protects the list of waiting workers.  A waiter re-checks
     * the published LSNs and links itself under it; the writer, after
     * publishing, takes it to unlink every waiter it satisfied and to
     * broadcast durable (which a snapshot waits on), so that no wake-up is
     * lost, and posts the unlinked ones after letting it go.  A posted
     * waiter is off the list and never takes the mutex again.
     */
    pthread_mutex_t     wait_mutex;
    pthread_cond_t      durable;
    fb_jwaiter_t       *waiters;

    /* The writer's own; set up by fb_journal_start before it runs. */
    pthread_t           writer;
    int                 fd;
    uint64_t            seg_first;
    uint64_t            last_batch;    /* records in the last batch */
    off_t               seg_off;       /* end of the last complete write */
    off_t               seg_alloc;     /* zeros written up to here */
    unsigned            prealloc_failed:1;
    off_t               seg_synced;    /* end of what fdatasync covered */
    uint64_t            last_sync_ns;
    char                seg_path[4096];
    fb_atomic_i64_t     batches;
    fb_atomic_i64_t     syncs;
    fb_atomic_i64_t     gathers;
    fb_atomic_i64_t     gathers_cut;
    fb_atomic_u64_t     sync_hist[FB_JSYNC_NBUCKETS + 2];  /* the writer
                                       alone adds; read by fb_journal_stats */

    /*
     * snap_mutex protects the snapshot thread's orders (snap_requested,
     * snap_stop).  snap_run serialises snapshots: the thread's and an
     * explicit fb_journal_snapshot.  Neither is held with mutex, and the
     * store is called (barrier, reads) with snap_run only.
     */
    pthread_mutex_t     snap_mutex;
    pthread_cond_t      snap_cond;
    pthread_mutex_t     snap_run;
    pthread_t           snapper;
    unsigned            snap_requested:1;
    unsigned            snap_stop:1;

    /* The starting and stopping thread's own (not bit-fields: those
     * would share a word with the ones snap_mutex protects). */
    int                 writer_started;
    int                 snapper_started;
    fb_atomic_i64_t     snapshot_seq;  /* S0 of the newest snapshot */
    fb_atomic_i64_t     snap_asked_at; /* last_lsn when one was last asked */
    fb_atomic_i64_t     snapshots;
};


static uint64_t
fb_journal_now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}


static uint64_t
fb_jload(const fb_atomic_i64_t *a)
{
    return (uint64_t) fb_atomic_load_acquire(a);
}


static void
fb_jstore(fb_atomic_i64_t *a, uint64_t v)
{
    fb_atomic_store_release(a, (int64_t) v);
}


static int
fb_jbuf_reserve(fb_jbuf_t *b, size_t n)
{
    size_t          cap;
    unsigned char  *p;

    if (b->cap - b->len >= n) {
        return 0;
    }

    cap = b->cap ? b->cap : FB_JBUF_INITIAL;
    while (cap - b->len < n) {
        cap *= 2;
    }

    p = realloc(b->data, cap);
    if (p == NULL) {
        return -1;
    }

    b->data = p;
    b->cap = cap;
    return 0;
}


fb_journal_t *
fb_journal_new(const fb_journal_conf_t *conf)
{
    int                  err;
    fb_journal_t        *j;
    pthread_condattr_t   ca;

    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        if (conf->log != NULL) {
            conf->log(FB_JLOG_ERR, errno, "calloc() failed");
        }
        return NULL;
    }

    j->conf = *conf;
    j->fd = -1;
    j->dirfd = -1;

    if (j->conf.segment_bytes == 0) {
        j->conf.segment_bytes = FB_JOURNAL_SEGMENT_BYTES;
    }

    if (j->conf.interval_ms == 0) {
        j->conf.interval_ms = FB_JOURNAL_INTERVAL_MS;
    }

    if (j->conf.prealloc_bytes == 0) {
        j->conf.prealloc_bytes = FB_JOURNAL_PREALLOC_BYTES;
    }

    j->dir = strdup(conf->dir);
    if (j->dir == NULL) {
        fb_jlog(j, FB_JLOG_ERR, errno, "strdup() failed");
        goto failed;
    }

    if (fb_jbuf_reserve(&j->bufs[0], FB_JBUF_INITIAL) != 0
        || fb_jbuf_reserve(&j->bufs[1], FB_JBUF_INITIAL) != 0)
    {
        fb_jlog(j, FB_JLOG_ERR, errno, "realloc() of the journal buffers "
                "failed");
        goto failed;
    }

    if (mkdir(j->dir, 0700) != 0 && errno != EEXIST) {
        fb_jlog(j, FB_JLOG_ERR, errno, "mkdir() \"%s\" failed", j->dir);
        goto failed;
    }

    j->dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->dirfd < 0) {
        fb_jlog(j, FB_JLOG_ERR, errno, "open() \"%s\" failed", j->dir);
        goto failed;
    }

    if (flock(j->dirfd, LOCK_EX | LOCK_NB) != 0) {
        err = errno;
        if (err == EWOULDBLOCK) {
            fb_jlog(j, FB_JLOG_ERR, 0, "data directory \"%s\" is in use by "
                    "another fastbank process", j->dir);
        } else {
            fb_jlog(j, FB_JLOG_ERR, err, "flock() \"%s\" failed", j->dir);
        }
        goto failed;
    }

    /* The batch interval is measured on the monotonic clock. */
    if (pthread_condattr_init(&ca) != 0) {
        fb_jlog(j, FB_JLOG_ERR, 0, "pthread_condattr_init() failed");
        goto failed;
    }

    err = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0
          || pthread_cond_init(&j->work, &ca) != 0;
    pthread_condattr_destroy(&ca);

    if (err) {
        fb_jlog(j, FB_JLOG_ERR, 0, "pthread_cond_init() failed");
        goto failed;
    }

    pthread_mutex_init(&j->mutex, NULL);
    pthread_mutex_init(&j->wait_mutex, NULL);
    pthread_cond_init(&j->durable, NULL);
    pthread_mutex_init(&j->snap_mutex, NULL);
    pthread_cond_init(&j->snap_cond, NULL);
    pthread_mutex_init(&j->snap_run, NULL);

    return j;

failed:

    if (j->dirfd >= 0) {
        close(j->dirfd);
    }
    free(j->bufs[0].data);
    free(j->bufs[1].data);
    free(j->dir);
    free(j);
    return NULL;
}


int
fb_journal_recover(fb_journal_t *j, fb_store_t *s, fb_recovery_t *out)
{
    int            rc;
    fb_recovery_t  r;

    if (out == NULL) {
        out = &r;
    }

    rc = fb_recover(j->dir, s, FB_RECOVER_STARTUP, j->conf.log, out);
    if (rc != FB_CHECK_OK) {
        fb_jlog(j, FB_JLOG_ERR, 0, "recovery of \"%s\" failed: start-up "
                "stopped; fastbank --check %s says more", j->dir, j->dir);
        return FB_ERROR;
    }

    j->last_lsn = out->last_seq;
    fb_jstore(&j->written_lsn, out->last_seq);
    fb_jstore(&j->synced_lsn, out->last_seq);
    j->recovered_lsn = out->last_seq;
    fb_jstore(&j->snapshot_seq, out->snapshot_seq);
    fb_jstore(&j->snap_asked_at, out->snapshot_seq);

    fb_jlog(j, FB_JLOG_INFO, 0, "recovered \"%s\" in %.3f s: %" PRIu64
            " accounts, balances summing to %" PRId64 "; snapshot at %"
            PRIu64 " (%" PRIu64 " accounts), %" PRIu64 " records replayed "
            "from %" PRIu64 " segments, last LSN %" PRIu64 "%s", j->dir,
            out->seconds, out->accounts, out->sum, out->snapshot_seq,
            out->snapshot_accounts, out->replayed, out->segments,
            out->last_seq,
            out->torn_bytes ? ", a torn tail or write cut off" : "");

    return FB_OK;
}


/*
 * Writes zeros from seg_alloc up to past need, a chunk (prealloc_bytes) at
 * a time, as PostgreSQL zero-fills its WAL segments.  Records are then
 * written over blocks the file already has: the file's size does not
 * change, so fdatasync() writes the records and flushes the disk's cache,
 * and leaves the inode alone.  Appending instead cost an inode write per
 * sync: 269 -> 157 us and 100 -> 47 us of CPU per 2 KiB write+fdatasync
 * on this machine's ext4 (doc/journal.txt, section 5).  fallocate() would
 * not do: its unwritten extents are converted, a metadata change, on the
 * first write to them.
 *
 * Only speed depends on it: a failure is logged once and the segment is
 * appended to as it grows.  Recovery reads zeros after the last record as
 * the end of the segment (fb_recover.c).
 */
static void
fb_journal_prealloc(fb_journal_t *j, int fd, off_t need)
{
    off_t        end, off;
    size_t       n;
    static const unsigned char  zeros[64 * 1024];

    /* Past need: a batch that ends exactly where the zeros end still
     * gets a chunk ahead of it, as the next one will need anyway. */
    if (j->prealloc_failed || need < j->seg_alloc) {
        return;
    }

    end = need + (off_t) j->conf.prealloc_bytes;
    end -= end % (off_t) j->conf.prealloc_bytes;

    for (off = j->seg_alloc; off < end; off += (off_t) n) {
        n = (size_t) (end - off) < sizeof(zeros) ? (size_t) (end - off)
                                                  : sizeof(zeros);
        if (fb_io_write_at(fd, zeros, n, off, NULL) != 0) {
            fb_jlog(j, FB_JLOG_WARN, errno, "pwrite() of zeros ahead of the "
                    "records in \"%s\" failed: the segment is appended to "
                    "from here on", j->seg_path);
            j->prealloc_failed = 1;
            return;
        }
        j->seg_alloc = off + (off_t) n;
    }
}


/* Cuts the zeros off the end of a segment that is done with.  Best effort:
 * zeros left behind (a failure, or a crash before the new size reached
 * the disk) read as the end of the segment. */
static void
fb_journal_cut_zeros(fb_journal_t *j)
{
    if (j->fd < 0 || j->seg_alloc <= j->seg_off || fb_jload(&j->failed)) {
        return;
    }

    if (fb_io_ftruncate(j->fd, j->seg_off) != 0) {
        fb_jlog(j, FB_JLOG_WARN, errno, "ftruncate() \"%s\" failed: its "
                "last %lld bytes stay zeros", j->seg_path,
                (long long) (j->seg_alloc - j->seg_off));
        return;
    }

    j->seg_alloc = j->seg_off;
}


/* Writes a segment's header and makes the file and its name durable. */
static int
fb_journal_open_segment(fb_journal_t *j, uint64_t first)
{
    int             fd;
    char            name[FB_FILE_NAME_MAX];
    unsigned char   hdr[FB_SEGMENT_HEADER];

    fb_segment_name(name, first);
    snprintf(j->seg_path, sizeof(j->seg_path), "%s/%s", j->dir, name);

    /*
     * O_TRUNC: a file of this name can only be one recovery found with no
     * valid record (the process died just after creating it): had it held
     * one, the journal would go on after it.
     */
    fd = fb_io_open(j->seg_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    0600);
    if (fd < 0) {
        fb_jlog(j, FB_JLOG_ERR, errno, "open() \"%s\" failed", j->seg_path);
        return FB_ERROR;
    }

    fb_segment_header(hdr);

    if (fb_io_write_all(fd, hdr, sizeof(hdr), NULL) != 0) {
        fb_jlog(j, FB_JLOG_ERR, errno, "write() \"%s\" failed", j->seg_path);
        goto failed;
    }

    /* The first chunk of zeros goes to disk with the header.  pwrite():
     * the file position, where the records go, stays after the header. */
    j->seg_alloc = FB_SEGMENT_HEADER;
    j->prealloc_failed = 0;
    fb_journal_prealloc(j, fd, FB_SEGMENT_HEADER + 1);

    if (fb_io_fdatasync(fd) != 0) {
        fb_jlog(j, FB_JLOG_ERR, errno, "fdatasync() \"%s\" failed",
                j->seg_path);
        goto failed;
    }

    if (fb_io_fsync(j->dirfd) != 0) {
        fb_jlog(j, FB_JLOG_ERR, errno, "fsync() \"%s\" failed", j->dir);
        goto failed;
    }

    if (j->fd >= 0) {
        close(j->fd);
    }

    j->fd = fd;
    j->seg_first = first;
    j->seg_off = FB_SEGMENT_HEADER;
    j->seg_synced = FB_SEGMENT_HEADER;
    fb_jstore(&j->segment_seq, first);

    return FB_OK;

failed:

    close(fd);
    return FB_ERROR;
}


/*
 * The journal cannot go on: log once, cut the file back to what may be
 * acknowledged (cut), and refuse everything from now on.  Workers waiting
 * for a record that was not durable get -1.
 */
static void
fb_journal_fail(fb_journal_t *j, off_t cut)
{
    if (fb_jload(&j->failed)) {
        return;
    }

    /* As redis does after a short write: the records cut off were never
     * acknowledged, and a restart must not bring them back. */
    if (cut >= 0 && j->fd >= 0) {
        if (fb_io_ftruncate(j->fd, cut) != 0
            || fb_io_fdatasync(j->fd) != 0)
        {
            fb_jlog(j, FB_JLOG_ERR, errno, "cutting \"%s\" back to %lld "
                    "bytes failed: records answered 503 may still be "
                    "recovered after a restart", j->seg_path,
                    (long long) cut);
        }
    }

    fb_jlog(j, FB_JLOG_ERR, 0, "the journal in \"%s\" failed: mutations are "
            "refused (503) and reads of balances not yet durable too, until "
            "fastbank is restarted", j->dir);

    pthread_mutex_lock(&j->mutex);
    fb_jstore(&j->failed, 1);
    pthread_mutex_unlock(&j->mutex);
}


/*
 * Writes the records at p, len bytes, at the end of the segment.  The
 * first is marked as beginning a write() (FB_RECORD_WRITE), its CRC again,
 * unless it is the segment's first record: nothing comes before that one
 * in its segment, so recovery never asks about its mark, and a version 1
 * reader (which takes a marked record for a bad one) then finds a valid
 * record after the header it does not know and refuses the directory.
 * Marked, every record of such a segment would be bad to it, the segment
 * a torn tail, and it would cut off every acknowledged record in it.
 */
static int
fb_journal_write(fb_journal_t *j, unsigned char *p, size_t len)
{
    if (len == 0) {
        return FB_OK;
    }

    if (j->seg_off > FB_SEGMENT_HEADER) {
        fb_record_mark_write(p);
    }

    fb_journal_prealloc(j, j->fd, j->seg_off + (off_t) len);

    if (fb_io_write_all(j->fd, p, len, NULL) != 0) {
        fb_jlog(j, FB_JLOG_ERR, errno, "write() \"%s\" failed", j->seg_path);
        /* A partial batch was never acknowledged: cut it off. */
        fb_journal_fail(j, j->seg_off);
        return FB_ERROR;
    }

    j->seg_off += (off_t) len;
    fb_atomic_store_relaxed(&j->batches,
                            fb_atomic_load_relaxed(&j->batches) + 1);
    return FB_OK;
}


const uint64_t  fb_journal_sync_bounds[FB_JSYNC_NBUCKETS] = {
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
    50000000, 100000000, 250000000, 1000000000
};


static int
fb_journal_sync(fb_journal_t *j)
{
    size_t    k;
    uint64_t  t0, d;

    t0 = fb_journal_now_ns();

    if (fb_io_fdatasync(j->fd) != 0) {
        fb_jlog(j, FB_JLOG_ERR, errno, "fdatasync() \"%s\" failed",
                j->seg_path);
        /*
         * Do not retry: after a failed fdatasync the kernel may have
         * dropped the dirty pages, and a second call could succeed without
         * having written them (PostgreSQL's "fsyncgate").  Under always
         * nothing after seg_synced was acknowledged; under batch it was,
         * on the strength of the write, so it stays.
         */
        fb_journal_fail(j, j->conf.fsync == FB_FSYNC_ALWAYS ? j->seg_synced
                                                            : -1);
        return FB_ERROR;
    }

    j->seg_synced = j->seg_off;
    j->last_sync_ns = fb_journal_now_ns();
    fb_atomic_store_release(&j->syncs, fb_atomic_load_relaxed(&j->syncs) + 1);

    d = j->last_sync_ns - t0;
    for (k = 0; k < FB_JSYNC_NBUCKETS && d > fb_journal_sync_bounds[k]; k++) {
        /* void */
    }
    fb_atomic_u64_add_single_writer(&j->sync_hist[k], 1);
    fb_atomic_u64_add_single_writer(&j->sync_hist[FB_JSYNC_NBUCKETS + 1], d);

    return FB_OK;
}


/* Seals the current segment (synced, whatever the policy) and opens the
 * one beginning at first. */
static int
fb_journal_rotate(fb_journal_t *j, uint64_t first)
{
    if (j->seg_synced < j->seg_off && fb_journal_sync(j) != FB_OK) {
        return FB_ERROR;
    }

    /*
     * Every record written so far is synced now: say so before opening
     * the next segment.  Should that fail, the journal fails, and a
     * record left unpublished here would be answered 503 ("not recorded")
     * although it is on disk and a restart brings it back.
     */
    fb_jstore(&j->synced_lsn, fb_jload(&j->written_lsn));

    fb_journal_cut_zeros(j);

    if (fb_journal_open_segment(j, first) != FB_OK) {
        fb_journal_fail(j, -1);
        return FB_ERROR;
    }

    return FB_OK;
}


/*
 * Writes one batch: records written_lsn + 1 onwards.  If a snapshot asked
 * for a new segment after record rotate_seq, the batch is split there, and
 * the records before the split are published as synced (the rotation
 * synced them).  The first record of each write() is marked as such
 * (FB_RECORD_WRITE, by fb_journal_write): recovery tells a write torn by
 * a power cut from damage to what was written before it by the marks
 * after the damage.
 */
static int
fb_journal_write_batch(fb_journal_t *j, fb_jbuf_t *b, int rotate,
    size_t rotate_off, uint64_t rotate_seq)
{
    uint64_t  first = fb_jload(&j->written_lsn) + 1;

    if (rotate && rotate_seq + 1 != j->seg_first) {
        if (fb_journal_write(j, b->data, rotate_off) != FB_OK) {
            return FB_ERROR;
        }

        /* Written whole: published before the rotation, which publishes
         * them synced, so that its failure does not answer them 503. */
        if (rotate_seq >= first) {
            fb_jstore(&j->written_lsn, rotate_seq);
        }

        if (fb_journal_rotate(j, rotate_seq + 1) != FB_OK) {
            return FB_ERROR;
        }

        return fb_journal_write(j, b->data + rotate_off, b->len - rotate_off);
    }

    if (b->len > 0 && (uint64_t) j->seg_off >= j->conf.segment_bytes
        && fb_journal_rotate(j, first) != FB_OK)
    {
        return FB_ERROR;
    }

    return fb_journal_write(j, b->data, b->len);
}


static uint64_t fb_journal_acked(fb_journal_t *j);


static void
fb_journal_wake_waiters(fb_journal_t *j)
{
    int             failed;
    uint64_t        acked;
    fb_jwaiter_t  **pw, *w, *wake = NULL;

    pthread_mutex_lock(&j->wait_mutex);

    acked = fb_journal_acked(j);
    failed = fb_jload(&j->failed) != 0;

    for (pw = &j->waiters; *pw != NULL; /* void */) {
        w = *pw;
        if (w->lsn <= acked || failed) {
            *pw = w->next;
            w->linked = 0;
            w->next = wake;
            wake = w;
        } else {
            pw = &w->next;
        }
    }

    pthread_cond_broadcast(&j->durable);
    pthread_mutex_unlock(&j->wait_mutex);

    /*
     * Posted outside the mutex, so that workers arriving to wait do not
     * queue behind these system calls.  An unlinked waiter stays blocked
     * in sem_wait, its w valid, until its own post; and w may be gone as
     * soon as it is posted, so next is read first.
     */
    while (wake != NULL) {
        w = wake;
        wake = w->next;
        if (w->notify != NULL) {
            w->notify(w->arg);
        } else {
            sem_post(&w->sem);
        }
    }
}


static void
fb_journal_ask_snapshot(fb_journal_t *j, uint64_t last)
{
    uint64_t  asked;

    if (j->conf.snapshot_records == 0) {
        return;
    }

    /* After a snapshot, or a failed one, wait for as many records again. */
    asked = fb_jload(&j->snap_asked_at);
    if (last - asked < j->conf.snapshot_records) {
        return;
    }

    fb_jstore(&j->snap_asked_at, last);

    pthread_mutex_lock(&j->snap_mutex);
    j->snap_requested = 1;
    pthread_cond_signal(&j->snap_cond);
    pthread_mutex_unlock(&j->snap_mutex);
}


/* Waits on work until there is something to do; mutex held. */
static void
fb_journal_writer_wait(fb_journal_t *j)
{
    uint64_t         due;
    struct timespec  ts;

    while (j->bufs[j->cur].len == 0 && !j->rotate && !j->sync_wanted
           && !j->stopping)
    {
        j->writer_idle = 1;

        if (j->conf.fsync == FB_FSYNC_BATCH && j->seg_synced < j->seg_off
            && !fb_jload(&j->failed))
        {
            /* batch: sync what was written at most interval_ms later. */
            due = j->last_sync_ns + (uint64_t) j->conf.interval_ms * 1000000u;
            if (fb_journal_now_ns() >= due) {
                j->writer_idle = 0;
                return;
            }
            ts.tv_sec = (time_t) (due / 1000000000u);
            ts.tv_nsec = (long) (due % 1000000000u);
            (void) pthread_cond_timedwait(&j->work, &j->mutex, &ts);
        } else {
            pthread_cond_wait(&j->work, &j->mutex);
        }

        j->writer_idle = 0;
    }
}


/*
 * Under always, lets the batch gather for up to delay_us before it is
 * written and synced, as PostgreSQL's commit_delay and MySQL's
 * binlog_group_commit_sync_delay do, but only when the last batch held
 * more than one record: requests are arriving together, so waiting adds
 * to this batch what would otherwise need a sync of its own.  A lone
 * client's batches hold one record each and never wait.  Fewer, larger
 * syncs cost less CPU per request (each is two disk round trips, an
 * interrupt or two, and a wake-up per worker) and leave the workers
 * preempted less often: measured in doc/journal.txt, section 5.
 *
 * The wait ends early once as many records have come since the last sync
 * ended as its batch held (gather_lsn), as MySQL's
 * binlog_group_commit_sync_no_delay_count ends its delay: the clients the
 * last sync answered have sent their next requests, and waiting longer
 * only adds their latency to the cycle.  from is the last LSN when that
 * sync ended, noted before synced_lsn said so, when none of those clients
 * can have sent anything yet.  Records that came during the sync do not
 * count: their clients were answered by an earlier one.  Counting them
 * too (from the last batch's end) made a third of the syncs at 500
 * connections skip the gather (doc/journal.txt, section 5).  The worker
 * whose record (or fb_journal_release) reaches gather_lsn signals; no
 * other append does (writer_idle is 0).  A stop, a rotation or a sync
 * wanted ends the wait too.  Each of them clears gathering as it signals,
 * so gathering still set means the wait timed out.  mutex held.
 */
static void
fb_journal_writer_gather(fb_journal_t *j, uint64_t from)
{
    uint64_t         due;
    struct timespec  ts;

    if (j->conf.fsync != FB_FSYNC_ALWAYS || j->conf.delay_us == 0
        || j->last_batch < 2 || fb_jload(&j->failed)
        || j->bufs[j->cur].len == 0 || j->stopping || j->rotate
        || j->sync_wanted)
    {
        return;
    }

    j->gather_lsn = from + j->last_batch;
    if (j->last_lsn >= j->gather_lsn) {
        return;
    }

    due = fb_journal_now_ns() + (uint64_t) j->conf.delay_us * 1000u;
    ts.tv_sec = (time_t) (due / 1000000000u);
    ts.tv_nsec = (long) (due % 1000000000u);

    fb_atomic_store_release(&j->gathers,
                            fb_atomic_load_relaxed(&j->gathers) + 1);
    j->gathering = 1;

    while (j->gathering && !j->stopping && !j->rotate && !j->sync_wanted
           && fb_journal_now_ns() < due)
    {
        (void) pthread_cond_timedwait(&j->work, &j->mutex, &ts);
    }

    /* Whoever ended the wait cleared gathering: the count, a stop, a
     * rotation or a sync wanted.  Only the count's is a cut. */
    if (!j->gathering && !j->stopping && !j->rotate && !j->sync_wanted) {
        fb_atomic_store_release(&j->gathers_cut,
                                fb_atomic_load_relaxed(&j->gathers_cut) + 1);
    }

    j->gathering = 0;
}


static void *
fb_journal_writer(void *arg)
{
    int            rotate, sync_wanted, stopping, sync, synced;
    size_t         rotate_off;
    uint64_t       last, rotate_seq, from;
    fb_jbuf_t     *b;
    fb_journal_t  *j = arg;

    /* For top -H, perf and gdb. */
    (void) pthread_setname_np(pthread_self(), "fb-journal");

    pthread_mutex_lock(&j->mutex);
    from = j->last_lsn;
    pthread_mutex_unlock(&j->mutex);

    for ( ;; ) {
        pthread_mutex_lock(&j->mutex);

        fb_journal_writer_wait(j);
        fb_journal_writer_gather(j, from);

        /*
         * Take the batch; workers go on filling the other buffer, which
         * has room: a failed growth of this one was this shortage, and
         * the next one is logged again, however long after.
         */
        b = &j->bufs[j->cur];
        j->cur ^= 1;
        j->nomem_logged = 0;
        last = j->last_lsn;
        j->last_batch = last - fb_jload(&j->written_lsn);
        rotate = j->rotate;
        rotate_off = j->rotate_off;
        rotate_seq = j->rotate_seq;
        sync_wanted = j->sync_wanted;
        stopping = j->stopping;
        j->rotate = 0;
        j->sync_wanted = 0;

        pthread_mutex_unlock(&j->mutex);

        if (!fb_jload(&j->failed)
            && fb_journal_write_batch(j, b, rotate, rotate_off, rotate_seq)
               == FB_OK)
        {
            if (b->len > 0) {
                fb_jstore(&j->written_lsn, last);
            }

            sync = j->seg_synced < j->seg_off
                   && (j->conf.fsync == FB_FSYNC_ALWAYS || sync_wanted
                       || stopping
                       || fb_journal_now_ns() >= j->last_sync_ns
                          + (uint64_t) j->conf.interval_ms * 1000000u);

            synced = sync && fb_journal_sync(j) == FB_OK;

            /*
             * The next gather counts from here: the sync is over and
             * nothing has said so yet, so no client it answers can have
             * sent its next record (fb_journal_writer_gather).
             */
            pthread_mutex_lock(&j->mutex);
            from = j->last_lsn;
            pthread_mutex_unlock(&j->mutex);

            if (synced) {
                fb_jstore(&j->synced_lsn, fb_jload(&j->written_lsn));
            }

            if (!sync && j->seg_synced == j->seg_off) {
                /* Nothing unsynced (an empty batch asked for a sync). */
                fb_jstore(&j->synced_lsn, fb_jload(&j->written_lsn));
            }
        }

        b->len = 0;

        fb_journal_wake_waiters(j);
        fb_journal_ask_snapshot(j, last);

        if (stopping) {
            pthread_mutex_lock(&j->mutex);
            stopping = j->bufs[j->cur].len == 0;
            pthread_mutex_unlock(&j->mutex);
            if (stopping) {
                break;
            }
        }
    }

    return NULL;
}


/*
 * A thread between fb_journal_hold and fb_journal_release appends without
 * waking the writer; the release wakes it once.  So an event loop that
 * serves 64 requests in one pass costs the writer one wake-up, not one
 * per request: each wake-up is a futex call and a context switch, and the
 * batches it starts each cost a write(), a notification per worker and,
 * under always, an fdatasync.
 */
static __thread int  fb_jheld;
static __thread int  fb_jappended;


int
fb_journal_log(void *ctx, const fb_op_t *op, uint64_t *lsn)
{
    uint64_t       seq;
    fb_jbuf_t     *b;
    fb_journal_t  *j = ctx;

    pthread_mutex_lock(&j->mutex);

    if (j->stopping || fb_jload(&j->failed)) {
        pthread_mutex_unlock(&j->mutex);
        return -1;
    }

    b = &j->bufs[j->cur];

    if (b->cap - b->len < FB_RECORD_MAX) {
        if (fb_jbuf_reserve(b, FB_RECORD_MAX) != 0) {
            if (!j->nomem_logged) {
                j->nomem_logged = 1;
                fb_jlog(j, FB_JLOG_ERR, errno, "realloc() of the journal "
                        "buffer failed: the mutation is refused");
            }
            pthread_mutex_unlock(&j->mutex);
            return -1;
        }

        /* Memory is back: a later shortage is logged again. */
        j->nomem_logged = 0;
    }

    seq = ++j->last_lsn;
    b->len += fb_record_encode(op, seq, b->data + b->len);

    if (fb_jheld) {
        fb_jappended = 1;
    } else if (j->writer_idle) {
        j->writer_idle = 0;
        pthread_cond_signal(&j->work);
    } else if (j->gathering && seq >= j->gather_lsn) {
        j->gathering = 0;
        pthread_cond_signal(&j->work);
    }

    pthread_mutex_unlock(&j->mutex);

    *lsn = seq;
    return 0;
}


/* The LSN up to which a reply may go out under the policy. */
static uint64_t
fb_journal_acked(fb_journal_t *j)
{
    return j->conf.fsync == FB_FSYNC_ALWAYS ? fb_jload(&j->synced_lsn)
                                            : fb_jload(&j->written_lsn);
}


void
fb_journal_hold(fb_journal_t *j)
{
    (void) j;
    fb_jheld = 1;
}


void
fb_journal_release(fb_journal_t *j)
{
    fb_jheld = 0;

    if (!fb_jappended) {
        return;
    }

    fb_jappended = 0;

    pthread_mutex_lock(&j->mutex);
    if (j->writer_idle && j->bufs[j->cur].len > 0) {
        j->writer_idle = 0;
        pthread_cond_signal(&j->work);
    } else if (j->gathering && j->last_lsn >= j->gather_lsn) {
        j->gathering = 0;
        pthread_cond_signal(&j->work);
    }
    pthread_mutex_unlock(&j->mutex);
}


int
fb_journal_wait(fb_journal_t *j, uint64_t lsn)
{
    fb_jwaiter_t  w;

    /* The writer must know of this thread's records before it waits. */
    if (fb_jheld) {
        fb_journal_release(j);
        fb_journal_hold(j);
    }

    if (lsn == 0 || fb_journal_acked(j) >= lsn) {
        return 0;
    }

    pthread_mutex_lock(&j->wait_mutex);

    if (fb_journal_acked(j) >= lsn || fb_jload(&j->failed)) {
        pthread_mutex_unlock(&j->wait_mutex);
        return fb_journal_acked(j) >= lsn ? 0 : -1;
    }

    w.lsn = lsn;
    sem_init(&w.sem, 0, 0);
    w.notify = NULL;
    w.next = j->waiters;
    w.linked = 1;
    j->waiters = &w;

    pthread_mutex_unlock(&j->wait_mutex);

    /* Posted only once the writer has unlinked w: the LSN is published,
     * or the journal failed.  Workers block every signal, but a caller
     * that does not may see EINTR. */
    while (sem_wait(&w.sem) != 0 && errno == EINTR) {
        /* void */
    }

    sem_destroy(&w.sem);

    return fb_journal_acked(j) >= lsn ? 0 : -1;
}


int
fb_journal_durable(fb_journal_t *j, uint64_t lsn)
{
    if (lsn == 0 || fb_journal_acked(j) >= lsn) {
        return 1;
    }

    if (!fb_jload(&j->failed)) {
        return 0;
    }

    /*
     * Failed, but after what was read above?  A caller preempted between
     * the two loads may find the journal failed by a later batch while
     * the sync that covered lsn was published in between: lsn is durable
     * and a restart brings it back, so it must not be answered 503.  The
     * writer publishes nothing after it sets failed: look again.
     */
    return fb_journal_acked(j) >= lsn ? 1 : -1;
}


fb_jnotify_t *
fb_journal_notify_new(fb_jnotify_pt notify, void *arg)
{
    fb_jwaiter_t  *w;

    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return NULL;
    }

    w->notify = notify;
    w->arg = arg;

    return w;
}


void
fb_journal_notify_free(fb_jnotify_t *n)
{
    free(n);
}


int
fb_journal_notify(fb_journal_t *j, fb_jnotify_t *n, uint64_t lsn)
{
    if (fb_journal_durable(j, lsn) != 0) {
        return FB_DECLINED;
    }

    pthread_mutex_lock(&j->wait_mutex);

    /* Re-checked under the mutex: the writer publishes, then takes it to
     * walk the list, so a waiter linked now is seen by that walk. */
    if (fb_journal_acked(j) >= lsn || fb_jload(&j->failed)) {
        pthread_mutex_unlock(&j->wait_mutex);
        return FB_DECLINED;
    }

    n->lsn = lsn;
    n->next = j->waiters;
    n->linked = 1;
    j->waiters = n;

    pthread_mutex_unlock(&j->wait_mutex);

    return FB_OK;
}


int
fb_journal_notify_lower(fb_journal_t *j, fb_jnotify_t *n, uint64_t lsn)
{
    int  rc = FB_OK;

    pthread_mutex_lock(&j->wait_mutex);

    /*
     * Under the mutex, as in fb_journal_notify: an LSN not durable now is
     * seen, lowered, by the writer's next walk.  A waiter no longer linked
     * has its notification on the way, and the caller looks again then.
     */
    if (fb_journal_acked(j) >= lsn || fb_jload(&j->failed)) {
        rc = FB_DECLINED;
    } else if (n->linked && lsn < n->lsn) {
        n->lsn = lsn;
    }

    pthread_mutex_unlock(&j->wait_mutex);

    return rc;
}


int
fb_journal_failed(fb_journal_t *j)
{
    return fb_jload(&j->failed) != 0;
}


/* Wakes the writer for an order (a sync wanted, a rotation, a stop)
 * whether it is idle or gathering: either wait ends at once.  mutex
 * held. */
static void
fb_journal_wake_writer(fb_journal_t *j)
{
    if (j->writer_idle || j->gathering) {
        j->writer_idle = 0;
        j->gathering = 0;
        pthread_cond_signal(&j->work);
    }
}


/* Waits until every record up to lsn is synced and the writer has moved
 * to a segment beginning after seg (a snapshot's S0).  -1 on failure. */
static int
fb_journal_wait_synced(fb_journal_t *j, uint64_t lsn, uint64_t seg)
{
    int  rc;

    pthread_mutex_lock(&j->mutex);
    j->sync_wanted = 1;
    fb_journal_wake_writer(j);
    pthread_mutex_unlock(&j->mutex);

    pthread_mutex_lock(&j->wait_mutex);

    while ((fb_jload(&j->synced_lsn) < lsn || fb_jload(&j->segment_seq) <= seg)
           && !fb_jload(&j->failed))
    {
        pthread_cond_wait(&j->durable, &j->wait_mutex);
    }

    rc = fb_jload(&j->failed) ? -1 : 0;

    pthread_mutex_unlock(&j->wait_mutex);

    return rc;
}


/* Deletes the segments whose records are all in the snapshot at s0, and
 * the older snapshots. */
static void
fb_journal_trim(fb_journal_t *j, uint64_t s0)
{
    DIR            *d;
    char            path[4096];
    uint64_t        seq;
    struct dirent  *de;

    d = opendir(j->dir);
    if (d == NULL) {
        fb_jlog(j, FB_JLOG_WARN, errno, "opendir() \"%s\" failed", j->dir);
        return;
    }

    while ((de = readdir(d)) != NULL) {
        /* A segment beginning at or before s0 ended at s0 at the latest:
         * the writer moved to s0 + 1 (or later) before we got here. */
        if ((fb_segment_name_parse(de->d_name, &seq) == 0 && seq <= s0)
            || (fb_snapshot_name_parse(de->d_name, &seq) == 0 && seq < s0))
        {
            snprintf(path, sizeof(path), "%s/%s", j->dir, de->d_name);
            if (fb_io_unlink(path) != 0) {
                fb_jlog(j, FB_JLOG_WARN, errno, "unlink() \"%s\" failed",
                        path);
            }
        }
    }

    closedir(d);
}


/* fb_snapshot_write's end: the last LSN handed out. */
static uint64_t
fb_journal_snap_end(void *arg)
{
    uint64_t       last;
    fb_journal_t  *j = arg;

    pthread_mutex_lock(&j->mutex);
    last = j->last_lsn;
    pthread_mutex_unlock(&j->mutex);

    return last;
}


int
fb_journal_snapshot(fb_journal_t *j)
{
    int                  rc = FB_ERROR;
    char                 name[FB_FILE_NAME_MAX], tmp[4096], path[4096];
    uint64_t             s0, end, t0;
    fb_snapshot_info_t   info;

    pthread_mutex_lock(&j->snap_run);

    t0 = fb_journal_now_ns();

    /*
     * 1. S0: the last LSN appended.  The writer is told to start a new
     * segment right after it, so that the segments up to S0 can go once
     * the snapshot is in place.
     */
    pthread_mutex_lock(&j->mutex);
    s0 = j->last_lsn;
    if (s0 == fb_jload(&j->snapshot_seq) || fb_jload(&j->failed)
        || j->stopping)
    {
        pthread_mutex_unlock(&j->mutex);
        rc = s0 == fb_jload(&j->snapshot_seq) ? FB_DECLINED : FB_ERROR;
        goto done;
    }
    j->rotate = 1;
    j->rotate_off = j->bufs[j->cur].len;
    j->rotate_seq = s0;
    fb_journal_wake_writer(j);
    pthread_mutex_unlock(&j->mutex);

    /*
     * 2. Every change logged up to S0 is applied in memory once each lock
     * has been taken once: a worker calls the hook and applies the change
     * under the same lock.  Without this, the scan could read an account
     * whose record <= S0 was logged but not yet applied, and replay (from
     * S0 + 1) would never restore it.
     */
    fb_store_barrier(j->store);

    /*
     * 3. The image, read lock-free while the workers go on.  Its header
     * records the last LSN appended when the scan ended (info.exact): the
     * image may hold changes up to it, and is exact only once they are
     * replayed, so recovery refuses it without them.
     */
    snprintf(tmp, sizeof(tmp), "%s/%s", j->dir, FB_SNAPSHOT_TMP);
    if (fb_snapshot_write(tmp, j->store, s0, fb_journal_snap_end, j, &info,
                          j->conf.log)
        != FB_OK)
    {
        goto done;
    }

    /*
     * 4. The scan may have seen changes made after S0.  They must be
     * durable before the snapshot may count: otherwise a crash could leave
     * a snapshot holding a change the journal lost (a transfer's credit
     * without its debit).
     */
    end = info.exact;

    if (fb_journal_wait_synced(j, end, s0) != 0) {
        (void) fb_io_unlink(tmp);
        goto done;
    }

    /* 5. In place, durably. */
    fb_snapshot_name(name, s0);
    snprintf(path, sizeof(path), "%s/%s", j->dir, name);

    if (fb_io_rename(tmp, path) != 0) {
        fb_jlog(j, FB_JLOG_ERR, errno, "rename() \"%s\" to \"%s\" failed",
                tmp, path);
        (void) fb_io_unlink(tmp);
        goto done;
    }

    if (fb_io_fsync(j->dirfd) != 0) {
        /* The snapshot may or may not be there after a crash; either way
         * the segments it covers are, as long as they are not deleted. */
        fb_jlog(j, FB_JLOG_ERR, errno, "fsync() \"%s\" failed", j->dir);
        goto done;
    }

    fb_jstore(&j->snapshot_seq, s0);
    fb_atomic_fetch_add(&j->snapshots, 1);

    /* 6. What the snapshot makes unnecessary. */
    fb_journal_trim(j, s0);

    fb_jlog(j, FB_JLOG_INFO, 0, "snapshot %s: %" PRIu64 " accounts, %"
            PRIu64 " bytes, in %.3f s", name, info.accounts, info.bytes,
            (double) (fb_journal_now_ns() - t0) / 1e9);

    rc = FB_OK;

done:

    pthread_mutex_unlock(&j->snap_run);
    return rc;
}


static void *
fb_journal_snapper(void *arg)
{
    fb_journal_t  *j = arg;

    (void) pthread_setname_np(pthread_self(), "fb-snapshot");

    for ( ;; ) {
        pthread_mutex_lock(&j->snap_mutex);
        while (!j->snap_requested && !j->snap_stop) {
            pthread_cond_wait(&j->snap_cond, &j->snap_mutex);
        }
        if (j->snap_stop) {
            pthread_mutex_unlock(&j->snap_mutex);
            break;
        }
        j->snap_requested = 0;
        pthread_mutex_unlock(&j->snap_mutex);

        /* A failure was logged; the next try comes after as many records
         * again (fb_journal_ask_snapshot). */
        (void) fb_journal_snapshot(j);
    }

    return NULL;
}


int
fb_journal_start(fb_journal_t *j, fb_store_t *s)
{
    int  err;

    j->store = s;
    j->last_sync_ns = fb_journal_now_ns();

    if (fb_journal_open_segment(j, j->last_lsn + 1) != FB_OK) {
        return FB_ERROR;
    }

    err = pthread_create(&j->writer, NULL, fb_journal_writer, j);
    if (err != 0) {
        fb_jlog(j, FB_JLOG_ERR, err, "pthread_create() failed");
        return FB_ERROR;
    }
    j->writer_started = 1;

    err = pthread_create(&j->snapper, NULL, fb_journal_snapper, j);
    if (err != 0) {
        fb_jlog(j, FB_JLOG_ERR, err, "pthread_create() failed");
        return FB_ERROR;
    }
    j->snapper_started = 1;

    return FB_OK;
}


void
fb_journal_stop(fb_journal_t *j, int final_snapshot)
{
    if (j->snapper_started) {
        pthread_mutex_lock(&j->snap_mutex);
        j->snap_stop = 1;
        pthread_cond_signal(&j->snap_cond);
        pthread_mutex_unlock(&j->snap_mutex);
        pthread_join(j->snapper, NULL);
        j->snapper_started = 0;
    }

    if (final_snapshot && j->writer_started && !fb_jload(&j->failed)) {
        (void) fb_journal_snapshot(j);
    }

    if (j->writer_started) {
        pthread_mutex_lock(&j->mutex);
        j->stopping = 1;
        fb_journal_wake_writer(j);
        pthread_mutex_unlock(&j->mutex);
        pthread_join(j->writer, NULL);
        j->writer_started = 0;

        fb_jlog(j, FB_JLOG_INFO, 0, "journal stopped at LSN %" PRIu64 ": %"
                PRId64 " writes and %" PRId64 " fdatasyncs since start-up "
                "(%" PRId64 " gathered, %" PRId64 " of them cut short), "
                "%" PRId64 " snapshots", j->last_lsn,
                fb_atomic_load_relaxed(&j->batches),
                fb_atomic_load_relaxed(&j->syncs),
                fb_atomic_load_relaxed(&j->gathers),
                fb_atomic_load_relaxed(&j->gathers_cut),
                fb_atomic_load_relaxed(&j->snapshots));
    }

    if (j->fd >= 0) {
        fb_journal_cut_zeros(j);
        if (close(j->fd) != 0) {
            fb_jlog(j, FB_JLOG_ERR, errno, "close() \"%s\" failed",
                    j->seg_path);
        }
        j->fd = -1;
    }
}


void
fb_journal_free(fb_journal_t *j)
{
    if (j == NULL) {
        return;
    }

    fb_journal_stop(j, 0);

    pthread_mutex_destroy(&j->mutex);
    pthread_cond_destroy(&j->work);
    pthread_mutex_destroy(&j->wait_mutex);
    pthread_cond_destroy(&j->durable);
    pthread_mutex_destroy(&j->snap_mutex);
    pthread_cond_destroy(&j->snap_cond);
    pthread_mutex_destroy(&j->snap_run);

    if (j->dirfd >= 0) {
        close(j->dirfd);
    }

    free(j->bufs[0].data);
    free(j->bufs[1].data);
    free(j->dir);
    free(j);
}


void
fb_journal_stats(fb_journal_t *j, fb_journal_stats_t *out)
{
    size_t  k;

    pthread_mutex_lock(&j->mutex);
    out->last_lsn = j->last_lsn;
    pthread_mutex_unlock(&j->mutex);

    out->written_lsn = fb_jload(&j->written_lsn);
    out->synced_lsn = fb_jload(&j->synced_lsn);
    out->batches = (uint64_t) fb_atomic_load_relaxed(&j->batches);
    /* cut <= gathers <= syncs (the writer counts a sync before it can
     * begin the next gather, and a gather before its cut): read in that
     * order, a scrape under load never sees them the other way round. */
    out->gathers_cut = (uint64_t) fb_atomic_load_acquire(&j->gathers_cut);
    out->gathers = (uint64_t) fb_atomic_load_acquire(&j->gathers);
    out->syncs = (uint64_t) fb_atomic_load_acquire(&j->syncs);
    out->snapshots = fb_jload(&j->snapshots);
    out->snapshot_seq = fb_jload(&j->snapshot_seq);
    out->recovered_lsn = j->recovered_lsn;
    out->failed = fb_jload(&j->failed) != 0;

    for (k = 0; k < FB_JSYNC_NBUCKETS + 2; k++) {
        out->sync_hist[k] = fb_atomic_u64_load(&j->sync_hist[k]);
    }
}


/* --check writes its report here; it runs on one thread. */
static FILE  *fb_check_out;

static void fb_check_log(int level, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fb_check_log(int level, int err, const char *fmt, ...)
{
    va_list  ap;

    fputs(level == FB_JLOG_ERR ? "error: "
          : level == FB_JLOG_WARN ? "warning: " : "", fb_check_out);

    va_start(ap, fmt);
    vfprintf(fb_check_out, fmt, ap);
    va_end(ap);

    if (err != 0) {
        fprintf(fb_check_out, " (%d: %s)", err, strerror(err));
    }

    fputc('\n', fb_check_out);
}


int
fb_journal_check(const char *dir, int repair, FILE *out)
{
    int             fd, rc;
    fb_store_t     *s;
    fb_recovery_t   r;

    fb_check_out = out;

    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fb_check_log(FB_JLOG_ERR, errno, "open() \"%s\" failed", dir);
        return FB_CHECK_IO;
    }

    /* A running fastbank holds the lock and is writing: its tail would
     * look torn.  Neither read nor repair under it. */
    if (flock(fd, (repair ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            fb_check_log(FB_JLOG_ERR, 0, "\"%s\" is in use by a running "
                         "fastbank: stop it first", dir);
        } else {
            fb_check_log(FB_JLOG_ERR, errno, "flock() \"%s\" failed", dir);
        }
        close(fd);
        return FB_CHECK_IO;
    }

    s = fb_store_new(NULL);
    if (s == NULL) {
        fb_check_log(FB_JLOG_ERR, errno, "fb_store_new() failed");
        close(fd);
        return FB_CHECK_IO;
    }

    fb_check_log(FB_JLOG_INFO, 0, "checking %s%s", dir,
                 repair ? " (repairing a torn tail or write)" : "");

    rc = fb_recover(dir, s, repair ? FB_RECOVER_REPAIR : FB_RECOVER_CHECK,
                    fb_check_log, &r);

    if (rc == FB_CHECK_OK || rc == FB_CHECK_TORN) {
        fb_check_log(FB_JLOG_INFO, 0, "%" PRIu64 " segments, %" PRIu64
                     " records (%" PRIu64 " after the snapshot), last "
                     "sequence %" PRIu64, r.segments, r.records, r.replayed,
                     r.last_seq);
        fb_check_log(FB_JLOG_INFO, 0, "%" PRIu64 " accounts, balances sum "
                     "to %" PRId64, r.accounts, r.sum);
        if (r.torn_bytes && rc == FB_CHECK_OK) {
            fb_check_log(FB_JLOG_INFO, 0, "repaired: a torn tail or write "
                         "of %" PRIu64 " bytes cut off", r.torn_bytes);
        }
    }

    fb_check_log(FB_JLOG_INFO, 0, "result: %s (exit %d)",
                 rc == FB_CHECK_OK ? "consistent"
                 : rc == FB_CHECK_TORN ? "torn tail or write"
                 : rc == FB_CHECK_CORRUPT ? "corrupt" : "could not check",
                 rc);

    fb_store_free(s);
    close(fd);
    return rc;
}
