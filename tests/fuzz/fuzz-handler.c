/*
 * fuzz-handler.c: the whole request handler, fb_handle(), on a small store
 * (two accounts to begin with, room for eight).  Input: up to eight
 * requests separated by two NUL bytes, each "METHOD URI\nBODY" (no newline:
 * no body).  A body over 4096 bytes is flagged too large, as the server
 * does with the default --max-body.
 *
 * Promises checked after every request: the status is one the contract
 * knows; the body is one JSON object (the Prometheus text aside) and an
 * error carries a "code" string; the reply renders; a refused request
 * changes nothing; money is conserved (a transfer moves none in or out, a
 * deposit adds and a withdraw removes 1..1,000,000, a create adds an
 * account with nothing); no balance is ever negative.
 */

#include "fb_fuzz.h"

#include <string.h>

#include "fb_handler.h"

#define FUZZ_MAX_BODY      4096
#define FUZZ_MAX_REQUESTS  8

static fb_stats_t        *stats;
static fb_metrics_t       metrics;
static fb_handler_ctx_t   ctx;
static fb_json_t         *check_json;


static void
fuzz_init(void)
{
    stats = aligned_alloc(64, sizeof(*stats));
    fb_fuzz_assert(stats != NULL);
    memset(stats, 0, sizeof(*stats));
    metrics.threads = stats;
    metrics.nthreads = 1;
    metrics.start_time = 1.0;

    check_json = fb_json_new();
    fb_fuzz_assert(check_json != NULL);
}


static void
fuzz_request(fb_store_t *store, const char *s, size_t len)
{
    int               st;
    size_t            mlen, n;
    int64_t           d;
    fb_str_t          code;
    const char       *sp, *nl, *out;
    fb_route_e        route;
    fb_request_t      r;
    fb_store_audit_t  before, after;

    memset(&r, 0, sizeof(r));

    sp = memchr(s, ' ', len);
    mlen = sp != NULL ? (size_t) (sp - s) : len;
    r.method = fb_method_parse(s, mlen);
    r.uri = sp != NULL ? sp + 1 : s + len;
    r.uri_len = sp != NULL ? len - mlen - 1 : 0;

    nl = memchr(r.uri, '\n', r.uri_len);
    if (nl != NULL) {
        r.body = nl + 1;
        r.body_len = r.uri_len - (size_t) (nl + 1 - r.uri);
        r.uri_len = (size_t) (nl - r.uri);
    } else {
        r.body = "";
        r.body_len = 0;
    }
    if (r.body_len > FUZZ_MAX_BODY) {
        r.body_too_large = 1;
        r.body_len = 0;
    }

    fb_store_audit(store, &before);
    route = fb_handle(&ctx, &r);
    fb_store_audit(store, &after);

    st = ctx.reply.status;
    fb_fuzz_assert(st == 200 || st == 201 || st == 400 || st == 404
                   || st == 405 || st == 413 || st == 500 || st == 503);
    fb_fuzz_assert(route >= FB_ROUTE_NONE && route < FB_ROUTE_COUNT);

    if (!(route == FB_ROUTE_METRICS && st == 200)) {
        fb_fuzz_assert(fb_json_parse(check_json, fb_reply_body(&ctx.reply),
                                     fb_reply_body_len(&ctx.reply))
                       == FB_JSON_OK);
        if (st >= 400) {
            fb_fuzz_assert(fb_json_get_string(check_json, "code", &code)
                           == FB_JSON_OK && code.len > 0);
        }
    }

    fb_fuzz_assert(fb_reply_render(&ctx.reply, &out, &n) == FB_OK);
    fb_fuzz_assert(n >= 8 && memcmp(out, "Status: ", 8) == 0);

    fb_fuzz_assert(!after.overflow && after.min_balance >= 0);

    if (st >= 400) {
        fb_fuzz_assert(after.accounts == before.accounts
                       && after.sum == before.sum);
        return;
    }

    d = after.sum - before.sum;

    switch (route) {
    case FB_ROUTE_ACCOUNTS:
        fb_fuzz_assert(st == 201 && after.accounts == before.accounts + 1
                       && d == 0);
        break;
    case FB_ROUTE_DEPOSIT:
        fb_fuzz_assert(after.accounts == before.accounts
                       && d >= 1 && d <= 1000000);
        break;
    case FB_ROUTE_WITHDRAW:
        fb_fuzz_assert(after.accounts == before.accounts
                       && d <= -1 && d >= -1000000);
        break;
    default:
        /* Transfers, reads, health and metrics move no money. */
        fb_fuzz_assert(after.accounts == before.accounts && d == 0);
        break;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               i;
    size_t            len;
    fb_store_t       *store;
    const char       *s = (const char *) data, *end = s + size, *sep;
    fb_store_conf_t   sc;

    if (stats == NULL) {
        fuzz_init();
    }

    memset(&sc, 0, sizeof(sc));
    sc.stripes = 4;
    sc.max_accounts = 8;
    store = fb_store_new(&sc);
    fb_fuzz_assert(store != NULL);

    fb_fuzz_assert(fb_store_create(store, "Alice", 5, NULL) == FB_STORE_OK);
    fb_fuzz_assert(fb_store_create(store, "Bob", 3, NULL) == FB_STORE_OK);
    fb_fuzz_assert(fb_store_deposit(store, 1, 1000000, NULL, NULL) == FB_STORE_OK);
    fb_fuzz_assert(fb_store_deposit(store, 2, 5, NULL, NULL) == FB_STORE_OK);

    fb_fuzz_assert(fb_handler_ctx_init(&ctx, store, &metrics, stats)
                   == FB_OK);

    for (i = 0; i < FUZZ_MAX_REQUESTS && s < end; i++) {
        sep = memmem(s, (size_t) (end - s), "\0\0", 2);
        len = sep != NULL ? (size_t) (sep - s) : (size_t) (end - s);
        fuzz_request(store, s, len);
        s += len + (sep != NULL ? 2 : 0);
    }

    fb_handler_ctx_free(&ctx);
    fb_store_free(store);
    return 0;
}
