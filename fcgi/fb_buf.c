/*
 * fb_buf.c: growable byte buffers.
 */

#include "fb_core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fb_buf.h"
#include "fb_log.h"


int
fb_buf_init(fb_buf_t *b, size_t cap)
{
    b->len = 0;
    b->cap = cap;
    b->nomem = 0;
    b->data = malloc(cap);

    if (b->data == NULL) {
        fb_log(FB_LOG_ERR, 0, "malloc(%zu) failed", cap);
        b->cap = 0;
        return FB_ERROR;
    }

    return FB_OK;
}


void
fb_buf_free(fb_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->nomem = 0;
}


int
fb_buf_reserve(fb_buf_t *b, size_t n)
{
    char    *p;
    size_t   cap;

    if (b->cap - b->len >= n) {
        return FB_OK;
    }

    cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) {
            return FB_ERROR;
        }
        cap *= 2;
    }

    p = realloc(b->data, cap);
    if (p == NULL) {
        if (!b->nomem) {
            b->nomem = 1;
            fb_log(FB_LOG_ERR, 0, "realloc(%zu) failed", cap);
        }
        return FB_ERROR;
    }

    b->data = p;
    b->cap = cap;
    b->nomem = 0;
    return FB_OK;
}


int
fb_buf_append(fb_buf_t *b, const char *p, size_t n)
{
    if (fb_buf_reserve(b, n) != FB_OK) {
        return FB_ERROR;
    }

    memcpy(b->data + b->len, p, n);
    b->len += n;
    return FB_OK;
}


/* "00" to "99": two digits per division (Redis's ll2string, fmt's
 * format_decimal), half the divisions of one digit at a time. */
static const char  fb_digit_pairs[201] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";


/* The number of decimal digits of u, four at a time: the number is then
 * written in place, from its last digit, with no copy. */
static size_t
fb_digits(uint64_t u)
{
    size_t  n = 1;

    for ( ;; ) {
        if (u < 10) {
            return n;
        }
        if (u < 100) {
            return n + 1;
        }
        if (u < 1000) {
            return n + 2;
        }
        if (u < 10000) {
            return n + 3;
        }
        u /= 10000;
        n += 4;
    }
}


size_t
fb_format_int64(char *p, int64_t v)
{
    char      *t;
    size_t     n, d;
    uint64_t   u;

    /* The magnitude in unsigned arithmetic: -INT64_MIN does not fit. */
    u = v < 0 ? 0 - (uint64_t) v : (uint64_t) v;

    if (v < 0) {
        *p++ = '-';
    }

    n = fb_digits(u);
    t = p + n;

    while (u >= 100) {
        d = (size_t) (u % 100) * 2;
        u /= 100;
        t -= 2;
        t[0] = fb_digit_pairs[d];
        t[1] = fb_digit_pairs[d + 1];
    }

    if (u >= 10) {
        d = (size_t) u * 2;
        t[-2] = fb_digit_pairs[d];
        t[-1] = fb_digit_pairs[d + 1];
    } else {
        t[-1] = (char) ('0' + u);
    }

    return n + (v < 0);
}


int
fb_buf_append_int64(fb_buf_t *b, int64_t v)
{
    if (fb_buf_reserve(b, FB_INT64_LEN) != FB_OK) {
        return FB_ERROR;
    }

    b->len += fb_format_int64(b->data + b->len, v);
    return FB_OK;
}


int
fb_buf_printf(fb_buf_t *b, const char *fmt, ...)
{
    int      n;
    va_list  ap;

    for ( ;; ) {
        va_start(ap, fmt);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);

        if (n < 0) {
            return FB_ERROR;
        }

        if ((size_t) n < b->cap - b->len) {
            b->len += (size_t) n;
            return FB_OK;
        }

        /* Room for the text and vsnprintf's NUL, then format again. */
        if (fb_buf_reserve(b, (size_t) n + 1) != FB_OK) {
            return FB_ERROR;
        }
    }
}
