/*
 * fb_htest.h: what the handler tests share: one handler context, requests
 * sent through fb_handle() without sockets, and checks of the reply's
 * status and body.
 */

#ifndef FB_HTEST_H_INCLUDED
#define FB_HTEST_H_INCLUDED

#include "fb_handler.h"

#define HT_BODY_MAX  8192

/* The test sets ht_ctx up (fb_handler_ctx_init) and frees it. */
extern fb_handler_ctx_t  ht_ctx;

/* The last reply: its status, and its body, cut to fit and terminated. */
extern int               ht_status;
extern char              ht_body[HT_BODY_MAX];

/*
 * Fills r with one request (b NULL: no body), for a test that sets more
 * of it (body_too_large, say) before ht_send().  The request is also what
 * a failed check prints.
 */
void ht_request(fb_request_t *r, const char *method, const char *uri,
    const char *b);

/* Sends r through ht_ctx and keeps its reply; returns its route. */
fb_route_e ht_send(const fb_request_t *r);

/* Sends one request through ht_ctx (b NULL: no body); returns its route. */
fb_route_e ht_req(const char *method, const char *uri, const char *b);

/*
 * The last reply is exactly st and text; if not, the request, what was
 * expected and what came are printed.
 */
void ht_expect(int st, const char *text);

/* The last reply is st with the error code's body up to its message. */
void ht_expect_error(int st, const char *code);

/* ht_req(), then ht_expect(st, text). */
void ht_check(const char *method, const char *uri, const char *b, int st,
    const char *text);

/* ht_req(), then ht_expect_error(st, code). */
void ht_check_error(const char *method, const char *uri, const char *b,
    int st, const char *code);

/*
 * POSTs {"amount":amount} to /accounts/id/op (op "deposit" or "withdraw"):
 * the reply must be 200 with the account's new balance.
 */
void ht_move(int64_t id, const char *op, int64_t amount, int64_t balance);

#endif /* FB_HTEST_H_INCLUDED */
