/*
 * fb_metrics.h: per-thread counters, merged only when /metrics is scraped.
 *
 * Each worker owns one fb_stats_t, cache-line aligned and written only by
 * that worker: no lock and no shared atomic read-modify-write on the
 * request path (fb_atomic_u64_add_single_writer is a relaxed load and
 * store).  A scrape sums every worker's counters into a snapshot and
 * formats Prometheus text exposition 0.0.4.
 *
 * FB_STATS_FIELDS is the one list of counters: it generates the struct,
 * the merge and the table of metric names and kinds, so they cannot drift.
 */

#ifndef FB_METRICS_H_INCLUDED
#define FB_METRICS_H_INCLUDED

#include "fb_core.h"
#include "fb_atomic.h"
#include "fb_buf.h"
#include "fb_route.h"

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

/* Request duration buckets, upper bounds in nanoseconds and as printed. */
#define FB_DURATION_BUCKETS(X)                                             \
    X(25000, "2.5e-05") X(50000, "5e-05") X(100000, "0.0001")              \
    X(250000, "0.00025") X(500000, "0.0005") X(1000000, "0.001")           \
    X(2500000, "0.0025") X(5000000, "0.005") X(10000000, "0.01")           \
    X(25000000, "0.025") X(50000000, "0.05") X(100000000, "0.1")           \
    X(250000000, "0.25") X(500000000, "0.5") X(1000000000, "1")            \
    X(2500000000, "2.5") X(5000000000, "5")

/* Transfer amount buckets, in centavos (the contract's maximum is last). */
#define FB_AMOUNT_BUCKETS(X)                                               \
    X(100, "100") X(1000, "1000") X(10000, "10000") X(100000, "100000")    \
    X(500000, "500000") X(1000000, "1e+06")

#define FB_COUNT_ONE(a, b)  + 1
#define FB_DURATION_NBUCKETS  (0 FB_DURATION_BUCKETS(FB_COUNT_ONE))
#define FB_AMOUNT_NBUCKETS    (0 FB_AMOUNT_BUCKETS(FB_COUNT_ONE))

typedef enum {
    FB_STAT_OP_DEPOSIT = 0,
    FB_STAT_OP_WITHDRAW,
    FB_STAT_OP_TRANSFER,
    FB_STAT_OP_COUNT
} fb_stat_op_e;

#define FB_RM  (FB_ROUTE_COUNT * FB_METHOD_COUNT)

/*
 * name, number of slots.  Histogram slots are per bucket and not
 * cumulative (the last slot is +Inf); the scrape accumulates them.
 */
#define FB_STATS_FIELDS(X)                                                 \
    X(requests,          FB_RM * FB_STATUS_COUNT)                          \
    X(duration_bucket,   FB_RM * (FB_DURATION_NBUCKETS + 1))               \
    X(duration_sum_ns,   FB_RM)                                            \
    X(operations,        FB_STAT_OP_COUNT * 2)                             \
    X(accounts_created,  1)                                                \
    X(transfer_bucket,   FB_AMOUNT_NBUCKETS + 1)                           \
    X(transfer_sum,      1)

typedef struct {
#define FB_STATS_STRUCT(name, n)  fb_atomic_u64_t  name[n];
    FB_STATS_FIELDS(FB_STATS_STRUCT)
#undef FB_STATS_STRUCT
    fb_atomic_u64_t  busy;      /* 1 while the worker serves a request */
} __attribute__((aligned(64))) fb_stats_t;

/* The merged snapshot: plain integers, on the scraper's side only. */
typedef struct {
#define FB_SNAP_STRUCT(name, n)  uint64_t  name[n];
    FB_STATS_FIELDS(FB_SNAP_STRUCT)
#undef FB_SNAP_STRUCT
    uint64_t  busy;
} fb_stats_snap_t;

/* Every worker's stats; set once at start-up, before the workers run. */
typedef struct {
    fb_stats_t  *threads;
    size_t       nthreads;
    double       start_time;    /* unix seconds */
} fb_metrics_t;

fb_status_e fb_status_index(int status);

/* The request path: one call per request, one per banking operation. */
void fb_stats_request(fb_stats_t *st, fb_route_e route, fb_method_e method,
    int status, uint64_t duration_ns);
void fb_stats_operation(fb_stats_t *st, fb_stat_op_e op, int ok,
    int64_t amount);
void fb_stats_account_created(fb_stats_t *st);
void fb_stats_set_busy(fb_stats_t *st, int busy);

void fb_metrics_merge(const fb_metrics_t *m, fb_stats_snap_t *snap);

/* Appends the exposition text to b.  accounts: the store's account count. */
int fb_metrics_format(const fb_metrics_t *m, uint64_t accounts, fb_buf_t *b);

#endif /* FB_METRICS_H_INCLUDED */
