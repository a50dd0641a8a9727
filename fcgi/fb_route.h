/*
 * fb_route.h: the route table and the parsing of request targets.
 *
 * Routes are matched on the raw request target (REQUEST_URI, query
 * stripped), never on a decoded path, so "/accounts/%31" is not account 1.
 * A path that fits a template but names the wrong method is 405 with the
 * route's Allow list; a path id that is not a positive int64 in plain
 * decimal digits is 400.
 */

#ifndef FB_ROUTE_H_INCLUDED
#define FB_ROUTE_H_INCLUDED

#include "fb_core.h"

typedef enum {
    FB_METHOD_GET = 0,
    FB_METHOD_HEAD,
    FB_METHOD_POST,
    FB_METHOD_OTHER,
    FB_METHOD_COUNT
} fb_method_e;

typedef enum {
    FB_ROUTE_NONE = 0,         /* no route: 404 */
    FB_ROUTE_ACCOUNTS,         /* POST /accounts */
    FB_ROUTE_TRANSFER,         /* POST /accounts/transfer */
    FB_ROUTE_ACCOUNT,          /* GET  /accounts/{id} */
    FB_ROUTE_BALANCE,          /* GET  /accounts/{id}/balance */
    FB_ROUTE_DEPOSIT,          /* POST /accounts/{id}/deposit */
    FB_ROUTE_WITHDRAW,         /* POST /accounts/{id}/withdraw */
    FB_ROUTE_HEALTHZ,          /* GET  /healthz */
    FB_ROUTE_METRICS,          /* GET  /metrics */
    FB_ROUTE_COUNT
} fb_route_e;

#define FB_ROUTE_M_GET   (1u << FB_METHOD_GET)
#define FB_ROUTE_M_HEAD  (1u << FB_METHOD_HEAD)
#define FB_ROUTE_M_POST  (1u << FB_METHOD_POST)

typedef struct {
    fb_route_e   id;
    const char  *template;     /* also the metrics "endpoint" label */
    unsigned     methods;      /* FB_ROUTE_M_* */
    const char  *allow;        /* the Allow header for a 405 */
} fb_route_t;

typedef enum {
    FB_MATCH_OK = 0,
    FB_MATCH_NOT_FOUND,        /* 404 */
    FB_MATCH_METHOD,           /* 405, route->allow says what is allowed */
    FB_MATCH_BAD_ID            /* 400, the {id} segment is not an id */
} fb_match_rc_e;

typedef struct {
    const fb_route_t  *route;  /* NULL when FB_MATCH_NOT_FOUND */
    int64_t            id;     /* the {id} segment, when the route has one */
} fb_match_t;

fb_method_e fb_method_parse(const char *s, size_t len);
const char *fb_method_name(fb_method_e m);

fb_match_rc_e fb_route_match(fb_method_e method, const char *uri,
    size_t len, fb_match_t *m);

/* The route with this id (for metrics labels). */
const fb_route_t *fb_route_get(fb_route_e id);

/* The template of route id split into segments; returns the template. */
const char *fb_route_segments(fb_route_e id, size_t *n, const fb_str_t **seg);

/* Parses a path id: 1..INT64_MAX in decimal digits only.  FB_OK or
 * FB_DECLINED. */
int fb_route_parse_id(const char *s, size_t len, int64_t *id);

#endif /* FB_ROUTE_H_INCLUDED */
