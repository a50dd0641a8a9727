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

/* Sends one request through ht_ctx (b NULL: no body); returns its route. */
fb_route_e ht_req(const char *method, const char *uri, const char *b);

/* The last reply is exactly st and text; both are printed if not. */
void ht_expect(int st, const char *text);

/* The last reply is st with the error code's body up to its message. */
void ht_expect_error(int st, const char *code);

#endif /* FB_HTEST_H_INCLUDED */
