/*
 * test-metrics.c: the exposition, parsed (tests/fb_expo.c), after known
 * sets of requests and operations recorded on several per-thread stats:
 * every value equals what was done, the histogram invariants hold, the
 * merge adds every thread, counters never go backwards, including while
 * writer threads record and a reader scrapes.  The parser's own checks
 * are shown to catch broken texts first, so that a pass means something.
 *
 * Built with --disable-metrics, it checks instead that nothing is recorded
 * and that the exposition holds only the scrape-time metrics.
 */

#include "fb_core.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "fb_cunit.h"
#include "fb_expo.h"
#include "fb_metrics.h"

#define NTHREADS  4


/* Formats the exposition of m and parses it into e; fails the test on
 * any violation of the format. */
static int
scrape(const fb_metrics_t *m, uint64_t accounts, fb_expo_t *e)
{
    int       rc;
    fb_buf_t  b;

    if (fb_buf_init(&b, 1024) != FB_OK) {
        CU_FAIL("fb_buf_init() failed");
        return -1;
    }

    CU_ASSERT_EQUAL_FATAL(fb_metrics_format(m, accounts, &b), FB_OK);

    rc = fb_expo_parse(e, b.data, b.len);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "\nexposition:\n%.*s\nproblems:\n%s", (int) b.len,
                b.data, e->err);
    }

    fb_buf_free(&b);
    return rc;
}


static fb_metrics_t
new_metrics(size_t n)
{
    fb_metrics_t  m;

    /* No journal, as under --fsync off: test_scrape_values expects its
     * metrics declared without samples, and a journal pointer left to
     * chance would be read by every scrape. */
    memset(&m, 0, sizeof(m));
    m.threads = fb_stats_alloc(n);
    m.nthreads = n;
    m.start_time = 1700000000.25;

    CU_ASSERT_PTR_NOT_NULL_FATAL(m.threads);
    return m;
}


/* The value of a sample that must be there. */
static double
value(const fb_expo_t *e, const char *name, const char *labels,
    const char *le)
{
    const fb_expo_sample_t  *s = fb_expo_get(e, name, labels, le);

    if (s == NULL) {
        fprintf(stderr, "\nmissing: %s{%s%s%s}\n", name, labels,
                le != NULL ? " le=" : "", le != NULL ? le : "");
        CU_FAIL("a sample is missing");
        return -1;
    }

    return s->value;
}


static const char *
raw(const fb_expo_t *e, const char *name, const char *labels)
{
    const fb_expo_sample_t  *s = fb_expo_get(e, name, labels, NULL);

    return s != NULL ? s->raw : "(missing)";
}


/*
 * The checker catches what it is meant to: each of these texts breaks one
 * rule, and the parse must report it.
 */
static void
test_parser_catches(void)
{
    size_t      i;
    fb_expo_t   e;

    static const char  *good =
        "# HELP a_total A.\n# TYPE a_total counter\n"
        "a_total{x=\"1\"} 3\n"
        "# HELP h H \\\\ \\n.\n# TYPE h histogram\n"
        "h_bucket{le=\"0.1\"} 1\nh_bucket{le=\"1\"} 2\n"
        "h_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n";

    static const char  *bad[] = {
        /* no final newline */
        "# HELP a A.\n# TYPE a gauge\na 1",
        /* HELP twice */
        "# HELP a A.\n# HELP a A.\n# TYPE a gauge\na 1\n",
        /* TYPE twice */
        "# HELP a A.\n# TYPE a gauge\n# TYPE a gauge\na 1\n",
        /* TYPE after a sample */
        "# HELP a A.\na 1\n# TYPE a gauge\n",
        /* no TYPE */
        "# HELP a A.\na 1\n",
        /* a metric's lines apart */
        "# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\n"
        "# HELP b B.\n# TYPE b gauge\nb 1\na{x=\"2\"} 1\n",
        /* a series twice */
        "# HELP a A.\n# TYPE a gauge\na{x=\"1\",y=\"2\"} 1\n"
        "a{y=\"2\",x=\"1\"} 1\n",
        /* a bad escape in a label value */
        "# HELP a A.\n# TYPE a gauge\na{x=\"\\t\"} 1\n",
        /* an unterminated label value */
        "# HELP a A.\n# TYPE a gauge\na{x=\"1} 1\n",
        /* a value that is not a float */
        "# HELP a A.\n# TYPE a gauge\na 0x10\n",
        /* a timestamp (we write none) */
        "# HELP a A.\n# TYPE a gauge\na 1 1700000000000\n",
        /* a counter below zero */
        "# HELP a_total A.\n# TYPE a_total counter\na_total -1\n",
        /* buckets not cumulative */
        "# HELP h H.\n# TYPE h histogram\n"
        "h_bucket{le=\"0.1\"} 2\nh_bucket{le=\"1\"} 1\n"
        "h_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n",
        /* le not increasing */
        "# HELP h H.\n# TYPE h histogram\n"
        "h_bucket{le=\"1\"} 1\nh_bucket{le=\"0.1\"} 1\n"
        "h_bucket{le=\"+Inf\"} 1\nh_sum 0.5\nh_count 1\n",
        /* +Inf differs from _count */
        "# HELP h H.\n# TYPE h histogram\n"
        "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.5\n"
        "h_count 3\n",
        /* no +Inf bucket */
        "# HELP h H.\n# TYPE h histogram\n"
        "h_bucket{le=\"1\"} 1\nh_sum 0.5\nh_count 1\n",
        /* no _sum */
        "# HELP h H.\n# TYPE h histogram\n"
        "h_bucket{le=\"+Inf\"} 1\nh_count 1\n",
        /* a bad escape in HELP */
        "# HELP a A \\t.\n# TYPE a gauge\na 1\n",
    };

    CU_ASSERT_EQUAL(fb_expo_parse(&e, good, strlen(good)), 0);
    if (e.errors != 0) {
        fprintf(stderr, "\n%s", e.err);
    }
    CU_ASSERT_EQUAL(value(&e, "a_total", "x=\"1\"", NULL), 3);
    CU_ASSERT_EQUAL(value(&e, "h_bucket", "", "1"), 2);
    fb_expo_free(&e);

    for (i = 0; i < fb_nelems(bad); i++) {
        CU_ASSERT_TRUE(fb_expo_parse(&e, bad[i], strlen(bad[i])) > 0);
        if (e.errors == 0) {
            fprintf(stderr, "\nnot caught: text %zu:\n%s\n", i, bad[i]);
        }
        fb_expo_free(&e);
    }
}


/*
 * Label values are printed unescaped because none can hold '\', '"' or a
 * newline: they all come from these tables.  Names must be valid too.
 */
static int
clean(const char *s)
{
    return strpbrk(s, "\\\"\n") == NULL;
}


static void
test_label_values_clean(void)
{
    size_t  i, j;

    for (i = 0; i < FB_METHOD_COUNT; i++) {
        CU_ASSERT_TRUE(clean(fb_method_name((fb_method_e) i)));
    }

    for (i = 0; i < FB_ROUTE_COUNT; i++) {
        CU_ASSERT_TRUE(clean(fb_route_get((fb_route_e) i)->template));
    }

    for (i = 0; i < FB_METRIC_COUNT; i++) {
        const fb_metric_def_t  *d = &fb_metric_defs[i];

        CU_ASSERT_TRUE(strchr(d->help, '\\') == NULL
                       && strchr(d->help, '\n') == NULL);
        CU_ASSERT_TRUE(d->name[0] != '\0'
                       && strspn(d->name, "abcdefghijklmnopqrstuvwxyz_")
                          == strlen(d->name));

        /* One name, one metric. */
        for (j = 0; j < i; j++) {
            CU_ASSERT_STRING_NOT_EQUAL(d->name, fb_metric_defs[j].name);
        }

        /* Counters end in _total, as Prometheus expects. */
        if (d->type == FB_METRIC_COUNTER) {
            CU_ASSERT_TRUE(strlen(d->name) > 6
                && strcmp(d->name + strlen(d->name) - 6, "_total") == 0);
        }
    }
}


/* The scrape-time values, which every build exports. */
static void
test_scrape_values(void)
{
    fb_expo_t     e;
    fb_metrics_t  m = new_metrics(3);

    if (scrape(&m, 41, &e) == 0) {
        CU_ASSERT_EQUAL(value(&e, "accounts_active", "", NULL), 41);
        CU_ASSERT_EQUAL(value(&e, "fastbank_worker_threads", "", NULL), 3);
        CU_ASSERT_STRING_EQUAL(raw(&e, "process_start_time_seconds", ""),
                               "1700000000.250000");
        CU_ASSERT_TRUE(value(&e, "process_open_fds", "", NULL) >= 3);
        CU_ASSERT_TRUE(value(&e, "process_max_fds", "", NULL)
                       >= value(&e, "process_open_fds", "", NULL));
        CU_ASSERT_TRUE(value(&e, "process_resident_memory_bytes", "", NULL)
                       > 0);
        CU_ASSERT_TRUE(value(&e, "process_virtual_memory_bytes", "", NULL)
                       >= value(&e, "process_resident_memory_bytes", "",
                                NULL));
        CU_ASSERT_TRUE(value(&e, "process_cpu_seconds_total", "", NULL)
                       >= 0);
        CU_ASSERT_STRING_EQUAL(fb_expo_family(&e, "accounts_active")->type,
                               "gauge");
        CU_ASSERT_STRING_EQUAL(
            fb_expo_family(&e, "process_cpu_seconds_total")->type, "counter");

        /* No journal (--fsync off): its metrics declared, no sample. */
        CU_ASSERT_PTR_NOT_NULL(fb_expo_family(&e,
                                              "fastbank_journal_failed"));
        CU_ASSERT_EQUAL(fb_expo_family(&e, "fastbank_journal_failed")
                        ->samples, 0);
        CU_ASSERT_EQUAL(fb_expo_family(&e, "fastbank_journal_fsyncs_total")
                        ->samples, 0);
        CU_ASSERT_EQUAL(fb_expo_family(&e, "fastbank_journal_gathers_total")
                        ->samples, 0);
        CU_ASSERT_EQUAL(fb_expo_family(&e,
                            "fastbank_journal_gathers_cut_total")->samples,
                        0);
        CU_ASSERT_EQUAL(fb_expo_family(&e,
                            "fastbank_journal_fsync_duration_seconds")
                        ->samples, 0);
    }

    fb_expo_free(&e);

    /* A start time that could not be read: declared, no sample. */
    m.start_time = -1;
    if (scrape(&m, 41, &e) == 0) {
        CU_ASSERT_EQUAL(fb_expo_family(&e, "process_start_time_seconds")
                        ->samples, 0);
    }

    fb_expo_free(&e);
    free(m.threads);
}


/*
 * Out of descriptors, the scrape cannot open /proc/self/fd nor
 * /proc/self/statm: process_open_fds and the memory sizes are declared
 * without samples, never a 0 that would read as a real value (0 open
 * descriptors, exactly when they have run out).
 */
static void
test_scrape_no_fds(void)
{
    int            fd;
    fb_expo_t      e;
    fb_metrics_t   m = new_metrics(1);
    struct rlimit  saved, rl;

    CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_NOFILE, &saved), 0);

    /* The lowest free descriptor becomes the limit: none can be opened. */
    fd = dup(0);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    rl = saved;
    rl.rlim_cur = (rlim_t) fd;
    CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_NOFILE, &rl), 0);

    if (scrape(&m, 1, &e) == 0) {
        CU_ASSERT_EQUAL(fb_expo_family(&e, "process_open_fds")->samples, 0);
        CU_ASSERT_EQUAL(fb_expo_family(&e, "process_resident_memory_bytes")
                        ->samples, 0);
        CU_ASSERT_EQUAL(fb_expo_family(&e, "process_virtual_memory_bytes")
                        ->samples, 0);
        /* What needs no descriptor is still there. */
        CU_ASSERT_EQUAL(value(&e, "process_max_fds", "", NULL), (double) fd);
        CU_ASSERT_EQUAL(value(&e, "accounts_active", "", NULL), 1);
    }

    CU_ASSERT_EQUAL(setrlimit(RLIMIT_NOFILE, &saved), 0);
    fb_expo_free(&e);
    free(m.threads);
}


/* This process's start, from /proc: before now, and not long before. */
static void
test_process_start_time(void)
{
    double  start = fb_process_start_time(), now = (double) time(NULL);

    CU_ASSERT_TRUE(start > now - 600 && start <= now + 1);
}


#ifndef FB_NO_METRICS

/* A request as recorded, and the labels it must show under. */
typedef struct {
    int           thread;
    fb_route_e    route;
    fb_method_e   method;
    int           status;
    uint64_t      ns;
    const char   *labels;       /* method, endpoint */
    const char   *code;         /* status_code */
} req_t;

/*
 * Durations on both sides of bucket bounds (le is "less or equal"), one
 * below the first bound and one beyond the last.
 */
static const req_t  reqs[] = {
    { 0, FB_ROUTE_ACCOUNT, FB_METHOD_GET, 200, 9999,
      "method=\"GET\",endpoint=\"/accounts/{id}\"", "200" },
    { 1, FB_ROUTE_ACCOUNT, FB_METHOD_GET, 200, 10000,
      "method=\"GET\",endpoint=\"/accounts/{id}\"", "200" },
    { 2, FB_ROUTE_ACCOUNT, FB_METHOD_GET, 200, 10001,
      "method=\"GET\",endpoint=\"/accounts/{id}\"", "200" },
    { 3, FB_ROUTE_ACCOUNT, FB_METHOD_GET, 404, 25000,
      "method=\"GET\",endpoint=\"/accounts/{id}\"", "404" },
    { 0, FB_ROUTE_ACCOUNT, FB_METHOD_HEAD, 200, 7000,
      "method=\"HEAD\",endpoint=\"/accounts/{id}\"", "200" },
    { 1, FB_ROUTE_ACCOUNTS, FB_METHOD_POST, 201, 48000,
      "method=\"POST\",endpoint=\"/accounts\"", "201" },
    { 2, FB_ROUTE_ACCOUNTS, FB_METHOD_POST, 201, 1000000,
      "method=\"POST\",endpoint=\"/accounts\"", "201" },
    { 3, FB_ROUTE_ACCOUNTS, FB_METHOD_POST, 400, 1000001,
      "method=\"POST\",endpoint=\"/accounts\"", "400" },
    { 0, FB_ROUTE_ACCOUNTS, FB_METHOD_GET, 405, 3000,
      "method=\"GET\",endpoint=\"/accounts\"", "405" },
    { 1, FB_ROUTE_DEPOSIT, FB_METHOD_POST, 200, 5000000000ull,
      "method=\"POST\",endpoint=\"/accounts/{id}/deposit\"", "200" },
    { 2, FB_ROUTE_DEPOSIT, FB_METHOD_POST, 413, 5000000001ull,
      "method=\"POST\",endpoint=\"/accounts/{id}/deposit\"", "413" },
    { 3, FB_ROUTE_WITHDRAW, FB_METHOD_POST, 400, 123456789,
      "method=\"POST\",endpoint=\"/accounts/{id}/withdraw\"", "400" },
    { 0, FB_ROUTE_TRANSFER, FB_METHOD_POST, 200, 33000,
      "method=\"POST\",endpoint=\"/accounts/transfer\"", "200" },
    { 1, FB_ROUTE_BALANCE, FB_METHOD_GET, 500, 2500000,
      "method=\"GET\",endpoint=\"/accounts/{id}/balance\"", "500" },
    { 2, FB_ROUTE_HEALTHZ, FB_METHOD_GET, 503, 1,
      "method=\"GET\",endpoint=\"/healthz\"", "503" },
    { 3, FB_ROUTE_METRICS, FB_METHOD_GET, 200, 250000,
      "method=\"GET\",endpoint=\"/metrics\"", "200" },
    { 0, FB_ROUTE_NONE, FB_METHOD_GET, 404, 4000,
      "method=\"GET\",endpoint=\"unmatched\"", "404" },
    { 1, FB_ROUTE_NONE, FB_METHOD_OTHER, 404, 4000,
      "method=\"OTHER\",endpoint=\"unmatched\"", "404" },
    { 2, FB_ROUTE_HEALTHZ, FB_METHOD_GET, 418, 0,
      "method=\"GET\",endpoint=\"/healthz\"", "other" },
    { 3, FB_ROUTE_ACCOUNT, FB_METHOD_GET, 200, 0,
      "method=\"GET\",endpoint=\"/accounts/{id}\"", "200" },
};

typedef struct {
    int            thread;
    fb_stat_op_e   op;
    int            ok;
    int64_t        amount;
} op_t;

static const op_t  ops[] = {
    { 0, FB_STAT_OP_DEPOSIT, 1, 100 },
    { 1, FB_STAT_OP_DEPOSIT, 1, 200 },
    { 2, FB_STAT_OP_DEPOSIT, 0, 0 },
    { 3, FB_STAT_OP_WITHDRAW, 1, 50 },
    { 0, FB_STAT_OP_WITHDRAW, 0, 5000 },
    { 1, FB_STAT_OP_WITHDRAW, 0, 7 },
    { 2, FB_STAT_OP_WITHDRAW, 0, 9 },
    { 3, FB_STAT_OP_TRANSFER, 1, 1 },
    { 0, FB_STAT_OP_TRANSFER, 1, 100 },
    { 1, FB_STAT_OP_TRANSFER, 1, 101 },
    { 2, FB_STAT_OP_TRANSFER, 1, 1000000 },
    { 3, FB_STAT_OP_TRANSFER, 1, 500000 },
    { 0, FB_STAT_OP_TRANSFER, 1, 500001 },
    { 1, FB_STAT_OP_TRANSFER, 0, 999 },        /* refused: no amount */
    { 2, FB_STAT_OP_TRANSFER, 0, 0 },
};

static const char  *op_names[] = { "deposit", "withdraw", "transfer" };


static void
record(fb_metrics_t *m)
{
    size_t  i;

    for (i = 0; i < fb_nelems(reqs); i++) {
        fb_stats_request(&m->threads[reqs[i].thread], reqs[i].route,
                         reqs[i].method, reqs[i].status, reqs[i].ns);
    }

    for (i = 0; i < fb_nelems(ops); i++) {
        fb_stats_operation(&m->threads[ops[i].thread], ops[i].op, ops[i].ok,
                           ops[i].amount);
    }

    fb_stats_account_created(&m->threads[0]);
    fb_stats_account_created(&m->threads[3]);
    fb_stats_account_created(&m->threads[3]);
}


/* le as a bound in units of 10^-decimals; UINT64_MAX for +Inf. */
static uint64_t
le_bound(const char *le, double scale)
{
    return strcmp(le, "+Inf") == 0
           ? UINT64_MAX : (uint64_t) llround(strtod(le, NULL) * scale);
}


static void
expect_requests(const fb_expo_t *e)
{
    char    labels[256];
    size_t  i, j, n, distinct = 0;

    for (i = 0; i < fb_nelems(reqs); i++) {
        for (n = 0, j = 0; j < fb_nelems(reqs); j++) {
            n += strcmp(reqs[j].labels, reqs[i].labels) == 0
                 && strcmp(reqs[j].code, reqs[i].code) == 0;
        }
        for (j = 0; j < i; j++) {
            if (strcmp(reqs[j].labels, reqs[i].labels) == 0
                && strcmp(reqs[j].code, reqs[i].code) == 0)
            {
                break;
            }
        }
        distinct += j == i;

        snprintf(labels, sizeof(labels), "%s,status_code=\"%s\"",
                 reqs[i].labels, reqs[i].code);
        CU_ASSERT_EQUAL(value(e, "http_requests_total", labels, NULL),
                        (double) n);
    }

    /* And nothing else: no series for what never happened. */
    CU_ASSERT_EQUAL(fb_expo_count(e, "http_requests_total"), distinct);
}


static void
expect_durations(const fb_expo_t *e)
{
    char                     want[64];
    size_t                   i, j, k, n, in, series = 0;
    uint64_t                 sum, bound;
    const fb_expo_sample_t  *s;

    for (i = 0; i < fb_nelems(reqs); i++) {
        for (j = 0; j < i; j++) {
            if (strcmp(reqs[j].labels, reqs[i].labels) == 0) {
                break;
            }
        }
        if (j < i) {
            continue;
        }
        series++;

        /* Every bucket holds the requests not slower than its le. */
        for (k = 0, n = 0; k < e->n; k++) {
            s = &e->s[k];
            if (strcmp(s->name, "http_request_duration_seconds_bucket") != 0
                || fb_expo_get(e, s->name, reqs[i].labels, s->le) != s)
            {
                continue;
            }
            n++;

            bound = le_bound(s->le, 1e9);
            for (in = 0, j = 0; j < fb_nelems(reqs); j++) {
                in += strcmp(reqs[j].labels, reqs[i].labels) == 0
                      && reqs[j].ns <= bound;
            }
            CU_ASSERT_EQUAL(s->value, (double) in);
        }
        CU_ASSERT_EQUAL(n, FB_NBUCKETS(FB_DURATION_BUCKETS) + 1);

        for (sum = 0, n = 0, j = 0; j < fb_nelems(reqs); j++) {
            if (strcmp(reqs[j].labels, reqs[i].labels) == 0) {
                sum += reqs[j].ns;
                n++;
            }
        }

        snprintf(want, sizeof(want), "%" PRIu64 ".%09" PRIu64,
                 sum / 1000000000, sum % 1000000000);
        CU_ASSERT_STRING_EQUAL(
            raw(e, "http_request_duration_seconds_sum", reqs[i].labels),
            want);
        CU_ASSERT_EQUAL(value(e, "http_request_duration_seconds_count",
                              reqs[i].labels, NULL), (double) n);
    }

    CU_ASSERT_EQUAL(fb_expo_count(e, "http_request_duration_seconds_count"),
                    series);
}


static void
expect_banking(const fb_expo_t *e)
{
    char                     labels[96], want[32];
    size_t                   i, k, n, in;
    int64_t                  sum;
    const fb_expo_sample_t  *s;

    for (k = 0; k < 2 * FB_STAT_OP_COUNT; k++) {
        for (n = 0, i = 0; i < fb_nelems(ops); i++) {
            n += ops[i].op == (fb_stat_op_e) (k / 2)
                 && ops[i].ok == (k % 2 == 0);
        }
        snprintf(labels, sizeof(labels), "operation=\"%s\",status=\"%s\"",
                 op_names[k / 2], k % 2 == 0 ? "success" : "error");
        CU_ASSERT_EQUAL(value(e, "banking_operations_total", labels, NULL),
                        (double) n);
    }
    CU_ASSERT_EQUAL(fb_expo_count(e, "banking_operations_total"),
                    2 * FB_STAT_OP_COUNT);

    CU_ASSERT_EQUAL(value(e, "accounts_created_total", "", NULL), 3);

    /* Only successful transfers have an amount. */
    for (n = 0, k = 0; k < e->n; k++) {
        s = &e->s[k];
        if (strcmp(s->name, "transfer_amount_centavos_bucket") != 0) {
            continue;
        }
        n++;

        for (in = 0, i = 0; i < fb_nelems(ops); i++) {
            in += ops[i].op == FB_STAT_OP_TRANSFER && ops[i].ok
                  && (uint64_t) ops[i].amount <= le_bound(s->le, 1);
        }
        CU_ASSERT_EQUAL(s->value, (double) in);
    }
    CU_ASSERT_EQUAL(n, FB_NBUCKETS(FB_AMOUNT_BUCKETS) + 1);

    for (sum = 0, n = 0, i = 0; i < fb_nelems(ops); i++) {
        if (ops[i].op == FB_STAT_OP_TRANSFER && ops[i].ok) {
            sum += ops[i].amount;
            n++;
        }
    }
    snprintf(want, sizeof(want), "%" PRId64, sum);
    CU_ASSERT_STRING_EQUAL(raw(e, "transfer_amount_centavos_sum", ""), want);
    CU_ASSERT_EQUAL(value(e, "transfer_amount_centavos_count", "", NULL),
                    (double) n);
}


static void
test_empty(void)
{
    size_t        k;
    fb_expo_t     e;
    fb_metrics_t  m = new_metrics(2);

    if (scrape(&m, 0, &e) == 0) {
        /* Every metric defined is exported, with its type. */
        for (k = 0; k < FB_METRIC_COUNT; k++) {
            static const char      *types[] = {
                "counter", "gauge", "histogram"
            };
            const fb_expo_family_t  *f =
                fb_expo_family(&e, fb_metric_defs[k].name);

            CU_ASSERT_PTR_NOT_NULL(f);
            if (f != NULL) {
                CU_ASSERT_STRING_EQUAL(f->type,
                                       types[fb_metric_defs[k].type]);
            }
        }

        /* Declared, with no series until a request is answered. */
        CU_ASSERT_PTR_NOT_NULL(fb_expo_family(&e, "http_requests_total"));
        CU_ASSERT_EQUAL(fb_expo_count(&e, "http_requests_total"), 0);
        CU_ASSERT_EQUAL(
            fb_expo_count(&e, "http_request_duration_seconds_bucket"), 0);

        /* Present at zero from the start, for alerts and dashboards. */
        CU_ASSERT_EQUAL(fb_expo_count(&e, "banking_operations_total"), 6);
        CU_ASSERT_EQUAL(value(&e, "banking_operations_total",
                              "operation=\"transfer\",status=\"error\"",
                              NULL), 0);
        CU_ASSERT_EQUAL(value(&e, "accounts_created_total", "", NULL), 0);
        CU_ASSERT_EQUAL(value(&e, "transfer_amount_centavos_bucket", "",
                              "+Inf"), 0);
        CU_ASSERT_STRING_EQUAL(raw(&e, "transfer_amount_centavos_sum", ""),
                               "0");
        CU_ASSERT_EQUAL(value(&e, "fastbank_worker_threads_busy", "", NULL),
                        0);
        CU_ASSERT_EQUAL(value(&e, "fastbank_worker_threads", "", NULL), 2);
        CU_ASSERT_STRING_EQUAL(
            fb_expo_family(&e, "http_request_duration_seconds")->type,
            "histogram");
    }

    fb_expo_free(&e);
    free(m.threads);
}


static void
test_exact(void)
{
    fb_expo_t     e;
    fb_metrics_t  m = new_metrics(NTHREADS);

    record(&m);

    if (scrape(&m, 2, &e) == 0) {
        expect_requests(&e);
        expect_durations(&e);
        expect_banking(&e);
        CU_ASSERT_EQUAL(value(&e, "accounts_active", "", NULL), 2);
    }

    fb_expo_free(&e);
    free(m.threads);
}


/*
 * Each histogram's le labels, in order, read back as exactly its bounds
 * (as doubles, the way Prometheus reads them): a label rounded to fewer
 * digits than its bound needs would put the bucket's edge elsewhere.
 */
static void
expect_les(const fb_expo_t *e, const char *bucket, const char *labels,
    const uint64_t *bounds, size_t n, double scale)
{
    size_t                   i, k;
    const fb_expo_sample_t  *s;

    for (i = 0, k = 0; k < e->n; k++) {
        s = &e->s[k];
        if (strcmp(s->name, bucket) != 0
            || fb_expo_get(e, s->name, labels, s->le) != s)
        {
            continue;
        }

        if (i < n) {
            if (strtod(s->le, NULL) != (double) bounds[i] / scale) {
                fprintf(stderr, "\n%s le=\"%s\": the bound is %" PRIu64
                        " / %g\n", bucket, s->le, bounds[i], scale);
                CU_FAIL("le is not its bound");
            }
        } else {
            CU_ASSERT_STRING_EQUAL(s->le, "+Inf");
        }
        i++;
    }

    CU_ASSERT_EQUAL(i, n + 1);
}


/* The bound printer itself, on bounds the tables do not hold (yet). */
static void
test_le_digits(void)
{
    size_t    i;
    fb_buf_t  b;
    static const struct {
        uint64_t     bound;
        unsigned     decimals;
        const char  *le;
    } cases[] = {
        { 10000, 9, "1e-05" },                  /* as %g, as Go prints it */
        { 2500000, 9, "0.0025" },
        { 5000000000ull, 9, "5" },
        { 1000000, 0, "1e+06" },
        { 123456, 0, "123456" },                /* six digits: %g's own */
        { 1234567, 0, "1234567" },              /* %g: 1.23457e+06 */
        { 1234567, 9, "0.001234567" },          /* %g: 0.00123457 */
        { 9007199254740993ull, 0, "9007199254740992" },  /* 2^53 + 1 */
        { 12345678901234567ull, 9, "12345678.901234567" },
    };

    for (i = 0; i < fb_nelems(cases); i++) {
        CU_ASSERT_EQUAL_FATAL(fb_buf_init(&b, 64), FB_OK);
        CU_ASSERT_EQUAL(fb_metrics_print_bound(&b, cases[i].bound,
                                               cases[i].decimals), FB_OK);
        if (b.len != strlen(cases[i].le)
            || memcmp(b.data, cases[i].le, b.len) != 0)
        {
            fprintf(stderr, "\n%" PRIu64 " / 10^%u: le=\"%.*s\", not "
                    "\"%s\"\n", cases[i].bound, cases[i].decimals,
                    (int) b.len, b.data, cases[i].le);
            CU_FAIL("a bound printed with the wrong digits");
        }
        fb_buf_free(&b);
    }
}


static void
test_le_exact(void)
{
    fb_expo_t     e;
    fb_metrics_t  m = new_metrics(NTHREADS);

#define LE_BOUND(v)  (v),
    static const uint64_t  durations[] = {
        FB_DURATION_BUCKETS(LE_BOUND)
    };
    static const uint64_t  amounts[] = {
        FB_AMOUNT_BUCKETS(LE_BOUND)
    };
#undef LE_BOUND

    record(&m);

    if (scrape(&m, 2, &e) == 0) {
        expect_les(&e, "http_request_duration_seconds_bucket", reqs[0].labels,
                   durations, fb_nelems(durations), 1e9);
        expect_les(&e, "transfer_amount_centavos_bucket", "", amounts,
                   fb_nelems(amounts), 1);
    }

    fb_expo_free(&e);
    free(m.threads);
}


/* The merge adds every thread: one thread's share is a part of the sum. */
static void
test_merge(void)
{
    size_t           t, i;
    fb_metrics_t     m = new_metrics(NTHREADS), one;
    fb_stats_snap_t  all, part, sum;

    record(&m);
    fb_metrics_merge(&m, &all);

    memset(&sum, 0, sizeof(sum));
    for (t = 0; t < NTHREADS; t++) {
        one.threads = &m.threads[t];
        one.nthreads = 1;
        fb_metrics_merge(&one, &part);

#define ADD(field, ...)                                                    \
        for (i = 0; i < fb_nelems(sum.field); i++) {                \
            sum.field[i] += part.field[i];                                 \
        }
        FB_STATS_FIELDS(ADD)
#undef ADD
    }

    CU_ASSERT_EQUAL(memcmp(&sum, &all, sizeof(sum)), 0);

    /* And the threads did not all record the same thing. */
    one.threads = &m.threads[0];
    fb_metrics_merge(&one, &part);
    CU_ASSERT_NOT_EQUAL(memcmp(&part, &all, sizeof(part)), 0);

    free(m.threads);
}


/* The busy gauge counts threads whose flag is up, whatever they did. */
static void
test_busy(void)
{
    fb_expo_t     e;
    fb_metrics_t  m = new_metrics(NTHREADS);

    fb_stats_set_busy(&m.threads[1], 1);
    fb_stats_set_busy(&m.threads[2], 1);
    fb_stats_set_busy(&m.threads[2], 1);

    if (scrape(&m, 0, &e) == 0) {
        CU_ASSERT_EQUAL(value(&e, "fastbank_worker_threads_busy", "", NULL),
                        2);
    }
    fb_expo_free(&e);

    fb_stats_set_busy(&m.threads[1], 0);
    fb_stats_set_busy(&m.threads[2], 0);

    if (scrape(&m, 0, &e) == 0) {
        CU_ASSERT_EQUAL(value(&e, "fastbank_worker_threads_busy", "", NULL),
                        0);
    }
    fb_expo_free(&e);

    free(m.threads);
}


/*
 * Every counter, bucket, _sum and _count of before is in after, not
 * smaller.  Returns how many grew.
 */
static size_t
expect_not_backwards(const fb_expo_t *before, const fb_expo_t *after)
{
    size_t                   i, grew = 0;
    const char              *type;
    const fb_expo_sample_t  *s, *t;

    for (i = 0; i < before->n; i++) {
        s = &before->s[i];
        type = before->f[s->family].type;

        if (strcmp(type, "counter") != 0 && strcmp(type, "histogram") != 0) {
            continue;
        }

        t = fb_expo_get(after, s->name, s->labels, s->le);
        CU_ASSERT_PTR_NOT_NULL(t);
        if (t == NULL) {
            continue;
        }

        CU_ASSERT_TRUE(t->value >= s->value);
        if (t->value < s->value) {
            fprintf(stderr, "\n%s{%s} le=%s went from %s to %s\n", s->name,
                    s->labels, s->le != NULL ? s->le : "-", s->raw, t->raw);
        }
        grew += t->value > s->value;
    }

    return grew;
}


static void
test_not_backwards(void)
{
    fb_expo_t     a, b;
    fb_metrics_t  m = new_metrics(NTHREADS);

    record(&m);
    if (scrape(&m, 2, &a) == 0) {
        record(&m);
        fb_stats_request(&m.threads[2], FB_ROUTE_HEALTHZ, FB_METHOD_GET, 200,
                         15000);
        if (scrape(&m, 2, &b) == 0) {
            CU_ASSERT_TRUE(expect_not_backwards(&a, &b) > 0);
            CU_ASSERT_EQUAL(value(&b, "accounts_created_total", "", NULL), 6);
        }
        fb_expo_free(&b);
    }

    fb_expo_free(&a);
    free(m.threads);
}


/*
 * Writers record while a reader scrapes: every scrape is well formed, its
 * histograms consistent, nothing goes backwards between scrapes, and the
 * last scrape, after the writers are done, has every event.  Under
 * ThreadSanitizer this is also the race check of the single-writer rule.
 */
#define WRITES  200000

typedef struct {
    fb_stats_t  *st;
    int          index;
} writer_t;


static void *
writer(void *arg)
{
    int        i;
    writer_t  *w = arg;

    for (i = 0; i < WRITES; i++) {
        fb_stats_set_busy(w->st, 1);
        fb_stats_operation(w->st, FB_STAT_OP_TRANSFER, 1, 1 + i % 1000);
        fb_stats_request(w->st, FB_ROUTE_TRANSFER, FB_METHOD_POST, 200,
                         (uint64_t) (i % 50) * 1000);
        fb_stats_set_busy(w->st, 0);
    }

    fb_stats_account_created(w->st);
    return NULL;
}


static void
test_concurrent(void)
{
    int           t, scrapes = 0, started = 0;
    fb_expo_t     prev, cur;
    pthread_t     tid[NTHREADS];
    writer_t      w[NTHREADS];
    fb_metrics_t  m = new_metrics(NTHREADS);
    const char   *labels =
        "method=\"POST\",endpoint=\"/accounts/transfer\"";

    CU_ASSERT_EQUAL_FATAL(scrape(&m, 0, &prev), 0);

    for (t = 0; t < NTHREADS; t++) {
        w[t].st = &m.threads[t];
        w[t].index = t;
        if (pthread_create(&tid[t], NULL, writer, &w[t]) != 0) {
            CU_FAIL("pthread_create() failed");
            break;
        }
        started++;
    }

    /* Scrape while they write; a bounded number of times. */
    while (scrapes < 200) {
        if (scrape(&m, 0, &cur) != 0) {
            fb_expo_free(&cur);
            break;
        }
        expect_not_backwards(&prev, &cur);
        fb_expo_free(&prev);
        prev = cur;
        scrapes++;

        if (fb_expo_get(&prev, "accounts_created_total", "", NULL) != NULL
            && fb_expo_get(&prev, "accounts_created_total", "", NULL)->value
               == started)
        {
            break;
        }
    }

    for (t = 0; t < started; t++) {
        pthread_join(tid[t], NULL);
    }

    printf("\n  %d scrapes while writing\n", scrapes);

    if (scrape(&m, 0, &cur) == 0) {
        expect_not_backwards(&prev, &cur);
        CU_ASSERT_EQUAL(value(&cur, "http_requests_total",
            "method=\"POST\",endpoint=\"/accounts/transfer\","
            "status_code=\"200\"", NULL), (double) NTHREADS * WRITES);
        CU_ASSERT_EQUAL(value(&cur, "http_request_duration_seconds_count",
                              labels, NULL), (double) NTHREADS * WRITES);
        CU_ASSERT_EQUAL(value(&cur, "banking_operations_total",
                              "operation=\"transfer\",status=\"success\"",
                              NULL), (double) NTHREADS * WRITES);
        CU_ASSERT_EQUAL(value(&cur, "transfer_amount_centavos_count", "",
                              NULL), (double) NTHREADS * WRITES);
        CU_ASSERT_EQUAL(value(&cur, "fastbank_worker_threads_busy", "",
                              NULL), 0);
        CU_ASSERT_EQUAL(value(&cur, "accounts_created_total", "", NULL),
                        NTHREADS);
    }

    fb_expo_free(&cur);
    fb_expo_free(&prev);
    free(m.threads);
}

#else /* FB_NO_METRICS */

/* --disable-metrics: the calls record nothing, the exposition says so. */
static void
test_disabled(void)
{
    size_t           i, k;
    fb_expo_t        e;
    fb_metrics_t     m = new_metrics(2);
    fb_stats_snap_t  snap, zero;

    fb_stats_request(&m.threads[0], FB_ROUTE_ACCOUNT, FB_METHOD_GET, 200,
                     fb_stats_clock());
    fb_stats_operation(&m.threads[1], FB_STAT_OP_TRANSFER, 1, 100);
    fb_stats_account_created(&m.threads[1]);
    fb_stats_set_busy(&m.threads[0], 1);

    CU_ASSERT_EQUAL(fb_stats_clock(), 0);

    fb_metrics_merge(&m, &snap);
    memset(&zero, 0, sizeof(zero));
    CU_ASSERT_EQUAL(memcmp(&snap, &zero, sizeof(snap)), 0);

    if (scrape(&m, 5, &e) == 0) {
        /* Every metric declared; only the scrape-time ones with samples,
         * the others saying why they have none. */
        for (i = 0; i < FB_METRIC_COUNT; i++) {
            const fb_expo_family_t *f =
                fb_expo_family(&e, fb_metric_defs[i].name);

            CU_ASSERT_PTR_NOT_NULL_FATAL(f);
            if (fb_metric_defs[i].per_thread
                || strncmp(fb_metric_defs[i].name, "fastbank_journal_", 17)
                   == 0)
            {
                /* The journal's: none here, no journal. */
                CU_ASSERT_EQUAL(f->samples, 0);
            } else {
                CU_ASSERT_EQUAL(f->samples, 1);
            }
        }

        for (k = 0; k < e.n; k++) {
            CU_ASSERT_TRUE(strncmp(e.s[k].name, "http_", 5) != 0);
        }

        CU_ASSERT_EQUAL(value(&e, "accounts_active", "", NULL), 5);
    }

    fb_expo_free(&e);
    free(m.threads);
}

#endif


static const fb_ctest_t  tests[] = {
    { "the parser catches", test_parser_catches },
    { "label values clean", test_label_values_clean },
    { "scrape-time values", test_scrape_values },
    { "process start time", test_process_start_time },
    { "scrape out of descriptors", test_scrape_no_fds },
#ifndef FB_NO_METRICS
    { "empty", test_empty },
    { "exact values", test_exact },
    { "every le is its bound", test_le_exact },
    { "a bound's digits", test_le_digits },
    { "merge over threads", test_merge },
    { "busy gauge", test_busy },
    { "counters never go backwards", test_not_backwards },
    { "concurrent writers", test_concurrent },
#else
    { "compiled out", test_disabled },
#endif
};


int
main(void)
{
    return fb_cunit_run("test-metrics", "metrics", NULL, NULL, tests,
                        fb_nelems(tests));
}
