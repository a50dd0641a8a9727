/*
 * test-handler-journal.c: the endpoints over a journal that fails, through
 * fb_handle(): a mutation in flight when a write fails is 503 in the
 * contract's shape and never 200; later mutations are 503 and change
 * nothing; reads of durable balances are still served and others are
 * 503; a refusal that rests on a balance not durable is 503 too;
 * /healthz turns 503 "read-only"; a restart recovers the acknowledged
 * state.  The journal's file-system calls are tests/fb_io_fault.c's.
 */

#include "fb_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "fb_handler.h"
#include "fb_io_fault.h"
#include "fb_jtest.h"

static fb_handler_ctx_t   ctx;
static char               body[8192];
static int                status;


static void
req(const char *method, const char *uri, const char *b)
{
    size_t        n;
    fb_request_t  r;

    memset(&r, 0, sizeof(r));
    r.method = fb_method_parse(method, strlen(method));
    r.uri = uri;
    r.uri_len = strlen(uri);
    r.body = b != NULL ? b : "";
    r.body_len = b != NULL ? strlen(b) : 0;

    (void) fb_handle(&ctx, &r);

    status = ctx.reply.status;
    n = fb_reply_body_len(&ctx.reply);
    if (n >= sizeof(body)) {
        n = sizeof(body) - 1;
    }
    memcpy(body, fb_reply_body(&ctx.reply), n);
    body[n] = '\0';
}


static void
expect(int st, const char *text)
{
    CU_ASSERT_EQUAL(status, st);
    CU_ASSERT_STRING_EQUAL(body, text);
    if (status != st || strcmp(body, text) != 0) {
        fprintf(stderr, "\n  expected %d %s\n  got      %d %s\n", st, text,
                status, body);
    }
}


static void
expect_unavailable(void)
{
    static const char  want[] =
        "{\"code\":\"SERVICE_UNAVAILABLE\",\"message\":\"";

    CU_ASSERT_EQUAL(status, 503);
    CU_ASSERT_EQUAL(strncmp(body, want, sizeof(want) - 1), 0);
    if (status != 503 || strncmp(body, want, sizeof(want) - 1) != 0) {
        fprintf(stderr, "\n  expected 503 SERVICE_UNAVAILABLE\n  got      "
                "%d %s\n", status, body);
    }
}


static void
test_journal_failure(void)
{
    int             rc;
    char           *dir;
    jt_pair_t       p;
    fb_store_t     *s;
    fb_account_t    a;

    dir = jt_mkdir("handler");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, FB_FSYNC_ALWAYS, 0), 0);
    CU_ASSERT_EQUAL_FATAL(fb_handler_ctx_init(&ctx, p.s, NULL, NULL), FB_OK);
    ctx.journal = p.j;

    /* A working journal: every reply as usual, each one durable. */
    req("POST", "/accounts", "{\"owner\":\"Alice\"}");
    expect(201, "{\"id\":1,\"owner\":\"Alice\",\"balance\":0}");
    req("POST", "/accounts", "{\"owner\":\"Bob\"}");
    expect(201, "{\"id\":2,\"owner\":\"Bob\",\"balance\":0}");
    req("POST", "/accounts/1/deposit", "{\"amount\":1000}");
    expect(200, "{\"id\":1,\"balance\":1000}");
    req("POST", "/accounts/2/deposit", "{\"amount\":500}");
    expect(200, "{\"id\":2,\"balance\":500}");
    req("GET", "/accounts/1", NULL);
    expect(200, "{\"id\":1,\"owner\":\"Alice\",\"balance\":1000}");
    req("GET", "/healthz", NULL);
    expect(200, "{\"status\":\"ok\"}");

    /* The disk fails from the next call on. */
    fb_fault_arm(0, 1);

    /* In flight: applied in memory, never acknowledged. */
    req("POST", "/accounts/1/deposit", "{\"amount\":10}");
    expect_unavailable();
    CU_ASSERT_EQUAL(fb_store_get(p.s, 1, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 1010);
    CU_ASSERT(fb_journal_failed(p.j));

    /* Its balance is never shown; a durable one is. */
    req("GET", "/accounts/1", NULL);
    expect_unavailable();
    req("GET", "/accounts/1/balance", NULL);
    expect_unavailable();
    req("GET", "/accounts/2/balance", NULL);
    expect(200, "{\"id\":2,\"owner\":\"Bob\",\"balance\":500}");

    /* A refusal on a durable balance is the usual 400; one on a balance
     * that is not durable would reveal it: 503. */
    req("POST", "/accounts/2/withdraw", "{\"amount\":501}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "INSUFFICIENT_FUNDS"));
    req("POST", "/accounts/1/withdraw", "{\"amount\":1005}");
    expect_unavailable();
    req("POST", "/accounts/transfer",
        "{\"from\":2,\"to\":1,\"amount\":600}");
    expect_unavailable();

    /* Every mutation is refused and changes nothing. */
    req("POST", "/accounts/2/deposit", "{\"amount\":1}");
    expect_unavailable();
    req("POST", "/accounts/2/withdraw", "{\"amount\":1}");
    expect_unavailable();
    req("POST", "/accounts/transfer", "{\"from\":2,\"to\":1,\"amount\":1}");
    expect_unavailable();
    req("POST", "/accounts", "{\"owner\":\"Carol\"}");
    expect_unavailable();
    CU_ASSERT_EQUAL(fb_store_count(p.s), 2);
    CU_ASSERT_EQUAL(fb_store_get(p.s, 2, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 500);

    /* Validation still comes first. */
    req("POST", "/accounts/2/deposit", "{\"amount\":0}");
    CU_ASSERT_EQUAL(status, 400);
    req("GET", "/accounts/3", NULL);
    CU_ASSERT_EQUAL(status, 404);

    req("GET", "/healthz", NULL);
    expect(503, "{\"status\":\"read-only\",\"code\":\"SERVICE_UNAVAILABLE\","
           "\"message\":\"the journal failed: mutations are refused; reads "
           "of durable balances are served\"}");

    fb_handler_ctx_free(&ctx);
    jt_close(&p, 1);
    fb_fault_disarm();

    /* A restart: exactly what was acknowledged. */
    s = jt_recover(dir, &rc, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, FB_OK);
    CU_ASSERT_EQUAL(fb_store_count(s), 2);
    CU_ASSERT_EQUAL(fb_store_get(s, 1, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 1000);
    CU_ASSERT_EQUAL(fb_store_get(s, 2, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 500);
    fb_store_free(s);

    jt_rmdir(dir);
}


int
main(void)
{
    unsigned    failed;
    CU_pSuite   suite;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }

    suite = CU_add_suite("handler over a failing journal", NULL, NULL);
    if (suite == NULL
        || CU_add_test(suite, "503, reads of durable balances, healthz",
                       test_journal_failure) == NULL)
    {
        CU_cleanup_registry();
        return 1;
    }

    CU_basic_set_mode(CU_BRM_VERBOSE);
    if (CU_basic_run_tests() != CUE_SUCCESS) {
        CU_cleanup_registry();
        return 1;
    }

    failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures()
             + CU_get_number_of_suites_failed();
    CU_cleanup_registry();

    return failed == 0 ? 0 : 1;
}
