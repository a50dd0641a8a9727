/*
 * fb_json.c: strict reading of request bodies with json-c, and the string
 * escaper for the replies.
 *
 * json-c's STRICT mode is not strict enough for money.  json-c 0.16 still
 * accepts single-quoted strings, NaN, Infinity and -Infinity, leading zeros
 * such as 00, numbers such as 1., raw control characters inside strings,
 * overlong and surrogate UTF-8 sequences, and lone surrogate escapes (which
 * it turns into U+FFFD).  It keeps the last of duplicate keys, cuts keys at
 * an escaped NUL, and saturates integers below INT64_MIN.  So each body is
 * first checked by fb_json_scan(), a single pass over the lexical grammar
 * of RFC 8259, and json-c then builds the tree and checks the structure.
 *
 * json-c 0.16 also decodes some valid surrogate pairs wrong: it tests the
 * code point a pair makes with a 16-bit surrogate mask, so U+xD800..xDFFF
 * of planes 1-16 (Latin Extended-G's letters U+1DF00.., CJK Extension F at
 * U+2D800..) come out as U+FFFD.  A body holding such a pair is parsed
 * from a copy in which every pair is written as UTF-8.
 */

#include "fb_core.h"
#include "fb_json.h"
#include "fb_log.h"
#include "fb_owner.h"

#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>
#include <json-c/json_tokener.h>
#include <json-c/linkhash.h>


/*
 * A body may nest at most FB_JSON_DEPTH - 1 containers, the top object
 * included; our bodies are flat.  json-c fails a parse once its stack
 * would reach FB_JSON_DEPTH, but it pushes a level only for a value
 * inside a container, so an empty container one level deeper still
 * parses: fb_json_scan() counts the containers itself.
 */
#define FB_JSON_DEPTH  8


struct fb_json_s {
    struct json_tokener  *tok;
    json_object          *obj;         /* last parsed body, or NULL */
    locale_t              c_locale;    /* for json-c's parser; 0: none */
    unsigned              int64_min:1; /* the body has an integer literal
                                          below INT64_MIN, which json-c
                                          stores as INT64_MIN */
    unsigned              bad_pair:1;  /* the body has a surrogate pair
                                          json-c decodes wrong */
};


typedef enum {
    sw_value = 0,      /* between tokens */
    sw_string,
    sw_escape,         /* after a backslash */
    sw_unicode,        /* in the four hex digits of \uXXXX */
    sw_minus,
    sw_zero,           /* a leading 0: no digit may follow */
    sw_int,
    sw_dot,
    sw_frac,
    sw_exp,
    sw_exp_sign,
    sw_exp_digits
} fb_json_scan_e;


static int fb_json_scan(fb_json_t *j, const char *body, size_t len,
    size_t *members);
static int fb_json_int64_min_exceeded(const char *digits, size_t n);
static size_t fb_json_pairs_to_utf8(const char *body, size_t len, char *out);
static uint32_t fb_json_hex4(const char *p);
static int fb_json_hex(unsigned char c);
static size_t fb_json_members(json_object *o);
static fb_json_rc_e fb_json_get(fb_json_t *j, const char *key,
    json_type type, json_object **v);


fb_json_t *
fb_json_new(void)
{
    fb_json_t  *j;

    j = calloc(1, sizeof(fb_json_t));
    if (j == NULL) {
        return NULL;
    }

    j->tok = json_tokener_new_ex(FB_JSON_DEPTH);
    if (j->tok == NULL) {
        free(j);
        return NULL;
    }

    /* json_tokener_reset() keeps the flags: they are set once */
    json_tokener_set_flags(j->tok,
                           JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

    /* glibc returns its static C locale object here, without allocating;
     * elsewhere it may allocate, and 0 only means no switch (below). */
    j->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t) 0);

    return j;
}


void
fb_json_free(fb_json_t *j)
{
    if (j == NULL) {
        return;
    }

    if (j->obj != NULL) {
        json_object_put(j->obj);
    }

    json_tokener_free(j->tok);
    if (j->c_locale != (locale_t) 0) {
        freelocale(j->c_locale);
    }
    free(j);
}


fb_json_rc_e
fb_json_parse(fb_json_t *j, const char *body, size_t len)
{
    char         *copy;
    size_t        members;
    locale_t      old;
    json_object  *obj;

    if (j->obj != NULL) {
        json_object_put(j->obj);
        j->obj = NULL;
    }

    j->int64_min = 0;
    j->bad_pair = 0;

    if (len == 0 || len > INT_MAX) {
        return FB_JSON_INVALID;
    }

    if (fb_json_scan(j, body, len, &members) != FB_OK) {
        return FB_JSON_INVALID;
    }

    /* Rare: the copy is no longer than the body and lives for the parse
     * only (json-c copies what it keeps). */
    copy = NULL;
    if (j->bad_pair) {
        copy = malloc(len);
        if (copy == NULL) {
            fb_log(FB_LOG_ERR, 0, "malloc(%zu) failed", len);
            return FB_JSON_NOMEM;
        }

        len = fb_json_pairs_to_utf8(body, len, copy);
        body = copy;
    }

    json_tokener_reset(j->tok);

    /*
     * json_tokener_parse_ex() puts the thread in a C numeric locale for
     * each call: duplocale() of the thread's locale, newlocale() and
     * freelocale(), two allocations and glibc's global locale lock (taken
     * for writing by freelocale) on every request, 8% of a worker's
     * instructions.  Given glibc's own C locale object, all three return
     * at once, so the parse runs in it (json-c wants the C locale for its
     * numbers anyway), and the thread's own is put back after.
     */
    old = j->c_locale != (locale_t) 0 ? uselocale(j->c_locale)
                                      : (locale_t) 0;

    obj = json_tokener_parse_ex(j->tok, body, (int) len);

    if (old != (locale_t) 0) {
        (void) uselocale(old);
    }

    if (copy != NULL) {
        free(copy);
    }

    /*
     * NULL covers json_tokener_continue, which is what an incomplete body
     * or a bare top-level number, true or null gives.  A parse that stops
     * before len left trailing data.  The scan counted one ':' per object
     * member; fewer members in the tree means json-c merged duplicate keys,
     * and a body that means two things is refused.
     */

    if (obj == NULL) {
        return FB_JSON_INVALID;
    }

    if (json_tokener_get_error(j->tok) != json_tokener_success
        || json_tokener_get_parse_end(j->tok) != len
        || !json_object_is_type(obj, json_type_object)
        || fb_json_members(obj) != members)
    {
        json_object_put(obj);
        return FB_JSON_INVALID;
    }

    j->obj = obj;

    return FB_JSON_OK;
}


/*
 * Checks body against the lexical grammar of RFC 8259: strings are
 * double-quoted, strictly valid UTF-8 with no raw control characters and
 * only the standard escapes, surrogate escapes come in high-low pairs;
 * numbers follow the JSON number grammar; outside strings only JSON white
 * space, the structural characters and the letters of true, false and null
 * appear.  json-c checks that those letters spell the literals and that
 * the tokens form one object.
 *
 * Also counts the ':' outside strings (one per object member), refuses a
 * key holding \u0000 (json-c would cut it there, so "amount\u0000x" would
 * read as "amount") and a body nesting more than FB_JSON_DEPTH - 1
 * containers, and notes negative integers below INT64_MIN.
 */

static int
fb_json_scan(fb_json_t *j, const char *body, size_t len, size_t *members)
{
    int              hex, neg, high, nul, key_nul;
    size_t           n, depth;
    uint32_t         u, cp;
    const char      *p, *last, *digits;
    unsigned char    c;
    fb_json_scan_e   state;

    state = sw_value;
    *members = 0;
    digits = NULL;
    neg = 0;
    high = 0;       /* a high surrogate escape waits for its low half */
    nul = 0;        /* the current string has \u0000 */
    key_nul = 0;    /* the last string had \u0000 and no token followed */
    u = 0;
    n = 0;
    depth = 0;      /* containers open; json-c checks that they match */

    last = body + len;

    for (p = body; p < last; p++) {
        c = (unsigned char) *p;

    again:

        switch (state) {

        case sw_value:

            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                break;
            }

            if (c == ':') {
                if (key_nul) {
                    return FB_ERROR;
                }

                (*members)++;
            }

            key_nul = 0;

            if (c >= '1' && c <= '9') {
                neg = 0;
                digits = p;
                state = sw_int;
                break;
            }

            switch (c) {
            case '"':
                nul = 0;
                state = sw_string;
                break;

            case '-':
                neg = 1;
                state = sw_minus;
                break;

            case '0':
                state = sw_zero;
                break;

            case '{': case '[':
                if (++depth >= FB_JSON_DEPTH) {
                    return FB_ERROR;
                }

                break;

            case '}': case ']':
                if (depth > 0) {
                    depth--;
                }

                break;

            case ',': case ':':
            case 't': case 'r': case 'u': case 'e':
            case 'f': case 'a': case 'l': case 's': case 'n':
                break;

            default:
                return FB_ERROR;
            }

            break;

        case sw_string:

            if (high && c != '\\') {
                return FB_ERROR;
            }

            if (c == '"') {
                key_nul = nul;
                state = sw_value;
                break;
            }

            if (c == '\\') {
                state = sw_escape;
                break;
            }

            if (c < 0x20) {
                return FB_ERROR;
            }

            if (c >= 0x80) {
                n = fb_utf8_decode(p, (size_t) (last - p), &cp);
                if (n == 0) {
                    return FB_ERROR;
                }

                p += n - 1;
            }

            break;

        case sw_escape:

            if (c == 'u') {
                u = 0;
                n = 0;
                state = sw_unicode;
                break;
            }

            if (high) {
                return FB_ERROR;
            }

            switch (c) {
            case '"': case '\\': case '/':
            case 'b': case 'f': case 'n': case 'r': case 't':
                state = sw_string;
                break;

            default:
                return FB_ERROR;
            }

            break;

        case sw_unicode:

            hex = fb_json_hex(c);
            if (hex < 0) {
                return FB_ERROR;
            }

            u = (u << 4) | (uint32_t) hex;

            if (++n < 4) {
                break;
            }

            if (u >= 0xDC00 && u <= 0xDFFF) {
                if (!high) {
                    return FB_ERROR;
                }

                high = 0;

            } else if (high) {
                return FB_ERROR;

            } else if (u >= 0xD800 && u <= 0xDBFF) {
                high = 1;

                /* The pair's code point has D800..DFFF in its low 16
                 * bits: json-c 0.16 takes it for a surrogate. */
                if ((u & 0x3E) == 0x36) {
                    j->bad_pair = 1;
                }

            } else if (u == 0) {
                nul = 1;
            }

            state = sw_string;
            break;

        case sw_minus:

            if (c == '0') {
                state = sw_zero;

            } else if (c >= '1' && c <= '9') {
                digits = p;
                state = sw_int;

            } else {
                return FB_ERROR;
            }

            break;

        case sw_zero:
        case sw_int:

            if (c >= '0' && c <= '9') {
                if (state == sw_zero) {
                    return FB_ERROR;
                }

                break;
            }

            if (c == '.') {
                state = sw_dot;
                break;
            }

            if (c == 'e' || c == 'E') {
                state = sw_exp;
                break;
            }

            if (state == sw_int && neg
                && fb_json_int64_min_exceeded(digits, (size_t) (p - digits)))
            {
                j->int64_min = 1;
            }

            state = sw_value;
            goto again;

        case sw_dot:

            if (c < '0' || c > '9') {
                return FB_ERROR;
            }

            state = sw_frac;
            break;

        case sw_frac:

            if (c >= '0' && c <= '9') {
                break;
            }

            if (c == 'e' || c == 'E') {
                state = sw_exp;
                break;
            }

            state = sw_value;
            goto again;

        case sw_exp:

            if (c == '+' || c == '-') {
                state = sw_exp_sign;
                break;
            }

            /* fall through */

        case sw_exp_sign:

            if (c < '0' || c > '9') {
                return FB_ERROR;
            }

            state = sw_exp_digits;
            break;

        case sw_exp_digits:

            if (c >= '0' && c <= '9') {
                break;
            }

            state = sw_value;
            goto again;
        }
    }

    /* a body may end after a number only if the number is complete */

    switch (state) {
    case sw_int:
        if (neg && fb_json_int64_min_exceeded(digits, (size_t) (p - digits))) {
            j->int64_min = 1;
        }

        return FB_OK;

    case sw_value:
    case sw_zero:
    case sw_frac:
    case sw_exp_digits:
        return FB_OK;

    default:
        return FB_ERROR;
    }
}


/*
 * Copies a body that fb_json_scan() accepted to out, with each surrogate
 * pair escape (\uD8xx\uDCxx: the scan saw to it that a low half follows
 * every high one) written as the code point's four UTF-8 bytes, which
 * JSON allows in a string as they are.  Every other byte and escape is
 * copied as it is; outside strings no backslash appears.  Returns the
 * copy's length, at most len.
 */
static size_t
fb_json_pairs_to_utf8(const char *body, size_t len, char *out)
{
    char        *o;
    uint32_t     hi, cp;
    const char  *p, *last;

    o = out;
    last = body + len;

    for (p = body; p < last; /* void */) {

        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }

        if (p[1] != 'u') {                          /* \" \\ \n ... */
            *o++ = *p++;
            *o++ = *p++;
            continue;
        }

        hi = fb_json_hex4(p + 2);
        if (hi < 0xD800 || hi > 0xDBFF) {
            memcpy(o, p, 6);
            o += 6;
            p += 6;
            continue;
        }

        cp = 0x10000 + ((hi - 0xD800) << 10) + (fb_json_hex4(p + 8) - 0xDC00);

        *o++ = (char) (0xF0 | (cp >> 18));
        *o++ = (char) (0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char) (0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char) (0x80 | (cp & 0x3F));
        p += 12;
    }

    return (size_t) (o - out);
}


/* The value of a hex digit, or -1. */
static int
fb_json_hex(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}


/* Four hex digits, already checked by fb_json_scan(). */
static uint32_t
fb_json_hex4(const char *p)
{
    int       i;
    uint32_t  u;

    u = 0;
    for (i = 0; i < 4; i++) {
        u = (u << 4) | (uint32_t) fb_json_hex((unsigned char) p[i]);
    }

    return u;
}


/* Whether -digits (n digits, no leading zero) is below INT64_MIN. */

static int
fb_json_int64_min_exceeded(const char *digits, size_t n)
{
    static const char  min[] = "9223372036854775808";

    if (n != sizeof(min) - 1) {
        return n > sizeof(min) - 1;
    }

    return memcmp(digits, min, n) > 0;
}


/* Counts the members of every object under o, o included. */

static size_t
fb_json_members(json_object *o)
{
    size_t            n, i, len;
    struct lh_entry  *e;

    n = 0;

    switch (json_object_get_type(o)) {

    case json_type_object:
        for (e = lh_table_head(json_object_get_object(o));
             e != NULL;
             e = lh_entry_next(e))
        {
            n += 1 + fb_json_members((json_object *) lh_entry_v(e));
        }

        return n;

    case json_type_array:
        len = json_object_array_length(o);

        for (i = 0; i < len; i++) {
            n += fb_json_members(json_object_array_get_idx(o, i));
        }

        return n;

    default:
        return 0;
    }
}


static fb_json_rc_e
fb_json_get(fb_json_t *j, const char *key, json_type type, json_object **v)
{
    if (j->obj == NULL) {
        return FB_JSON_INVALID;
    }

    if (!json_object_object_get_ex(j->obj, key, v)) {
        return FB_JSON_MISSING;
    }

    /* a JSON null is stored as NULL, which is_type calls json_type_null */

    if (!json_object_is_type(*v, type)) {
        return FB_JSON_WRONG_TYPE;
    }

    return FB_JSON_OK;
}


fb_json_rc_e
fb_json_get_int64(fb_json_t *j, const char *key, int64_t *out)
{
    int64_t        i;
    json_object   *v;
    fb_json_rc_e   rc;

    rc = fb_json_get(j, key, json_type_int, &v);
    if (rc != FB_JSON_OK) {
        return rc;
    }

    /*
     * json-c keeps 2^63 .. 2^64-1 as a uint64 (and saturates larger ones
     * to 2^64-1), for which get_int64 saturates to INT64_MAX; it stores
     * anything below INT64_MIN as INT64_MIN, which the scan noted.
     */

    i = json_object_get_int64(v);

    if (i == INT64_MAX && json_object_get_uint64(v) > (uint64_t) INT64_MAX) {
        return FB_JSON_RANGE;
    }

    if (i == INT64_MIN && j->int64_min) {
        return FB_JSON_RANGE;
    }

    *out = i;

    return FB_JSON_OK;
}


fb_json_rc_e
fb_json_get_string(fb_json_t *j, const char *key, fb_str_t *out)
{
    json_object   *v;
    fb_json_rc_e   rc;

    rc = fb_json_get(j, key, json_type_string, &v);
    if (rc != FB_JSON_OK) {
        return rc;
    }

    /* strings may hold \u0000: the length comes from json-c, not strlen */

    out->data = json_object_get_string(v);
    out->len = (size_t) json_object_get_string_len(v);

    return FB_JSON_OK;
}


size_t
fb_json_escape(char *dst, size_t cap, const char *src, size_t len)
{
    size_t          i, n;
    unsigned char   c;

    static const char  hex[] = "0123456789abcdef";

    n = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) src[i];

        if (c == '"' || c == '\\') {
            if (cap - n < 2) {
                return (size_t) -1;
            }

            dst[n++] = '\\';
            dst[n++] = (char) c;

        } else if (c < 0x20) {
            if (cap - n < 6) {
                return (size_t) -1;
            }

            dst[n++] = '\\';
            dst[n++] = 'u';
            dst[n++] = '0';
            dst[n++] = '0';
            dst[n++] = hex[c >> 4];
            dst[n++] = hex[c & 0x0F];

        } else {
            if (cap - n < 1) {
                return (size_t) -1;
            }

            dst[n++] = (char) c;
        }
    }

    return n;
}
