/*
 * fuzz-json.c: request bodies: fb_json_parse() and its getters, the owner
 * rules (fb_owner_check) and the UTF-8 decoder, and the reply escaper.
 *
 * Promises checked: a getter answers only after a successful parse and
 * never both OK and a wrong type; a string read back holds U+FFFD only if
 * the body has one (json-c 0.16 makes one of some valid surrogate pairs,
 * fb_json.c); an owner slice accepted lies inside the
 * input, is trimmed, and holds 2..100 code points of valid UTF-8; the
 * decoder never reads past its bound; the escaper writes no more than it
 * is given room for and refuses, rather than truncates, when short.
 */

#include "fb_fuzz.h"

#include <string.h>
#include <strings.h>

#include "fb_json.h"
#include "fb_owner.h"

static fb_json_t  *json;
static char        escaped[6 * 8192 + 16];

static const char  *keys[] = { "owner", "amount", "from", "to", "id",
                               "balance", "" };


static void
fuzz_owner(const char *s, size_t len)
{
    size_t       i, n, cps;
    uint32_t     cp;
    fb_str_t     out;
    const char  *why = NULL;

    if (fb_owner_check(s, len, &out, &why) != FB_OK) {
        fb_fuzz_assert(why != NULL && why[0] != '\0');
        return;
    }

    fb_fuzz_assert(out.data >= s && out.data + out.len <= s + len);
    fb_fuzz_assert(out.len > 0);
    fb_fuzz_assert(out.data[0] != ' ' && out.data[0] != '\t'
                   && out.data[0] != '\r' && out.data[0] != '\n');
    fb_fuzz_assert(out.data[out.len - 1] != ' '
                   && out.data[out.len - 1] != '\t');

    cps = 0;
    for (i = 0; i < out.len; i += n) {
        n = fb_utf8_decode(out.data + i, out.len - i, &cp);
        fb_fuzz_assert(n >= 1 && n <= 4 && i + n <= out.len);
        fb_fuzz_assert(fb_unicode_is_letter(cp) || fb_unicode_is_digit(cp)
                       || cp == ' ' || cp == '.' || cp == '-' || cp == '\''
                       || cp == '_');
        cps++;
    }
    fb_fuzz_assert(cps >= FB_OWNER_MIN_CODEPOINTS
                   && cps <= FB_OWNER_MAX_CODEPOINTS);
}


static void
fuzz_escape(const char *s, size_t len)
{
    size_t  n, i, small;

    if (len > 8192) {
        len = 8192;
    }

    n = fb_json_escape(escaped, sizeof(escaped), s, len);
    fb_fuzz_assert(n != (size_t) -1 && n >= len && n <= 6 * len);

    for (i = 0; i < n; i++) {
        /* No raw control byte, no unescaped quote survives. */
        fb_fuzz_assert((unsigned char) escaped[i] >= 0x20);
        if (escaped[i] == '"') {
            fb_fuzz_assert(i > 0 && escaped[i - 1] == '\\');
        }
    }

    /* One byte short: refused, and nothing written past the room. */
    if (n > 0) {
        small = n - 1;
        fb_fuzz_assert(fb_json_escape(escaped, small, s, len)
                       == (size_t) -1);
    }
}


/* The body holds U+FFFD, raw or as an escape (or what looks like one). */
static int
has_replacement(const char *s, size_t len)
{
    size_t  i;

    if (memmem(s, len, "\xef\xbf\xbd", 3) != NULL) {
        return 1;
    }

    for (i = 0; i + 6 <= len; i++) {
        if (s[i] == '\\' && s[i + 1] == 'u'
            && strncasecmp(s + i + 2, "fffd", 4) == 0)
        {
            return 1;
        }
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t        i;
    int64_t       v;
    fb_str_t      str;
    fb_json_rc_e  rc, irc, src;
    const char   *s = (const char *) data;

    if (json == NULL) {
        json = fb_json_new();
        fb_fuzz_assert(json != NULL);
    }

    fuzz_owner(s, size);
    fuzz_escape(s, size);

    rc = fb_json_parse(json, s, size);
    fb_fuzz_assert(rc == FB_JSON_OK || rc == FB_JSON_INVALID
                   || rc == FB_JSON_NOMEM);
    if (rc != FB_JSON_OK) {
        return 0;
    }

    for (i = 0; i < fb_nelems(keys); i++) {
        irc = fb_json_get_int64(json, keys[i], &v);
        src = fb_json_get_string(json, keys[i], &str);

        fb_fuzz_assert(irc != FB_JSON_INVALID && src != FB_JSON_INVALID);
        /* A field is an integer or a string, never both. */
        fb_fuzz_assert(!(irc == FB_JSON_OK && src == FB_JSON_OK));
        fb_fuzz_assert((irc == FB_JSON_MISSING) == (src == FB_JSON_MISSING));

        if (src == FB_JSON_OK) {
            fb_fuzz_assert(str.data != NULL || str.len == 0);
            fb_fuzz_assert(memmem(str.data, str.len, "\xef\xbf\xbd", 3)
                           == NULL || has_replacement(s, size));
            fuzz_owner(str.data, str.len);
        }
    }

    return 0;
}
