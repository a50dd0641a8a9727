/*
 * fb_handler.h: the endpoints.  A handler turns a parsed request into a
 * reply and knows nothing of FastCGI, so tests drive it directly.
 */

#ifndef FB_HANDLER_H_INCLUDED
#define FB_HANDLER_H_INCLUDED

#include "fb_core.h"
#include "fb_http.h"
#include "fb_journal.h"
#include "fb_json.h"
#include "fb_metrics.h"
#include "fb_route.h"
#include "fb_store.h"

typedef struct {
    fb_method_e   method;
    const char   *uri;            /* raw request target, query included */
    size_t        uri_len;
    const char   *body;
    size_t        body_len;
    unsigned      body_too_large:1;
} fb_request_t;

/*
 * What a reply still waits for: the LSN that must be durable before it may
 * go out (doc/journal.txt, "Replies"), and what to count once it goes.
 */
typedef struct {
    fb_route_e    route;
    uint64_t      lsn;            /* 0: nothing to wait for */
    const char   *not_durable;    /* the 503's message if it never is */
    int64_t       amount;         /* of a deposit, withdrawal, transfer */
    unsigned      operation:1;    /* the route's handler ran: count it */
    unsigned      created:1;      /* an account was created */
} fb_pending_t;

/* One per worker thread. */
typedef struct {
    fb_store_t          *store;
    const fb_metrics_t  *metrics;  /* for /metrics; NULL: no metrics */
    fb_stats_t          *stats;    /* this thread's counters */
    fb_journal_t        *journal;  /* NULL: nothing to wait for */
    fb_json_t           *json;
    fb_reply_t           reply;
    fb_pending_t         pending;
} fb_handler_ctx_t;

int fb_handler_ctx_init(fb_handler_ctx_t *ctx, fb_store_t *store,
    const fb_metrics_t *metrics, fb_stats_t *stats);
void fb_handler_ctx_free(fb_handler_ctx_t *ctx);

/*
 * Serves req as far as the journal allows without waiting: the reply in
 * ctx->reply is the one to send once ctx->pending.lsn is durable.  The
 * caller then calls fb_handle_done, at once or later (with ctx->reply and
 * ctx->pending as fb_handle_start left them), and sends ctx->reply.
 * Returns the route matched, FB_ROUTE_NONE for none.
 */
fb_route_e fb_handle_start(fb_handler_ctx_t *ctx, const fb_request_t *req);

/*
 * Settles the reply: durable is 0 if the journal failed before
 * ctx->pending.lsn was durable, and the reply becomes a 503.  Counts the
 * banking operation and the account created, if the reply says they
 * happened.
 */
void fb_handle_done(fb_handler_ctx_t *ctx, int durable);

/*
 * Both, blocking in fb_journal_wait in between: answers req into
 * ctx->reply.  Returns the route matched, for the request metrics.
 */
fb_route_e fb_handle(fb_handler_ctx_t *ctx, const fb_request_t *req);

#endif /* FB_HANDLER_H_INCLUDED */
