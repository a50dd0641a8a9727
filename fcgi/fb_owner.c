/*
 * fb_owner.c: the contract's owner-name rules, a strict UTF-8 decoder and
 * the Unicode letter and digit classes they rest on.
 */

#include "fb_core.h"
#include "fb_owner.h"
#include "fb_letters.h"


static int fb_unicode_in(const uint32_t (*ranges)[2], size_t n, uint32_t cp);
static int fb_owner_allowed(uint32_t cp);


size_t
fb_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
    size_t          len, i;
    uint32_t        c;
    unsigned char   b, lo, hi;

    if (n == 0) {
        return 0;
    }

    b = (unsigned char) s[0];

    if (b < 0x80) {
        *cp = b;
        return 1;
    }

    /*
     * The well-formed sequences of the Unicode standard, table 3-7.  The
     * bounds on the second byte exclude overlong forms (E0, F0),
     * surrogates (ED) and code points above U+10FFFF (F4); C0, C1 and
     * F5..FF never start a sequence, and 80..BF never start one either.
     */

    lo = 0x80;
    hi = 0xBF;

    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
        c = b & 0x1F;

    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        c = b & 0x0F;

        if (b == 0xE0) {
            lo = 0xA0;

        } else if (b == 0xED) {
            hi = 0x9F;
        }

    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        c = b & 0x07;

        if (b == 0xF0) {
            lo = 0x90;

        } else if (b == 0xF4) {
            hi = 0x8F;
        }

    } else {
        return 0;
    }

    if (n < len) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        b = (unsigned char) s[i];

        if (b < lo || b > hi) {
            return 0;
        }

        /* only the second byte has the narrowed bounds */
        lo = 0x80;
        hi = 0xBF;

        c = (c << 6) | (b & 0x3F);
    }

    *cp = c;
    return len;
}


int
fb_unicode_is_letter(uint32_t cp)
{
    if (cp < 0x80) {
        return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z');
    }

    return fb_unicode_in(fb_letter_ranges, fb_nelems(fb_letter_ranges), cp);
}


int
fb_unicode_is_digit(uint32_t cp)
{
    if (cp < 0x80) {
        return cp >= '0' && cp <= '9';
    }

    return fb_unicode_in(fb_digit_ranges, fb_nelems(fb_digit_ranges), cp);
}


static int
fb_unicode_in(const uint32_t (*ranges)[2], size_t n, uint32_t cp)
{
    size_t  lo, hi, mid;

    lo = 0;
    hi = n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (cp < ranges[mid][0]) {
            hi = mid;

        } else if (cp > ranges[mid][1]) {
            lo = mid + 1;

        } else {
            return 1;
        }
    }

    return 0;
}


static int
fb_owner_allowed(uint32_t cp)
{
    switch (cp) {
    case ' ':
    case '.':
    case '-':
    case '\'':
    case '_':
        return 1;
    }

    return fb_unicode_is_letter(cp) || fb_unicode_is_digit(cp);
}


int
fb_owner_check(const char *in, size_t len, fb_str_t *out, const char **why)
{
    size_t       n, count;
    uint32_t     cp;
    const char  *p, *first, *last;

    p = in;
    last = in + len;

    /* only these four are trimmed; any other white space is refused below */

    while (p < last
           && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    {
        p++;
    }

    while (last > p
           && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == '\r'
               || last[-1] == '\n'))
    {
        last--;
    }

    first = p;

    for (count = 0; p < last; p += n) {

        if (++count > FB_OWNER_MAX_CODEPOINTS) {
            *why = "owner must be 2 to 100 characters";
            return FB_DECLINED;
        }

        n = fb_utf8_decode(p, (size_t) (last - p), &cp);

        if (n == 0) {
            *why = "owner is not valid UTF-8";
            return FB_DECLINED;
        }

        if (!fb_owner_allowed(cp)) {
            *why = "owner may contain only letters, digits, spaces"
                   " and . - ' _";
            return FB_DECLINED;
        }
    }

    if (count < FB_OWNER_MIN_CODEPOINTS) {
        *why = "owner must be 2 to 100 characters";
        return FB_DECLINED;
    }

    out->data = first;
    out->len = (size_t) (last - first);

    return FB_OK;
}
