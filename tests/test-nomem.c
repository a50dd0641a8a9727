/*
 * test-nomem.c: allocations that fail, after SQLite's out-of-memory loop.
 *
 * For N = 0, 1, 2, ...: set fresh state up with no fault armed, make the
 * N-th counted allocation from then on fail (tests/fb_nomem.c), run one
 * operation, disarm, and check:
 *
 *   - if an allocation failed: the operation says so the documented way
 *     (NULL, FB_ERROR, FB_JSON_NOMEM, the 500 or 503 the handler maps it
 *     to); what can be seen is as before (no account created, no balance
 *     moved, the data directory recovers to what was durable, the last
 *     snapshot still loads); and the failure was logged, once, naming
 *     the call that failed, where the code logs it;
 *   - if none failed: the operation did exactly what it does without
 *     faults, and the loop ends.
 *
 * Each loop runs twice: the N-th call fails once, then every call from
 * the N-th on fails.  Each must take at least the failing steps the
 * operation is known to make (a loop that never injects proves nothing)
 * and end below a bound.  The ASan build's LeakSanitizer checks at exit
 * that no failed step leaked.
 *
 * fb_log() writes to stderr: a step's lines are caught by pointing
 * descriptor 2 at a scratch file for the length of the operation.  The
 * journal's lines go to fb_jtest.c's callback.
 */

#include "fb_core.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "fb_capture.h"
#include "fb_conffile.h"
#include "fb_cunit.h"
#include "fb_fcgiclient.h"
#include "fb_fcgx.h"
#include "fb_htest.h"
#include "fb_io_fault.h"
#include "fb_jtest.h"
#include "fb_listen.h"
#include "fb_nomem.h"
#include "fb_record.h"
#include "fb_server.h"

/* A bound far above the allocations any operation here makes. */
#define NM_MAX_STEPS  500

/* One step of a loop: fresh state, fb_nomem_arm(n, persist), the
 * operation, fb_nomem_disarm(), the checks.  1 if an allocation failed. */
typedef int (*nm_step_pt)(long n, int persist);


/* ---- fb_log()'s lines, caught from descriptor 2 ---- */


static int
cap_has(const char *needle)
{
    return strstr(fb_capture_text, needle) != NULL;
}


static int
cap_lines(void)
{
    int          n = 0;
    const char  *p;

    for (p = fb_capture_text; *p != '\0'; p++) {
        n += *p == '\n';
    }

    return n;
}


/* "malloc(" for a failed malloc: "malloc(8200) failed", "malloc() ..." */
static const char *
nm_call(void)
{
    static char  call[32];

    snprintf(call, sizeof(call), "%s(", fb_nomem_what());
    return call;
}


/* Runs step for N = 0, 1, ... until nothing fails, once failing the N-th
 * call only and once every call from the N-th on. */
static void
nm_loop(const char *name, nm_step_pt step, long min_steps)
{
    int   persist;
    long  n;

    for (persist = 0; persist <= 1; persist++) {
        for (n = 0; n < NM_MAX_STEPS && step(n, persist); n++) {
            /* void */
        }

        printf("\n    %s%s: %ld failing step%s", name,
               persist ? " (persist)" : "", n, n == 1 ? "" : "s");

        CU_ASSERT(n < NM_MAX_STEPS);
        CU_ASSERT(n >= min_steps);
    }
}


/* ---- a. the body copy for surrogate pairs json-c decodes wrong ---- */


/* U+1DF00 (Latin Extended-G), escaped: its high half has (hi & 0x3E) ==
 * 0x36, which json-c 0.16 turns into U+FFFD; fb_json.c parses a copy. */
static const char  pair_body[] = "{\"owner\":\"Ab\\ud837\\udf00\"}";
static const char  pair_utf8[] = "Ab\xf0\x9d\xbc\x80";


static int
step_json(long n, int persist)
{
    int            fired;
    fb_str_t       v;
    fb_json_t     *j;
    fb_json_rc_e   rc;

    j = fb_json_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);

    /* Something parsed before, which a failed parse must not leave. */
    CU_ASSERT_EQUAL_FATAL(fb_json_parse(j, "{\"owner\":\"x\"}", 13),
                          FB_JSON_OK);

    fb_capture_begin(0);
    fb_nomem_arm(n, persist);
    rc = fb_json_parse(j, pair_body, sizeof(pair_body) - 1);
    fired = fb_nomem_fired();
    fb_nomem_disarm();
    fb_capture_end();

    if (fired) {
        CU_ASSERT_EQUAL(rc, FB_JSON_NOMEM);
        CU_ASSERT_NOT_EQUAL(fb_json_get_string(j, "owner", &v), FB_JSON_OK);
        CU_ASSERT(cap_has(nm_call()));
        CU_ASSERT_EQUAL(cap_lines(), 1);

        /* The same j parses the same body once memory is back. */
        rc = fb_json_parse(j, pair_body, sizeof(pair_body) - 1);
    } else {
        CU_ASSERT_EQUAL(cap_lines(), 0);
    }

    CU_ASSERT_EQUAL(rc, FB_JSON_OK);
    CU_ASSERT_EQUAL(fb_json_get_string(j, "owner", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v.len, 6);
    CU_ASSERT(v.len == 6 && memcmp(v.data, pair_utf8, 6) == 0);

    fb_json_free(j);
    return fired;
}


static void
test_json_pair(void)
{
    nm_loop("fb_json_parse, an escaped pair", step_json, 1);
}


/* Lines caught that hold needle. */
static int
cap_count(const char *needle)
{
    int          n = 0;
    const char  *p = fb_capture_text;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }

    return n;
}


/*
 * A reply buffer: a shortage is logged once, until a growth succeeds; the
 * next shortage is logged again.  A buffer whose first malloc failed
 * holds nothing and can still grow.
 */
static void
test_buf_again(void)
{
    fb_buf_t  b;

    fb_capture_begin(0);
    fb_nomem_arm(0, 0);
    CU_ASSERT_EQUAL(fb_buf_init(&b, 64), FB_ERROR);
    fb_nomem_disarm();
    fb_capture_end();
    CU_ASSERT_TRUE(cap_has("malloc(64) failed"));
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL_FATAL(b.cap, 0);
    CU_ASSERT_EQUAL_FATAL(fb_buf_append_lit(&b, "ok"), FB_OK);

    fb_capture_begin(0);
    fb_nomem_arm(0, 1);
    CU_ASSERT_EQUAL(fb_buf_reserve(&b, 1024), FB_ERROR);
    CU_ASSERT_EQUAL(fb_buf_reserve(&b, 1024), FB_ERROR);
    fb_nomem_disarm();
    CU_ASSERT_EQUAL(fb_buf_reserve(&b, 1024), FB_OK);
    fb_nomem_arm(0, 0);
    CU_ASSERT_EQUAL(fb_buf_reserve(&b, b.cap), FB_ERROR);
    CU_ASSERT_EQUAL(fb_nomem_fired(), 1);
    fb_nomem_disarm();
    fb_capture_end();

    CU_ASSERT_EQUAL(cap_count("realloc("), 2);
    CU_ASSERT_EQUAL(b.len, 2);
    CU_ASSERT_EQUAL(memcmp(b.data, "ok", 2), 0);
    fb_buf_free(&b);
}


/* ---- b. the endpoints through fb_handle() ---- */


static fb_store_t    *h_store;
static fb_stats_t    *h_stats;
static fb_metrics_t   h_metrics;


/* A fresh store, counters and handler context, with no fault armed. */
static void
h_open(void)
{
    fb_store_conf_t  sc = { 0, 0, NULL, NULL };

    h_store = fb_store_new(&sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h_store);
    CU_ASSERT_EQUAL_FATAL(posix_memalign((void **) &h_stats, 64,
                                         sizeof(*h_stats)), 0);
    memset(h_stats, 0, sizeof(*h_stats));

    memset(&h_metrics, 0, sizeof(h_metrics));
    h_metrics.threads = h_stats;
    h_metrics.nthreads = 1;
    h_metrics.start_time = 1.0;

    CU_ASSERT_EQUAL_FATAL(fb_handler_ctx_init(&ht_ctx, h_store, &h_metrics,
                                              h_stats), FB_OK);
}


static void
h_close(void)
{
    fb_handler_ctx_free(&ht_ctx);
    fb_store_free(h_store);
    free(h_stats);
    h_store = NULL;
    h_stats = NULL;
}


/* One request with the N-th allocation failing; 1 if one did. */
static int
h_fault(long n, int persist, const char *method, const char *uri,
    const char *body)
{
    int  fired;

    fb_capture_begin(0);
    fb_nomem_arm(n, persist);
    ht_req(method, uri, body);
    fired = fb_nomem_fired();
    fb_nomem_disarm();
    fb_capture_end();

    return fired;
}


static int64_t
h_balance(int64_t id)
{
    fb_account_t  a;

    return fb_store_get(h_store, id, &a) == FB_STORE_OK ? a.balance : -1;
}


/*
 * POST /accounts on a fresh store: the store callocs its first chunk and
 * mallocs an arena block for the owner; with an escaped pair, fb_json.c
 * mallocs its copy first.  A failure is a 500, and the store neither
 * holds the account nor has used up its id.
 */
static int
step_create(long n, int persist, const char *body, const char *reply)
{
    int  fired;

    h_open();

    fired = h_fault(n, persist, "POST", "/accounts", body);

    if (fired) {
        ht_expect_error(500, "INTERNAL_ERROR");
        CU_ASSERT(cap_has(nm_call())
                  || cap_has("the store could not allocate memory"));
        CU_ASSERT_EQUAL(cap_lines(), 1);

        CU_ASSERT_EQUAL(fb_store_count(h_store), 0);
        ht_check_error("GET", "/accounts/1", NULL, 404, "ACCOUNT_NOT_FOUND");

        /* Memory is back: the account gets id 1 after all. */
        ht_req("POST", "/accounts", body);
    } else {
        CU_ASSERT_EQUAL(cap_lines(), 0);
    }

    ht_expect(201, reply);
    CU_ASSERT_EQUAL(fb_store_count(h_store), 1);
    ht_check("GET", "/accounts/1", NULL, 200, reply);

    h_close();
    return fired;
}


static int
step_create_plain(long n, int persist)
{
    return step_create(n, persist, "{\"owner\":\"Alice\"}",
                       "{\"id\":1,\"owner\":\"Alice\",\"balance\":0}");
}


static int
step_create_pair(long n, int persist)
{
    return step_create(n, persist, pair_body,
                       "{\"id\":1,\"owner\":\"Ab\xf0\x9d\xbc\x80\","
                       "\"balance\":0}");
}


static void
test_handler_create(void)
{
    nm_loop("POST /accounts", step_create_plain, 2);
    nm_loop("POST /accounts, an escaped pair", step_create_pair, 3);
}


/*
 * Deposit, withdrawal and transfer whose bodies carry an escaped pair in
 * a field the handler ignores: the copy is their only allocation.  A
 * failed request never moves money.
 */
static const struct {
    const char  *uri;
    const char  *body;
    const char  *reply;
    int64_t      b1, b2;            /* the balances after success */
} money[] = {
    { "/accounts/1/deposit",
      "{\"amount\":100,\"memo\":\"\\ud837\\udf00\"}",
      "{\"id\":1,\"balance\":600}", 600, 0 },
    { "/accounts/1/withdraw",
      "{\"memo\":\"\\ud837\\udf00\",\"amount\":100}",
      "{\"id\":1,\"balance\":400}", 400, 0 },
    { "/accounts/transfer",
      "{\"from\":1,\"to\":2,\"amount\":100,\"memo\":\"\\ud837\\udf00\"}",
      "{\"from_id\":1,\"to_id\":2,\"from_balance\":400,\"to_balance\":100,"
      "\"transferred\":100}", 400, 100 },
};

static size_t  money_op;


static int
step_money(long n, int persist)
{
    int  fired;

    h_open();
    ht_check("POST", "/accounts", "{\"owner\":\"Payer\"}", 201,
             "{\"id\":1,\"owner\":\"Payer\",\"balance\":0}");
    ht_check("POST", "/accounts", "{\"owner\":\"Payee\"}", 201,
             "{\"id\":2,\"owner\":\"Payee\",\"balance\":0}");
    ht_move(1, "deposit", 500, 500);

    fired = h_fault(n, persist, "POST", money[money_op].uri,
                    money[money_op].body);

    if (fired) {
        ht_expect_error(500, "INTERNAL_ERROR");
        CU_ASSERT(cap_has(nm_call()));
        CU_ASSERT_EQUAL(cap_lines(), 1);
        CU_ASSERT_EQUAL(h_balance(1), 500);
        CU_ASSERT_EQUAL(h_balance(2), 0);

        ht_req("POST", money[money_op].uri, money[money_op].body);
    }

    ht_expect(200, money[money_op].reply);
    CU_ASSERT_EQUAL(h_balance(1), money[money_op].b1);
    CU_ASSERT_EQUAL(h_balance(2), money[money_op].b2);

    h_close();
    return fired;
}


static void
test_handler_money(void)
{
    for (money_op = 0; money_op < fb_nelems(money); money_op++) {
        nm_loop(money[money_op].uri, step_money, 1);
    }
}


/*
 * GET /metrics: fb_metrics_format mallocs its snapshot of the counters,
 * and the reply buffer (4 KiB at first) grows as the text is written.
 */
static int
step_metrics(long n, int persist)
{
    int     fired, st;
    size_t  r, m;

    static const int  statuses[] = { 200, 201, 400, 404, 500, 503 };

    h_open();

    /* A series for every route, method and status: the text grows well
     * past the reply buffer's first 4 KiB (--disable-metrics records
     * none of them, and the text of an idle server fits). */
    for (r = 0; r < FB_ROUTE_COUNT; r++) {
        for (m = 0; m < FB_METHOD_COUNT; m++) {
            for (st = 0; st < (int) fb_nelems(statuses); st++) {
                fb_stats_request(h_stats, (fb_route_e) r, (fb_method_e) m,
                                 statuses[st], 1000 * (uint64_t) (st + 1));
            }
        }
    }

    fired = h_fault(n, persist, "GET", "/metrics", NULL);

    if (fired) {
        ht_expect_error(500, "INTERNAL_ERROR");
        CU_ASSERT(cap_has(nm_call()));
        CU_ASSERT_EQUAL(cap_lines(), 1);
    } else {
        CU_ASSERT_EQUAL(cap_lines(), 0);
        CU_ASSERT_EQUAL(ht_status, 200);
        CU_ASSERT_EQUAL(ht_ctx.reply.type, FB_TYPE_PROMETHEUS);
        CU_ASSERT_EQUAL(strncmp(ht_body, "# HELP ", 7), 0);
    }

    /* Memory is back: the next scrape is whole. */
    ht_req("GET", "/metrics", NULL);
    CU_ASSERT_EQUAL(ht_status, 200);
    CU_ASSERT_EQUAL(strncmp(ht_body, "# HELP ", 7), 0);

    h_close();
    return fired;
}


static void
test_handler_metrics(void)
{
#ifndef FB_NO_METRICS
    /* The snapshot, and the reply buffer's growths. */
    nm_loop("GET /metrics", step_metrics, 3);
#else
    /* The snapshot. */
    nm_loop("GET /metrics", step_metrics, 1);
#endif
}


/* A worker's context: the JSON reader and the reply buffer. */
static int
step_ctx_init(long n, int persist)
{
    int                rc, fired;
    fb_handler_ctx_t   ctx;

    h_open();

    fb_capture_begin(0);
    fb_nomem_arm(n, persist);
    rc = fb_handler_ctx_init(&ctx, h_store, &h_metrics, h_stats);
    fired = fb_nomem_fired();
    fb_nomem_disarm();
    fb_capture_end();

    if (fired) {
        CU_ASSERT_EQUAL(rc, FB_ERROR);
        CU_ASSERT_PTR_NULL(ctx.json);
        /* fb_json_new() does not log; its caller does, naming it. */
        CU_ASSERT(cap_has(nm_call()) || cap_has("fb_json_new() failed"));
        CU_ASSERT_EQUAL(cap_lines(), 1);
    } else {
        CU_ASSERT_EQUAL(rc, FB_OK);
        CU_ASSERT_EQUAL(cap_lines(), 0);
        fb_handler_ctx_free(&ctx);
    }

    h_close();
    return fired;
}


static void
test_handler_ctx_init(void)
{
    nm_loop("fb_handler_ctx_init", step_ctx_init, 2);
}


/* ---- c. the journal ---- */


static char          *j_dir;        /* a snapshot, and records after it */
static fb_store_t    *j_ref;        /* what j_dir recovers to */
static uint64_t       j_snap;       /* its snapshot's S0 */
static char          *j_empty;      /* an empty data directory */


/* An account, a deposit, and (but for id 1) a transfer of 700 of it to
 * id 1: 0, or -1 if any was refused.  No CUnit check: the suite's set-up
 * calls it. */
static int
j_some_ops(fb_store_t *s, const char *owner)
{
    fb_account_t  a;

    if (fb_store_create(s, owner, strlen(owner), &a) != FB_STORE_OK
        || fb_store_deposit(s, a.id, 5000, NULL, NULL) != FB_STORE_OK
        || (a.id > 1
            && fb_store_transfer(s, a.id, 1, 700, NULL, NULL, NULL)
               != FB_STORE_OK))
    {
        return -1;
    }

    return 0;
}


/* Makes j_dir: accounts, a snapshot, more accounts and records. */
static int
j_setup(void)
{
    int                 rc;
    jt_pair_t           p;
    fb_recovery_t       rec;
    fb_account_t        a;
    fb_journal_stats_t  st;

    j_dir = jt_mkdir("nomem");
    j_empty = jt_mkdir("nomem-empty");
    if (j_dir == NULL || j_empty == NULL
        || jt_open(&p, j_dir, FB_FSYNC_ALWAYS, 0) != 0)
    {
        return -1;
    }

    if (j_some_ops(p.s, "Ada") != 0
        || j_some_ops(p.s, "Grace Hopper") != 0
        || j_some_ops(p.s, "Edsger W. Dijkstra") != 0
        || fb_journal_snapshot(p.j) != FB_OK)
    {
        jt_close(&p, 0);
        return -1;
    }

    fb_journal_stats(p.j, &st);
    j_snap = st.snapshot_seq;

    /* The last record durable, then stopped without a final snapshot. */
    if (j_some_ops(p.s, "Barbara Liskov") != 0
        || j_some_ops(p.s, "Frances Allen") != 0
        || fb_store_get(p.s, 1, &a) != FB_STORE_OK
        || fb_journal_wait(p.j, a.lsn) != 0)
    {
        jt_close(&p, 0);
        return -1;
    }
    jt_close(&p, 0);

    j_ref = jt_recover(j_dir, &rc, &rec);
    if (j_ref == NULL || rec.snapshot_seq != j_snap || rec.replayed == 0
        || fb_store_count(j_ref) != 5)
    {
        return -1;
    }

    return 0;
}


static void
j_cleanup(void)
{
    fb_store_free(j_ref);
    jt_rmdir(j_dir);
    jt_rmdir(j_empty);
}


/* j_dir, recovered with no fault, is still j_ref. */
static void
j_dir_intact(void)
{
    int             rc;
    char            why[200];
    fb_store_t     *s;
    fb_recovery_t   rec;

    s = jt_recover(j_dir, &rc, &rec);
    CU_ASSERT_EQUAL_FATAL(rc, FB_OK);
    CU_ASSERT_EQUAL(rec.snapshot_seq, j_snap);
    CU_ASSERT_EQUAL(jt_stores_equal(s, j_ref, why, sizeof(why)), 0);
    fb_store_free(s);
}


static fb_journal_t *
j_new(const char *dir)
{
    fb_journal_conf_t  jc;

    memset(&jc, 0, sizeof(jc));
    jc.dir = dir;
    jc.fsync = FB_FSYNC_ALWAYS;
    jc.log = jt_log;

    return fb_journal_new(&jc);
}


static fb_store_t *
j_store(fb_journal_t *j)
{
    fb_store_conf_t  sc;

    memset(&sc, 0, sizeof(sc));
    sc.stripes = 16;
    sc.log = fb_journal_log;
    sc.log_ctx = j;

    return fb_store_new(&sc);
}


static int
step_journal_new(long n, int persist)
{
    int            fired;
    fb_journal_t  *j;

    jt_log_clear();
    fb_nomem_arm(n, persist);
    j = j_new(j_empty);
    fired = fb_nomem_fired();
    fb_nomem_disarm();

    if (fired) {
        CU_ASSERT_PTR_NULL(j);
        CU_ASSERT(jt_log_has(nm_call()));
    }

    CU_ASSERT_EQUAL(fired, j == NULL);
    fb_journal_free(j);
    return fired;
}


static void
test_journal_new(void)
{
    /* The journal, its directory's name, its two buffers. */
    nm_loop("fb_journal_new", step_journal_new, 4);
}


/*
 * The whole start-up: journal, store, recovery of a snapshot and the
 * records after it, the writer.  Any failure stops it; the directory is
 * left as it was.
 */
static int
step_journal_open(long n, int persist)
{
    int         rc, fired;
    char        why[200];
    jt_pair_t   p;

    jt_log_clear();
    fb_nomem_arm(n, persist);
    rc = jt_open(&p, j_dir, FB_FSYNC_ALWAYS, 0);
    fired = fb_nomem_fired();
    fb_nomem_disarm();

    if (fired) {
        CU_ASSERT_NOT_EQUAL(rc, 0);

        if (p.j != NULL && p.s == NULL) {
            /* fb_store_new() does not log: fastbank's main() does,
             * naming it (fcgi/fb_main.c). */
        } else {
            CU_ASSERT(jt_log_has(nm_call()) || jt_log_has("out of memory"));
        }
    } else {
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_EQUAL(jt_stores_equal(p.s, j_ref, why, sizeof(why)), 0);
    }

    jt_close(&p, 0);

    if (fired) {
        j_dir_intact();
    }

    return fired;
}


static void
test_journal_open(void)
{
    /* fb_journal_new's 4, fb_store_new's 3, then recovery's. */
    nm_loop("journal, store, recovery, start", step_journal_open, 9);
}


/*
 * Recovery alone, into a fresh store: FB_ERROR at every failure, never a
 * partial store reported as recovered.
 */
static int
step_recover(long n, int persist)
{
    int             rc, fired;
    char            why[200];
    fb_store_t     *s;
    fb_journal_t   *j;
    fb_recovery_t   rec;

    j = j_new(j_dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    s = j_store(j);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    jt_log_clear();
    fb_nomem_arm(n, persist);
    rc = fb_journal_recover(j, s, &rec);
    fired = fb_nomem_fired();
    fb_nomem_disarm();

    if (fired) {
        CU_ASSERT_EQUAL(rc, FB_ERROR);
        /* The store's own allocations are not logged by the store: the
         * recovery says "out of memory" for them. */
        CU_ASSERT(jt_log_has(nm_call()) || jt_log_has("out of memory"));
        CU_ASSERT(jt_log_has("recovery of"));
    } else {
        CU_ASSERT_EQUAL(rc, FB_OK);
        CU_ASSERT_EQUAL(rec.snapshot_seq, j_snap);
        CU_ASSERT_EQUAL(jt_stores_equal(s, j_ref, why, sizeof(why)), 0);
    }

    fb_journal_free(j);
    fb_store_free(s);

    if (fired) {
        j_dir_intact();
    }

    return fired;
}


static void
test_journal_recover(void)
{
    /*
     * The directory listing (segments, snapshots), the snapshot's read
     * buffer, the first chunk and arena block, a segment's contents.
     */
    nm_loop("fb_journal_recover", step_recover, 5);
}


/*
 * fastbank --check: its store, then the same recovery.  Short of memory
 * it "could not check" (FB_CHECK_IO): never "corrupt", never
 * "consistent" on what it could not read.
 */
static int
step_check(long n, int persist)
{
    int    rc, fired;
    char   out_text[16384];
    FILE  *out;

    memset(out_text, 0, sizeof(out_text));
    out = fmemopen(out_text, sizeof(out_text) - 1, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);

    fb_nomem_arm(n, persist);
    rc = fb_journal_check(j_dir, 0, out);
    fired = fb_nomem_fired();
    fb_nomem_disarm();

    fclose(out);

    if (fired && strstr(out_text, "fb_store_new() failed") != NULL) {
        /* Before the check began: no result line. */
        CU_ASSERT_EQUAL(rc, FB_CHECK_IO);
    } else if (fired) {
        CU_ASSERT_EQUAL(rc, FB_CHECK_IO);
        CU_ASSERT(strstr(out_text, nm_call()) != NULL
                  || strstr(out_text, "out of memory") != NULL);
        CU_ASSERT(strstr(out_text, "result: could not check") != NULL);
    } else {
        CU_ASSERT_EQUAL(rc, FB_CHECK_OK);
        CU_ASSERT(strstr(out_text, "result: consistent") != NULL);
    }

    return fired;
}


static void
test_journal_check(void)
{
    /* fb_store_new's 3, then recovery's. */
    nm_loop("fb_journal_check", step_check, 8);
}


/*
 * fb_journal_snapshot mallocs its write buffer.  A failed snapshot
 * leaves no file behind, does not fail the journal, and the directory
 * still recovers, from the snapshot before, to the store as it is.
 */
static int
step_snapshot(long n, int persist)
{
    int                 rc, fired;
    char               *dir, why[200];
    uint64_t            s1, last;
    jt_pair_t           p;
    fb_store_t         *s;
    fb_recovery_t       rec;
    fb_account_t        a;
    fb_journal_stats_t  st;

    dir = jt_mkdir("nomem-snap");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, FB_FSYNC_ALWAYS, 0), 0);

    CU_ASSERT_EQUAL_FATAL(j_some_ops(p.s, "Ada"), 0);
    CU_ASSERT_EQUAL_FATAL(j_some_ops(p.s, "Grace Hopper"), 0);
    CU_ASSERT_EQUAL_FATAL(fb_journal_snapshot(p.j), FB_OK);
    fb_journal_stats(p.j, &st);
    s1 = st.snapshot_seq;
    CU_ASSERT_EQUAL_FATAL(j_some_ops(p.s, "Barbara Liskov"), 0);

    jt_log_clear();
    fb_nomem_arm(n, persist);
    rc = fb_journal_snapshot(p.j);
    fired = fb_nomem_fired();
    fb_nomem_disarm();

    fb_journal_stats(p.j, &st);
    last = st.last_lsn;

    if (fired) {
        CU_ASSERT_EQUAL(rc, FB_ERROR);
        CU_ASSERT(jt_log_has(nm_call()));
        CU_ASSERT_EQUAL(st.snapshot_seq, s1);
        CU_ASSERT_EQUAL(jt_count_files(dir, FB_SNAPSHOT_TMP), 0);
        CU_ASSERT_EQUAL(jt_count_files(dir, "snapshot-"), 1);
    } else {
        CU_ASSERT_EQUAL(rc, FB_OK);
        CU_ASSERT_EQUAL(st.snapshot_seq, last);
    }

    /* The journal goes on. */
    CU_ASSERT(!fb_journal_failed(p.j));
    CU_ASSERT_EQUAL(fb_store_deposit(p.s, 1, 1, NULL, &last), FB_STORE_OK);
    CU_ASSERT_EQUAL(fb_journal_wait(p.j, last), 0);
    CU_ASSERT_EQUAL(fb_store_get(p.s, 1, &a), FB_STORE_OK);

    /* Stop the journal, keep the store, and recover the directory. */
    fb_journal_stop(p.j, 0);
    fb_journal_free(p.j);
    p.j = NULL;

    s = jt_recover(dir, &rc, &rec);
    CU_ASSERT_EQUAL_FATAL(rc, FB_OK);
    CU_ASSERT_EQUAL(rec.snapshot_seq, fired ? s1 : st.snapshot_seq);
    CU_ASSERT_EQUAL(jt_stores_equal(s, p.s, why, sizeof(why)), 0);

    fb_store_free(s);
    jt_close(&p, 0);
    jt_rmdir(dir);
    return fired;
}


static void
test_journal_snapshot(void)
{
    nm_loop("fb_journal_snapshot", step_snapshot, 1);
}


/*
 * An append that must grow the journal's buffer (fb_jbuf_reserve), on a
 * store whose hook is the journal.  The journal is recovered but not
 * started: with no writer to take the buffer, the deposits that fill it
 * are the same every run, and the one that needs it to grow is known.
 * The refused mutation changes nothing.
 */
static long  append_fill;           /* deposits that fit the first buffer */


typedef struct {
    fb_journal_t  *j;
    fb_store_t    *s;
} j_unstarted_t;


static void
j_unstarted_open(j_unstarted_t *u)
{
    fb_account_t  a;

    u->j = j_new(j_empty);
    CU_ASSERT_PTR_NOT_NULL_FATAL(u->j);
    u->s = j_store(u->j);
    CU_ASSERT_PTR_NOT_NULL_FATAL(u->s);
    CU_ASSERT_EQUAL_FATAL(fb_journal_recover(u->j, u->s, NULL), FB_OK);
    CU_ASSERT_EQUAL_FATAL(fb_store_create(u->s, "Ada", 3, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(a.id, 1);
}


static void
j_unstarted_close(j_unstarted_t *u)
{
    fb_journal_free(u->j);
    fb_store_free(u->s);
}


/* Deposits into account 1 until one would make the buffer grow. */
static void
j_unstarted_fill(j_unstarted_t *u)
{
    long  i;

    for (i = 0; i < append_fill; i++) {
        CU_ASSERT_EQUAL_FATAL(fb_store_deposit(u->s, 1, 1, NULL, NULL),
                              FB_STORE_OK);
    }
}


static int
step_append(long n, int persist)
{
    int             fired;
    int64_t         balance;
    uint64_t        lsn;
    fb_account_t    a, b;
    j_unstarted_t   u;
    fb_store_rc_e   rc;

    j_unstarted_open(&u);
    j_unstarted_fill(&u);
    CU_ASSERT_EQUAL_FATAL(fb_store_get(u.s, 1, &a), FB_STORE_OK);

    jt_log_clear();
    fb_nomem_arm(n, persist);
    rc = fb_store_deposit(u.s, 1, 100, &balance, &lsn);
    fired = fb_nomem_fired();
    fb_nomem_disarm();

    CU_ASSERT_EQUAL(fb_store_get(u.s, 1, &b), FB_STORE_OK);

    if (fired) {
        CU_ASSERT_EQUAL(rc, FB_STORE_LOG_FAILED);
        CU_ASSERT_EQUAL(b.balance, a.balance);
        CU_ASSERT_EQUAL(b.lsn, a.lsn);
        CU_ASSERT(jt_log_has(nm_call()));
        CU_ASSERT(!fb_journal_failed(u.j));

        /* Memory is back: the same deposit goes in. */
        rc = fb_store_deposit(u.s, 1, 100, &balance, &lsn);
        CU_ASSERT_EQUAL(fb_store_get(u.s, 1, &b), FB_STORE_OK);
    }

    CU_ASSERT_EQUAL(rc, FB_STORE_OK);
    CU_ASSERT_EQUAL(balance, a.balance + 100);
    CU_ASSERT_EQUAL(b.balance, a.balance + 100);
    CU_ASSERT_EQUAL(b.lsn, lsn);
    /* The refusal used no LSN up: the journal has no hole. */
    CU_ASSERT_EQUAL(lsn, a.lsn + 1);
    CU_ASSERT_EQUAL(fb_store_count(u.s), 1);

    j_unstarted_close(&u);
    return fired;
}


/*
 * The same through the handler: a 503, the balance as it was.  With no
 * writer nothing becomes durable, so the reply is taken as
 * fb_handle_start() leaves it, as if durable.
 */
static int
step_append_http(long n, int persist)
{
    int             fired;
    char            reply[64];
    fb_request_t    r;
    fb_account_t    a;
    j_unstarted_t   u;

    j_unstarted_open(&u);
    j_unstarted_fill(&u);
    CU_ASSERT_EQUAL_FATAL(fb_store_get(u.s, 1, &a), FB_STORE_OK);

    CU_ASSERT_EQUAL_FATAL(fb_handler_ctx_init(&ht_ctx, u.s, NULL, NULL),
                          FB_OK);
    ht_ctx.journal = u.j;
    ht_request(&r, "POST", "/accounts/1/deposit", "{\"amount\":100}");

    jt_log_clear();
    fb_nomem_arm(n, persist);
    fb_handle_start(&ht_ctx, &r);
    fired = fb_nomem_fired();
    fb_nomem_disarm();
    fb_handle_done(&ht_ctx, 1);

    ht_status = ht_ctx.reply.status;
    snprintf(ht_body, sizeof(ht_body), "%.*s",
             (int) fb_reply_body_len(&ht_ctx.reply),
             fb_reply_body(&ht_ctx.reply));

    snprintf(reply, sizeof(reply), "{\"id\":1,\"balance\":%" PRId64 "}",
             a.balance + 100);

    if (fired) {
        ht_expect_error(503, "SERVICE_UNAVAILABLE");
        CU_ASSERT_EQUAL(fb_store_get(u.s, 1, &a), FB_STORE_OK);
        CU_ASSERT_EQUAL(a.balance, (int64_t) append_fill);
        CU_ASSERT(jt_log_has(nm_call()));
    } else {
        ht_expect(200, reply);
    }

    fb_handler_ctx_free(&ht_ctx);
    j_unstarted_close(&u);
    return fired;
}


static void
test_journal_append(void)
{
    long            calls;
    j_unstarted_t   u;

    /* How many deposits fill the first buffer: the one after them is the
     * first to allocate. */
    j_unstarted_open(&u);
    for (append_fill = 0; append_fill < 1000000; append_fill++) {
        fb_nomem_disarm();
        CU_ASSERT_EQUAL_FATAL(fb_store_deposit(u.s, 1, 1, NULL, NULL),
                              FB_STORE_OK);
        calls = fb_nomem_calls();
        if (calls > 0) {
            break;
        }
    }
    j_unstarted_close(&u);

    CU_ASSERT_EQUAL_FATAL(calls, 1);
    CU_ASSERT_FATAL(append_fill > 0);
    printf("\n    the buffer grows at deposit %ld", append_fill + 1);

    nm_loop("an append that grows the buffer", step_append, 1);
    nm_loop("POST deposit, the buffer grows", step_append_http, 1);
}


/* Lines the journal logged that hold needle (no writer thread runs). */
static int
jt_log_count(const char *needle)
{
    int          n = 0;
    const char  *p = jt_log_text();

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }

    return n;
}


/*
 * Two shortages, with appends that succeed between them: each is logged
 * (once), not only the first in the journal's life.
 */
static void
test_journal_append_again(void)
{
    int             fired, logged;
    long            i;
    j_unstarted_t   u;
    fb_store_rc_e   rc;

    j_unstarted_open(&u);
    j_unstarted_fill(&u);

    /* The first growth fails twice: logged once. */
    jt_log_clear();
    fb_nomem_arm(0, 1);
    CU_ASSERT_EQUAL(fb_store_deposit(u.s, 1, 1, NULL, NULL),
                    FB_STORE_LOG_FAILED);
    CU_ASSERT_EQUAL(fb_store_deposit(u.s, 1, 1, NULL, NULL),
                    FB_STORE_LOG_FAILED);
    fb_nomem_disarm();
    CU_ASSERT(jt_log_has(nm_call()));
    CU_ASSERT_EQUAL(jt_log_count(nm_call()), 1);

    /* Then it succeeds, and deposits go in until the next growth, which
     * fails: logged again. */
    fired = logged = 0;
    for (i = 0; i < 1000000 && !fired; i++) {
        jt_log_clear();
        fb_nomem_arm(0, 0);
        rc = fb_store_deposit(u.s, 1, 1, NULL, NULL);
        fired = fb_nomem_fired();
        fb_nomem_disarm();

        if (i == 0) {
            /* The growth that failed above. */
            CU_ASSERT_EQUAL(fired, 1);
            CU_ASSERT_EQUAL(rc, FB_STORE_LOG_FAILED);
            CU_ASSERT_EQUAL(jt_log_count(nm_call()), 0);
            CU_ASSERT_EQUAL_FATAL(fb_store_deposit(u.s, 1, 1, NULL, NULL),
                                  FB_STORE_OK);
            fired = 0;
            continue;
        }

        if (fired) {
            CU_ASSERT_EQUAL(rc, FB_STORE_LOG_FAILED);
            logged = jt_log_count(nm_call());
        } else {
            CU_ASSERT_EQUAL(rc, FB_STORE_OK);
        }
    }

    CU_ASSERT_EQUAL(fired, 1);
    CU_ASSERT_EQUAL(logged, 1);

    j_unstarted_close(&u);
}


/*
 * Deposits of 1 into account 1 of p, each with the first allocation
 * failing, until one fails (the buffer had to grow): its rc goes to *rc.
 * The deposits that went in are added to *moved.  1 if one failed.
 */
static int
j_fill_until_refused(jt_pair_t *p, fb_store_rc_e *rc, int64_t *moved,
    uint64_t *lsn)
{
    int   fired = 0;
    long  i;

    for (i = 0; i < 1000000 && !fired; i++) {
        fb_nomem_arm(0, 0);
        *rc = fb_store_deposit(p->s, 1, 1, NULL, lsn);
        fired = fb_nomem_fired();
        fb_nomem_disarm();

        if (!fired) {
            CU_ASSERT_EQUAL_FATAL(*rc, FB_STORE_OK);
            (*moved)++;
        }
    }

    return fired;
}


/*
 * Two shortages with no growth that succeeds between them: the writer
 * took the buffer that could not grow, and appends went into the other
 * one, which had room.  The second is logged too: a shortage days after
 * the first must not refuse mutations with nothing in the log.  The
 * writer is held in its sync (tests/fb_io_fault.c) while a buffer fills,
 * so the deposit that needs the growth does not depend on timing.
 */
static void
test_journal_append_after_write(void)
{
    int            rc, round;
    char          *dir;
    int64_t        moved = 0;
    uint64_t       lsn = 0;
    jt_pair_t      p;
    fb_store_t    *s;
    fb_account_t   a;
    fb_store_rc_e  src;

    dir = jt_mkdir("nomem-write");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, FB_FSYNC_ALWAYS, 0), 0);
    CU_ASSERT_EQUAL_FATAL(fb_store_create(p.s, "Ada", 3, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_journal_wait(p.j, a.lsn), 0);

    for (round = 0; round < 2; round++) {
        /* The writer takes one deposit and is held in its sync. */
        fb_fault_hold(1);
        CU_ASSERT_EQUAL_FATAL(fb_store_deposit(p.s, 1, 1, NULL, &lsn),
                              FB_STORE_OK);
        moved++;
        if (fb_fault_wait_held(1, 60) != 0) {
            CU_FAIL("the writer's sync was not held");
            break;
        }

        jt_log_clear();
        CU_ASSERT_FATAL(j_fill_until_refused(&p, &src, &moved, &lsn));
        CU_ASSERT_EQUAL(src, FB_STORE_LOG_FAILED);
        if (jt_log_count(nm_call()) != 1) {
            printf("\n    shortage %d: logged %d times ", round + 1,
                   jt_log_count(nm_call()));
        }
        CU_ASSERT_EQUAL(jt_log_count(nm_call()), 1);

        /* The writer writes the full buffer; appends go to the other. */
        fb_fault_hold(0);
        CU_ASSERT_EQUAL(fb_journal_wait(p.j, lsn), 0);
    }

    fb_fault_hold(0);
    CU_ASSERT(!fb_journal_failed(p.j));
    jt_close(&p, 0);

    /* Every deposit answered went in; no refused one did. */
    s = jt_recover(dir, &rc, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, FB_OK);
    CU_ASSERT_EQUAL(fb_store_get(s, 1, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, moved);
    fb_store_free(s);
    jt_rmdir(dir);
}


/* ---- d. the configuration file ---- */


static const char  conf_text[] =
    "# fastbank.conf\n"
    "listen = 127.0.0.1:9100\n"
    "threads = 4   # workers\n"
    "\n"
    "max-body = 2048\n";

static char  conf_path[4096];


static int
step_conffile(long n, int persist)
{
    int             rc, fired;
    char            err_text[1024];
    FILE           *err;
    fb_conf_t       c;
    fb_conffile_t   cf;

    memset(err_text, 0, sizeof(err_text));
    err = fmemopen(err_text, sizeof(err_text) - 1, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);

    fb_conf_default(&c);
    c.config = conf_path;
    c.config_given = 1;
    fb_conffile_init(&cf);

    fb_nomem_arm(n, persist);
    rc = fb_conffile_load(&c, &cf, err);
    fired = fb_nomem_fired();
    fb_nomem_disarm();

    fclose(err);

    if (fired) {
        CU_ASSERT_EQUAL(rc, FB_ERROR);
        CU_ASSERT(strstr(err_text, "out of memory") != NULL);
    } else {
        CU_ASSERT_EQUAL(rc, FB_OK);
        CU_ASSERT_STRING_EQUAL(err_text, "");
        CU_ASSERT_STRING_EQUAL(c.listen, "127.0.0.1:9100");
        CU_ASSERT_EQUAL(c.threads, 4);
        CU_ASSERT_EQUAL(c.max_body, 2048);
        CU_ASSERT_EQUAL(cf.nargs, 3);
    }

    /* What was kept of a failed parse is freed with cf. */
    fb_conffile_free(&cf);
    return fired;
}


static void
test_conffile(void)
{
    int   fd;
    char  *dir;

    dir = jt_mkdir("nomem-conf");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(conf_path, sizeof(conf_path), "%s/fastbank.conf", dir);

    fd = open(conf_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, conf_text, sizeof(conf_text) - 1)
                    == (ssize_t) sizeof(conf_text) - 1);
    close(fd);

    /* The file's text; per line the argument arrays (the first line
     * only), its "--key=value" and the stream for fb_options' messages. */
    nm_loop("fb_conffile_load", step_conffile, 9);

    jt_rmdir(dir);
}


/* ---- e. the worker event loops (fcgi/fb_server.c) ---- */


/* Seconds a reply, or the worker's allocations, may take: a hang bound,
 * not a timing check. */
#define SRV_HANG_BOUND_S  60

static char          *srv_dir;
static char           srv_sock[512];
static jt_pair_t      srv_pair;
static fb_listen_t    srv_ls;
static fb_server_t   *srv;
static pthread_t      srv_runner;
static int            srv_run_rc;


/* The journal and the listening socket, with no fault armed. */
static void
srv_listen(void)
{
    char  addr[600];

    srv_dir = jt_mkdir("nomem-srv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv_dir);
    CU_ASSERT_EQUAL_FATAL(jt_open(&srv_pair, srv_dir, FB_FSYNC_ALWAYS, 0), 0);

    snprintf(srv_sock, sizeof(srv_sock), "%s/s.sock", srv_dir);
    snprintf(addr, sizeof(addr), "unix:%s", srv_sock);
    srv_ls.fd = -1;
    CU_ASSERT_EQUAL_FATAL(fb_listen_open(&srv_ls, addr, 0600, 16), FB_OK);
}


static void
srv_unlisten(void)
{
    jt_close(&srv_pair, 0);
    fb_listen_close(&srv_ls);
    jt_rmdir(srv_dir);
    srv_dir = NULL;
}


static void
srv_conf(fb_server_conf_t *conf, int threads)
{
    memset(conf, 0, sizeof(*conf));
    conf->threads = threads;
    conf->events = FB_EVENTS_DEFAULT;
    conf->max_body = 4096;
    conf->journal = srv_pair.j;
    conf->cpu_scheduling = SCHED_OTHER;
}


/*
 * fb_server_new: the server, its counters, its workers, and each worker's
 * body buffer, JSON reader, reply buffer and journal notification.
 */
static int
step_server_new(long n, int persist)
{
    int                fired;
    fb_server_t       *s;
    fb_server_conf_t   conf;

    srv_conf(&conf, 2);

    fb_capture_begin(0);
    fb_nomem_arm(n, persist);
    s = fb_server_new(&conf, &srv_ls, srv_pair.s);
    fired = fb_nomem_fired();
    fb_nomem_disarm();
    fb_capture_end();

    if (fired) {
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT(cap_has(nm_call()) || cap_has("fb_json_new() failed"));
        CU_ASSERT_EQUAL(cap_lines(), 1);
    } else {
        CU_ASSERT_PTR_NOT_NULL(s);
        CU_ASSERT_EQUAL(cap_lines(), 0);
    }

    fb_server_free(s);
    return fired;
}


static void
test_server_new(void)
{
    srv_listen();
    /* 3 for the server, 4 for each of the two workers. */
    nm_loop("fb_server_new", step_server_new, 11);
    srv_unlisten();
}


static void *
srv_run(void *arg)
{
    (void) arg;
    srv_run_rc = fb_server_run(srv);
    return NULL;
}


static int
srv_connect(void)
{
    return fbt_fcgi_connect(srv_sock, SRV_HANG_BOUND_S);
}


/* Waits until the worker has made the request's allocations: both, or
 * one that failed.  0, or -1 past the hang bound. */
static int
srv_wait_allocs(void)
{
    int  i;

    for (i = 0; i < SRV_HANG_BOUND_S * 1000; i++) {
        if (fb_nomem_calls() >= 2
            || (fb_nomem_fired() && fb_nomem_calls() >= 1))
        {
            return 0;
        }
        usleep(1000);
    }

    return -1;
}


/*
 * One deposit on a new connection, to one worker over a journal under
 * --fsync always.  At run time the worker callocs the connection when it
 * accepts it, and mallocs a reply buffer for the connection when it
 * parks the reply until the record is durable.  The journal's fdatasync
 * is held (tests/fb_io_fault.c) until the worker has made both
 * allocations, so that the reply is always parked, never answered at
 * once by a sync that was quicker than the worker.
 *
 * No connection: the request is dropped unread, no money moves.  No
 * buffer to park in: the worker waits for the record instead, and the
 * deposit is answered as usual.
 */
static int
step_server_deposit(long n, int persist)
{
    int                fd, fired, sent;
    long               len;
    int64_t            b0;
    fb_account_t       a;
    fb_server_conf_t   conf;
    static char        out[8192];

    srv_listen();
    CU_ASSERT_EQUAL_FATAL(fb_store_create(srv_pair.s, "Ada", 3, &a),
                          FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_store_deposit(srv_pair.s, 1, 500, NULL,
                                           &a.lsn), FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_journal_wait(srv_pair.j, a.lsn), 0);
    b0 = 500;

    srv_conf(&conf, 1);
    srv = fb_server_new(&conf, &srv_ls, srv_pair.s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&srv_runner, NULL, srv_run, NULL),
                          0);

    /* Armed before the connection is made: the worker may accept it as
     * soon as it exists. */
    fb_capture_begin(0);
    fb_fault_hold(1);
    fb_nomem_arm(n, persist);

    fd = srv_connect();
    CU_ASSERT(fd >= 0);

    /* Dropped for want of a connection, the socket may be closed before
     * the request is written: the send is judged below. */
    sent = fbt_fcgi_send(fd, 1, "POST", "/accounts/1/deposit",
                         "{\"amount\":5}");
    CU_ASSERT_EQUAL(srv_wait_allocs(), 0);

    fb_fault_hold(0);
    len = fbt_fcgi_reply(fd, out, sizeof(out));

    fired = fb_nomem_fired();
    fb_nomem_disarm();
    fb_capture_end();
    close(fd);

    if (fired && strcmp(fb_nomem_what(), "calloc") == 0) {
        CU_ASSERT_EQUAL(len, -1);
        CU_ASSERT(cap_has("calloc() failed: connection dropped"));
        CU_ASSERT_EQUAL(cap_lines(), 1);
        CU_ASSERT_EQUAL(fb_store_get(srv_pair.s, 1, &a), FB_STORE_OK);
        CU_ASSERT_EQUAL(a.balance, b0);
    } else {
        if (fired) {
            CU_ASSERT(cap_has(nm_call()));
            CU_ASSERT_EQUAL(cap_lines(), 1);
        } else {
            CU_ASSERT_EQUAL(cap_lines(), 0);
        }

        CU_ASSERT_EQUAL(sent, 0);
        CU_ASSERT(len > 0);
        CU_ASSERT(len > 0 && strstr(out, "\r\n\r\n{\"id\":1,\"balance\":505}")
                             != NULL);
        CU_ASSERT(len > 0 && strncmp(out, "Status: 200 OK\r\n", 16) == 0);
        CU_ASSERT_EQUAL(fb_store_get(srv_pair.s, 1, &a), FB_STORE_OK);
        CU_ASSERT_EQUAL(a.balance, b0 + 5);
        CU_ASSERT_EQUAL(fb_journal_durable(srv_pair.j, a.lsn), 1);
    }

    kill(getpid(), SIGTERM);            /* blocked everywhere: sigwait */
    pthread_join(srv_runner, NULL);
    CU_ASSERT_EQUAL(srv_run_rc, FB_OK);
    fb_server_free(srv);
    srv = NULL;

    srv_unlisten();
    return fired;
}


static void
test_server_deposit(void)
{
    nm_loop("a deposit on a new connection", step_server_deposit, 2);
}



/* ---- the suite ---- */


static int
suite_init(void)
{
    if (fb_capture_init("fb-nomem-log") != 0) {
        return 1;
    }

    return j_setup() == 0 ? 0 : 1;
}


static int
suite_clean(void)
{
    j_cleanup();
    fb_capture_free();
    return 0;
}


int
main(void)
{
    static const fb_ctest_t  tests[] = {
        { "json: a pair's copy", test_json_pair },
        { "buf: a shortage after a growth is logged again",
          test_buf_again },
        { "handler: POST /accounts", test_handler_create },
        { "handler: money never moves", test_handler_money },
        { "handler: GET /metrics", test_handler_metrics },
        { "handler: a worker's context", test_handler_ctx_init },
        { "journal: fb_journal_new", test_journal_new },
        { "journal: start-up", test_journal_open },
        { "journal: recovery", test_journal_recover },
        { "journal: --check", test_journal_check },
        { "journal: snapshot", test_journal_snapshot },
        { "journal: an append that grows the buffer", test_journal_append },
        { "journal: a second shortage is logged again",
          test_journal_append_again },
        { "journal: a shortage after the writer took the buffer",
          test_journal_append_after_write },
        { "conffile: fb_conffile_load", test_conffile },
        { "server: fb_server_new", test_server_new },
        { "server: a deposit on a new connection", test_server_deposit },
    };

    /* Before any thread, as fb_main does: every thread inherits it. */
    if (fb_server_block_signals() != FB_OK || fb_fcgx_init() != FB_OK) {
        return 1;
    }

    return fb_cunit_run("test-nomem", "nomem", suite_init, suite_clean,
                        tests, fb_nelems(tests));
}
