/*
 * fb_metrics.h: per-thread counters, merged only when /metrics is scraped.
 *
 * Each worker owns one fb_stats_t, aligned to FB_STATS_ALIGN and written
 * only by that worker: no lock and no shared atomic read-modify-write on
 * the request path (fb_atomic_u64_add_single_writer is a relaxed load and
 * store).  A scrape sums every worker's counters into a snapshot and
 * formats Prometheus text exposition 0.0.4.  doc/metrics.txt has the
 * design and how its cost is measured.
 *
 * FB_STATS_FIELDS is the one list of per-thread metrics: it generates the
 * struct, the merge and the table of metric names, types and help texts,
 * so they cannot drift.  FB_SCRAPE_METRICS lists the metrics read when a
 * scrape happens (the store, the process, the pool size); they feed the
 * same table.
 *
 * ./configure --disable-metrics compiles the recording calls out (they
 * become empty inline functions and the request clock is not read); the
 * exposition then has samples of the scrape-time metrics only, and
 * declares the others (HELP, TYPE) without samples.
 */

#ifndef FB_METRICS_H_INCLUDED
#define FB_METRICS_H_INCLUDED

#include "fb_core.h"
#include "fb_atomic.h"
#include "fb_buf.h"
#include "fb_journal.h"
#include "fb_route.h"

#ifndef FB_NO_METRICS
#include <time.h>
#endif

/*
 * Two cache lines: besides keeping workers off each other's lines, this
 * keeps them off the pair of lines the L2 spatial prefetcher fetches
 * together on x86.
 */
#define FB_STATS_ALIGN  128

/* Statuses the backend answers, one counter slot each; the rest: other. */
#define FB_STATUSES(X)                                                     \
    X(200) X(201) X(400) X(404) X(405) X(413) X(500) X(503)

typedef enum {
#define FB_STATUS_ENUM(code)  FB_STATUS_##code,
    FB_STATUSES(FB_STATUS_ENUM)
#undef FB_STATUS_ENUM
    FB_STATUS_OTHER,
    FB_STATUS_COUNT
} fb_status_e;

/*
 * Histogram upper bounds, increasing, in the unit the value is recorded
 * in; the exposition prints bound / 10^decimals (see FB_STATS_FIELDS)
 * with %g, as Go's client libraries print le, and with more digits
 * where a bound needs them to read back exactly.  Request durations are
 * recorded in nanoseconds: a request the backend answers from memory
 * takes some microseconds, so the buckets start at 10 us and go up to 5 s
 * for a stalled disk or an overloaded host.
 */
#define FB_DURATION_BUCKETS(X)                                             \
    X(10000) X(25000) X(50000) X(100000) X(250000) X(500000)               \
    X(1000000) X(2500000) X(5000000) X(10000000) X(25000000)               \
    X(50000000) X(100000000) X(250000000) X(500000000) X(1000000000)       \
    X(2500000000) X(5000000000)

/* Transfer amounts in centavos; the contract's maximum is the last. */
#define FB_AMOUNT_BUCKETS(X)                                               \
    X(100) X(1000) X(10000) X(100000) X(500000) X(1000000)

/* For counters and gauges. */
#define FB_NO_BUCKETS(X)

#define FB_COUNT_ONE(a)  + 1
#define FB_NBUCKETS(buckets)  (0 buckets(FB_COUNT_ONE))

/*
 * Slots one series takes: a counter or gauge one; a histogram one per
 * bucket (not cumulative: the scrape accumulates them), one for +Inf and
 * one for the sum.
 */
#define FB_SERIES_SLOTS(buckets)                                           \
    (FB_NBUCKETS(buckets) == 0 ? 1 : FB_NBUCKETS(buckets) + 2)

typedef enum {
    FB_STAT_OP_DEPOSIT = 0,
    FB_STAT_OP_WITHDRAW,
    FB_STAT_OP_TRANSFER,
    FB_STAT_OP_COUNT
} fb_stat_op_e;

/* Series per route and method. */
#define FB_RM  (FB_ROUTE_COUNT * FB_METHOD_COUNT)

typedef enum {
    FB_METRIC_COUNTER = 0,
    FB_METRIC_GAUGE,
    FB_METRIC_HISTOGRAM
} fb_metric_type_e;

/*
 * The per-thread metrics:
 *   field, name, type, series, buckets, decimals, help.
 * decimals: the value is recorded in units of 10^-decimals of what the
 * exposition shows (nanoseconds for seconds: 9).
 * Series are laid out as fb_series_labels() in fb_metrics.c expects:
 *   requests:    (route * FB_METHOD_COUNT + method) * FB_STATUS_COUNT
 *                + status
 *   duration:    route * FB_METHOD_COUNT + method
 *   operations:  op * 2 + (0 success, 1 error)
 */
#define FB_STATS_FIELDS(X)                                                 \
    X(requests, "http_requests_total", FB_METRIC_COUNTER,                  \
      FB_RM * FB_STATUS_COUNT, FB_NO_BUCKETS, 0,                           \
      "HTTP requests answered by the backend, by route template.")         \
    X(duration, "http_request_duration_seconds", FB_METRIC_HISTOGRAM,      \
      FB_RM, FB_DURATION_BUCKETS, 9,                                       \
      "Time from a request's arrival at the backend to its reply.")        \
    X(operations, "banking_operations_total", FB_METRIC_COUNTER,           \
      FB_STAT_OP_COUNT * 2, FB_NO_BUCKETS, 0,                              \
      "Deposits, withdrawals and transfers, by outcome.")                  \
    X(accounts_created, "accounts_created_total", FB_METRIC_COUNTER,       \
      1, FB_NO_BUCKETS, 0,                                                 \
      "Accounts created since the process started.")                       \
    X(transfer, "transfer_amount_centavos", FB_METRIC_HISTOGRAM,           \
      1, FB_AMOUNT_BUCKETS, 0,                                             \
      "Amounts of successful transfers.")                                  \
    X(busy, "fastbank_worker_threads_busy", FB_METRIC_GAUGE,               \
      1, FB_NO_BUCKETS, 0,                                                 \
      "Worker threads serving a request (this scrape included).")

/*
 * Metrics read at scrape time: field, name, type, decimals, help.  Their
 * values are unsigned integers in units of 10^-decimals.
 */
#define FB_SCRAPE_METRICS(X)                                               \
    X(accounts_active, "accounts_active", FB_METRIC_GAUGE, 0,              \
      "Accounts that exist.")                                              \
    X(worker_threads, "fastbank_worker_threads", FB_METRIC_GAUGE, 0,       \
      "Worker threads configured.")                                        \
    X(cpu, "process_cpu_seconds_total", FB_METRIC_COUNTER, 6,              \
      "Total user and system CPU time spent in seconds.")                  \
    X(rss, "process_resident_memory_bytes", FB_METRIC_GAUGE, 0,            \
      "Resident memory size in bytes.")                                    \
    X(vsize, "process_virtual_memory_bytes", FB_METRIC_GAUGE, 0,           \
      "Virtual memory size in bytes.")                                     \
    X(start_time, "process_start_time_seconds", FB_METRIC_GAUGE, 6,        \
      "Start time of the process since unix epoch in seconds.")            \
    X(open_fds, "process_open_fds", FB_METRIC_GAUGE, 0,                    \
      "Number of open file descriptors.")                                  \
    X(max_fds, "process_max_fds", FB_METRIC_GAUGE, 0,                      \
      "Maximum number of open file descriptors.")                          \
    X(journal_records, "fastbank_journal_records_total", FB_METRIC_COUNTER, \
      0, "Journal records written since start-up.")                        \
    X(journal_writes, "fastbank_journal_writes_total", FB_METRIC_COUNTER,  \
      0, "Batches of records the journal wrote (one write each).")         \
    X(journal_syncs, "fastbank_journal_fsyncs_total", FB_METRIC_COUNTER,   \
      0, "fdatasync calls the journal made.")                              \
    X(journal_gathers, "fastbank_journal_gathers_total", FB_METRIC_COUNTER, \
      0, "Batches that waited up to --fsync-delay for more records.")      \
    X(journal_gathers_cut, "fastbank_journal_gathers_cut_total",           \
      FB_METRIC_COUNTER, 0, "Gathers that ended before --fsync-delay: as " \
      "many records had come since the last sync as it wrote.")            \
    X(journal_failed, "fastbank_journal_failed", FB_METRIC_GAUGE, 0,       \
      "1 once a journal write or sync failed: mutations get 503 until "    \
      "restart.")                                                          \
    X(journal_sync_seconds, "fastbank_journal_fsync_duration_seconds",     \
      FB_METRIC_HISTOGRAM, 9, "Time the journal's fdatasync calls took.")

/* Every metric the exposition has, in its order. */
typedef enum {
#define FB_METRIC_ENUM(field, name, type, ...)  FB_METRIC_##field,
    FB_STATS_FIELDS(FB_METRIC_ENUM)
    FB_SCRAPE_METRICS(FB_METRIC_ENUM)
#undef FB_METRIC_ENUM
    FB_METRIC_COUNT
} fb_metric_e;

typedef struct {
    const char        *name;
    fb_metric_type_e   type;
    const char        *help;
    unsigned           decimals;
    unsigned           per_thread:1;   /* from FB_STATS_FIELDS */
} fb_metric_def_t;

/* The definitions, indexed by fb_metric_e. */
extern const fb_metric_def_t  fb_metric_defs[FB_METRIC_COUNT];

#define FB_STATS_SLOTS(series, buckets)                                    \
    ((series) * FB_SERIES_SLOTS(buckets))

typedef struct {
#define FB_STATS_STRUCT(field, name, type, series, buckets, ...)           \
    fb_atomic_u64_t  field[FB_STATS_SLOTS(series, buckets)];
    FB_STATS_FIELDS(FB_STATS_STRUCT)
#undef FB_STATS_STRUCT
} __attribute__((aligned(FB_STATS_ALIGN))) fb_stats_t;

/* The merged snapshot: plain integers, on the scraper's side only. */
typedef struct {
#define FB_SNAP_STRUCT(field, name, type, series, buckets, ...)            \
    uint64_t  field[FB_STATS_SLOTS(series, buckets)];
    FB_STATS_FIELDS(FB_SNAP_STRUCT)
#undef FB_SNAP_STRUCT
} fb_stats_snap_t;

/* Every worker's stats; set once at start-up, before the workers run. */
typedef struct {
    fb_stats_t    *threads;
    size_t         nthreads;
    double         start_time;    /* unix seconds; < 0: unknown, no
                                     sample */
    fb_journal_t  *journal;       /* NULL under --fsync off: the journal's
                                     metrics are declared, with no sample */
} fb_metrics_t;

/*
 * When the process started, in unix seconds, as client libraries export
 * process_start_time_seconds: from /proc/self/stat and /proc/stat, so
 * that start-up (recovery of the journal) is not left out.  -1 if they
 * cannot be read (logged).
 */
double fb_process_start_time(void);

/* Allocates n zeroed, aligned fb_stats_t; free() them.  NULL: no memory. */
fb_stats_t *fb_stats_alloc(size_t n);

fb_status_e fb_status_index(int status);

/*
 * The request path: one call per request, one per banking operation, two
 * for the busy flag.  With --disable-metrics these are empty and
 * fb_stats_clock() reads no clock.
 */
#ifndef FB_NO_METRICS

void fb_stats_request(fb_stats_t *st, fb_route_e route, fb_method_e method,
    int status, uint64_t duration_ns);
void fb_stats_operation(fb_stats_t *st, fb_stat_op_e op, int ok,
    int64_t amount);
void fb_stats_account_created(fb_stats_t *st);
void fb_stats_set_busy(fb_stats_t *st, int busy);

static inline uint64_t
fb_stats_clock(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

#else

static inline void
fb_stats_request(fb_stats_t *st, fb_route_e route, fb_method_e method,
    int status, uint64_t duration_ns)
{
}

static inline void
fb_stats_operation(fb_stats_t *st, fb_stat_op_e op, int ok, int64_t amount)
{
}

static inline void
fb_stats_account_created(fb_stats_t *st)
{
}

static inline void
fb_stats_set_busy(fb_stats_t *st, int busy)
{
}

static inline uint64_t
fb_stats_clock(void)
{
    return 0;
}

#endif

void fb_metrics_merge(const fb_metrics_t *m, fb_stats_snap_t *snap);

/* Appends the exposition text to b.  accounts: the store's account count. */
int fb_metrics_format(const fb_metrics_t *m, uint64_t accounts, fb_buf_t *b);

/* Appends a histogram bound, bound / 10^decimals, as its le label shows
 * it: the shortest %g text from six digits up that reads back as the
 * bound.  fb_metrics_format's; open for its test. */
int fb_metrics_print_bound(fb_buf_t *b, uint64_t bound, unsigned decimals);

#endif /* FB_METRICS_H_INCLUDED */
