/*
 * test-json.c: strict request-body parsing, the typed getters and the
 * reply string escaper.
 *
 * All tests share one fb_json_t, as a worker thread does, so every parse
 * also checks that the previous one left nothing behind.  Bodies are
 * copied to exact-size heap buffers: a read past len shows under
 * AddressSanitizer, and the parsed object must not point into the body.
 */

#include "fb_core.h"
#include "fb_buf.h"
#include "fb_json.h"
#include "fb_owner.h"

#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "fb_cunit.h"
#include "fb_jtest.h"


static fb_json_t  *j;

#define parse(s)        parse_n((s), sizeof(s) - 1)
#define amount(s, v)    get_int((s), sizeof(s) - 1, "amount", (v))
#define owner(s, v)     get_str((s), sizeof(s) - 1, "owner", (v))
#define owner_is(s, w)  expect_owner(__LINE__, (s), sizeof(s) - 1, (w),      \
                                     sizeof(w) - 1)


static int suite_init(void);
static void every_pair(void);
static int suite_clean(void);
static fb_json_rc_e parse_n(const char *s, size_t len);
static fb_json_rc_e get_int(const char *s, size_t len, const char *key,
    int64_t *v);
static fb_json_rc_e get_str(const char *s, size_t len, const char *key,
    fb_str_t *v);
static void expect_owner(int line, const char *s, size_t len,
    const char *want, size_t n);
static char *nested(size_t depth, size_t *len);


static int
suite_init(void)
{
    j = fb_json_new();

    return j == NULL;
}


static int
suite_clean(void)
{
    fb_json_free(j);
    j = NULL;

    return 0;
}


static fb_json_rc_e
parse_n(const char *s, size_t len)
{
    char          *copy;
    fb_json_rc_e   rc;

    copy = malloc(len ? len : 1);
    CU_ASSERT_FATAL(copy != NULL);
    memcpy(copy, s, len);

    rc = fb_json_parse(j, copy, len);

    /* poison the body: nothing parsed may still point into it */
    memset(copy, '#', len);
    free(copy);

    return rc;
}


/*
 * Parses s, which must be a valid body (-1 if it is not), and reads key as
 * an integer, or as a string.
 */

static fb_json_rc_e
get_int(const char *s, size_t len, const char *key, int64_t *v)
{
    return parse_n(s, len) != FB_JSON_OK ? (fb_json_rc_e) -1
                                         : fb_json_get_int64(j, key, v);
}


static fb_json_rc_e
get_str(const char *s, size_t len, const char *key, fb_str_t *v)
{
    return parse_n(s, len) != FB_JSON_OK ? (fb_json_rc_e) -1
                                         : fb_json_get_string(j, key, v);
}


/*
 * The body s parses and its "owner" is exactly the n bytes of want (NULs
 * included); owner_is() passes the caller's line, printed on a failure.
 */

static void
expect_owner(int line, const char *s, size_t len, const char *want, size_t n)
{
    fb_str_t      v = { 0, "" };
    fb_json_rc_e  rc;

    rc = get_str(s, len, "owner", &v);

    CU_ASSERT_EQUAL(rc, FB_JSON_OK);
    CU_ASSERT_EQUAL(v.len, n);
    CU_ASSERT(v.len == n && memcmp(v.data, want, n) == 0);

    if (rc != FB_JSON_OK || v.len != n || memcmp(v.data, want, n) != 0) {
        fprintf(stderr, "\n  line %d: owner of %.*s: rc %d, %zu bytes\n",
                line, (int) len, s, (int) rc, v.len);
    }
}


/* {"a":[[...[1]...]]}: depth containers in all, the top object included. */

static char *
nested(size_t depth, size_t *len)
{
    char    *s, *p;
    size_t   i;

    s = malloc(2 * depth + 8);
    CU_ASSERT_FATAL(s != NULL);

    p = s;
    memcpy(p, "{\"a\":", 5);
    p += 5;

    for (i = 1; i < depth; i++) {
        *p++ = '[';
    }

    *p++ = '1';

    for (i = 1; i < depth; i++) {
        *p++ = ']';
    }

    *p++ = '}';
    *len = (size_t) (p - s);

    return s;
}


static void
test_int_ok(void)
{
    int64_t  v;

    v = -1;
    CU_ASSERT_EQUAL(amount("{\"amount\":10}", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 10);
    CU_ASSERT_EQUAL(amount("{\"amount\":0}", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 0);
    v = -1;
    CU_ASSERT_EQUAL(amount("{\"amount\":-0}", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(amount("{\"amount\":-5}", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, -5);
    CU_ASSERT_EQUAL(amount("{\"amount\":1000000}", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 1000000);

    CU_ASSERT_EQUAL(get_int("{\"from\":12345,\"to\":67890,\"amount\":1000}",
                            sizeof("{\"from\":12345,\"to\":67890,"
                                   "\"amount\":1000}") - 1,
                            "to", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 67890);
    CU_ASSERT_EQUAL(fb_json_get_int64(j, "from", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 12345);
    CU_ASSERT_EQUAL(fb_json_get_int64(j, "amount", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 1000);
}


static void
test_int_range(void)
{
    int64_t  v;

    /* the edges of int64 are integers */
    CU_ASSERT_EQUAL(amount("{\"amount\":9223372036854775807}", &v),
                    FB_JSON_OK);
    CU_ASSERT_EQUAL(v, INT64_MAX);
    CU_ASSERT_EQUAL(amount("{\"amount\":-9223372036854775808}", &v),
                    FB_JSON_OK);
    CU_ASSERT_EQUAL(v, INT64_MIN);
    CU_ASSERT_EQUAL(amount("{\"amount\":9223372036854775806}", &v),
                    FB_JSON_OK);
    CU_ASSERT_EQUAL(v, INT64_MAX - 1);

    /* one past them is out of range, never saturated */
    v = 7;
    CU_ASSERT_EQUAL(amount("{\"amount\":9223372036854775808}", &v),
                    FB_JSON_RANGE);
    CU_ASSERT_EQUAL(amount("{\"amount\":-9223372036854775809}", &v),
                    FB_JSON_RANGE);
    CU_ASSERT_EQUAL(amount("{\"amount\":18446744073709551615}", &v),
                    FB_JSON_RANGE);
    CU_ASSERT_EQUAL(amount("{\"amount\":18446744073709551616}", &v),
                    FB_JSON_RANGE);
    CU_ASSERT_EQUAL(amount("{\"amount\":99999999999999999999999}", &v),
                    FB_JSON_RANGE);
    CU_ASSERT_EQUAL(amount("{\"amount\":-10000000000000000000}", &v),
                    FB_JSON_RANGE);
    CU_ASSERT_EQUAL(amount("{\"amount\":-99999999999999999999999}", &v),
                    FB_JSON_RANGE);
    CU_ASSERT_EQUAL(v, 7);

    /* a 19-digit negative below the limit is fine */
    CU_ASSERT_EQUAL(amount("{\"amount\":-1000000000000000000}", &v),
                    FB_JSON_OK);
    CU_ASSERT_EQUAL(v, -1000000000000000000LL);

    /*
     * An overflowing negative elsewhere in the body makes INT64_MIN
     * itself ambiguous (json-c stores both alike): refused, which is
     * the safe side.  Other keys are unaffected.
     */
    CU_ASSERT_EQUAL(amount("{\"amount\":-9223372036854775808,"
                           "\"x\":-9223372036854775809,\"y\":5}", &v),
                    FB_JSON_RANGE);
    CU_ASSERT_EQUAL(fb_json_get_int64(j, "y", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 5);

    /* a positive overflow is kept apart by json-c (as a uint64): it
     * leaves INT64_MIN alone */
    CU_ASSERT_EQUAL(amount("{\"amount\":-9223372036854775808,"
                           "\"x\":9223372036854775809}", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, INT64_MIN);
    CU_ASSERT_EQUAL(fb_json_get_int64(j, "x", &v), FB_JSON_RANGE);

    /* the flag does not outlive its body */
    CU_ASSERT_EQUAL(amount("{\"amount\":-9223372036854775808}", &v),
                    FB_JSON_OK);
    CU_ASSERT_EQUAL(v, INT64_MIN);
}


static void
test_int_wrong_type(void)
{
    int64_t  v;

    v = 7;
    CU_ASSERT_EQUAL(amount("{\"amount\":10.5}", &v), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(amount("{\"amount\":10.0}", &v), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(amount("{\"amount\":\"10\"}", &v), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(amount("{\"amount\":true}", &v), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(amount("{\"amount\":false}", &v), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(amount("{\"amount\":null}", &v), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(amount("{\"amount\":1e3}", &v), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(amount("{\"amount\":1E+3}", &v), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(amount("{\"amount\":1e-3}", &v), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(amount("{\"amount\":-0.0}", &v), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(amount("{\"amount\":1e999}", &v), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(amount("{\"amount\":[10]}", &v), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(amount("{\"amount\":{\"v\":10}}", &v),
                    FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(v, 7);
}


static void
test_missing(void)
{
    int64_t   v;
    fb_str_t  s;

    /* keys are case-sensitive */
    CU_ASSERT_EQUAL(amount("{\"Amount\":10}", &v), FB_JSON_MISSING);
    CU_ASSERT_EQUAL(amount("{\"AMOUNT\":10}", &v), FB_JSON_MISSING);
    CU_ASSERT_EQUAL(amount("{\"amount \":10}", &v), FB_JSON_MISSING);
    CU_ASSERT_EQUAL(amount("{}", &v), FB_JSON_MISSING);
    CU_ASSERT_EQUAL(fb_json_get_string(j, "owner", &s), FB_JSON_MISSING);

    /* only top-level keys count */
    CU_ASSERT_EQUAL(amount("{\"x\":{\"amount\":10}}", &v), FB_JSON_MISSING);

    /* no successful parse, nothing to read */
    CU_ASSERT_EQUAL(parse("{\"amount\":10"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(fb_json_get_int64(j, "amount", &v), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(fb_json_get_string(j, "amount", &s), FB_JSON_INVALID);
}


static void
test_not_an_object(void)
{
    CU_ASSERT_EQUAL(parse("{}"), FB_JSON_OK);

    CU_ASSERT_EQUAL(parse(""), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse(" \r\n\t"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("[1]"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("[]"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("1"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("-1"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("1.5"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("\"x\""), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("null"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("true"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("false"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("}"), FB_JSON_INVALID);
}


static void
test_trailing(void)
{
    int64_t  v;

    /* JSON white space around the object is fine */
    CU_ASSERT_EQUAL(amount(" \t\r\n{\"amount\":10}\r\n\t ", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 10);
    v = -1;
    CU_ASSERT_EQUAL(amount("{ \"amount\" : 10 }", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 10);

    /* anything else is not */
    CU_ASSERT_EQUAL(parse("{\"a\":1}x"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1}{\"b\":2}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1} {\"b\":2}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1}1"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1}}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1}\"\""), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1}\0"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1}\f"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("\v{\"a\":1}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("\xef\xbb\xbf{\"a\":1}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1}\xc2\xa0"), FB_JSON_INVALID);

    /* the length is what counts, not a NUL */
    CU_ASSERT_EQUAL(parse_n("{\"amount\":12}garbage", 13), FB_JSON_OK);
    CU_ASSERT_EQUAL(fb_json_get_int64(j, "amount", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 12);
    CU_ASSERT_EQUAL(parse_n("{\"amount\":12}", 12), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse_n("{\"amount\":12}", 11), FB_JSON_INVALID);
}


static void
test_not_json(void)
{
    /* json-c's STRICT mode lets these through; they are not JSON */
    CU_ASSERT_EQUAL(parse("{'amount':5}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"amount\":'5'}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"amount\":NaN}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"amount\":Infinity}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"amount\":-Infinity}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":[1,NaN]}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":{\"b\":Infinity}}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":00}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":-00}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1.}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1.e3}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":\"tab\there\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":\"line\nbreak\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":\"\x01\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":\"\x1f\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":\"nul\0inside\"}"), FB_JSON_INVALID);

    /* and these json-c refuses by itself */
    CU_ASSERT_EQUAL(parse("{\"a\":1,}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{,\"a\":1}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":[1,]}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":010}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":01}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":-01}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":.5}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":+1}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":-}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":--1}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1e}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1e+}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":0x10}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":nan}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":True}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":nul}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":tru}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":e}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{a:1}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\" 1}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\"::1}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1 \"b\":2}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{/* c */\"a\":1}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1 // c\n}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":\"unterminated}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":\"\\x41\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":\"\\'\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":\"\\u12\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":\"\\u12g4\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1true}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":truefalse}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":[1 2]}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":\"x\" \"y\"}"), FB_JSON_INVALID);

    /* the scan must not refuse what is valid near those */
    CU_ASSERT_EQUAL(parse("{\"a\":[true,false,null,0,-0,0.5,-1.5e-3,"
                          "2E+10,\"'\",\"NaN\"]}"), FB_JSON_OK);
    CU_ASSERT_EQUAL(parse("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"}"),
                    FB_JSON_OK);
    CU_ASSERT_EQUAL(parse("{\"a\":\"\\u0041\\uABCD\\uabcd\"}"), FB_JSON_OK);
    CU_ASSERT_EQUAL(parse("{\"a\":[0e5,-0e-0,0.0,1E5,{},[],\"\"],\"\":1}"),
                    FB_JSON_OK);
}


static void
test_utf8(void)
{
    owner_is("{\"owner\":\"\xe6\x9d\x8e\xe5\xb0\x8f\"}",
             "\xe6\x9d\x8e\xe5\xb0\x8f");

    /* bytes json-c's own check lets through: overlong, surrogate, too big */
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\xc0\xaf\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\xed\xa0\x80\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\xf4\x90\x80\x80\"}"),
                    FB_JSON_INVALID);

    /* and bytes it catches */
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\xff\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"a\x80" "b\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"ab\xc3\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"ab\xc3"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"\xc0\xaf\":1}"), FB_JSON_INVALID);

    /* outside strings, no byte above 0x7F */
    CU_ASSERT_EQUAL(parse("{\"a\":1\xe2\x80\x83}"), FB_JSON_INVALID);
}


static void
test_surrogates(void)
{
    /* json-c 0.16 turns each of these into U+FFFD; they are refused */
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\ud800\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\uD800\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\udbff\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\udc00\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\udfff\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"ab\\ud800\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\ud800x\"}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\ud800\\u0041\"}"),
                    FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\ud800\\ud800\"}"),
                    FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\ude00\\ud83d\"}"),
                    FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\ud800\\n\"}"), FB_JSON_INVALID);

    /* nothing but its low half may follow a high half: not another
     * escape, nor a \u that is no low half, with a low half after it
     * (D837 also takes the path that rewrites pairs as UTF-8) */
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\ud800\\n\\udc00\"}"),
                    FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\ud837\\\\\\udf00\"}"),
                    FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\ud800\\u0041\\udc00\"}"),
                    FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\ud800\\ud800\\udc00\"}"),
                    FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\ud837\\u00e9\\udf00\"}"),
                    FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"\\ud800\":1}"), FB_JSON_INVALID);

    /* a high-low pair is one code point; D7FF and E000 are not halves */
    owner_is("{\"owner\":\"\\ud83d\\ude00\"}", "\xf0\x9f\x98\x80");
    owner_is("{\"owner\":\"\\uDBFF\\uDFFF\"}", "\xf4\x8f\xbf\xbf");
    owner_is("{\"owner\":\"\\ud7ff\\ue000\"}", "\xed\x9f\xbf\xee\x80\x80");

    /* json-c 0.16 takes pairs whose code point ends in D800..DFFF for a
     * surrogate (U+1DF00 of Latin Extended-G, U+2D800 of CJK Extension F);
     * fb_json_parse hands it such pairs as UTF-8 */
    owner_is("{\"owner\":\"ab\\ud837\\udf00\"}", "ab\xf0\x9d\xbc\x80");
    owner_is("{\"owner\":\"\\u674e\\ud876\\udc00\"}",
             "\xe6\x9d\x8e\xf0\xad\xa0\x80");
    /* with other escapes and pairs around it, and a key that has one */
    owner_is("{\"\\ud876\\udc00\":1,"
             "\"owner\":\"\\\\u\\\"\\ud83d\\ude00\\ud836\\udc00\\u00e9\\n\"}",
             "\\u\"\xf0\x9f\x98\x80\xf0\x9d\xa0\x80\xc3\xa9\n");
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\ud837\\udf00\",\"owner\":\"x\"}"),
                    FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"owner\":\"\\ud837\\udf00\"} x"),
                    FB_JSON_INVALID);

    every_pair();
}


/*
 * Every high half, with three low ones each: the owner is the code point's
 * UTF-8, worked out here from the code point.
 */
static void
every_pair(void)
{
    int           bad = 0;
    char          body[64], want[4];
    size_t        len;
    uint32_t      hi, cp;
    fb_str_t      v;
    unsigned      k;
    fb_json_rc_e  rc;
    static const uint32_t  lows[] = { 0xDC00, 0xDE5A, 0xDFFF };

    for (hi = 0xD800; hi <= 0xDBFF; hi++) {
        for (k = 0; k < sizeof(lows) / sizeof(lows[0]); k++) {
            len = (size_t) snprintf(body, sizeof(body),
                                    "{\"owner\":\"\\u%04X\\u%04x\"}",
                                    hi, lows[k]);
            cp = 0x10000 + (hi - 0xD800) * 0x400 + (lows[k] - 0xDC00);
            want[0] = (char) (0xF0 + cp / 0x40000);
            want[1] = (char) (0x80 + cp / 0x1000 % 0x40);
            want[2] = (char) (0x80 + cp / 0x40 % 0x40);
            want[3] = (char) (0x80 + cp % 0x40);

            rc = get_str(body, len, "owner", &v);
            if (rc != FB_JSON_OK || v.len != 4 || memcmp(v.data, want, 4) != 0)
            {
                if (bad++ < 5) {
                    fprintf(stderr, "\n  %s: rc %d, %zu bytes\n", body,
                            (int) rc, rc == FB_JSON_OK ? v.len : 0);
                }
            }
        }
    }

    CU_ASSERT_EQUAL(bad, 0);
}


static void
test_duplicates(void)
{
    int64_t  v;

    CU_ASSERT_EQUAL(parse("{\"a\":1,\"a\":2}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"amount\":1,\"amount\":1000000}"),
                    FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":1,\"b\":2,\"a\":1}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"x\":{\"a\":1,\"a\":2}}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"x\":[{\"a\":1,\"a\":1}]}"), FB_JSON_INVALID);

    /* the same key in different objects is no duplicate */
    CU_ASSERT_EQUAL(parse("{\"x\":{\"a\":1},\"y\":{\"a\":2},\"a\":3}"),
                    FB_JSON_OK);
    CU_ASSERT_EQUAL(parse("{\"x\":[{\"a\":1},{\"a\":2}]}"), FB_JSON_OK);

    /* a ':' inside a string is no member */
    CU_ASSERT_EQUAL(parse("{\"a:b\":1,\"c\":\"d:e\"}"), FB_JSON_OK);
    CU_ASSERT_EQUAL(amount("{\"x\":\"::\",\"amount\":3}", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 3);

    /* json-c cuts keys at \u0000: "amount\u0000x" would read as amount */
    CU_ASSERT_EQUAL(parse("{\"amount\\u0000x\":5}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"amount\\u0000\" \t:5}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"x\":{\"\\u0000\":5}}"), FB_JSON_INVALID);
}


static void
test_strings(void)
{
    fb_str_t  s;

    owner_is("{\"owner\":\"Alice\"}", "Alice");
    owner_is("{\"owner\":\"\"}", "");

    /* escapes decode; \u0000 is kept and counted */
    owner_is("{\"owner\":\"a\\\"b\\\\c\\/d\\te\"}", "a\"b\\c/d\te");
    owner_is("{\"owner\":\"Al\\u0000ice\"}", "Al\0ice");
    owner_is("{\"owner\":\"\\u00e9\\u4e2d\"}", "\xc3\xa9\xe4\xb8\xad");

    /* the other types are not strings */
    CU_ASSERT_EQUAL(owner("{\"owner\":1}", &s), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(owner("{\"owner\":null}", &s), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(owner("{\"owner\":true}", &s), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(owner("{\"owner\":[\"A\"]}", &s), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(owner("{\"owner\":{}}", &s), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(owner("{\"Owner\":\"Alice\"}", &s), FB_JSON_MISSING);
}


/* A body through the parser and the owner rules, as the handler does. */

static int
owner_of(const char *body, size_t len)
{
    fb_str_t     s, out;
    const char  *why;

    if (parse_n(body, len) != FB_JSON_OK
        || fb_json_get_string(j, "owner", &s) != FB_JSON_OK)
    {
        return FB_ERROR;
    }

    return fb_owner_check(s.data, s.len, &out, &why);
}

#define owner_body(s)  owner_of((s), sizeof(s) - 1)


static void
test_owner_bodies(void)
{
    CU_ASSERT_EQUAL(owner_body("{\"owner\":\" Zo\\u00eb O'Brien\\n\"}"),
                    FB_OK);
    CU_ASSERT_EQUAL(owner_body("{\"owner\":\"tab\\tname\"}"), FB_DECLINED);
    CU_ASSERT_EQUAL(owner_body("{\"owner\":\"Al\\u0000ice\"}"), FB_DECLINED);
    CU_ASSERT_EQUAL(owner_body("{\"owner\":\"Bob\\ud83d\\ude00\"}"),
                    FB_DECLINED);
    CU_ASSERT_EQUAL(owner_body("{\"owner\":\"Al\\u200bice\"}"), FB_DECLINED);
    CU_ASSERT_EQUAL(owner_body("{\"owner\":\"\\ud800ab\"}"), FB_ERROR);
    CU_ASSERT_EQUAL(owner_body("{\"owner\":\"ab\\ufffd\"}"), FB_DECLINED);
}


static void
test_depth(void)
{
    char    *s;
    size_t   len;

    /* 7 containers, the top object included, parse; 8 do not */
    s = nested(7, &len);
    CU_ASSERT_EQUAL(parse_n(s, len), FB_JSON_OK);
    free(s);

    s = nested(8, &len);
    CU_ASSERT_EQUAL(parse_n(s, len), FB_JSON_INVALID);
    free(s);

    s = nested(1000, &len);
    CU_ASSERT_EQUAL(parse_n(s, len), FB_JSON_INVALID);
    free(s);

    CU_ASSERT_EQUAL(parse("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":"
                          "{\"g\":1}}}}}}}"), FB_JSON_OK);
    CU_ASSERT_EQUAL(parse("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":"
                          "{\"g\":{\"h\":1}}}}}}}}"), FB_JSON_INVALID);

    /* an empty container counts as one too: json-c alone lets an empty
     * eighth through, having nothing to parse inside it */
    CU_ASSERT_EQUAL(parse("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":"
                          "{\"g\":{}}}}}}}}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":[[[[[[[]]]]]]]}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":[[[[[[{}]]]]]]}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":[[[[[[]]]]]],\"b\":[[[[[{}]]]]]}"),
                    FB_JSON_OK);
    CU_ASSERT_EQUAL(parse("{\"a\":\"[[[[[[[[\",\"b\":[[[[[[1]]]]]]}"),
                    FB_JSON_OK);

    /* the tokener is usable again after the error */
    CU_ASSERT_EQUAL(parse("{\"a\":1}"), FB_JSON_OK);
}


static void
test_big_body(void)
{
    char      *s;
    size_t     n;
    int64_t    v;
    fb_str_t   owner;

    static const char  head[] = "{\"owner\":\"Alice\",\"amount\":42,\"pad\":\"";

    /* 4096 bytes: the largest body the contract accepts */
    s = malloc(4096);
    CU_ASSERT_FATAL(s != NULL);

    n = sizeof(head) - 1;
    memcpy(s, head, n);
    memset(s + n, 'x', 4096 - n - 2);
    memcpy(s + 4094, "\"}", 2);

    CU_ASSERT_EQUAL(parse_n(s, 4096), FB_JSON_OK);
    CU_ASSERT_EQUAL(fb_json_get_string(j, "owner", &owner), FB_JSON_OK);
    CU_ASSERT_EQUAL(owner.len, 5);
    CU_ASSERT_EQUAL(fb_json_get_int64(j, "amount", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(fb_json_get_string(j, "pad", &owner), FB_JSON_OK);
    CU_ASSERT_EQUAL(owner.len, 4096 - n - 2);

    /* and one of white space after a small object */
    memset(s, ' ', 4096);
    memcpy(s, "{\"amount\":7}", 12);
    CU_ASSERT_EQUAL(parse_n(s, 4096), FB_JSON_OK);
    CU_ASSERT_EQUAL(fb_json_get_int64(j, "amount", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 7);

    free(s);
}


static void
test_reuse(void)
{
    int64_t  v;

    CU_ASSERT_EQUAL(amount("{\"amount\":1}", &v), FB_JSON_OK);

    /* a failed parse drops the previous object */
    CU_ASSERT_EQUAL(parse("{\"amount\":2"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(fb_json_get_int64(j, "amount", &v), FB_JSON_INVALID);

    /* an incomplete body leaves no state for the next one */
    CU_ASSERT_EQUAL(parse("{\"amount\":"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(amount("{\"amount\":3}", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 3);

    /* the STRICT flag survives json_tokener_reset() */
    CU_ASSERT_EQUAL(parse("{\"a\":1,}"), FB_JSON_INVALID);
    CU_ASSERT_EQUAL(parse("{\"a\":[1,]}"), FB_JSON_INVALID);

    fb_json_free(NULL);
}


/*
 * The parse puts the thread's own locale back, whatever it is: the
 * process's global one (a thread's default), or one set with uselocale(),
 * here C.UTF-8, which Debian always has; and it parses the same in either.
 * That it runs in glibc's C locale object is not seen from outside (json-c
 * switches to a C locale by itself otherwise, only slower): BENCHMARKS.md
 * "json-c's locale" measures it.
 */
static void
test_locale(void)
{
    int64_t   v;
    locale_t  mine, before;

    before = uselocale((locale_t) 0);
    CU_ASSERT_EQUAL(amount("{\"amount\":12}", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, 12);
    CU_ASSERT(uselocale((locale_t) 0) == before);

    mine = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t) 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mine);
    CU_ASSERT(uselocale(mine) == before);

    CU_ASSERT_EQUAL(amount("{\"amount\":-34}", &v), FB_JSON_OK);
    CU_ASSERT_EQUAL(v, -34);
    CU_ASSERT(uselocale((locale_t) 0) == mine);
    CU_ASSERT_EQUAL(parse("{\"amount\":1.5}"), FB_JSON_OK);
    CU_ASSERT_EQUAL(fb_json_get_int64(j, "amount", &v), FB_JSON_WRONG_TYPE);
    CU_ASSERT_EQUAL(parse("{\"amount\":"), FB_JSON_INVALID);
    CU_ASSERT(uselocale((locale_t) 0) == mine);

    CU_ASSERT(uselocale(before) == mine);
    freelocale(mine);
}


#define escape(src, dst, cap)  fb_json_escape((dst), (cap), (src),         \
                                              sizeof(src) - 1)

static void
test_escape(void)
{
    size_t  n;
    char    buf[64];

    memset(buf, 'Z', sizeof(buf));
    n = escape("Alice", buf, sizeof(buf));
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_EQUAL(memcmp(buf, "AliceZ", 6), 0);

    n = escape("a\"b\\c/d", buf, sizeof(buf));
    CU_ASSERT_EQUAL(n, 9);
    CU_ASSERT_EQUAL(memcmp(buf, "a\\\"b\\\\c/d", 9), 0);

    n = escape("\x01\x1f\n\t\0 \x7f", buf, sizeof(buf));
    CU_ASSERT_EQUAL(n, 32);
    CU_ASSERT_EQUAL(memcmp(buf, "\\u0001\\u001f\\u000a\\u0009\\u0000 \x7f",
                           32), 0);

    /* UTF-8 passes through untouched */
    n = escape("Zo\xc3\xab \xf0\x9f\x98\x80", buf, sizeof(buf));
    CU_ASSERT_EQUAL(n, 9);
    CU_ASSERT_EQUAL(memcmp(buf, "Zo\xc3\xab \xf0\x9f\x98\x80", 9), 0);

    /* exactly enough room, then one byte short, for each kind; no NUL */
    memset(buf, 'Z', sizeof(buf));
    CU_ASSERT_EQUAL(escape("ab", buf, 2), 2);
    CU_ASSERT_EQUAL(buf[2], 'Z');
    CU_ASSERT_EQUAL(escape("ab", buf, 1), (size_t) -1);
    CU_ASSERT_EQUAL(escape("a\"", buf, 3), 3);
    CU_ASSERT_EQUAL(escape("a\"", buf, 2), (size_t) -1);
    CU_ASSERT_EQUAL(escape("a\n", buf, 7), 7);
    CU_ASSERT_EQUAL(escape("a\n", buf, 6), (size_t) -1);
    CU_ASSERT_EQUAL(escape("", buf, 0), 0);
    CU_ASSERT_EQUAL(escape("a", buf, 0), (size_t) -1);
}


/* Every byte escaped and read back by the parser comes out unchanged. */

static void
test_escape_round_trip(void)
{
    int        c;
    char       src[256], body[256 * 6 + 16];
    size_t     n, len;
    fb_str_t   s;

    /* the ASCII bytes, NUL included */
    for (c = 0; c < 128; c++) {
        src[c] = (char) c;
    }

    len = 0;
    memcpy(body, "{\"owner\":\"", 10);
    len += 10;

    n = fb_json_escape(body + len, sizeof(body) - len - 2, src, 128);
    CU_ASSERT_FATAL(n != (size_t) -1);
    len += n;

    memcpy(body + len, "\"}", 2);
    len += 2;

    CU_ASSERT_EQUAL_FATAL(parse_n(body, len), FB_JSON_OK);
    CU_ASSERT_EQUAL_FATAL(fb_json_get_string(j, "owner", &s), FB_JSON_OK);
    CU_ASSERT_EQUAL(s.len, 128);
    CU_ASSERT_EQUAL(memcmp(s.data, src, 128), 0);
}


/* fb_format_int64 against snprintf, at the edges and over the range. */

static void
check_int64(int64_t v)
{
    char    want[32], got[FB_INT64_LEN + 1];
    size_t  n;

    snprintf(want, sizeof(want), "%" PRId64, v);
    memset(got, 'Z', sizeof(got));
    n = fb_format_int64(got, v);

    CU_ASSERT_EQUAL(n, strlen(want));
    CU_ASSERT_EQUAL(memcmp(got, want, n), 0);
    CU_ASSERT_EQUAL(got[n < FB_INT64_LEN ? n : FB_INT64_LEN], 'Z');
}


static void
test_format_int64(void)
{
    int       i;
    int64_t   p;
    uint64_t  x;
    jt_rng_t  rng;

    check_int64(0);
    check_int64(INT64_MAX);
    check_int64(INT64_MIN);
    check_int64(INT64_MIN + 1);

    /* every length, both signs: 9, 10, 11, 99, 100, 101, ... */
    for (p = 1; p <= INT64_MAX / 10; p *= 10) {
        check_int64(p - 1);
        check_int64(p);
        check_int64(p + 1);
        check_int64(-p + 1);
        check_int64(-p);
        check_int64(-p - 1);
    }

    /* bits of every magnitude */
    jt_rng_seed(&rng, 1);
    for (i = 0; i < 100000; i++) {
        x = jt_rng_next(&rng);
        check_int64((int64_t) x);
        check_int64((int64_t) (x >> (x & 63)));
    }
}


static void
test_buf_append_int64(void)
{
    fb_buf_t  b;

    /* a buffer of one byte grows to hold the longest number */
    CU_ASSERT_EQUAL_FATAL(fb_buf_init(&b, 1), FB_OK);
    CU_ASSERT_EQUAL(fb_buf_append_lit(&b, "["), FB_OK);
    CU_ASSERT_EQUAL(fb_buf_append_int64(&b, INT64_MIN), FB_OK);
    CU_ASSERT_EQUAL(fb_buf_append_lit(&b, ","), FB_OK);
    CU_ASSERT_EQUAL(fb_buf_append_int64(&b, 0), FB_OK);
    CU_ASSERT_EQUAL(fb_buf_append_lit(&b, ","), FB_OK);
    CU_ASSERT_EQUAL(fb_buf_append_int64(&b, 42), FB_OK);
    CU_ASSERT_EQUAL(fb_buf_append_lit(&b, "]"), FB_OK);

    CU_ASSERT_EQUAL(b.len, 27);
    CU_ASSERT_EQUAL(memcmp(b.data, "[-9223372036854775808,0,42]", 27), 0);
    CU_ASSERT(b.cap >= b.len);
    fb_buf_free(&b);
}


/*
 * A number gets room for its longest form even where one byte less is
 * left, and a growth past SIZE_MAX is refused with the buffer as it was
 * (the doubling must stop before it wraps around).
 */
static void
test_buf_reserve(void)
{
    char      *p;
    fb_buf_t   b;

    CU_ASSERT_EQUAL_FATAL(fb_buf_init(&b, FB_INT64_LEN - 1), FB_OK);
    CU_ASSERT_EQUAL(fb_buf_append_int64(&b, INT64_MIN), FB_OK);
    CU_ASSERT_EQUAL(b.len, FB_INT64_LEN);
    CU_ASSERT(b.cap >= b.len);

    p = b.data;
    CU_ASSERT_EQUAL(fb_buf_reserve(&b, SIZE_MAX), FB_ERROR);
    CU_ASSERT_PTR_EQUAL(b.data, p);
    CU_ASSERT_EQUAL(fb_buf_append_lit(&b, "!"), FB_OK);
    CU_ASSERT_EQUAL(b.len, FB_INT64_LEN + 1);
    CU_ASSERT_EQUAL(memcmp(b.data, "-9223372036854775808!", b.len), 0);
    fb_buf_free(&b);
}


static CU_TestInfo  fb_json_tests[] = {
    { "integers", test_int_ok },
    { "integers beyond int64", test_int_range },
    { "not integers", test_int_wrong_type },
    { "missing keys", test_missing },
    { "top level not an object", test_not_an_object },
    { "trailing data", test_trailing },
    { "not JSON", test_not_json },
    { "UTF-8", test_utf8 },
    { "surrogate escapes", test_surrogates },
    { "duplicate keys", test_duplicates },
    { "strings", test_strings },
    { "owner bodies", test_owner_bodies },
    { "nesting depth", test_depth },
    { "4096-byte body", test_big_body },
    { "reuse", test_reuse },
    { "the thread's locale", test_locale },
    { "escape", test_escape },
    { "escape round trip", test_escape_round_trip },
    CU_TEST_INFO_NULL
};

static CU_TestInfo  fb_number_tests[] = {
    { "int64 in decimal", test_format_int64 },
    { "appended to a buffer", test_buf_append_int64 },
    { "a buffer's reservations", test_buf_reserve },
    CU_TEST_INFO_NULL
};

static CU_SuiteInfo  fb_suites[] = {
    { "json", suite_init, suite_clean, NULL, NULL, fb_json_tests },
    { "numbers", NULL, NULL, NULL, NULL, fb_number_tests },
    CU_SUITE_INFO_NULL
};


int
main(void)
{
    return fb_cunit_run_suites("test-json", fb_suites);
}
