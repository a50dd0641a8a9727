/*
 * test-handler.c: every endpoint through fb_handle(), without sockets:
 * exact statuses, error codes and bodies, the rendered CGI headers, and
 * that a failed request changes nothing.
 */

#include "fb_core.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "fb_cunit.h"
#include "fb_htest.h"

static fb_store_t    *store;
static fb_stats_t    *stats;
static fb_metrics_t   metrics;


static int
setup(void)
{
    fb_store_conf_t  sc = { 0, 0, NULL, NULL };

    store = fb_store_new(&sc);
    if (store == NULL || posix_memalign((void **) &stats, 64, sizeof(*stats))) {
        return 1;
    }
    memset(stats, 0, sizeof(*stats));
    metrics.threads = stats;
    metrics.nthreads = 1;
    metrics.start_time = 1.0;

    return fb_handler_ctx_init(&ht_ctx, store, &metrics, stats) == FB_OK
           ? 0 : 1;
}


static int
teardown(void)
{
    fb_handler_ctx_free(&ht_ctx);
    fb_store_free(store);
    free(stats);
    return 0;
}


/* An error reply: status and code exact, some message present. */
static void
expect_error(int st, const char *code)
{
    static const char  frame[] = "{\"code\":\"\",\"message\":\"";

    ht_expect_error(st, code);
    CU_ASSERT_TRUE(strlen(ht_body) > sizeof(frame) - 1 + strlen(code) + 3);
}


/* The request is refused: expect_error(st, code). */
static void
refused(const char *method, const char *uri, const char *b, int st,
    const char *code)
{
    ht_req(method, uri, b);
    expect_error(st, code);
}


/* The last reply as the server sends it: CGI headers, then the body. */
static void
expect_rendered(const char *want)
{
    const char  *out;
    size_t       len;
    char         text[512];

    CU_ASSERT_EQUAL_FATAL(fb_reply_render(&ht_ctx.reply, &out, &len), FB_OK);
    CU_ASSERT_TRUE_FATAL(len < sizeof(text));
    memcpy(text, out, len);
    text[len] = '\0';
    CU_ASSERT_STRING_EQUAL(text, want);
}


static int64_t
balance(int64_t id)
{
    fb_account_t  a;

    return fb_store_get(store, id, &a) == FB_STORE_OK ? a.balance : -1;
}


static void
test_create_and_get(void)
{
    static const char  alice[] =
        "{\"id\":1,\"owner\":\"Alice\",\"balance\":0}";
    static const char  zoe[] =
        "{\"id\":2,\"owner\":\"Zo\xc3\xab O'Brien\",\"balance\":0}";

    ht_check("POST", "/accounts", "{\"owner\": \"Alice\"}", 201, alice);
    expect_rendered(
        "Status: 201 Created\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 36\r\n"
        "Location: /accounts/1\r\n"
        "\r\n"
        "{\"id\":1,\"owner\":\"Alice\",\"balance\":0}");

    /* Trimmed, stored and echoed byte for byte; unknown fields ignored. */
    ht_check("POST", "/accounts",
        "{\"owner\":\" \\tZo\\u00eb O'Brien\\r\\n\",\"balance\":500,"
        "\"x\":[1]}", 201, zoe);

    ht_check("GET", "/accounts/2", NULL, 200, zoe);
    ht_check("GET", "/accounts/2/balance", NULL, 200, zoe);
    ht_check("HEAD", "/accounts/1", NULL, 200, alice);

    /* Location belongs to the 201 alone: a read names no new account. */
    ht_check("GET", "/accounts/1", NULL, 200, alice);
    expect_rendered(
        "Status: 200 OK\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 36\r\n"
        "\r\n"
        "{\"id\":1,\"owner\":\"Alice\",\"balance\":0}");

    refused("GET", "/accounts/3", NULL, 404, "ACCOUNT_NOT_FOUND");
    refused("GET", "/accounts/9223372036854775807", NULL, 404,
            "ACCOUNT_NOT_FOUND");
    refused("GET", "/accounts/0", NULL, 400, "VALIDATION_ERROR");
    refused("GET", "/accounts/%31", NULL, 400, "VALIDATION_ERROR");
    refused("GET", "/accounts/99999999999999999999/balance", NULL, 400,
            "VALIDATION_ERROR");
}


static void
test_create_refused(void)
{
    size_t       i;
    uint64_t     before = fb_store_count(store);
    const char  *bodies[] = {
        "", "[]", "\"Alice\"", "{}", "{\"Owner\":\"Alice\"}",
        "{\"owner\":5}", "{\"owner\":null}", "{\"owner\":[\"Al\"]}",
        "{\"owner\":\"A\"}", "{\"owner\":\"<script>\"}",
        "{\"owner\":\"a;b\"}", "{\"owner\":\"tab\\tname\"}",
        "{\"owner\":\"Bob\xf0\x9f\x98\x80\"}", "{\"owner\":\"Al\xff\"}",
        "{\"owner\":\"\\ud800x\"}", "{\"owner\":\"Alice\"} x",
        "{\"owner\":\"   \"}", "{'owner':'Alice'}"
    };

    for (i = 0; i < fb_nelems(bodies); i++) {
        refused("POST", "/accounts", bodies[i], 400, "VALIDATION_ERROR");
    }

    CU_ASSERT_EQUAL(fb_store_count(store), before);
}


static void
test_deposit_withdraw(void)
{
    ht_move(1, "deposit", 10000, 10000);
    ht_move(1, "deposit", 1, 10001);
    ht_move(1, "deposit", 1000000, 1010001);
    ht_move(1, "withdraw", 1, 1010000);
    ht_move(1, "withdraw", 1000000, 10000);
}


static void
test_move_refused(void)
{
    size_t   i;
    int64_t  b1 = balance(1);
    const struct { const char *uri, *body; int st; const char *code; } c[] = {
        { "/accounts/1/deposit", "{\"amount\":0}", 400, "INVALID_AMOUNT" },
        { "/accounts/1/deposit", "{\"amount\":-5}", 400, "INVALID_AMOUNT" },
        { "/accounts/1/deposit", "{\"amount\":1000001}", 400,
          "INVALID_AMOUNT" },
        { "/accounts/1/withdraw", "{\"amount\":1000001}", 400,
          "INVALID_AMOUNT" },
        { "/accounts/1/deposit", "{\"amount\":10.5}", 400,
          "VALIDATION_ERROR" },
        { "/accounts/1/deposit", "{\"amount\":\"10\"}", 400,
          "VALIDATION_ERROR" },
        { "/accounts/1/deposit", "{\"amount\":true}", 400,
          "VALIDATION_ERROR" },
        { "/accounts/1/deposit", "{\"amount\":null}", 400,
          "VALIDATION_ERROR" },
        { "/accounts/1/deposit", "{\"amount\":99999999999999999999}", 400,
          "VALIDATION_ERROR" },
        { "/accounts/1/deposit", "{\"amount\":9223372036854775808}", 400,
          "VALIDATION_ERROR" },
        { "/accounts/1/deposit", "{\"Amount\":10}", 400,
          "VALIDATION_ERROR" },
        { "/accounts/1/deposit", "not json", 400, "VALIDATION_ERROR" },
        { "/accounts/1/deposit", "", 400, "VALIDATION_ERROR" },
        { "/accounts/1/withdraw", "{\"amount\":10001}", 400,
          "INSUFFICIENT_FUNDS" },
        { "/accounts/99/deposit", "{\"amount\":10}", 404,
          "ACCOUNT_NOT_FOUND" },
        { "/accounts/99/withdraw", "{\"amount\":10}", 404,
          "ACCOUNT_NOT_FOUND" },
        { "/accounts/x/withdraw", "{\"amount\":10}", 400,
          "VALIDATION_ERROR" },
    };

    for (i = 0; i < fb_nelems(c); i++) {
        refused("POST", c[i].uri, c[i].body, c[i].st, c[i].code);
        CU_ASSERT_EQUAL(balance(1), b1);
    }

    /* Withdrawing exactly the balance is allowed and leaves 0. */
    ht_req("POST", "/accounts/2/deposit", "{\"amount\":700}");
    ht_move(2, "withdraw", 700, 0);
}


static void
test_transfer(void)
{
    int64_t  b1 = balance(1), b2 = balance(2);
    size_t   i;
    const struct { const char *body; int st; const char *code; } bad[] = {
        { "{\"from\":1,\"to\":1,\"amount\":5}", 400,
          "SELF_TRANSFER_NOT_ALLOWED" },
        { "{\"from\":1,\"to\":2,\"amount\":0}", 400, "INVALID_AMOUNT" },
        { "{\"from\":1,\"to\":2,\"amount\":1000001}", 400, "INVALID_AMOUNT" },
        { "{\"from\":1,\"to\":2,\"amount\":20000}", 400,
          "INSUFFICIENT_FUNDS" },
        { "{\"from\":1,\"to\":77,\"amount\":5}", 404, "ACCOUNT_NOT_FOUND" },
        { "{\"from\":77,\"to\":1,\"amount\":5}", 404, "ACCOUNT_NOT_FOUND" },
        { "{\"from\":0,\"to\":1,\"amount\":5}", 400, "VALIDATION_ERROR" },
        { "{\"from\":1,\"to\":-2,\"amount\":5}", 400, "VALIDATION_ERROR" },
        { "{\"from\":\"1\",\"to\":2,\"amount\":5}", 400, "VALIDATION_ERROR" },
        { "{\"from\":1,\"to\":2}", 400, "VALIDATION_ERROR" },
        { "{\"from\":1,\"amount\":5}", 400, "VALIDATION_ERROR" },
        { "{\"to\":2,\"amount\":5}", 400, "VALIDATION_ERROR" },
        { "{\"from\":1.0,\"to\":2,\"amount\":5}", 400, "VALIDATION_ERROR" },
        { "[1,2,5]", 400, "VALIDATION_ERROR" },
    };

    /* Balances that differ, so that one in the other's field shows. */
    CU_ASSERT_EQUAL_FATAL(b1, 10000);
    CU_ASSERT_EQUAL_FATAL(b2, 0);
    ht_check("POST", "/accounts/transfer",
             "{\"from\":1,\"to\":2,\"amount\":3000}", 200,
             "{\"from_id\":1,\"to_id\":2,\"from_balance\":7000,"
             "\"to_balance\":3000,\"transferred\":3000}");
    CU_ASSERT_EQUAL(balance(1), b1 - 3000);
    CU_ASSERT_EQUAL(balance(2), b2 + 3000);

    b1 = balance(1);
    b2 = balance(2);
    for (i = 0; i < fb_nelems(bad); i++) {
        refused("POST", "/accounts/transfer", bad[i].body, bad[i].st,
                bad[i].code);
        CU_ASSERT_EQUAL(balance(1), b1);
        CU_ASSERT_EQUAL(balance(2), b2);
    }
}


static void
test_routes_and_limits(void)
{
    int64_t      b1, b2;
    uint64_t     n;
    const char  *out;
    size_t       len;

    refused("GET", "/nope", NULL, 404, "NOT_FOUND");
    CU_ASSERT_PTR_NULL(ht_ctx.reply.allow);

    refused("DELETE", "/accounts/1", NULL, 405, "METHOD_NOT_ALLOWED");
    CU_ASSERT_STRING_EQUAL(ht_ctx.reply.allow, "GET, HEAD");
    CU_ASSERT_EQUAL_FATAL(fb_reply_render(&ht_ctx.reply, &out, &len), FB_OK);
    /* The rendered reply carries a length, not a NUL. */
    CU_ASSERT_PTR_NOT_NULL(memmem(out, len, "\r\nAllow: GET, HEAD\r\n", 20));

    refused("GET", "/accounts/transfer", NULL, 405, "METHOD_NOT_ALLOWED");
    CU_ASSERT_STRING_EQUAL(ht_ctx.reply.allow, "POST");

    /* HEAD runs no POST, whatever body it brings. */
    b1 = balance(1);
    b2 = balance(2);
    n = fb_store_count(store);
    refused("HEAD", "/accounts/1/deposit", "{\"amount\":5}", 405,
            "METHOD_NOT_ALLOWED");
    CU_ASSERT_STRING_EQUAL(ht_ctx.reply.allow, "POST");
    refused("HEAD", "/accounts/1/withdraw", "{\"amount\":5}", 405,
            "METHOD_NOT_ALLOWED");
    refused("HEAD", "/accounts/transfer", "{\"from\":1,\"to\":2,\"amount\":5}",
            405, "METHOD_NOT_ALLOWED");
    refused("HEAD", "/accounts", "{\"owner\":\"Carol\"}", 405,
            "METHOD_NOT_ALLOWED");
    CU_ASSERT_EQUAL(balance(1), b1);
    CU_ASSERT_EQUAL(balance(2), b2);
    CU_ASSERT_EQUAL(fb_store_count(store), n);

    ht_check("GET", "/healthz", NULL, 200, "{\"status\":\"ok\"}");
}


static void
test_body_too_large(void)
{
    int64_t       b1 = balance(1);
    fb_request_t  r;

    /* Flagged too large by the server: 413, whatever the body holds. */
    ht_request(&r, "POST", "/accounts/1/deposit", "{\"amount\":5}");
    r.body_too_large = 1;

    ht_send(&r);
    ht_expect_error(413, "PAYLOAD_TOO_LARGE");
    CU_ASSERT_EQUAL(balance(1), b1);
}


static void
test_metrics_counts(void)
{
    uint64_t         ok, err;
    fb_stats_snap_t  snap;

    fb_metrics_merge(&metrics, &snap);
    ok = snap.operations[FB_STAT_OP_TRANSFER * 2];
    err = snap.operations[FB_STAT_OP_TRANSFER * 2 + 1];

    ht_req("POST", "/accounts/transfer", "{\"from\":1,\"to\":2,\"amount\":1}");
    ht_req("POST", "/accounts/transfer", "{\"from\":1,\"to\":1,\"amount\":1}");

    fb_metrics_merge(&metrics, &snap);
#ifndef FB_NO_METRICS
    CU_ASSERT_EQUAL(snap.operations[FB_STAT_OP_TRANSFER * 2], ok + 1);
    CU_ASSERT_EQUAL(snap.operations[FB_STAT_OP_TRANSFER * 2 + 1], err + 1);
    CU_ASSERT_EQUAL(snap.accounts_created[0], 2);
#else
    /* ./configure --disable-metrics: nothing is recorded. */
    CU_ASSERT_EQUAL(snap.operations[FB_STAT_OP_TRANSFER * 2], 0);
    CU_ASSERT_EQUAL(snap.operations[FB_STAT_OP_TRANSFER * 2 + 1], 0);
    CU_ASSERT_EQUAL(snap.accounts_created[0], 0);
    CU_ASSERT_EQUAL(ok + err, 0);
#endif

    ht_req("GET", "/metrics", NULL);
    CU_ASSERT_EQUAL(ht_status, 200);
    CU_ASSERT_EQUAL(ht_ctx.reply.type, FB_TYPE_PROMETHEUS);
    CU_ASSERT_PTR_NOT_NULL(strstr(ht_body, "\naccounts_active 2\n"));
#ifndef FB_NO_METRICS
    CU_ASSERT_PTR_NOT_NULL(strstr(ht_body,
        "banking_operations_total{operation=\"transfer\",status=\"success\"}"));
#else
    /* Declared, with no sample. */
    CU_ASSERT_PTR_NULL(strstr(ht_body, "\nbanking_operations_total{"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ht_body,
                                  "\n# TYPE banking_operations_total "));
#endif
}


/*
 * A deposit or transfer that would take a balance past INT64_MAX: 400
 * INVALID_AMOUNT (fb_http.c's store error table), never wrapped, and
 * nothing moves.  Last: account 2 is left near the limit.
 */
static void
test_balance_limit(void)
{
    int64_t  b1 = balance(1);

    /* Set as recovery sets it: no run of 1,000,000-centavo deposits gets
     * there in a test. */
    CU_ASSERT_EQUAL_FATAL(fb_store_restore_balance(store, 2, INT64_MAX - 5,
                                                   0), FB_STORE_OK);

    refused("POST", "/accounts/2/deposit", "{\"amount\":6}", 400,
            "INVALID_AMOUNT");
    CU_ASSERT_EQUAL(balance(2), INT64_MAX - 5);

    refused("POST", "/accounts/transfer", "{\"from\":1,\"to\":2,\"amount\":6}",
            400, "INVALID_AMOUNT");
    CU_ASSERT_EQUAL(balance(1), b1);
    CU_ASSERT_EQUAL(balance(2), INT64_MAX - 5);

    /* Up to the limit itself is fine. */
    ht_move(2, "deposit", 5, INT64_MAX);
}


/*
 * The reply writers reserve their worst case and then write without
 * growing the buffer: fb_reply_numbers with no bound at all, the escaped
 * strings within what was reserved.  A reply buffer starts at 4 KiB, which
 * hides an estimate too small, so these replies are made again in buffers
 * of every size from the headroom up, each followed by guard bytes.  At
 * the size where a reservation fits exactly the buffer does not grow, and
 * a writer that needs more than it reserved writes into the guard or
 * fails the reply.
 */
#define FIT_GUARD  256

static char    *fit_data;
static size_t   fit_cap;


/* Gives b a buffer of cap bytes, guard bytes after them. */
static void
fit(fb_buf_t *b, size_t cap)
{
    fit_data = malloc(cap + FIT_GUARD);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fit_data);
    memset(fit_data + cap, 0x5a, FIT_GUARD);

    free(b->data);
    b->data = fit_data;
    b->cap = cap;
    b->len = 0;
    fit_cap = cap;
}


/* Nothing went past the buffer fit() gave, if it still has it. */
static int
fit_kept(const fb_buf_t *b)
{
    size_t  i;

    if (b->len > b->cap) {
        return 0;
    }

    if (b->data != fit_data || b->cap != fit_cap) {
        return 1;
    }

    for (i = 0; i < FIT_GUARD; i++) {
        if ((unsigned char) fit_data[fit_cap + i] != 0x5a) {
            return 0;
        }
    }

    return 1;
}


/* An account, and the balance it is set back to before each request. */
typedef struct {
    int64_t  id;
    int64_t  balance;
} fit_account_t;


/* The request in buffers of every size, each time with the accounts set
 * back: 200 and want every time, nothing written past the buffer. */
static void
fit_sweep(const char *method, const char *uri, const char *b,
    const char *want, const fit_account_t *accounts, size_t n)
{
    size_t  cap, end, i;

    end = FB_REPLY_HEADROOM + strlen(want) + 5 * FB_INT64_LEN + 64;

    for (cap = FB_REPLY_HEADROOM; cap <= end; cap++) {
        for (i = 0; i < n; i++) {
            CU_ASSERT_EQUAL_FATAL(fb_store_restore_balance(store,
                                      accounts[i].id, accounts[i].balance, 0),
                                  FB_STORE_OK);
        }

        fit(&ht_ctx.reply.buf, cap);
        ht_req(method, uri, b);

        if (!fit_kept(&ht_ctx.reply.buf)) {
            CU_FAIL("a reply was written past its buffer");
            printf("\n    %s %s: %zu-byte buffer overrun ", method, uri, cap);
            return;
        }

        ht_expect(200, want);
        if (ht_status != 200 || strcmp(ht_body, want) != 0) {
            printf("\n    in a %zu-byte buffer ", cap);
            return;
        }
    }
}


static void
test_reply_estimates(void)
{
    char            owner[FB_OWNER_MAX_BYTES], msg[64], body[128];
    char            uri[64], want[HT_BODY_MAX], *p;
    size_t          i, cap;
    int64_t         x, y;
    fb_reply_t      r;
    fit_account_t   xy[2];

    /* Whatever bytes the store holds are echoed escaped: 400 control
     * bytes, six each, are the account writer's worst case (a request's
     * owner never needs an escape).  Balances of 19 digits, ids of six
     * (ids reach ten, the estimates' slack lies in the shorter ones). */
    memset(owner, 0x01, sizeof(owner));
    while (fb_store_count(store) < 99999) {
        CU_ASSERT_EQUAL_FATAL(fb_store_create(store, "Ana", 3, NULL),
                              FB_STORE_OK);
    }
    x = (int64_t) fb_store_count(store) + 1;
    y = x + 1;
    xy[0].id = x;
    xy[0].balance = INT64_MAX - 1;
    xy[1].id = y;
    xy[1].balance = INT64_MAX - 1000000;
    CU_ASSERT_EQUAL_FATAL(fb_store_restore_account(store, x, owner,
                              sizeof(owner), 0, xy[0].balance, 0),
                          FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_store_restore_account(store, y, "Ana", 3, 0,
                              xy[1].balance, 0),
                          FB_STORE_OK);

    p = want + sprintf(want, "{\"id\":%" PRId64 ",\"owner\":\"", x);
    for (i = 0; i < sizeof(owner); i++) {
        p += sprintf(p, "\\u0001");
    }
    sprintf(p, "\",\"balance\":%" PRId64 "}", INT64_MAX - 1);
    snprintf(uri, sizeof(uri), "/accounts/%" PRId64, x);
    fit_sweep("GET", uri, NULL, want, xy, 2);

    snprintf(uri, sizeof(uri), "/accounts/%" PRId64 "/deposit", y);
    snprintf(want, sizeof(want), "{\"id\":%" PRId64 ",\"balance\":%" PRId64
             "}", y, INT64_MAX);
    fit_sweep("POST", uri, "{\"amount\":1000000}", want, xy, 2);

    snprintf(uri, sizeof(uri), "/accounts/%" PRId64 "/withdraw", x);
    snprintf(want, sizeof(want), "{\"id\":%" PRId64 ",\"balance\":%" PRId64
             "}", x, INT64_MAX - 1000001);
    fit_sweep("POST", uri, "{\"amount\":1000000}", want, xy, 2);

    snprintf(body, sizeof(body), "{\"from\":%" PRId64 ",\"to\":%" PRId64
             ",\"amount\":1000000}", x, y);
    snprintf(want, sizeof(want), "{\"from_id\":%" PRId64 ",\"to_id\":%"
             PRId64 ",\"from_balance\":%" PRId64 ",\"to_balance\":%" PRId64
             ",\"transferred\":1000000}", x, y, INT64_MAX - 1000001,
             INT64_MAX);
    fit_sweep("POST", "/accounts/transfer", body, want, xy, 2);

    /* An error's message: control bytes, the worst case again. */
    memset(msg, 0x1f, sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    p = want + sprintf(want, "{\"code\":\"INTERNAL_ERROR\",\"message\":\"");
    for (i = 0; i < sizeof(msg) - 1; i++) {
        p += sprintf(p, "\\u001f");
    }
    sprintf(p, "\"}");

    CU_ASSERT_EQUAL_FATAL(fb_reply_init(&r), FB_OK);
    for (cap = FB_REPLY_HEADROOM; cap <= FB_REPLY_HEADROOM + 512; cap++) {
        fit(&r.buf, cap);
        CU_ASSERT_EQUAL(fb_reply_error(&r, FB_ERR_INTERNAL, msg), FB_OK);
        CU_ASSERT_TRUE(fit_kept(&r.buf));
        CU_ASSERT_EQUAL(fb_reply_body_len(&r), strlen(want));
        if (fb_reply_body_len(&r) != strlen(want)
            || memcmp(fb_reply_body(&r), want, strlen(want)) != 0)
        {
            printf("\n    an error in a %zu-byte buffer ", cap);
            break;
        }
    }
    fb_reply_free(&r);
}


/* Run in order: they build on each other's accounts. */
static const fb_ctest_t  tests[] = {
    { "create and get", test_create_and_get },
    { "create refused", test_create_refused },
    { "deposit and withdraw", test_deposit_withdraw },
    { "deposit and withdraw refused", test_move_refused },
    { "transfer", test_transfer },
    { "routes and limits", test_routes_and_limits },
    { "body too large", test_body_too_large },
    { "metrics counts", test_metrics_counts },
    { "balance limit", test_balance_limit },
    { "replies in buffers cut to their estimates", test_reply_estimates },
};


int
main(void)
{
    return fb_cunit_run("test-handler", "handler", setup, teardown, tests,
                        fb_nelems(tests));
}
