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

/* One per worker thread. */
typedef struct {
    fb_store_t          *store;
    const fb_metrics_t  *metrics;  /* for /metrics; NULL: no metrics */
    fb_stats_t          *stats;    /* this thread's counters */
    fb_journal_t        *journal;  /* NULL: nothing to wait for */
    fb_json_t           *json;
    fb_reply_t           reply;
} fb_handler_ctx_t;

int fb_handler_ctx_init(fb_handler_ctx_t *ctx, fb_store_t *store,
    const fb_metrics_t *metrics, fb_stats_t *stats);
void fb_handler_ctx_free(fb_handler_ctx_t *ctx);

/*
 * Answers req into ctx->reply (status, headers, body) and counts the
 * banking operation.  Returns the route matched, FB_ROUTE_NONE for none,
 * for the caller's request metrics.
 */
fb_route_e fb_handle(fb_handler_ctx_t *ctx, const fb_request_t *req);

#endif /* FB_HANDLER_H_INCLUDED */
