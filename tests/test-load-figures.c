/*
 * test-load-figures.c: the figures fb-load publishes, from the parts that
 * compute them: the latency histogram and its percentiles, the merging of
 * per-thread results, the JSON report, the /proc sampling of server
 * processes and the option parser.  A defect in any of them changes a
 * benchmark figure without failing a run, so each is checked here against
 * values worked out independently.
 */

#include "fb_load.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include <CUnit/Basic.h>

#include "fb_cunit.h"


/* The last message fb-load's code logged, for the tests to read. */
static char  last_err[1024];


static uint64_t top(uint64_t v);
static uint64_t p_of(const uint64_t *v, size_t n, double p);
static json_object *report(fb_load_run_t *run, fb_load_stats_t *s,
    fb_load_summary_t *sum);
static json_object *field(json_object *o, const char *path);
static double num(json_object *o, const char *path);
static int is_null(json_object *o, const char *key);
static int parse(fb_load_conf_t *conf, ...);
static int proc_status_num(const char *path, const char *key, long *v);
static int proc_wait_asleep(pid_t pid, long *tids, int max);
static int task_switches(pid_t pid, const long *tids, int n, long *vol,
    long *invol);
static void *proc_sleeper(void *arg);


/*
 * fb-load's own fb_load_err lives in fb_load_conn.c with the engine, which
 * these tests do not link: this one keeps the message as well as printing
 * it.
 */
void
fb_load_err(int err, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(last_err, sizeof(last_err), fmt, ap);
    va_end(ap);

    fprintf(stderr, "fb-load: %s%s%s\n", last_err, err ? ": " : "",
            err ? strerror(err) : "");
}


/* ------------------------------------------------------------------ */
/* the histogram                                                       */

/*
 * The top of v's bucket, worked out apart from fb_load_hist.c: below
 * 256 v itself; above, v's power of two in 128 equal parts.
 */
static uint64_t
top(uint64_t v)
{
    unsigned  shift;

    for (shift = 0; (v >> shift) >= 256; shift++) {
        /* void */
    }

    return (((v >> shift) + 1) << shift) - 1;
}


/* The percentile of values recorded in a fresh histogram. */
static uint64_t
p_of(const uint64_t *v, size_t n, double p)
{
    size_t           i;
    uint64_t         r;
    fb_load_hist_t  *h;

    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        CU_FAIL_FATAL("calloc() failed");
        return 0;
    }

    for (i = 0; i < n; i++) {
        fb_load_hist_record(h, v[i]);
    }

    r = fb_load_hist_percentile(h, p);
    free(h);

    return r;
}


/* Rank ceil(p% of n), the smallest value at least p% do not exceed. */
static void
test_hist_ranks(void)
{
    size_t    i;
    uint64_t  v[1000];

    /* Below 256 ns every value has a bucket of its own: exact. */
    for (i = 0; i < 7; i++) {
        v[i] = 10 * (i + 1);
    }

    CU_ASSERT_EQUAL(p_of(v, 7, 50), 40);       /* rank 4 of 7 */
    CU_ASSERT_EQUAL(p_of(v, 7, 90), 70);       /* rank 7 */
    CU_ASSERT_EQUAL(p_of(v, 7, 10), 10);       /* rank 1 */
    CU_ASSERT_EQUAL(p_of(v, 7, 100), 70);

    for (i = 0; i < 4; i++) {
        v[i] = 100 + i;
    }

    CU_ASSERT_EQUAL(p_of(v, 4, 50), 101);      /* rank 2 of 4 */
    CU_ASSERT_EQUAL(p_of(v, 4, 75), 102);

    /* 99.9% of 1000 is rank 999, not 1000 (0.999 * 1000 > 999). */
    for (i = 0; i < 1000; i++) {
        v[i] = i < 999 ? 7 : 9;
    }

    CU_ASSERT_EQUAL(p_of(v, 1000, 99.9), 7);
    CU_ASSERT_EQUAL(p_of(v, 1000, 99), 7);
    CU_ASSERT_EQUAL(p_of(v, 1000, 100), 9);
}


/*
 * Every value's percentile is the top of its bucket: at or above it, by
 * at most 1/128 of it.  A smaller and a larger value beside it keep the
 * clamps to the minimum and the maximum out of the way.
 */
static void
test_hist_buckets(void)
{
    int       bad;
    uint64_t  v, t, three[3], x;

    bad = 0;
    x = 12345;
    three[0] = 0;
    three[2] = 1ULL << 39;

    for (v = 0; v < (1ULL << 39) && bad < 5; ) {
        three[1] = v;
        t = p_of(three, 3, 50);

        if (t != top(v) || t < v || t - v > v / 128) {
            fprintf(stderr, "value %" PRIu64 ": top of bucket %" PRIu64
                    ", not %" PRIu64 "\n", v, t, top(v));
            bad++;
        }

        /* the next value up starts the next bucket */
        three[1] = t + 1;
        if (p_of(three, 3, 50) != top(t + 1) || top(t + 1) <= t) {
            fprintf(stderr, "%" PRIu64 " is not in the bucket after %"
                    PRIu64 "'s\n", t + 1, v);
            bad++;
        }

        /* every value to 1024, then steps of about 1/16 with some noise */
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        v = v < 1024 ? v + 1 : v + v / 16 + (x >> 60);
    }

    CU_ASSERT_EQUAL(bad, 0);
}


/* min, max, count and sum are exact; a percentile never passes them. */
static void
test_hist_exact(void)
{
    fb_load_hist_t  *h;

    h = calloc(1, sizeof(*h));
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);

    fb_load_hist_record(h, 5000);
    fb_load_hist_record(h, 3000);
    fb_load_hist_record(h, 9000);
    fb_load_hist_record(h, 1000);

    CU_ASSERT_EQUAL(h->count, 4);
    CU_ASSERT_EQUAL(h->sum, 18000);
    CU_ASSERT_EQUAL(h->min, 1000);
    CU_ASSERT_EQUAL(h->max, 9000);

    /* 9000's bucket reaches 9023: the top is clamped to the maximum */
    CU_ASSERT_EQUAL(fb_load_hist_percentile(h, 100), 9000);
    CU_ASSERT_EQUAL(fb_load_hist_percentile(h, 99.9), 9000);

    /* 1000's bucket starts at 1000 and 1000 is the minimum */
    CU_ASSERT_EQUAL(fb_load_hist_percentile(h, 25), 1003);

    free(h);
}


static void
test_hist_merge(void)
{
    fb_load_hist_t  *a, *b, *e;

    a = calloc(1, sizeof(*a));
    b = calloc(1, sizeof(*b));
    e = calloc(1, sizeof(*e));
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);

    fb_load_hist_record(a, 500);
    fb_load_hist_record(a, 100);
    fb_load_hist_record(b, 20);
    fb_load_hist_record(b, 70000);

    fb_load_hist_merge(e, a);
    fb_load_hist_merge(e, b);
    fb_load_hist_merge(a, b);

    CU_ASSERT_EQUAL(e->count, 4);
    CU_ASSERT_EQUAL(e->sum, 70620);
    CU_ASSERT_EQUAL(e->min, 20);
    CU_ASSERT_EQUAL(e->max, 70000);
    CU_ASSERT_EQUAL(fb_load_hist_percentile(e, 25), 20);
    CU_ASSERT_EQUAL(fb_load_hist_percentile(e, 100), 70000);
    CU_ASSERT_EQUAL(memcmp(a, e, sizeof(*a)), 0);

    /* an empty histogram changes nothing, min included */
    memset(b, 0, sizeof(*b));
    fb_load_hist_merge(a, b);
    CU_ASSERT_EQUAL(memcmp(a, e, sizeof(*a)), 0);

    free(a);
    free(b);
    free(e);
}


/* A code is counted under its own name, never under a longer one. */
static void
test_codes(void)
{
    int              i;
    char             name[16];
    fb_load_codes_t  c;

    memset(&c, 0, sizeof(c));

    fb_load_codes_add(&c, "INSUFFICIENT_FUNDS", 18, 2);
    fb_load_codes_add(&c, "INSUFFICIENT_FUNDS, and more", 12, 1);
    fb_load_codes_add(&c, "INSUFFICIENT_FUNDS", 18, 3);

    CU_ASSERT_EQUAL_FATAL(c.n, 2);
    CU_ASSERT_STRING_EQUAL(c.name[0], "INSUFFICIENT_FUNDS");
    CU_ASSERT_EQUAL(c.count[0], 5);
    CU_ASSERT_STRING_EQUAL(c.name[1], "INSUFFICIENT");
    CU_ASSERT_EQUAL(c.count[1], 1);

    /* too long for the table, and the table full: "other" */
    fb_load_codes_add(&c, "0123456789012345678901234567890123456789", 40, 4);
    CU_ASSERT_EQUAL(c.other, 4);

    for (i = c.n; i < FB_LOAD_MAX_CODES + 1; i++) {
        snprintf(name, sizeof(name), "C%d", i);
        fb_load_codes_add(&c, name, strlen(name), 1);
    }

    CU_ASSERT_EQUAL(c.n, FB_LOAD_MAX_CODES);
    CU_ASSERT_EQUAL(c.other, 5);
}


/* Every per-thread counter reaches the total. */
static void
test_stats_merge(void)
{
    fb_load_stats_t  *t, *s;

    t = calloc(1, sizeof(*t));
    s = calloc(1, sizeof(*s));
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    s->status[200] = 3;
    s->status[404] = 4;
    s->status[503] = 5;
    s->status[599] = 6;
    s->ok[FB_LOAD_OP_DEPOSIT] = 7;
    s->failed[FB_LOAD_OP_GET] = 8;
    fb_load_codes_add(&s->codes, "NOT_FOUND", 9, 4);
    s->codes.none = 9;
    s->codes.other = 10;
    s->timeouts = 11;
    s->lost = 12;
    s->protocol_errors = 13;
    s->connect_errors = 14;
    s->reconnects = 15;
    s->late = 16;
    s->unsent = 17;
    s->last_ns = 2000;
    s->deposited = 18;
    s->withdrawn = 19;
    s->uncertain_in = 20;
    s->uncertain_out = 21;
    s->uncertain_ops = 22;
    fb_load_hist_record(&s->hist[FB_LOAD_ALL], 300);

    fb_load_stats_merge(t, s);
    fb_load_stats_merge(t, s);

    CU_ASSERT_EQUAL(t->status[200], 6);
    CU_ASSERT_EQUAL(t->status[404], 8);
    CU_ASSERT_EQUAL(t->status[503], 10);
    CU_ASSERT_EQUAL(t->status[599], 12);
    CU_ASSERT_EQUAL(t->ok[FB_LOAD_OP_DEPOSIT], 14);
    CU_ASSERT_EQUAL(t->failed[FB_LOAD_OP_GET], 16);
    CU_ASSERT_EQUAL(t->codes.n, 1);
    CU_ASSERT_EQUAL(t->codes.count[0], 8);
    CU_ASSERT_EQUAL(t->codes.none, 18);
    CU_ASSERT_EQUAL(t->codes.other, 20);
    CU_ASSERT_EQUAL(t->timeouts, 22);
    CU_ASSERT_EQUAL(t->lost, 24);
    CU_ASSERT_EQUAL(t->protocol_errors, 26);
    CU_ASSERT_EQUAL(t->connect_errors, 28);
    CU_ASSERT_EQUAL(t->reconnects, 30);
    CU_ASSERT_EQUAL(t->late, 32);
    CU_ASSERT_EQUAL(t->unsent, 34);
    CU_ASSERT_EQUAL(t->last_ns, 2000);
    CU_ASSERT_EQUAL(t->deposited, 36);
    CU_ASSERT_EQUAL(t->withdrawn, 38);
    CU_ASSERT_EQUAL(t->uncertain_in, 40);
    CU_ASSERT_EQUAL(t->uncertain_out, 42);
    CU_ASSERT_EQUAL(t->uncertain_ops, 44);
    CU_ASSERT_EQUAL(t->hist[FB_LOAD_ALL].count, 2);

    free(t);
    free(s);
}


/* ------------------------------------------------------------------ */
/* the JSON report                                                     */

static json_object *
report(fb_load_run_t *run, fb_load_stats_t *s, fb_load_summary_t *sum)
{
    char         *buf;
    size_t        len;
    FILE         *f;
    json_object  *o;

    buf = NULL;
    f = open_memstream(&buf, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);

    CU_ASSERT_EQUAL(fb_load_report_json(f, run, s, sum), FB_OK);
    fclose(f);

    o = json_tokener_parse(buf);
    if (o == NULL) {
        fprintf(stderr, "not JSON:\n%s\n", buf);
    }

    free(buf);

    return o;
}


/* A member by a dotted path ("summary.p50_us"); NULL if absent. */
static json_object *
field(json_object *o, const char *path)
{
    char         name[64];
    const char  *dot;
    size_t       n;

    while (o != NULL && *path != '\0') {
        dot = strchr(path, '.');
        n = dot ? (size_t) (dot - path) : strlen(path);
        snprintf(name, sizeof(name), "%.*s", (int) n, path);

        if (!json_object_object_get_ex(o, name, &o)) {
            fprintf(stderr, "no \"%s\" in the report\n", name);
            return NULL;
        }

        path += n + (dot != NULL);
    }

    return o;
}


static double
num(json_object *o, const char *path)
{
    o = field(o, path);

    return o != NULL ? json_object_get_double(o) : -12345.0;
}


/* Whether o has key, and it is null (json-c reads null as NULL). */
static int
is_null(json_object *o, const char *key)
{
    json_object  *v;

    return o != NULL && json_object_object_get_ex(o, key, &v) && v == NULL;
}


static void
test_report_json(void)
{
    int                 i;
    const char         *sched;
    json_object        *o, *procs;
    fb_load_run_t      *run;
    fb_load_conf_t      conf;
    fb_load_stats_t    *s;
    fb_load_hist_t     *h;
    fb_load_summary_t   sum;

    run = calloc(1, sizeof(*run));
    s = calloc(1, sizeof(*s));
    CU_ASSERT_PTR_NOT_NULL_FATAL(run);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    memset(&conf, 0, sizeof(conf));
    strcpy(conf.name, "figures");
    strcpy(conf.host_header, "127.0.0.1:1");
    conf.accounts = 10;
    conf.connections = 3;
    run->conf = &conf;

    /* 1000 latencies, 1..1000 us: every percentile a different bucket */
    h = &s->hist[FB_LOAD_ALL];
    for (i = 1; i <= 1000; i++) {
        fb_load_hist_record(h, (uint64_t) i * 1000);
        fb_load_hist_record(&s->hist[FB_LOAD_OP_DEPOSIT], (uint64_t) i * 1000);
    }

    s->ok[FB_LOAD_OP_DEPOSIT] = 990;
    s->failed[FB_LOAD_OP_DEPOSIT] = 10;
    s->status[200] = 990;
    s->status[500] = 4;
    s->status[503] = 6;
    s->lost = 1;
    s->protocol_errors = 2;
    s->connect_errors = 4;
    s->timeouts = 8;
    s->late = 5;
    s->unsent = 6;
    s->deposited = 700;
    s->withdrawn = 300;

    /* two servers sampled, one that exited (not counted) */
    run->nprocs = 3;
    run->procs[0] = (fb_load_proc_t) { .pid = 10, .cpu_before = 1.0,
        .cpu_after = 3.0, .rss_after_kb = 4000, .hwm_kb = 5000,
        .csw_vol_before = 10, .csw_vol_after = 110,
        .csw_invol_before = 0, .csw_invol_after = 50,
        .seen_before = 1, .seen_after = 1, .csw_before = 1,
        .csw_after = 1 };
    run->procs[1] = (fb_load_proc_t) { .pid = 11, .cpu_before = 0.5,
        .cpu_after = 1.5, .rss_after_kb = 6000, .hwm_kb = 7000,
        .csw_vol_before = 5, .csw_vol_after = 105,
        .csw_invol_before = 9, .csw_invol_after = 4,  /* a thread ended */
        .seen_before = 1, .seen_after = 1, .csw_before = 1,
        .csw_after = 1 };
    run->procs[2] = (fb_load_proc_t) { .pid = 12, .cpu_before = 9.0,
        .hwm_kb = 99000, .csw_vol_before = 7, .csw_vol_after = 1007,
        .seen_before = 1, .csw_before = 1 };
    run->client_cpu_before = 2.0;
    run->client_cpu_after = 2.5;
    run->client_sched = SCHED_BATCH;

    memset(&sum, 0, sizeof(sum));
    sum.responses = 1000;
    sum.setup_requests = 500;
    sum.audit_requests = 10;
    sum.status_5xx = 10;
    sum.funding = 100;
    sum.audit = "pass";

    o = report(run, s, &sum);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);

    /* ranks 500, 900, 990 and 999 of 1000: their values' bucket tops */
    CU_ASSERT_DOUBLE_EQUAL(num(o, "summary.p50_us"), top(500000) / 1e3, 0.051);
    CU_ASSERT_DOUBLE_EQUAL(num(o, "summary.p90_us"), top(900000) / 1e3, 0.051);
    CU_ASSERT_DOUBLE_EQUAL(num(o, "summary.p99_us"), top(990000) / 1e3, 0.051);
    CU_ASSERT_DOUBLE_EQUAL(num(o, "summary.p99_9_us"), top(999000) / 1e3,
                           0.051);
    CU_ASSERT_DOUBLE_EQUAL(num(o, "summary.max_us"), 1000.0, 0.051);
    CU_ASSERT_DOUBLE_EQUAL(num(o, "latency_us.p50"), top(500000) / 1e3,
                           0.00051);
    CU_ASSERT_DOUBLE_EQUAL(num(o, "latency_us.p90"), top(900000) / 1e3,
                           0.00051);
    CU_ASSERT_DOUBLE_EQUAL(num(o, "latency_us.p99"), top(990000) / 1e3,
                           0.00051);
    CU_ASSERT_DOUBLE_EQUAL(num(o, "latency_us.p99_9"), top(999000) / 1e3,
                           0.00051);
    CU_ASSERT_DOUBLE_EQUAL(num(o, "ops.deposit.latency_us.p99_9"),
                           top(999000) / 1e3, 0.00051);
    CU_ASSERT_EQUAL(num(o, "latency_us.max"), 1000.0);
    CU_ASSERT_EQUAL(num(o, "latency_us.min"), 1.0);
    CU_ASSERT_EQUAL(num(o, "latency_us.mean"), 500.5);
    CU_ASSERT_EQUAL(num(o, "latency_us.count"), 1000);

    CU_ASSERT_EQUAL(num(o, "summary.errors"), 7);
    CU_ASSERT_EQUAL(num(o, "summary.timeouts"), 8);
    CU_ASSERT_EQUAL(num(o, "summary.status_5xx"), 10);
    CU_ASSERT_EQUAL(num(o, "summary.unsent"), 6);

    /* (3.0 - 1.0) + (1.5 - 0.5) s over the 1000 measured responses */
    CU_ASSERT_EQUAL(num(o, "summary.server_cpu_us_per_req"), 3000.0);
    CU_ASSERT_EQUAL(num(o, "servers.cpu_s"), 3.0);
    CU_ASSERT_EQUAL(num(o, "servers.cpu_us_per_req"), 3000.0);
    CU_ASSERT_EQUAL(num(o, "summary.client_cpu_us_per_req"), 500.0);

    /* (100 + 50) + (100 + 0) switches over the 1000 responses: a sum
     * that went down counts nothing, it does not wrap; the process that
     * exited counts none of its own */
    CU_ASSERT_EQUAL(num(o, "servers.csw_per_req"), 0.25);
    procs = field(o, "servers.processes");
    CU_ASSERT_EQUAL(json_object_array_length(procs), 3);
    CU_ASSERT_EQUAL(num(json_object_array_get_idx(procs, 0), "csw_voluntary"),
                    100);
    CU_ASSERT_EQUAL(num(json_object_array_get_idx(procs, 0),
                        "csw_involuntary"), 50);
    CU_ASSERT_EQUAL(num(json_object_array_get_idx(procs, 1),
                        "csw_involuntary"), 0);
    CU_ASSERT_FALSE(json_object_object_get_ex(
                        json_object_array_get_idx(procs, 2), "csw_voluntary",
                        NULL));
    CU_ASSERT_EQUAL(num(o, "client.cpu_us_per_req"), 500.0);
    sched = json_object_get_string(field(o, "client.sched"));
    CU_ASSERT_PTR_NOT_NULL(sched);
    if (sched != NULL) {
        CU_ASSERT_STRING_EQUAL(sched, "batch");
    }
    /* the largest VmHWM of a process seen to the end */
    CU_ASSERT_EQUAL(num(o, "summary.server_peak_rss_kb"), 7000);

    CU_ASSERT_EQUAL(num(o, "status.200"), 990);
    CU_ASSERT_EQUAL(num(o, "status.500"), 4);
    CU_ASSERT_EQUAL(num(o, "status.503"), 6);
    CU_ASSERT_EQUAL(num(o, "ops.deposit.ok"), 990);
    CU_ASSERT_EQUAL(num(o, "ops.deposit.other"), 10);
    CU_ASSERT_EQUAL(num(o, "errors.timeouts"), 8);
    CU_ASSERT_EQUAL(num(o, "errors.lost"), 1);
    CU_ASSERT_EQUAL(num(o, "errors.protocol"), 2);
    CU_ASSERT_EQUAL(num(o, "errors.connect"), 4);
    CU_ASSERT_EQUAL(num(o, "errors.late_sends"), 5);
    CU_ASSERT_EQUAL(num(o, "errors.unsent"), 6);
    CU_ASSERT_EQUAL(num(o, "audit.deposits"), 700);
    CU_ASSERT_EQUAL(num(o, "audit.withdrawals"), 300);
    CU_ASSERT_EQUAL(num(o, "audit.funding"), 100);
    CU_ASSERT_EQUAL(num(o, "setup.requests"), 500);

    json_object_put(o);

    /* One process's switches not read at the end: its CPU still counts,
     * its switches and the total are unknown rather than left out. */
    run->procs[1].csw_after = 0;
    o = report(run, s, &sum);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(num(o, "servers.cpu_us_per_req"), 3000.0);
    CU_ASSERT(is_null(field(o, "servers"), "csw_per_req"));
    procs = field(o, "servers.processes");
    CU_ASSERT_EQUAL(num(json_object_array_get_idx(procs, 0), "csw_voluntary"),
                    100);
    CU_ASSERT(is_null(json_object_array_get_idx(procs, 1), "csw_voluntary"));
    CU_ASSERT(is_null(json_object_array_get_idx(procs, 1),
                      "csw_involuntary"));
    json_object_put(o);

    free(run);
    free(s);
}


/* ------------------------------------------------------------------ */
/* server processes                                                    */

/* The number after "key:" in the status file at path. */
static int
proc_status_num(const char *path, const char *key, long *v)
{
    int    found;
    char   line[256];
    FILE  *f;
    size_t klen;

    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }

    found = 0;
    klen = strlen(key);

    while (!found && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            found = sscanf(line + klen + 1, "%ld", v) == 1;
        }
    }

    fclose(f);

    return found;
}


/*
 * The tasks of pid, in tids[]; returns how many there are when every one
 * is asleep, 0 if that is not so within 10 s.
 */
static int
proc_wait_asleep(pid_t pid, long *tids, int max)
{
    int             n, asleep, tries;
    char            path[320], buf[512], *p;
    DIR            *dir;
    FILE           *f;
    struct dirent  *de;

    for (tries = 0; tries < 1000; tries++) {
        snprintf(path, sizeof(path), "/proc/%ld/task", (long) pid);
        dir = opendir(path);
        if (dir == NULL) {
            return 0;
        }

        n = 0;
        asleep = 0;

        while ((de = readdir(dir)) != NULL && n < max) {
            if (de->d_name[0] == '.') {
                continue;
            }

            tids[n++] = strtol(de->d_name, NULL, 10);

            snprintf(path, sizeof(path), "/proc/%ld/task/%s/stat",
                     (long) pid, de->d_name);
            f = fopen(path, "r");
            if (f == NULL) {
                continue;
            }

            p = fgets(buf, sizeof(buf), f) != NULL ? strrchr(buf, ')')
                                                    : NULL;
            fclose(f);

            if (p != NULL && p[1] == ' ' && p[2] == 'S') {
                asleep++;
            }
        }

        closedir(dir);

        if (n > 0 && asleep == n) {
            return n;
        }

        usleep(10000);
    }

    return 0;
}


/* The switches of the tasks tids[] of pid, summed; 0 if one is missing. */
static int
task_switches(pid_t pid, const long *tids, int n, long *vol, long *invol)
{
    int    i;
    char   path[320];
    long   v, iv;

    *vol = 0;
    *invol = 0;

    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "/proc/%ld/task/%ld/status", (long) pid,
                 tids[i]);
        if (!proc_status_num(path, "voluntary_ctxt_switches", &v)
            || !proc_status_num(path, "nonvoluntary_ctxt_switches", &iv))
        {
            return 0;
        }

        *vol += v;
        *invol += iv;
    }

    return 1;
}


/* The child's second thread: sleeps often, then for good. */
static void *
proc_sleeper(void *arg)
{
    int              i, *fds = arg;
    char             c;
    struct timespec  ts = { 0, 1000000 };

    for (i = 0; i < 20; i++) {
        (void) nanosleep(&ts, NULL);
    }

    if (write(fds[1], "t", 1) != 1) {
        _exit(1);
    }

    /* nothing is ever written to fds[2]'s pipe */
    if (read(fds[2], &c, 1) < 0) {
        _exit(1);
    }
    _exit(1);
}


/*
 * A child that has spent user and system time, with a second thread that
 * has slept 20 times, then waits: its /proc figures hold still once both
 * threads are asleep, while fb_load_proc_sample and this test read them.
 */
static void
test_proc_sample(void)
{
    int                 fd, st, i, ntasks;
    char                path[320], buf[4096], comm[32], *p;
    long                want_rss, want_hwm, ticks, tids[16];
    long                vol, invol, vol2, invol2, lead_vol;
    pid_t               pid;
    FILE               *f;
    unsigned long       ut, stt;
    int                 pfd[2], tfd[4];
    fb_load_proc_now_t  now;

    CU_ASSERT_EQUAL_FATAL(pipe(pfd), 0);
    CU_ASSERT_EQUAL_FATAL(pipe(tfd), 0);
    CU_ASSERT_EQUAL_FATAL(pipe(tfd + 2), 0);

    pid = fork();
    CU_ASSERT_FATAL(pid != -1);

    if (pid == 0) {
        volatile unsigned long  spin = 0;
        pthread_t               t;
        int                     fds[3] = { tfd[0], tfd[1], tfd[2] };

        if (pthread_create(&t, NULL, proc_sleeper, fds) != 0
            || read(tfd[0], buf, 1) != 1)
        {
            _exit(1);
        }

        /* about 30 ms of each: reads of /dev/zero run in the kernel */
        fd = open("/dev/zero", O_RDONLY);
        for (ut = 0, stt = 0; ut < 3 || stt < 3; ) {
            for (st = 0; st < 100000; st++) {
                spin += (unsigned long) st;
            }

            if (fd != -1) {
                for (st = 0; st < 20; st++) {
                    if (read(fd, buf, sizeof(buf)) == -1) {
                        break;
                    }
                }
            }

            f = fopen("/proc/self/stat", "r");
            if (f == NULL || fgets(buf, sizeof(buf), f) == NULL) {
                _exit(1);
            }
            fclose(f);

            p = strrchr(buf, ')');
            if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u"
                                    " %*u %*u %*u %*u %lu %lu", &ut, &stt)
                             != 2)
            {
                _exit(1);
            }
        }

        if (write(pfd[1], "x", 1) != 1) {
            _exit(1);
        }

        pause();
        _exit(0);
    }

    close(pfd[1]);
    CU_ASSERT_EQUAL(read(pfd[0], buf, 1), 1);
    close(pfd[0]);

    /*
     * Both threads asleep for good.  A sanitizer may add a thread of its
     * own to the child (ThreadSanitizer's wakes now and then), so the
     * switches are bounded by what the threads had just before and just
     * after the sample rather than compared with one reading.
     */
    ntasks = proc_wait_asleep(pid, tids, 16);
    CU_ASSERT(ntasks >= 2);
    if (ntasks < 2) {
        goto done;
    }

    CU_ASSERT(task_switches(pid, tids, ntasks, &vol, &invol));
    CU_ASSERT_EQUAL(fb_load_proc_sample(pid, &now, comm, sizeof(comm)),
                    FB_OK);
    CU_ASSERT(now.csw_ok);
    CU_ASSERT(task_switches(pid, tids, ntasks, &vol2, &invol2));

    /* what /proc says, read here independently; no fatal assertion
     * until the child is gone */
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long) pid);
    f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL(f);
    if (f == NULL) {
        goto done;
    }
    CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
    fclose(f);

    p = strrchr(buf, ')');
    CU_ASSERT_PTR_NOT_NULL(p);
    if (p == NULL) {
        goto done;
    }
    CU_ASSERT_EQUAL(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u"
                           " %*u %lu %lu", &ut, &stt), 2);
    CU_ASSERT(ut >= 3 && stt >= 3);

    ticks = sysconf(_SC_CLK_TCK);
    CU_ASSERT_DOUBLE_EQUAL(now.cpu, (double) (ut + stt) / (double) ticks,
                           1e-9);

    snprintf(path, sizeof(path), "/proc/%ld/status", (long) pid);
    CU_ASSERT(proc_status_num(path, "VmRSS", &want_rss));
    CU_ASSERT(proc_status_num(path, "VmHWM", &want_hwm));
    CU_ASSERT_EQUAL(now.rss_kb, want_rss);
    CU_ASSERT_EQUAL(now.hwm_kb, want_hwm);
    CU_ASSERT(proc_status_num(path, "voluntary_ctxt_switches", &lead_vol));

    /* the switches are every thread's, not the first thread's alone */
    CU_ASSERT(now.csw_vol >= (uint64_t) vol && now.csw_vol <= (uint64_t) vol2);
    CU_ASSERT(now.csw_invol >= (uint64_t) invol
              && now.csw_invol <= (uint64_t) invol2);
    CU_ASSERT(now.csw_vol >= (uint64_t) lead_vol + 20);

    snprintf(path, sizeof(path), "/proc/%ld/comm", (long) pid);
    f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL(f);
    if (f != NULL) {
        CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
        fclose(f);
        buf[strcspn(buf, "\n")] = '\0';
        CU_ASSERT_STRING_EQUAL(comm, buf);
    }

done:

    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    for (i = 0; i < 4; i++) {
        close(tfd[i]);
    }
}


/* ------------------------------------------------------------------ */
/* options                                                             */

/* Parses "fb-load" and the NULL-terminated options after conf. */
static int
parse(fb_load_conf_t *conf, ...)
{
    int          argc, rc;
    char        *argv[32];
    const char  *a;
    va_list      ap;

    argc = 0;
    argv[argc++] = strdup("fb-load");

    va_start(ap, conf);
    while ((a = va_arg(ap, const char *)) != NULL && argc < 31) {
        argv[argc++] = strdup(a);
    }
    va_end(ap);

    argv[argc] = NULL;
    last_err[0] = '\0';

    rc = fb_load_conf_parse(conf, argc, argv);

    while (argc > 0) {
        free(argv[--argc]);
    }

    return rc;
}


#define ok(...)                                                              \
    CU_ASSERT_EQUAL(parse(&conf, __VA_ARGS__, NULL), FB_OK);                 \
    fb_load_conf_free(&conf)
#define refused(...)                                                         \
    CU_ASSERT_EQUAL(parse(&conf, __VA_ARGS__, NULL), FB_ERROR);              \
    fb_load_conf_free(&conf)


static void
test_conf_ranges(void)
{
    fb_load_conf_t  conf;

    ok("--port", "1");
    ok("--port", "65535");
    refused("--port", "0");
    refused("--port", "65536");
    ok("--connections", "1");
    refused("--connections", "0");
    ok("--threads", "64", "--connections", "64");
    refused("--threads", "65", "--connections", "65");
    refused("--threads", "0");
    ok("--amount-min", "500", "--amount-max", "500");
    refused("--amount-min", "501", "--amount-max", "500");
    refused("--amount-max", "1000001");
    ok("--mix", "1,2,3,4");
    refused("--mix", "1,2,3,4,5");
    refused("--mix", "1,2,3");
    refused("--mix", "0,0,0,0");

    CU_ASSERT_EQUAL(parse(&conf, "--mix", " 1, 2 ,3,4", NULL), FB_OK);
    CU_ASSERT(conf.mix[0] == 1 && conf.mix[1] == 2 && conf.mix[2] == 3
              && conf.mix[3] == 4);
    fb_load_conf_free(&conf);

    CU_ASSERT_EQUAL(parse(&conf, "--requests", "2k", NULL), FB_OK);
    CU_ASSERT_EQUAL(conf.requests, 2000);
    fb_load_conf_free(&conf);
}


static void
test_conf_seconds(void)
{
    fb_load_conf_t  conf;

    CU_ASSERT_EQUAL(parse(&conf, "--timeout", "250ms", "--warmup", "3",
                          "--duration", "1.5s", "--time-limit", ".5", NULL),
                    FB_OK);
    CU_ASSERT_DOUBLE_EQUAL(conf.timeout, 0.25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(conf.warmup, 3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(conf.duration, 1.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(conf.time_limit, 0.5, 1e-12);
    fb_load_conf_free(&conf);

    ok("--duration", "1000000000");
    refused("--duration", "1000000001");
    refused("--duration", "-1");
    refused("--duration", "1x");
    refused("--duration", "inf");

    CU_ASSERT_EQUAL(parse(&conf, "--rate", "2500.5", NULL), FB_OK);
    CU_ASSERT_DOUBLE_EQUAL(conf.rate, 2500.5, 1e-9);
    fb_load_conf_free(&conf);

    refused("--rate", "10ms");
    refused("--rate", "10s");
}


/* Seconds and rates are decimal: strtod() alone reads "0x10" as 16. */
static void
test_conf_decimal(void)
{
    fb_load_conf_t  conf;

    refused("--duration", "0x10");
    refused("--warmup", "0X1");
    refused("--time-limit", "0x1p3");
    refused("--timeout", "0x10ms");
    refused("--rate", "0x10");
    refused("--rate", "1e3");
    refused("--duration", ".");
    ok("--duration", "010");
    ok("--rate", "100.");
}


/* A timeout is kept in whole nanoseconds: below one it would be 0. */
static void
test_conf_timeout(void)
{
    fb_load_conf_t  conf;

    refused("--timeout", "0.0000000009");
    CU_ASSERT_PTR_NOT_NULL(strstr(last_err, "1 ns"));
    refused("--timeout", "0.0000009ms");
    refused("--timeout", "0");
    CU_ASSERT_PTR_NOT_NULL(strstr(last_err, "1 ns"));

    CU_ASSERT_EQUAL(parse(&conf, "--timeout", "0.000000001", NULL), FB_OK);
    CU_ASSERT_EQUAL((uint64_t) (conf.timeout * FB_LOAD_NS), 1);
    fb_load_conf_free(&conf);
}


/* The other durations: 0 is none, and anything else at least 1 ns. */
static void
test_conf_short(void)
{
    size_t           i;
    fb_load_conf_t   conf;
    static const char  *opts[] = { "--duration", "--warmup", "--time-limit" };

    for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        refused(opts[i], "0.0000000009");
        CU_ASSERT_PTR_NOT_NULL(strstr(last_err, "at least 1 ns"));
        refused(opts[i], "0.0000009ms");

        CU_ASSERT_EQUAL(parse(&conf, "--requests", "10", opts[i], "0", NULL),
                        FB_OK);
        fb_load_conf_free(&conf);
        CU_ASSERT_EQUAL(parse(&conf, "--requests", "10", opts[i],
                              "0.000000001", NULL), FB_OK);
        fb_load_conf_free(&conf);
    }
}


/* -n and -d given at one level both apply; a level above replaces -n. */
static void
test_conf_levels(void)
{
    FILE            *f;
    char             path[] = "/tmp/test-load-figures.XXXXXX";
    int              fd;
    fb_load_conf_t   conf;

    CU_ASSERT_EQUAL(parse(&conf, "--requests", "500", "--duration", "2",
                          NULL), FB_OK);
    CU_ASSERT_EQUAL(conf.requests, 500);
    CU_ASSERT_DOUBLE_EQUAL(conf.duration, 2, 1e-12);
    fb_load_conf_free(&conf);

    fd = mkstemp(path);
    CU_ASSERT_FATAL(fd != -1);
    f = fdopen(fd, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("# a scenario\nrequests = 700\n", f);
    fclose(f);

    CU_ASSERT_EQUAL(parse(&conf, "--scenario", path, "--duration", "2",
                          NULL), FB_OK);
    CU_ASSERT_EQUAL(conf.requests, 0);
    fb_load_conf_free(&conf);

    CU_ASSERT_EQUAL(parse(&conf, "--scenario", path, NULL), FB_OK);
    CU_ASSERT_EQUAL(conf.requests, 700);
    fb_load_conf_free(&conf);

    unlink(path);
}


static CU_TestInfo  fb_hist_tests[] = {
    { "percentile ranks", test_hist_ranks },
    { "bucket tops", test_hist_buckets },
    { "min, max, count, sum; the clamp", test_hist_exact },
    { "merge", test_hist_merge },
    { "error codes", test_codes },
    { "per-thread results merged", test_stats_merge },
    CU_TEST_INFO_NULL
};

static CU_TestInfo  fb_report_tests[] = {
    { "JSON figures", test_report_json },
    { "a server process sampled", test_proc_sample },
    CU_TEST_INFO_NULL
};

static CU_TestInfo  fb_conf_tests[] = {
    { "integer ranges", test_conf_ranges },
    { "seconds and rates", test_conf_seconds },
    { "decimal only", test_conf_decimal },
    { "a timeout of at least 1 ns", test_conf_timeout },
    { "other durations: 0, or at least 1 ns", test_conf_short },
    { "requests and duration", test_conf_levels },
    CU_TEST_INFO_NULL
};

static CU_SuiteInfo  fb_suites[] = {
    { "histogram", NULL, NULL, NULL, NULL, fb_hist_tests },
    { "report", NULL, NULL, NULL, NULL, fb_report_tests },
    { "options", NULL, NULL, NULL, NULL, fb_conf_tests },
    CU_SUITE_INFO_NULL
};


int
main(void)
{
    return fb_cunit_run_suites("test-load-figures", fb_suites);
}
