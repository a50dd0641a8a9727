/*
 * fb_metrics.c: recording per-thread counters, merging them on scrape, and
 * the Prometheus text exposition (format 0.0.4).
 *
 * Every label value comes from a table compiled in (method names, route
 * templates, status codes, operation names), none of which holds a
 * backslash, a double quote or a newline, so label values are printed as
 * they are (no 0.0.4 escaping needed); tests/test-metrics.c checks that
 * each of those tables stays so.
 */

#include "fb_core.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fb_log.h"
#include "fb_metrics.h"

/* Sizes a label set can reach: see fb_series_labels(). */
#define FB_LABELS_MAX  256

#ifdef FB_NO_METRICS
#define FB_RECORDING  0
#else
#define FB_RECORDING  1
#endif

/*
 * Each field's upper bounds, then UINT64_MAX for +Inf, which ends the
 * search for a bucket without a separate bound check.
 */
#define FB_BOUND(v)  (uint64_t) (v),
#define FB_FIELD_BOUNDS(field, name, type, series, buckets, ...)           \
    static const uint64_t  fb_bounds_##field[] = {                         \
        buckets(FB_BOUND) UINT64_MAX                                       \
    };
FB_STATS_FIELDS(FB_FIELD_BOUNDS)
#undef FB_FIELD_BOUNDS
#undef FB_BOUND

const fb_metric_def_t  fb_metric_defs[FB_METRIC_COUNT] = {
#define FB_DEF_THREAD(field, name, type, series, buckets, decimals, help)  \
    { name, type, help, decimals, 1 },
#define FB_DEF_SCRAPE(field, name, type, decimals, help)                   \
    { name, type, help, decimals, 0 },
    FB_STATS_FIELDS(FB_DEF_THREAD)
    FB_SCRAPE_METRICS(FB_DEF_SCRAPE)
#undef FB_DEF_THREAD
#undef FB_DEF_SCRAPE
};

/* Where each per-thread field lies in the snapshot, and its shape. */
typedef struct {
    size_t           offset;
    size_t           series;
    size_t           nbuckets;
    const uint64_t  *bounds;
} fb_field_t;

static const fb_field_t  fb_fields[] = {
#define FB_FIELD(field, name, type, series, buckets, ...)                  \
    { offsetof(fb_stats_snap_t, field), series, FB_NBUCKETS(buckets),      \
      fb_bounds_##field },
    FB_STATS_FIELDS(FB_FIELD)
#undef FB_FIELD
};

#define FB_STATUS_TEXT(code)  #code,
static const char  *fb_status_labels[] = {
    FB_STATUSES(FB_STATUS_TEXT) "other"
};
#undef FB_STATUS_TEXT

static const char  *fb_op_labels[] = { "deposit", "withdraw", "transfer" };

#define fb_rm(route, method)  ((size_t) (route) * FB_METHOD_COUNT + (method))


fb_stats_t *
fb_stats_alloc(size_t n)
{
    void  *p;

    if (n == 0 || posix_memalign(&p, FB_STATS_ALIGN, n * sizeof(fb_stats_t))
                  != 0)
    {
        return NULL;
    }

    /* All zero bits is zero for an _Atomic uint64_t and for an AO_t. */
    memset(p, 0, n * sizeof(fb_stats_t));
    return p;
}


/*
 * Field 22 of /proc/self/stat, starttime, is in clock ticks after boot;
 * btime in /proc/stat is the boot in unix seconds.  Both are read as
 * Prometheus' client libraries read them (the comm field, 2, may hold
 * spaces and parentheses: the fields after it follow the last ')').
 */
double
fb_process_start_time(void)
{
    int                 i;
    long                hz = sysconf(_SC_CLK_TCK);
    FILE               *f;
    char                buf[1024], *p;
    size_t              n;
    unsigned long long  ticks = 0, btime = 0;

    f = fopen("/proc/self/stat", "re");
    if (f == NULL) {
        fb_log(FB_LOG_WARN, errno, "fopen() \"/proc/self/stat\" failed: no "
               "process_start_time_seconds");
        return -1;
    }

    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';

    /* After ')': field 3, then 19 more up to starttime. */
    p = strrchr(buf, ')');
    for (i = 0; p != NULL && i < 20; i++) {
        p = strchr(p + 1, ' ');
    }

    if (p == NULL || sscanf(p, " %llu", &ticks) != 1 || hz <= 0) {
        fb_log(FB_LOG_WARN, 0, "\"/proc/self/stat\" has no start time: no "
               "process_start_time_seconds");
        return -1;
    }

    f = fopen("/proc/stat", "re");
    if (f == NULL) {
        fb_log(FB_LOG_WARN, errno, "fopen() \"/proc/stat\" failed: no "
               "process_start_time_seconds");
        return -1;
    }

    while (fgets(buf, sizeof(buf), f) != NULL
           && sscanf(buf, "btime %llu", &btime) != 1)
    {
        /* void */
    }

    fclose(f);

    if (btime == 0) {
        fb_log(FB_LOG_WARN, 0, "\"/proc/stat\" has no btime: no "
               "process_start_time_seconds");
        return -1;
    }

    return (double) btime + (double) ticks / (double) hz;
}


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


#ifndef FB_NO_METRICS

/*
 * One observation into a histogram series h: its bucket and its sum.
 * Bounds are few and most requests fall in the first buckets, so a linear
 * search is as fast as a binary one here.
 */
static inline void
fb_observe(fb_atomic_u64_t *h, const uint64_t *bounds, size_t nbuckets,
    uint64_t v)
{
    size_t  b;

    for (b = 0; v > bounds[b]; b++) {
        /* void */
    }

    fb_atomic_u64_add_single_writer(&h[b], 1);
    fb_atomic_u64_add_single_writer(&h[nbuckets + 1], v);
}


void
fb_stats_request(fb_stats_t *st, fb_route_e route, fb_method_e method,
    int status, uint64_t duration_ns)
{
    size_t  rm = fb_rm(route, method);

    fb_atomic_u64_add_single_writer(
        &st->requests[rm * FB_STATUS_COUNT + fb_status_index(status)], 1);

    fb_observe(&st->duration[rm * FB_SERIES_SLOTS(FB_DURATION_BUCKETS)],
               fb_bounds_duration, FB_NBUCKETS(FB_DURATION_BUCKETS),
               duration_ns);
}


void
fb_stats_operation(fb_stats_t *st, fb_stat_op_e op, int ok, int64_t amount)
{
    fb_atomic_u64_add_single_writer(&st->operations[op * 2 + (ok ? 0 : 1)],
                                    1);

    /* Only money that moved: a refused transfer has no amount to speak of,
     * and a successful one has 1..1000000 (never negative). */
    if (op == FB_STAT_OP_TRANSFER && ok && amount > 0) {
        fb_observe(st->transfer, fb_bounds_transfer,
                   FB_NBUCKETS(FB_AMOUNT_BUCKETS), (uint64_t) amount);
    }
}


void
fb_stats_account_created(fb_stats_t *st)
{
    fb_atomic_u64_add_single_writer(&st->accounts_created[0], 1);
}


void
fb_stats_set_busy(fb_stats_t *st, int busy)
{
    fb_atomic_u64_store(&st->busy[0], busy ? 1 : 0);
}

#endif /* FB_NO_METRICS */


void
fb_metrics_merge(const fb_metrics_t *m, fb_stats_snap_t *snap)
{
    size_t             t, i;
    const fb_stats_t  *st;

    memset(snap, 0, sizeof(*snap));

    for (t = 0; t < m->nthreads; t++) {
        st = &m->threads[t];

#define FB_STATS_MERGE(field, ...)                                         \
        for (i = 0; i < fb_nelems(st->field); i++) {                       \
            snap->field[i] += fb_atomic_u64_load(&st->field[i]);           \
        }
        FB_STATS_FIELDS(FB_STATS_MERGE)
#undef FB_STATS_MERGE
    }
}


static uint64_t
fb_pow10(unsigned n)
{
    uint64_t  p = 1;

    while (n-- > 0) {
        p *= 10;
    }

    return p;
}


/* Prints v / 10^decimals exactly, without going through a double. */
static int
fb_print_decimal(fb_buf_t *b, uint64_t v, unsigned decimals)
{
    uint64_t  p = fb_pow10(decimals);

    if (decimals == 0) {
        return fb_buf_printf(b, "%" PRIu64, v);
    }

    return fb_buf_printf(b, "%" PRIu64 ".%0*" PRIu64, v / p, (int) decimals,
                         v % p);
}


/*
 * A histogram bound, bound / 10^decimals, as le: %g, which for every
 * bound in the tables today (two significant digits at most) is the
 * text Go's client libraries print; with more digits only where %g's
 * six would not read back as the bound (1234567 ns is 0.001234567, not
 * 0.00123457).  Prometheus reads le as a number, so only the value
 * matters.
 */
int
fb_metrics_print_bound(fb_buf_t *b, uint64_t bound, unsigned decimals)
{
    int     p;
    char    text[32];
    double  v = (double) bound / fb_pow10(decimals);

    for (p = 6; p <= 17; p++) {
        snprintf(text, sizeof(text), "%.*g", p, v);
        if (strtod(text, NULL) == v) {
            break;
        }
    }

    return fb_buf_append(b, text, strlen(text));
}


static const char *
fb_endpoint_label(size_t route)
{
    return route == FB_ROUTE_NONE
           ? "unmatched" : fb_route_get((fb_route_e) route)->template;
}


/*
 * Writes series i of metric k's labels into buf, without braces: nothing
 * for a metric of one series.  Returns 1 if the series is shown even at
 * zero, so that dashboards and alerts find it from the first scrape; 0 if
 * it appears with its first event (most route, method and status
 * combinations never happen).
 */
static int
fb_series_labels(fb_metric_e k, size_t i, char *buf, size_t size)
{
    int     n;
    size_t  rm;

    switch (k) {
    case FB_METRIC_requests:
        rm = i / FB_STATUS_COUNT;
        n = snprintf(buf, size,
                     "method=\"%s\",endpoint=\"%s\",status_code=\"%s\"",
                     fb_method_name((fb_method_e) (rm % FB_METHOD_COUNT)),
                     fb_endpoint_label(rm / FB_METHOD_COUNT),
                     fb_status_labels[i % FB_STATUS_COUNT]);
        return n < 0 || (size_t) n >= size ? -1 : 0;

    case FB_METRIC_duration:
        n = snprintf(buf, size, "method=\"%s\",endpoint=\"%s\"",
                     fb_method_name((fb_method_e) (i % FB_METHOD_COUNT)),
                     fb_endpoint_label(i / FB_METHOD_COUNT));
        return n < 0 || (size_t) n >= size ? -1 : 0;

    case FB_METRIC_operations:
        n = snprintf(buf, size, "operation=\"%s\",status=\"%s\"",
                     fb_op_labels[i / 2], i % 2 == 0 ? "success" : "error");
        return n < 0 || (size_t) n >= size ? -1 : 1;

    default:
        buf[0] = '\0';
        return 1;
    }
}


/*
 * One series of a histogram: cumulative buckets in increasing le, then
 * _sum and _count.  labels: the series' labels, without braces.
 */
static int
fb_print_histogram(fb_buf_t *b, const fb_metric_def_t *d,
    const fb_field_t *f, const uint64_t *h, const char *labels)
{
    int          rc = FB_OK;
    size_t       k;
    uint64_t     cum;
    const char  *sep = labels[0] != '\0' ? "," : "";

    /* _count is the last cumulative bucket, +Inf, by construction. */
    for (cum = 0, k = 0; k <= f->nbuckets; k++) {
        cum += h[k];
        rc |= fb_buf_printf(b, "%s_bucket{%s%sle=\"", d->name, labels, sep);
        if (k < f->nbuckets) {
            rc |= fb_metrics_print_bound(b, f->bounds[k], d->decimals);
        } else {
            rc |= fb_buf_append(b, "+Inf", 4);
        }
        rc |= fb_buf_printf(b, "\"} %" PRIu64 "\n", cum);
    }

    rc |= fb_buf_printf(b, "%s_sum%s%s%s ", d->name, *sep ? "{" : "", labels,
                        *sep ? "}" : "");
    rc |= fb_print_decimal(b, h[f->nbuckets + 1], d->decimals);
    rc |= fb_buf_printf(b, "\n%s_count%s%s%s %" PRIu64 "\n", d->name,
                        *sep ? "{" : "", labels, *sep ? "}" : "", cum);

    return rc;
}


/* Every series of per-thread metric k that has something to show. */
static int
fb_print_field(fb_buf_t *b, fb_metric_e k, const fb_stats_snap_t *snap)
{
    int                     rc = FB_OK, always;
    char                    labels[FB_LABELS_MAX];
    size_t                  i, j, slots;
    uint64_t                count;
    const uint64_t         *v;
    const fb_field_t       *f = &fb_fields[k];
    const fb_metric_def_t  *d = &fb_metric_defs[k];

    slots = f->nbuckets == 0 ? 1 : f->nbuckets + 2;

    for (i = 0; i < f->series; i++) {
        v = (const uint64_t *) ((const char *) snap + f->offset) + i * slots;

        for (count = 0, j = 0; j < (f->nbuckets == 0 ? 1 : f->nbuckets + 1);
             j++)
        {
            count += v[j];
        }

        always = fb_series_labels(k, i, labels, sizeof(labels));
        if (always < 0) {
            return FB_ERROR;
        }

        if (count == 0 && !always) {
            continue;
        }

        if (f->nbuckets > 0) {
            rc |= fb_print_histogram(b, d, f, v, labels);
        } else if (labels[0] != '\0') {
            rc |= fb_buf_printf(b, "%s{%s} %" PRIu64 "\n", d->name, labels,
                                v[0]);
        } else {
            rc |= fb_buf_printf(b, "%s %" PRIu64 "\n", d->name, v[0]);
        }
    }

    return rc;
}


/* A scrape-time metric with nothing to report (no journal, or what it is
 * read from could not be): declared, with no sample, rather than a zero
 * that would pass for a real one. */
#define FB_NO_SAMPLE  UINT64_MAX


static uint64_t
fb_open_fds(void)
{
    DIR            *d;
    uint64_t        n = 0;
    struct dirent  *e;

    /* Fails with EMFILE exactly when the count matters most. */
    d = opendir("/proc/self/fd");
    if (d == NULL) {
        fb_log(FB_LOG_WARN, errno, "opendir() \"/proc/self/fd\" failed: no "
               "process_open_fds sample");
        return FB_NO_SAMPLE;
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


/* The values of FB_SCRAPE_METRICS, in their units (see decimals). */
static void
fb_scrape_values(const fb_metrics_t *m, uint64_t accounts, uint64_t *v,
    fb_journal_stats_t *js)
{
    FILE           *f;
    long            page = sysconf(_SC_PAGESIZE);
    uint64_t        vsz = FB_NO_SAMPLE, rss = FB_NO_SAMPLE;
    struct rlimit   rl;
    struct rusage   ru;

    v[FB_METRIC_cpu] = FB_NO_SAMPLE;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        v[FB_METRIC_cpu] = (uint64_t) ru.ru_utime.tv_sec * 1000000
                           + (uint64_t) ru.ru_utime.tv_usec
                           + (uint64_t) ru.ru_stime.tv_sec * 1000000
                           + (uint64_t) ru.ru_stime.tv_usec;
    }

    f = fopen("/proc/self/statm", "re");
    if (f == NULL) {
        fb_log(FB_LOG_WARN, errno, "fopen() \"/proc/self/statm\" failed: no "
               "process memory samples");
    } else {
        if (fscanf(f, "%" SCNu64 " %" SCNu64, &vsz, &rss) != 2
            || page <= 0)
        {
            vsz = rss = FB_NO_SAMPLE;
        }
        fclose(f);
    }

    v[FB_METRIC_max_fds] = getrlimit(RLIMIT_NOFILE, &rl) == 0
                           ? (uint64_t) rl.rlim_cur : FB_NO_SAMPLE;

    v[FB_METRIC_accounts_active] = accounts;
    v[FB_METRIC_worker_threads] = m->nthreads;
    v[FB_METRIC_rss] = rss == FB_NO_SAMPLE ? rss : rss * (uint64_t) page;
    v[FB_METRIC_vsize] = vsz == FB_NO_SAMPLE ? vsz : vsz * (uint64_t) page;
    v[FB_METRIC_start_time] = m->start_time < 0
                              ? FB_NO_SAMPLE
                              : (uint64_t) (m->start_time * 1e6 + 0.5);
    v[FB_METRIC_open_fds] = fb_open_fds();

    /* The histogram is printed from js->sync_hist; v only says whether. */
    if (m->journal != NULL) {
        fb_journal_stats(m->journal, js);
        v[FB_METRIC_journal_records] = js->written_lsn - js->recovered_lsn;
        v[FB_METRIC_journal_writes] = js->batches;
        v[FB_METRIC_journal_syncs] = js->syncs;
        v[FB_METRIC_journal_gathers] = js->gathers;
        v[FB_METRIC_journal_gathers_cut] = js->gathers_cut;
        v[FB_METRIC_journal_failed] = (uint64_t) js->failed;
        v[FB_METRIC_journal_sync_seconds] = 0;
    } else {
        v[FB_METRIC_journal_records] = FB_NO_SAMPLE;
        v[FB_METRIC_journal_writes] = FB_NO_SAMPLE;
        v[FB_METRIC_journal_syncs] = FB_NO_SAMPLE;
        v[FB_METRIC_journal_gathers] = FB_NO_SAMPLE;
        v[FB_METRIC_journal_gathers_cut] = FB_NO_SAMPLE;
        v[FB_METRIC_journal_failed] = FB_NO_SAMPLE;
        v[FB_METRIC_journal_sync_seconds] = FB_NO_SAMPLE;
    }
}


int
fb_metrics_format(const fb_metrics_t *m, uint64_t accounts, fb_buf_t *b)
{
    int                     rc = FB_OK;
    size_t                  k;
    uint64_t                v[FB_METRIC_COUNT];
    fb_stats_snap_t        *snap;
    fb_journal_stats_t      js;
    const fb_metric_def_t  *d;
    static const char      *types[] = { "counter", "gauge", "histogram" };

    /* The journal's fdatasync histogram: one series, its own bounds. */
    static const fb_field_t  sync_field = {
        0, 1, FB_JSYNC_NBUCKETS, fb_journal_sync_bounds
    };

    /* About 8 KiB: too much for a stack we do not size ourselves. */
    snap = malloc(sizeof(*snap));
    if (snap == NULL) {
        fb_log(FB_LOG_ERR, 0, "malloc(%zu) failed", sizeof(*snap));
        return FB_ERROR;
    }

    fb_metrics_merge(m, snap);
    fb_scrape_values(m, accounts, v, &js);

    for (k = 0; k < FB_METRIC_COUNT; k++) {
        d = &fb_metric_defs[k];

        /* One HELP and one TYPE per name, before its samples. */
        rc |= fb_buf_printf(b, "# HELP %s %s%s\n# TYPE %s %s\n",
                            d->name, d->help,
                            d->per_thread && !FB_RECORDING
                            ? " Not recorded: built with --disable-metrics."
                            : "",
                            d->name, types[d->type]);

        if (d->per_thread) {
            /* Compiled out: declared, but no sample rather than a zero
             * that would pass for an idle server. */
            if (FB_RECORDING) {
                rc |= fb_print_field(b, (fb_metric_e) k, snap);
            }
        } else if (v[k] == FB_NO_SAMPLE) {
            /* Declared only. */
        } else if (k == FB_METRIC_journal_sync_seconds) {
            rc |= fb_print_histogram(b, d, &sync_field, js.sync_hist, "");
        } else {
            rc |= fb_buf_printf(b, "%s ", d->name);
            rc |= fb_print_decimal(b, v[k], d->decimals);
            rc |= fb_buf_append(b, "\n", 1);
        }

        /* A reply that could not grow: the scrape fails, logged once. */
        if (rc != FB_OK) {
            break;
        }
    }

    free(snap);
    return rc == FB_OK ? FB_OK : FB_ERROR;
}
