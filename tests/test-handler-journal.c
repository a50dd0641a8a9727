/*
 * test-handler-journal.c: the endpoints over a journal that fails, through
 * fb_handle(): a mutation in flight when a write fails is 503 in the
 * contract's shape and never 200 (a create's 503 carries no Location);
 * later mutations are 503 and change nothing; reads of durable balances
 * are still served and others are 503; a refusal that rests on a balance
 * not durable is 503 too; /healthz turns 503 "read-only"; a restart
 * recovers the acknowledged state.  The journal's file-system calls are
 * tests/fb_io_fault.c's.
 */

#include "fb_core.h"

#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "fb_cunit.h"
#include "fb_htest.h"
#include "fb_io_fault.h"
#include "fb_jtest.h"


/* The request is refused with the journal's 503. */
static void
unavailable(const char *method, const char *uri, const char *b)
{
    ht_check_error(method, uri, b, 503, "SERVICE_UNAVAILABLE");
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
    CU_ASSERT_EQUAL_FATAL(fb_handler_ctx_init(&ht_ctx, p.s, NULL, NULL),
                          FB_OK);
    ht_ctx.journal = p.j;

    /* A working journal: every reply as usual, each one durable. */
    ht_check("POST", "/accounts", "{\"owner\":\"Alice\"}", 201,
             "{\"id\":1,\"owner\":\"Alice\",\"balance\":0}");
    ht_check("POST", "/accounts", "{\"owner\":\"Bob\"}", 201,
             "{\"id\":2,\"owner\":\"Bob\",\"balance\":0}");
    ht_move(1, "deposit", 1000, 1000);
    ht_move(2, "deposit", 500, 500);
    ht_check("GET", "/accounts/1", NULL, 200,
             "{\"id\":1,\"owner\":\"Alice\",\"balance\":1000}");
    ht_check("GET", "/healthz", NULL, 200, "{\"status\":\"ok\"}");

    /* The disk fails from the next call on. */
    fb_fault_arm(0, 1);

    /* In flight: applied in memory, never acknowledged. */
    unavailable("POST", "/accounts/1/deposit", "{\"amount\":10}");
    CU_ASSERT_EQUAL(fb_store_get(p.s, 1, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 1010);
    CU_ASSERT(fb_journal_failed(p.j));

    /* Its balance is never shown; a durable one is. */
    unavailable("GET", "/accounts/1", NULL);
    unavailable("GET", "/accounts/1/balance", NULL);
    ht_check("GET", "/accounts/2/balance", NULL, 200,
             "{\"id\":2,\"owner\":\"Bob\",\"balance\":500}");

    /* A refusal on a durable balance is the usual 400; one on a balance
     * that is not durable would reveal it: 503. */
    ht_req("POST", "/accounts/2/withdraw", "{\"amount\":501}");
    CU_ASSERT_EQUAL(ht_status, 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(ht_body, "INSUFFICIENT_FUNDS"));
    unavailable("POST", "/accounts/1/withdraw", "{\"amount\":1005}");
    unavailable("POST", "/accounts/transfer",
                "{\"from\":2,\"to\":1,\"amount\":600}");
    /* The reply waits for the later of the two records, whichever side
     * it is on. */
    unavailable("POST", "/accounts/transfer",
                "{\"from\":1,\"to\":2,\"amount\":1011}");

    /* Every mutation is refused and changes nothing. */
    unavailable("POST", "/accounts/2/deposit", "{\"amount\":1}");
    unavailable("POST", "/accounts/2/withdraw", "{\"amount\":1}");
    unavailable("POST", "/accounts/transfer",
                "{\"from\":2,\"to\":1,\"amount\":1}");
    unavailable("POST", "/accounts", "{\"owner\":\"Carol\"}");
    CU_ASSERT_EQUAL(fb_store_count(p.s), 2);
    CU_ASSERT_EQUAL(fb_store_get(p.s, 2, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 500);
    CU_ASSERT_EQUAL(fb_store_get(p.s, 1, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 1010);

    /* Validation still comes first. */
    ht_req("POST", "/accounts/2/deposit", "{\"amount\":0}");
    CU_ASSERT_EQUAL(ht_status, 400);
    ht_req("GET", "/accounts/3", NULL);
    CU_ASSERT_EQUAL(ht_status, 404);

    /* So is a refusal for a balance that would pass INT64_MAX: it too
     * shows the balance.  Set here as recovery sets it, with the record
     * that failed, since no deposit of the contract's size gets there. */
    CU_ASSERT_EQUAL(fb_store_get(p.s, 1, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_store_restore_balance(p.s, 1, INT64_MAX - 5,
                                                   a.lsn), FB_STORE_OK);
    unavailable("POST", "/accounts/1/deposit", "{\"amount\":6}");
    unavailable("POST", "/accounts/transfer",
                "{\"from\":2,\"to\":1,\"amount\":6}");
    CU_ASSERT_EQUAL(fb_store_get(p.s, 1, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, INT64_MAX - 5);
    CU_ASSERT_EQUAL(fb_store_get(p.s, 2, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 500);

    ht_check("GET", "/healthz", NULL, 503,
             "{\"status\":\"read-only\","
             "\"code\":\"SERVICE_UNAVAILABLE\","
             "\"message\":\"the journal failed: mutations are refused; "
             "reads of durable balances are served\"}");

    fb_handler_ctx_free(&ht_ctx);
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


/*
 * A create in flight when the journal fails: the 503 names no account.
 * The store has made it, but a Location would point clients at an
 * account that was never acknowledged and that a restart does not have.
 */
static void
test_create_in_flight(void)
{
    int             rc;
    char           *dir;
    size_t          len;
    jt_pair_t       p;
    fb_store_t     *s;
    const char     *out;

    dir = jt_mkdir("handler-create");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, FB_FSYNC_ALWAYS, 0), 0);
    CU_ASSERT_EQUAL_FATAL(fb_handler_ctx_init(&ht_ctx, p.s, NULL, NULL),
                          FB_OK);
    ht_ctx.journal = p.j;

    fb_fault_arm(0, 1);

    unavailable("POST", "/accounts", "{\"owner\":\"Alice\"}");
    CU_ASSERT_EQUAL(fb_store_count(p.s), 1);
    CU_ASSERT_EQUAL(ht_ctx.reply.location, 0);
    CU_ASSERT_EQUAL_FATAL(fb_reply_render(&ht_ctx.reply, &out, &len), FB_OK);
    CU_ASSERT_PTR_NULL(memmem(out, len, "Location", 8));

    fb_handler_ctx_free(&ht_ctx);
    jt_close(&p, 1);
    fb_fault_disarm();

    s = jt_recover(dir, &rc, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, FB_OK);
    CU_ASSERT_EQUAL(fb_store_count(s), 0);
    fb_store_free(s);

    jt_rmdir(dir);
}


static const fb_ctest_t  tests[] = {
    { "503, reads of durable balances, healthz", test_journal_failure },
    { "a create in flight names no account", test_create_in_flight },
};


int
main(void)
{
    return fb_cunit_run("test-handler-journal",
                        "handler over a failing journal", NULL, NULL, tests,
                        fb_nelems(tests));
}
