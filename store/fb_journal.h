/*
 * fb_journal.h: the write-ahead journal that makes the store durable.
 *
 * Every mutation the store applies is first appended, as a record, to an
 * in-memory buffer by the store's log hook (fb_journal_log), under the
 * lock(s) of the accounts it touches; the hook hands back the record's
 * LSN.  One writer thread takes the buffer, write()s it to the current
 * segment and, under --fsync always, fdatasync()s it: one sync covers
 * every record that arrived while the previous one ran (group commit).  A
 * worker replies only once fb_journal_wait says its LSN is durable.  A
 * snapshot thread writes an image of every account now and then, after
 * which older segments are deleted; start-up loads the newest snapshot
 * and replays the journal after it (fb_journal_recover).
 *
 * Lock order: store create mutex / stripe locks -> journal mutex.  The
 * journal never calls into the store while it holds a lock of its own.
 * doc/journal.txt has the whole design.
 */

#ifndef FB_JOURNAL_H_INCLUDED
#define FB_JOURNAL_H_INCLUDED

#include <stdint.h>
#include <stdio.h>

#include "fb_store.h"

/* The return codes of fcgi/fb_core.h, for the store's durable side. */
#ifndef FB_OK
#define FB_OK         0
#define FB_ERROR     -1
#define FB_AGAIN     -2
#define FB_DECLINED  -3
#endif

/* Log levels of the callback: the same numbers as fcgi/fb_log.h's. */
#define FB_JLOG_ERR   0
#define FB_JLOG_WARN  1
#define FB_JLOG_INFO  2

/* err: an errno value to add to the line, or 0. */
typedef void (*fb_jlog_pt)(int level, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef enum {
    FB_FSYNC_ALWAYS = 0,   /* reply after fdatasync */
    FB_FSYNC_BATCH,        /* reply after write; fdatasync every interval */
    FB_FSYNC_OFF           /* no journal: memory only */
} fb_fsync_e;

#define FB_JOURNAL_SEGMENT_BYTES     ((uint64_t) 64 << 20)
#define FB_JOURNAL_PREALLOC_BYTES    ((uint64_t) 1 << 20)
#define FB_JOURNAL_SNAPSHOT_RECORDS  ((uint64_t) 5000000)
#define FB_JOURNAL_INTERVAL_MS       10
#define FB_JOURNAL_DELAY_US          1000  /* fastbank's --fsync-delay */

typedef struct {
    const char   *dir;
    fb_fsync_e    fsync;              /* ALWAYS or BATCH */
    unsigned      interval_ms;        /* BATCH: longest time unsynced */
    unsigned      delay_us;           /* ALWAYS: how long a batch may
                                         gather when the last one was
                                         shared; 0: never waits */
    uint64_t      segment_bytes;      /* 0: FB_JOURNAL_SEGMENT_BYTES */
    uint64_t      prealloc_bytes;     /* zeros written ahead of the
                                         records; 0: the default */
    uint64_t      snapshot_records;   /* records between snapshots; 0:
                                         only when asked (and at stop) */
    fb_jlog_pt    log;                /* NULL: silent */
} fb_journal_conf_t;

/* What recovery (or a check) found. */
typedef struct {
    uint64_t      snapshot_seq;       /* 0: no snapshot */
    uint64_t      snapshot_accounts;
    uint64_t      segments;
    uint64_t      records;            /* read, skipped ones included */
    uint64_t      replayed;           /* applied: after the snapshot */
    uint64_t      first_seq;          /* of the oldest segment; 0: none */
    uint64_t      last_seq;           /* the last durable LSN; 0: none */
    uint64_t      torn_bytes;         /* at the tail of the last segment */
    uint64_t      accounts;           /* in the store afterwards */
    int64_t       sum;                /* of all balances afterwards */
    double        seconds;
} fb_recovery_t;

typedef struct fb_journal_s  fb_journal_t;

/*
 * Opens (creating it if need be) and locks the data directory: one
 * process at a time.  Nothing is read yet.  NULL on failure, logged.
 */
fb_journal_t *fb_journal_new(const fb_journal_conf_t *conf);

/*
 * Start-up: loads the newest snapshot and replays every later record into
 * s, which must be empty and have this journal as its log.  A torn record
 * at the tail of the last segment is cut off and logged; any other damage
 * stops start-up: FB_ERROR, logged with the file and the offset.
 */
int fb_journal_recover(fb_journal_t *j, fb_store_t *s, fb_recovery_t *out);

/* Opens a new segment after the last recovered record and starts the
 * writer and snapshot threads.  FB_ERROR on failure, logged. */
int fb_journal_start(fb_journal_t *j, fb_store_t *s);

/* The store's log hook (fb_store_log_pt); ctx is the journal. */
int fb_journal_log(void *ctx, const fb_op_t *op, uint64_t *lsn);

/*
 * Blocks until the record lsn is durable under the policy: synced under
 * always, written under batch.  0 when it is (at once for lsn 0); -1 if
 * the journal failed first: the record never will be.
 */
int fb_journal_wait(fb_journal_t *j, uint64_t lsn);

/*
 * Between the two, the calling thread's appends do not wake the writer;
 * the release wakes it once if there were any.  For an event loop: hold
 * before serving a pass of events, release after it.  fb_journal_wait
 * releases first.
 */
void fb_journal_hold(fb_journal_t *j);
void fb_journal_release(fb_journal_t *j);

/* Without blocking: 1 if the record lsn is durable under the policy (or
 * lsn is 0), 0 if not yet, -1 if the journal failed first. */
int fb_journal_durable(fb_journal_t *j, uint64_t lsn);

/*
 * Asynchronous waits, for callers that must not block (the FastCGI
 * workers' event loops).  An fb_jnotify_t is a reusable waiter:
 * fb_journal_notify links it for lsn and returns FB_OK, after which the
 * writer thread calls notify(arg) once, outside its locks, as soon as lsn
 * is durable or the journal failed; until that call the waiter must not
 * be linked again or freed.  FB_DECLINED: nothing was linked, because lsn
 * already is durable or never will be (fb_journal_durable says which).
 * notify must be quick: it may read fb_journal_durable, and must not
 * block or take the journal's locks (fb_journal_notify, _wait).
 */
typedef struct fb_jwaiter_s  fb_jwaiter_t;
typedef fb_jwaiter_t  fb_jnotify_t;
typedef void (*fb_jnotify_pt)(void *arg);

fb_jnotify_t *fb_journal_notify_new(fb_jnotify_pt notify, void *arg);
void fb_journal_notify_free(fb_jnotify_t *n);
int fb_journal_notify(fb_journal_t *j, fb_jnotify_t *n, uint64_t lsn);

/*
 * For n linked by fb_journal_notify and not yet notified: be notified at
 * lsn instead, if it is earlier (a worker that parked a reply waiting for
 * an earlier LSN than the one it asked for).  FB_OK: n will be notified
 * by the time lsn is durable, or was already.  FB_DECLINED: lsn already
 * is durable or never will be; n is unchanged.
 */
int fb_journal_notify_lower(fb_journal_t *j, fb_jnotify_t *n, uint64_t lsn);

/* Whether the journal has failed: it takes no more records, ever. */
int fb_journal_failed(fb_journal_t *j);

/*
 * Takes a snapshot now and waits for it; FB_OK, FB_DECLINED when there
 * is nothing new since the last one, FB_ERROR if it failed (logged; the
 * journal goes on).
 */
int fb_journal_snapshot(fb_journal_t *j);

/*
 * Stops: waits for every record appended so far to be written and
 * synced, whatever the policy, optionally takes a last snapshot first,
 * and stops the threads.  Call only once no thread calls the store.
 */
void fb_journal_stop(fb_journal_t *j, int final_snapshot);

void fb_journal_free(fb_journal_t *j);

/* fdatasync durations are counted in buckets of these upper bounds (ns),
 * then +Inf: from a flush that the disk's cache answers to a stall. */
#define FB_JSYNC_NBUCKETS  12
extern const uint64_t  fb_journal_sync_bounds[FB_JSYNC_NBUCKETS];

/* Counters, for tests, the logs and /metrics. */
typedef struct {
    uint64_t      last_lsn;           /* handed out */
    uint64_t      written_lsn;
    uint64_t      synced_lsn;
    uint64_t      recovered_lsn;      /* the last LSN recovery found */
    uint64_t      batches;            /* write()s of a batch */
    uint64_t      syncs;              /* fdatasync()s */
    uint64_t      gathers;            /* batches that waited up to
                                         --fsync-delay for more records */
    uint64_t      gathers_cut;        /* of those, ended early: as many
                                         records came since the last sync
                                         as it wrote */
    uint64_t      snapshots;
    uint64_t      snapshot_seq;
    int           failed;             /* mutations refused until restart */
    uint64_t      sync_hist[FB_JSYNC_NBUCKETS + 2];  /* the writer's
                                         fdatasyncs per bucket (not
                                         cumulative), +Inf, then the sum
                                         of their durations in ns */
} fb_journal_stats_t;

void fb_journal_stats(fb_journal_t *j, fb_journal_stats_t *out);

/*
 * fastbank --check: reads dir without the journal's lock held by anyone,
 * replays it into a scratch store and reports on out.  With repair, a
 * torn tail or a torn write is cut off, as start-up cuts it.  Returns an
 * FB_CHECK_ code, also the exit status.
 */
#define FB_CHECK_OK          0    /* consistent (after repair, if asked) */
#define FB_CHECK_TORN        1    /* a torn tail or write, left in place */
#define FB_CHECK_CORRUPT     3    /* damage start-up would refuse */
#define FB_CHECK_IO          4    /* could not read, or is in use */

int fb_journal_check(const char *dir, int repair, FILE *out);

#endif /* FB_JOURNAL_H_INCLUDED */
