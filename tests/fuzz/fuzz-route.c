/*
 * fuzz-route.c: the router and path ids.  Input: "METHOD URI" (the method
 * up to the first space; without a space the whole input is the URI of a
 * GET).
 *
 * Promises checked: fb_route_parse_id accepts exactly the positive int64
 * values written in decimal digits (checked against a reference parse);
 * fb_route_match's answer is consistent (a route for OK and 405, none for
 * 404, an id of at least 1 for a route with {id}) and ignores the query.
 */

#include "fb_fuzz.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fb_route.h"


/*
 * The reference, by another road than fb_route_parse_id's: every byte a
 * digit, leading zeros dropped, at most 19 digits left (INT64_MAX has 19),
 * then strtoull, exact below 2^64, and the range 1..INT64_MAX.
 */
static int
ref_parse_id(const char *s, size_t len, int64_t *id)
{
    char                buf[20];
    size_t              i, start = 0;
    unsigned long long  v;

    if (len == 0) {
        return FB_DECLINED;
    }

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return FB_DECLINED;
        }
    }

    while (start < len && s[start] == '0') {
        start++;
    }

    if (start == len || len - start > sizeof(buf) - 1) {
        return FB_DECLINED;
    }

    memcpy(buf, s + start, len - start);
    buf[len - start] = '\0';

    errno = 0;
    v = strtoull(buf, NULL, 10);
    if (errno != 0 || v > (unsigned long long) INT64_MAX) {
        return FB_DECLINED;
    }

    *id = (int64_t) v;
    return FB_OK;
}


static int
has_id(const fb_route_t *r)
{
    return strstr(r->template, "{id}") != NULL;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t         id = -1, ref = -2;
    size_t          mlen, ulen, qlen;
    fb_match_t      m, mq;
    fb_method_e     method;
    const char     *s = (const char *) data, *sp, *uri, *q;
    fb_match_rc_e   rc, rcq;

    /* Path ids, against the reference. */
    rc = (fb_match_rc_e) fb_route_parse_id(s, size, &id);
    fb_fuzz_assert((int) rc == ref_parse_id(s, size, &ref));
    if ((int) rc == FB_OK) {
        fb_fuzz_assert(id == ref && id >= 1);
    }

    sp = memchr(s, ' ', size);
    if (sp != NULL) {
        mlen = (size_t) (sp - s);
        uri = sp + 1;
        ulen = size - mlen - 1;
    } else {
        mlen = 3;
        s = "GET";
        uri = (const char *) data;
        ulen = size;
    }

    method = fb_method_parse(s, mlen);
    fb_fuzz_assert(method >= FB_METHOD_GET && method < FB_METHOD_COUNT);
    fb_fuzz_assert(fb_method_name(method) != NULL);

    memset(&m, 0, sizeof(m));
    rc = fb_route_match(method, uri, ulen, &m);

    switch (rc) {
    case FB_MATCH_OK:
        fb_fuzz_assert(m.route != NULL);
        fb_fuzz_assert(m.route->methods & (1u << method));
        fb_fuzz_assert(fb_route_get(m.route->id) == m.route);
        if (has_id(m.route)) {
            fb_fuzz_assert(m.id >= 1);
        }
        break;
    case FB_MATCH_METHOD:
        fb_fuzz_assert(m.route != NULL && m.route->allow != NULL);
        fb_fuzz_assert((m.route->methods & (1u << method)) == 0);
        break;
    case FB_MATCH_BAD_ID:
        break;
    case FB_MATCH_NOT_FOUND:
        break;
    default:
        fb_fuzz_assert(0);
    }

    /* A query string changes nothing. */
    q = memchr(uri, '?', ulen);
    if (q == NULL) {
        char  buf[4096 + 16];

        if (ulen <= 4096) {
            memcpy(buf, uri, ulen);
            qlen = ulen;
            memcpy(buf + qlen, "?x=1&id=2", 9);
            memset(&mq, 0, sizeof(mq));
            rcq = fb_route_match(method, buf, qlen + 9, &mq);
            fb_fuzz_assert(rcq == rc);
            if (rc == FB_MATCH_OK) {
                fb_fuzz_assert(mq.route == m.route && mq.id == m.id);
            }
        }
    }

    return 0;
}
