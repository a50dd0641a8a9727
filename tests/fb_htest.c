/*
 * fb_htest.c: shared fixtures of the handler tests (fb_htest.h).
 */

#include "fb_core.h"

#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "fb_htest.h"

fb_handler_ctx_t  ht_ctx;
int               ht_status;
char              ht_body[HT_BODY_MAX];


fb_route_e
ht_req(const char *method, const char *uri, const char *b)
{
    size_t        n;
    fb_route_e    route;
    fb_request_t  r;

    memset(&r, 0, sizeof(r));
    r.method = fb_method_parse(method, strlen(method));
    r.uri = uri;
    r.uri_len = strlen(uri);
    r.body = b != NULL ? b : "";
    r.body_len = b != NULL ? strlen(b) : 0;

    route = fb_handle(&ht_ctx, &r);

    ht_status = ht_ctx.reply.status;
    n = fb_reply_body_len(&ht_ctx.reply);
    if (n >= sizeof(ht_body)) {
        n = sizeof(ht_body) - 1;
    }
    memcpy(ht_body, fb_reply_body(&ht_ctx.reply), n);
    ht_body[n] = '\0';

    return route;
}


void
ht_expect(int st, const char *text)
{
    CU_ASSERT_EQUAL(ht_status, st);
    CU_ASSERT_STRING_EQUAL(ht_body, text);
    if (ht_status != st || strcmp(ht_body, text) != 0) {
        fprintf(stderr, "\n  expected %d %s\n  got      %d %s\n", st, text,
                ht_status, ht_body);
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
        fprintf(stderr, "\n  expected %d %s\n  got      %d %s\n", st, code,
                ht_status, ht_body);
    }
}
