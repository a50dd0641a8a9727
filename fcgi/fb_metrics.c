/*
 * fb_metrics.c: recording per-thread counters, merging them on scrape, and
 * the Prometheus text exposition (format 0.0.4).
 */

#include "fb_core.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fb_metrics.h"

#define FB_BOUND(ns, text)  ns,
static const uint64_t  fb_duration_bounds[] = {
    FB_DURATION_BUCKETS(FB_BOUND)
};
static const int64_t   fb_amount_bounds[] = {
    FB_AMOUNT_BUCKETS(FB_BOUND)
};
#undef FB_BOUND

#define FB_LABEL(ns, text)  text,
static const char  *fb_duration_labels[] = {
    FB_DURATION_BUCKETS(FB_LABEL) "+Inf"
};
static const char  *fb_amount_labels[] = {
    FB_AMOUNT_BUCKETS(FB_LABEL) "+Inf"
};
#undef FB_LABEL

#define FB_STATUS_TEXT(code)  #code,
static const char  *fb_status_labels[] = {
    FB_STATUSES(FB_STATUS_TEXT) "other"
};
#undef FB_STATUS_TEXT

static const char  *fb_op_labels[] = { "deposit", "withdraw", "transfer" };

#define fb_rm(route, method)  ((size_t) (route) * FB_METHOD_COUNT + (method))


fb_status_e
fb_status_index(int status)
{
    switch (status) {
#define FB_STATUS_CASE(code)  case code: return FB_STATUS_##code;
    FB_STATUSES(FB_STATUS_CASE)
#undef FB_STATUS_CASE
    default:
        return FB_STATUS_OTHER;
    }
}


void
fb_stats_request(fb_stats_t *st, fb_route_e route, fb_method_e method,
    int status, uint64_t duration_ns)
{
    size_t  rm = fb_rm(route, method), b;

    fb_atomic_u64_add_single_writer(
        &st->requests[rm * FB_STATUS_COUNT + fb_status_index(status)], 1);

    for (b = 0; b < FB_DURATION_NBUCKETS; b++) {
        if (duration_ns <= fb_duration_bounds[b]) {
            break;
        }
    }

    fb_atomic_u64_add_single_writer(
        &st->duration_bucket[rm * (FB_DURATION_NBUCKETS + 1) + b], 1);
    fb_atomic_u64_add_single_writer(&st->duration_sum_ns[rm], duration_ns);
}


void
fb_stats_operation(fb_stats_t *st, fb_stat_op_e op, int ok, int64_t amount)
{
    size_t  b;

    fb_atomic_u64_add_single_writer(&st->operations[op * 2 + (ok ? 0 : 1)],
                                    1);

    if (op != FB_STAT_OP_TRANSFER || !ok) {
        return;
    }

    for (b = 0; b < FB_AMOUNT_NBUCKETS; b++) {
        if (amount <= fb_amount_bounds[b]) {
            break;
        }
    }

    fb_atomic_u64_add_single_writer(&st->transfer_bucket[b], 1);
    fb_atomic_u64_add_single_writer(&st->transfer_sum[0], (uint64_t) amount);
}


void
fb_stats_account_created(fb_stats_t *st)
{
    fb_atomic_u64_add_single_writer(&st->accounts_created[0], 1);
}


void
fb_stats_set_busy(fb_stats_t *st, int busy)
{
    fb_atomic_u64_store(&st->busy, busy ? 1 : 0);
}


void
fb_metrics_merge(const fb_metrics_t *m, fb_stats_snap_t *snap)
{
    size_t             t, i;
    const fb_stats_t  *st;

    memset(snap, 0, sizeof(*snap));

    for (t = 0; t < m->nthreads; t++) {
        st = &m->threads[t];

#define FB_STATS_MERGE(name, n)                                            \
        for (i = 0; i < (n); i++) {                                        \
            snap->name[i] += fb_atomic_u64_load(&st->name[i]);             \
        }
        FB_STATS_FIELDS(FB_STATS_MERGE)
#undef FB_STATS_MERGE

        snap->busy += fb_atomic_u64_load(&st->busy);
    }
}


static const char *
fb_endpoint_label(fb_route_e route)
{
    return route == FB_ROUTE_NONE ? "unmatched" : fb_route_get(route)->template;
}


static int
fb_metrics_requests(const fb_stats_snap_t *s, fb_buf_t *b)
{
    size_t  r, m, c;
    int     rc = FB_OK;

    rc |= fb_buf_printf(b,
        "# HELP http_requests_total HTTP requests answered by the backend.\n"
        "# TYPE http_requests_total counter\n");

    for (r = 0; r < FB_ROUTE_COUNT; r++) {
        for (m = 0; m < FB_METHOD_COUNT; m++) {
            for (c = 0; c < FB_STATUS_COUNT; c++) {
                uint64_t v = s->requests[fb_rm(r, m) * FB_STATUS_COUNT + c];
                if (v == 0) {
                    continue;
                }
                rc |= fb_buf_printf(b, "http_requests_total{method=\"%s\","
                    "endpoint=\"%s\",status_code=\"%s\"} %" PRIu64 "\n",
                    fb_method_name((fb_method_e) m),
                    fb_endpoint_label((fb_route_e) r),
                    fb_status_labels[c], v);
            }
        }
    }

    return rc;
}


static int
fb_metrics_durations(const fb_stats_snap_t *s, fb_buf_t *b)
{
    size_t           r, m, k;
    uint64_t         cum;
    const uint64_t  *h;
    const char      *meth, *ep;
    int              rc = FB_OK;

    rc |= fb_buf_printf(b,
        "# HELP http_request_duration_seconds Time from the request's "
        "arrival at the backend to its reply.\n"
        "# TYPE http_request_duration_seconds histogram\n");

    for (r = 0; r < FB_ROUTE_COUNT; r++) {
        for (m = 0; m < FB_METHOD_COUNT; m++) {
            h = &s->duration_bucket[fb_rm(r, m) * (FB_DURATION_NBUCKETS + 1)];

            for (cum = 0, k = 0; k <= FB_DURATION_NBUCKETS; k++) {
                cum += h[k];
            }
            if (cum == 0) {
                continue;
            }

            meth = fb_method_name((fb_method_e) m);
            ep = fb_endpoint_label((fb_route_e) r);

            /* +Inf is the last bucket and equals _count by construction. */
            for (cum = 0, k = 0; k <= FB_DURATION_NBUCKETS; k++) {
                cum += h[k];
                rc |= fb_buf_printf(b, "http_request_duration_seconds_bucket"
                    "{method=\"%s\",endpoint=\"%s\",le=\"%s\"} %" PRIu64 "\n",
                    meth, ep, fb_duration_labels[k], cum);
            }

            rc |= fb_buf_printf(b, "http_request_duration_seconds_sum"
                "{method=\"%s\",endpoint=\"%s\"} %.9f\n"
                "http_request_duration_seconds_count"
                "{method=\"%s\",endpoint=\"%s\"} %" PRIu64 "\n",
                meth, ep, (double) s->duration_sum_ns[fb_rm(r, m)] / 1e9,
                meth, ep, cum);
        }
    }

    return rc;
}


static int
fb_metrics_banking(const fb_stats_snap_t *s, uint64_t accounts, fb_buf_t *b)
{
    size_t    op, k;
    uint64_t  cum;
    int       rc = FB_OK;

    rc |= fb_buf_printf(b,
        "# HELP banking_operations_total Deposits, withdrawals and transfers, "
        "by outcome.\n"
        "# TYPE banking_operations_total counter\n");

    for (op = 0; op < FB_STAT_OP_COUNT; op++) {
        rc |= fb_buf_printf(b,
            "banking_operations_total{operation=\"%s\",status=\"success\"} "
            "%" PRIu64 "\n"
            "banking_operations_total{operation=\"%s\",status=\"error\"} "
            "%" PRIu64 "\n",
            fb_op_labels[op], s->operations[op * 2],
            fb_op_labels[op], s->operations[op * 2 + 1]);
    }

    rc |= fb_buf_printf(b,
        "# HELP accounts_created_total Accounts created since the process "
        "started.\n"
        "# TYPE accounts_created_total counter\n"
        "accounts_created_total %" PRIu64 "\n"
        "# HELP accounts_active Accounts that exist.\n"
        "# TYPE accounts_active gauge\n"
        "accounts_active %" PRIu64 "\n"
        "# HELP transfer_amount_centavos Amounts of successful transfers.\n"
        "# TYPE transfer_amount_centavos histogram\n",
        s->accounts_created[0], accounts);

    for (cum = 0, k = 0; k <= FB_AMOUNT_NBUCKETS; k++) {
        cum += s->transfer_bucket[k];
        rc |= fb_buf_printf(b,
            "transfer_amount_centavos_bucket{le=\"%s\"} %" PRIu64 "\n",
            fb_amount_labels[k], cum);
    }

    rc |= fb_buf_printf(b,
        "transfer_amount_centavos_sum %" PRIu64 "\n"
        "transfer_amount_centavos_count %" PRIu64 "\n",
        s->transfer_sum[0], cum);

    return rc;
}


static uint64_t
fb_open_fds(void)
{
    DIR            *d;
    uint64_t        n = 0;
    struct dirent  *e;

    d = opendir("/proc/self/fd");
    if (d == NULL) {
        return 0;
    }

    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }

    closedir(d);

    /* Less the descriptor opendir() itself holds. */
    return n > 0 ? n - 1 : 0;
}


static int
fb_metrics_process(const fb_metrics_t *m, const fb_stats_snap_t *s,
    fb_buf_t *b)
{
    FILE           *f;
    long            page = sysconf(_SC_PAGESIZE);
    double          cpu;
    uint64_t        vsz = 0, rss = 0;
    struct rlimit   rl;
    struct rusage   ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        memset(&ru, 0, sizeof(ru));
    }

    cpu = (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
          + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;

    f = fopen("/proc/self/statm", "re");
    if (f != NULL) {
        if (fscanf(f, "%" SCNu64 " %" SCNu64, &vsz, &rss) != 2) {
            vsz = rss = 0;
        }
        fclose(f);
    }

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        rl.rlim_cur = 0;
    }

    return fb_buf_printf(b,
        "# HELP process_cpu_seconds_total Total user and system CPU time "
        "spent in seconds.\n"
        "# TYPE process_cpu_seconds_total counter\n"
        "process_cpu_seconds_total %.6f\n"
        "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
        "# TYPE process_resident_memory_bytes gauge\n"
        "process_resident_memory_bytes %" PRIu64 "\n"
        "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
        "# TYPE process_virtual_memory_bytes gauge\n"
        "process_virtual_memory_bytes %" PRIu64 "\n"
        "# HELP process_start_time_seconds Start time of the process since "
        "unix epoch in seconds.\n"
        "# TYPE process_start_time_seconds gauge\n"
        "process_start_time_seconds %.3f\n"
        "# HELP process_open_fds Number of open file descriptors.\n"
        "# TYPE process_open_fds gauge\n"
        "process_open_fds %" PRIu64 "\n"
        "# HELP process_max_fds Maximum number of open file descriptors.\n"
        "# TYPE process_max_fds gauge\n"
        "process_max_fds %" PRIu64 "\n"
        "# HELP fastbank_worker_threads Worker threads configured.\n"
        "# TYPE fastbank_worker_threads gauge\n"
        "fastbank_worker_threads %zu\n"
        "# HELP fastbank_worker_threads_busy Worker threads serving a "
        "request (this scrape included).\n"
        "# TYPE fastbank_worker_threads_busy gauge\n"
        "fastbank_worker_threads_busy %" PRIu64 "\n",
        cpu, rss * (uint64_t) page, vsz * (uint64_t) page, m->start_time,
        fb_open_fds(), (uint64_t) rl.rlim_cur, m->nthreads, s->busy);
}


int
fb_metrics_format(const fb_metrics_t *m, uint64_t accounts, fb_buf_t *b)
{
    int               rc;
    fb_stats_snap_t  *snap;

    /* About 8 KiB: too much for a stack we do not size ourselves. */
    snap = malloc(sizeof(*snap));
    if (snap == NULL) {
        return FB_ERROR;
    }

    fb_metrics_merge(m, snap);

    rc = fb_metrics_requests(snap, b)
         | fb_metrics_durations(snap, b)
         | fb_metrics_banking(snap, accounts, b)
         | fb_metrics_process(m, snap, b);

    free(snap);
    return rc == FB_OK ? FB_OK : FB_ERROR;
}
