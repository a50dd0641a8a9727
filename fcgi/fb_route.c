/*
 * fb_route.c: matching request targets against the route table.
 */

#include "fb_core.h"

#include <string.h>

#include "fb_route.h"

#define FB_ROUTE_MAX_SEGMENTS  3

/*
 * The table.  Each template is also given split into segments, so that
 * matching does no parsing of its own (tests/test-route.c checks that the
 * two spellings agree).  Templates with a literal segment come before
 * templates with "{id}" in the same position, so "/accounts/transfer" is
 * the transfer route and not account "transfer": the first fit wins.
 */
typedef struct {
    fb_route_t  route;
    size_t      n;
    fb_str_t    seg[FB_ROUTE_MAX_SEGMENTS];
} fb_route_def_t;

#define FB_GET_HEAD  (FB_ROUTE_M_GET | FB_ROUTE_M_HEAD)

static const fb_route_def_t  fb_routes[] = {
    { { FB_ROUTE_NONE, "", 0, "" }, 0, { fb_null_string } },
    { { FB_ROUTE_ACCOUNTS, "/accounts", FB_ROUTE_M_POST, "POST" },
      1, { fb_string("accounts") } },
    { { FB_ROUTE_TRANSFER, "/accounts/transfer", FB_ROUTE_M_POST, "POST" },
      2, { fb_string("accounts"), fb_string("transfer") } },
    { { FB_ROUTE_ACCOUNT, "/accounts/{id}", FB_GET_HEAD, "GET, HEAD" },
      2, { fb_string("accounts"), fb_string("{id}") } },
    { { FB_ROUTE_BALANCE, "/accounts/{id}/balance", FB_GET_HEAD, "GET, HEAD" },
      3, { fb_string("accounts"), fb_string("{id}"), fb_string("balance") } },
    { { FB_ROUTE_DEPOSIT, "/accounts/{id}/deposit", FB_ROUTE_M_POST, "POST" },
      3, { fb_string("accounts"), fb_string("{id}"), fb_string("deposit") } },
    { { FB_ROUTE_WITHDRAW, "/accounts/{id}/withdraw", FB_ROUTE_M_POST,
        "POST" },
      3, { fb_string("accounts"), fb_string("{id}"), fb_string("withdraw") } },
    { { FB_ROUTE_HEALTHZ, "/healthz", FB_GET_HEAD, "GET, HEAD" },
      1, { fb_string("healthz") } },
    { { FB_ROUTE_METRICS, "/metrics", FB_GET_HEAD, "GET, HEAD" },
      1, { fb_string("metrics") } },
};

typedef struct {
    size_t    n;
    fb_str_t  seg[FB_ROUTE_MAX_SEGMENTS];
} fb_segments_t;

static int fb_route_split(const char *p, size_t len, fb_segments_t *out);


fb_method_e
fb_method_parse(const char *s, size_t len)
{
    switch (len) {
    case 3:
        if (memcmp(s, "GET", 3) == 0) {
            return FB_METHOD_GET;
        }
        break;
    case 4:
        if (memcmp(s, "POST", 4) == 0) {
            return FB_METHOD_POST;
        }
        if (memcmp(s, "HEAD", 4) == 0) {
            return FB_METHOD_HEAD;
        }
        break;
    }

    return FB_METHOD_OTHER;
}


const char *
fb_method_name(fb_method_e m)
{
    static const char *names[] = { "GET", "HEAD", "POST", "OTHER" };

    return (unsigned) m < FB_METHOD_COUNT ? names[m] : "OTHER";
}


const fb_route_t *
fb_route_get(fb_route_e id)
{
    return (unsigned) id < FB_ROUTE_COUNT
           ? &fb_routes[id].route : &fb_routes[0].route;
}


const char *
fb_route_segments(fb_route_e id, size_t *n, const fb_str_t **seg)
{
    const fb_route_def_t  *d = &fb_routes[(unsigned) id < FB_ROUTE_COUNT
                                          ? id : 0];

    *n = d->n;
    *seg = d->seg;
    return d->route.template;
}


int
fb_route_parse_id(const char *s, size_t len, int64_t *id)
{
    size_t    i;
    uint64_t  v = 0;

    if (len == 0) {
        return FB_DECLINED;
    }

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return FB_DECLINED;
        }

        /* v * 10 + d <= INT64_MAX, checked without overflowing. */
        if (v > ((uint64_t) INT64_MAX - (uint64_t) (s[i] - '0')) / 10) {
            return FB_DECLINED;
        }

        v = v * 10 + (uint64_t) (s[i] - '0');
    }

    if (v == 0) {
        return FB_DECLINED;
    }

    *id = (int64_t) v;
    return FB_OK;
}


/*
 * Splits "/a/b/c" into its segments.  FB_DECLINED for anything that cannot
 * be a route: no leading '/', an empty segment ("//", a trailing '/'), or
 * more segments than any template has.
 */
static int
fb_route_split(const char *p, size_t len, fb_segments_t *out)
{
    const char  *start, *end, *slash, *stop;

    out->n = 0;

    if (len < 2 || p[0] != '/') {
        return FB_DECLINED;
    }

    start = p + 1;
    end = p + len;

    /* memchr from slash to slash, not a loop over every byte. */
    for ( ;; ) {
        slash = memchr(start, '/', (size_t) (end - start));
        stop = slash != NULL ? slash : end;

        if (stop == start || out->n == FB_ROUTE_MAX_SEGMENTS) {
            return FB_DECLINED;
        }

        out->seg[out->n].data = start;
        out->seg[out->n].len = (size_t) (stop - start);
        out->n++;

        if (slash == NULL) {
            return FB_OK;
        }

        start = slash + 1;
    }
}


/* The first byte is compared here, inline: most segments that differ
 * differ there, without a call to memcmp. */
static int
fb_seg_is(const fb_str_t *seg, const fb_str_t *lit)
{
    return seg->len == lit->len && seg->data[0] == lit->data[0]
           && memcmp(seg->data, lit->data, lit->len) == 0;
}


fb_match_rc_e
fb_route_match(fb_method_e method, const char *uri, size_t len,
    fb_match_t *m)
{
    size_t              r, i;
    const char         *q;
    fb_segments_t          path;
    const fb_str_t        *idseg;
    const fb_route_def_t  *def;

    m->route = NULL;
    m->id = 0;

    /* The query string plays no part in routing. */
    q = memchr(uri, '?', len);
    if (q != NULL) {
        len = (size_t) (q - uri);
    }

    if (fb_route_split(uri, len, &path) != FB_OK) {
        return FB_MATCH_NOT_FOUND;
    }

    for (r = 1; r < fb_nelems(fb_routes); r++) {
        def = &fb_routes[r];

        if (def->n != path.n) {
            continue;
        }

        idseg = NULL;

        for (i = 0; i < def->n; i++) {
            /* "{id}" is the table's only parameter (test-route checks
             * that no other segment begins with '{'). */
            if (def->seg[i].data[0] == '{') {
                idseg = &path.seg[i];
                continue;
            }

            if (!fb_seg_is(&path.seg[i], &def->seg[i])) {
                break;
            }
        }

        if (i < def->n) {
            continue;
        }

        m->route = &def->route;

        if (!(def->route.methods & (1u << method))) {
            return FB_MATCH_METHOD;
        }

        if (idseg != NULL
            && fb_route_parse_id(idseg->data, idseg->len, &m->id) != FB_OK)
        {
            return FB_MATCH_BAD_ID;
        }

        return FB_MATCH_OK;
    }

    return FB_MATCH_NOT_FOUND;
}
