/*
 * fb_htest.c: shared fixtures of the handler tests (fb_htest.h).
 */

#include "fb_core.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "fb_htest.h"

fb_handler_ctx_t  ht_ctx;
int               ht_status;
char              ht_body[HT_BODY_MAX];

/* The last request, as a failed check prints it; cut to fit. */
static char       ht_sent[512];

static void ht_failed(int st, const char *what);


void
ht_request(fb_request_t *r, const char *method, const char *uri,
    const char *b)
{
    memset(r, 0, sizeof(*r));
    r->method = fb_method_parse(method, strlen(method));
    r->uri = uri;
    r->uri_len = strlen(uri);
    r->body = b != NULL ? b : "";
    r->body_len = b != NULL ? strlen(b) : 0;

    snprintf(ht_sent, sizeof(ht_sent), "%s %s%s%s", method, uri,
             b != NULL ? " " : "", b != NULL ? b : "");
}


fb_route_e
ht_send(const fb_request_t *r)
{
    size_t      n;
    fb_route_e  route;

    route = fb_handle(&ht_ctx, r);

    ht_status = ht_ctx.reply.status;
    n = fb_reply_body_len(&ht_ctx.reply);
    if (n >= sizeof(ht_body)) {
        n = sizeof(ht_body) - 1;
    }
    memcpy(ht_body, fb_reply_body(&ht_ctx.reply), n);
    ht_body[n] = '\0';

    return route;
}


fb_route_e
ht_req(const char *method, const char *uri, const char *b)
{
    fb_request_t  r;

    ht_request(&r, method, uri, b);

    return ht_send(&r);
}


void
ht_expect(int st, const char *text)
{
    CU_ASSERT_EQUAL(ht_status, st);
    CU_ASSERT_STRING_EQUAL(ht_body, text);
    if (ht_status != st || strcmp(ht_body, text) != 0) {
        ht_failed(st, text);
    }
}


void
ht_expect_error(int st, const char *code)
{
    char  want[96];

    snprintf(want, sizeof(want), "{\"code\":\"%s\",\"message\":\"", code);
    CU_ASSERT_EQUAL(ht_status, st);
    CU_ASSERT_EQUAL(strncmp(ht_body, want, strlen(want)), 0);
    if (ht_status != st || strncmp(ht_body, want, strlen(want)) != 0) {
        ht_failed(st, code);
    }
}


void
ht_check(const char *method, const char *uri, const char *b, int st,
    const char *text)
{
    ht_req(method, uri, b);
    ht_expect(st, text);
}


void
ht_check_error(const char *method, const char *uri, const char *b, int st,
    const char *code)
{
    ht_req(method, uri, b);
    ht_expect_error(st, code);
}


void
ht_move(int64_t id, const char *op, int64_t amount, int64_t balance)
{
    char  uri[64], body[64], reply[64];

    snprintf(uri, sizeof(uri), "/accounts/%" PRId64 "/%s", id, op);
    snprintf(body, sizeof(body), "{\"amount\":%" PRId64 "}", amount);
    snprintf(reply, sizeof(reply), "{\"id\":%" PRId64 ",\"balance\":%" PRId64
             "}", id, balance);

    ht_check("POST", uri, body, 200, reply);
}


/* Prints the request whose reply was not st and what (text or code). */
static void
ht_failed(int st, const char *what)
{
    fprintf(stderr, "\n  request  %s\n  expected %d %s\n  got      %d %s\n",
            ht_sent, st, what, ht_status, ht_body);
}
