/*
 * test-owner.c: the owner-name rules of the contract, the strict UTF-8
 * decoder and the Unicode letter and digit classes.
 */

#include "fb_core.h"
#include "fb_owner.h"
#include "fb_letters.h"

#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "fb_cunit.h"


#define FB_TOO_LONG   "owner must be 2 to 100 characters"
#define FB_BAD_CHAR   "owner may contain only letters, digits, spaces" \
                      " and . - ' _"
#define FB_BAD_UTF8   "owner is not valid UTF-8"

/* for literals: the length excludes the literal's own NUL only */
#define owner_ok(s)            (check_owner((s), sizeof(s) - 1, NULL) == FB_OK)
#define owner_why(s)           check_owner_why((s), sizeof(s) - 1)
#define decode(s, cp)          fb_utf8_decode((s), sizeof(s) - 1, (cp))


static int check_owner(const char *s, size_t len, fb_str_t *out);
static const char *check_owner_why(const char *s, size_t len);
static char *repeat(const char *unit, size_t times, size_t *len);


/*
 * Runs fb_owner_check on an exact-size heap copy, so that a read past the
 * end shows under AddressSanitizer.  *out, if wanted, is given as an
 * offset into s.
 */

static int
check_owner(const char *s, size_t len, fb_str_t *out)
{
    int          rc;
    char        *copy;
    fb_str_t     slice;
    const char  *why;

    copy = malloc(len ? len : 1);
    CU_ASSERT_FATAL(copy != NULL);
    memcpy(copy, s, len);

    why = NULL;
    slice.data = NULL;
    slice.len = 0;

    rc = fb_owner_check(copy, len, &slice, &why);

    if (rc == FB_OK) {
        CU_ASSERT(slice.data >= copy && slice.data + slice.len <= copy + len);
        if (out != NULL) {
            out->data = s + (slice.data - copy);
            out->len = slice.len;
        }

    } else {
        CU_ASSERT_EQUAL(rc, FB_DECLINED);
        CU_ASSERT(why != NULL && why[0] != '\0');
    }

    free(copy);

    return rc;
}


static const char *
check_owner_why(const char *s, size_t len)
{
    fb_str_t     out;
    const char  *why;

    why = NULL;

    if (fb_owner_check(s, len, &out, &why) == FB_OK) {
        return "(accepted)";
    }

    return why;
}


static char *
repeat(const char *unit, size_t times, size_t *len)
{
    size_t   i, n;
    char    *s;

    n = strlen(unit);
    s = malloc(n * times + 1);
    CU_ASSERT_FATAL(s != NULL);

    for (i = 0; i < times; i++) {
        memcpy(s + i * n, unit, n);
    }

    s[n * times] = '\0';
    *len = n * times;

    return s;
}


static void
test_utf8_valid(void)
{
    uint32_t  cp;

    CU_ASSERT_EQUAL(decode("A", &cp), 1);
    CU_ASSERT_EQUAL(cp, 0x41);
    CU_ASSERT_EQUAL(decode("\x00", &cp), 1);
    CU_ASSERT_EQUAL(cp, 0);
    CU_ASSERT_EQUAL(decode("\x7f", &cp), 1);
    CU_ASSERT_EQUAL(cp, 0x7F);

    /* the lowest and highest code point of each length */
    CU_ASSERT_EQUAL(decode("\xc2\x80", &cp), 2);
    CU_ASSERT_EQUAL(cp, 0x80);
    CU_ASSERT_EQUAL(decode("\xdf\xbf", &cp), 2);
    CU_ASSERT_EQUAL(cp, 0x7FF);
    CU_ASSERT_EQUAL(decode("\xe0\xa0\x80", &cp), 3);
    CU_ASSERT_EQUAL(cp, 0x800);
    CU_ASSERT_EQUAL(decode("\xef\xbf\xbf", &cp), 3);
    CU_ASSERT_EQUAL(cp, 0xFFFF);
    CU_ASSERT_EQUAL(decode("\xf0\x90\x80\x80", &cp), 4);
    CU_ASSERT_EQUAL(cp, 0x10000);
    CU_ASSERT_EQUAL(decode("\xf4\x8f\xbf\xbf", &cp), 4);
    CU_ASSERT_EQUAL(cp, 0x10FFFF);

    /* either side of the surrogates */
    CU_ASSERT_EQUAL(decode("\xed\x9f\xbf", &cp), 3);
    CU_ASSERT_EQUAL(cp, 0xD7FF);
    CU_ASSERT_EQUAL(decode("\xee\x80\x80", &cp), 3);
    CU_ASSERT_EQUAL(cp, 0xE000);

    CU_ASSERT_EQUAL(decode("\xc3\xad", &cp), 2);
    CU_ASSERT_EQUAL(cp, 0xED);
    CU_ASSERT_EQUAL(decode("\xe2\x82\xac", &cp), 3);
    CU_ASSERT_EQUAL(cp, 0x20AC);
    CU_ASSERT_EQUAL(decode("\xf0\x9f\x98\x80", &cp), 4);
    CU_ASSERT_EQUAL(cp, 0x1F600);

    /* decodes one sequence and stops */
    CU_ASSERT_EQUAL(decode("\xc3\xadX", &cp), 2);
    CU_ASSERT_EQUAL(cp, 0xED);
}


static void
test_utf8_invalid(void)
{
    uint32_t  cp;

    CU_ASSERT_EQUAL(fb_utf8_decode("A", 0, &cp), 0);

    /* overlong */
    CU_ASSERT_EQUAL(decode("\xc0\xaf", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xc0\x80", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xc1\xbf", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xe0\x80\xaf", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xe0\x9f\xbf", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xf0\x80\x80\xaf", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xf0\x8f\xbf\xbf", &cp), 0);

    /* surrogates D800..DFFF */
    CU_ASSERT_EQUAL(decode("\xed\xa0\x80", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xed\xaf\xbf", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xed\xb0\x80", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xed\xbf\xbf", &cp), 0);

    /* above U+10FFFF */
    CU_ASSERT_EQUAL(decode("\xf4\x90\x80\x80", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xf5\x80\x80\x80", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xf7\xbf\xbf\xbf", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xf8\x88\x80\x80\x80", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xfe", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xff", &cp), 0);

    /* stray continuation bytes */
    CU_ASSERT_EQUAL(decode("\x80", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xbf\x41", &cp), 0);

    /* truncated, by the data or by n */
    CU_ASSERT_EQUAL(decode("\xc3", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xe2\x82", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xf0\x9f\x98", &cp), 0);
    CU_ASSERT_EQUAL(fb_utf8_decode("\xc3\xad", 1, &cp), 0);
    CU_ASSERT_EQUAL(fb_utf8_decode("\xf0\x9f\x98\x80", 3, &cp), 0);

    /* a continuation byte that is not one */
    CU_ASSERT_EQUAL(decode("\xc3\x41", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xc3\xc3", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xe2\x82\x41", &cp), 0);
    CU_ASSERT_EQUAL(decode("\xf0\x9f\x98\xc0", &cp), 0);
}


static void
test_unicode_classes(void)
{
    /* the ASCII fast path, both sides of each range */
    CU_ASSERT_TRUE(fb_unicode_is_letter('A'));
    CU_ASSERT_TRUE(fb_unicode_is_letter('Z'));
    CU_ASSERT_TRUE(fb_unicode_is_letter('a'));
    CU_ASSERT_TRUE(fb_unicode_is_letter('z'));
    CU_ASSERT_FALSE(fb_unicode_is_letter('@'));
    CU_ASSERT_FALSE(fb_unicode_is_letter('['));
    CU_ASSERT_FALSE(fb_unicode_is_letter('`'));
    CU_ASSERT_FALSE(fb_unicode_is_letter('{'));
    CU_ASSERT_FALSE(fb_unicode_is_letter('5'));
    CU_ASSERT_TRUE(fb_unicode_is_digit('0'));
    CU_ASSERT_TRUE(fb_unicode_is_digit('9'));
    CU_ASSERT_FALSE(fb_unicode_is_digit('/'));
    CU_ASSERT_FALSE(fb_unicode_is_digit(':'));
    CU_ASSERT_FALSE(fb_unicode_is_digit('a'));

    /* the tables: Lo, Ll, Lt, Lm, and what is not L */
    CU_ASSERT_TRUE(fb_unicode_is_letter(0xAA));
    CU_ASSERT_TRUE(fb_unicode_is_letter(0xB5));
    CU_ASSERT_TRUE(fb_unicode_is_letter(0x1C5));
    CU_ASSERT_TRUE(fb_unicode_is_letter(0x2B0));
    CU_ASSERT_TRUE(fb_unicode_is_letter(0x4E00));
    CU_ASSERT_FALSE(fb_unicode_is_letter(0x80));
    CU_ASSERT_FALSE(fb_unicode_is_letter(0xD7));
    CU_ASSERT_FALSE(fb_unicode_is_letter(0xF7));
    CU_ASSERT_FALSE(fb_unicode_is_letter(0x301));
    CU_ASSERT_FALSE(fb_unicode_is_letter(0x660));
    CU_ASSERT_FALSE(fb_unicode_is_letter(0x216B));
    CU_ASSERT_FALSE(fb_unicode_is_letter(0x1F600));

    /* the last range of each table, and past it */
    CU_ASSERT_TRUE(fb_unicode_is_letter(0x3134A));
    CU_ASSERT_FALSE(fb_unicode_is_letter(0x3134B));
    CU_ASSERT_FALSE(fb_unicode_is_letter(0x10FFFF));
    CU_ASSERT_FALSE(fb_unicode_is_letter(0x110000));
    CU_ASSERT_FALSE(fb_unicode_is_letter(0xFFFFFFFF));
    CU_ASSERT_TRUE(fb_unicode_is_digit(0x1FBF9));
    CU_ASSERT_FALSE(fb_unicode_is_digit(0x1FBFA));
    CU_ASSERT_FALSE(fb_unicode_is_digit(0xFFFFFFFF));

    /* Nd only: not No (superscript two) nor Nl (roman twelve) */
    CU_ASSERT_TRUE(fb_unicode_is_digit(0x660));
    CU_ASSERT_TRUE(fb_unicode_is_digit(0x669));
    CU_ASSERT_FALSE(fb_unicode_is_digit(0x66A));
    CU_ASSERT_TRUE(fb_unicode_is_digit(0x966));
    CU_ASSERT_TRUE(fb_unicode_is_digit(0xFF11));
    CU_ASSERT_FALSE(fb_unicode_is_digit(0xB2));
    CU_ASSERT_FALSE(fb_unicode_is_digit(0x216B));
    CU_ASSERT_FALSE(fb_unicode_is_digit(0x4E00));
}


/* The tables are sorted and disjoint, and the binary search agrees with a
 * linear scan at every code point. */

static int
in_table_linear(const uint32_t (*t)[2], size_t n, uint32_t cp)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (cp >= t[i][0] && cp <= t[i][1]) {
            return 1;
        }
    }

    return 0;
}


static void
test_unicode_tables(void)
{
    size_t    i, bad;
    uint32_t  cp;

    for (i = 0; i < fb_nelems(fb_letter_ranges); i++) {
        CU_ASSERT(fb_letter_ranges[i][0] <= fb_letter_ranges[i][1]);
        if (i > 0) {
            CU_ASSERT(fb_letter_ranges[i - 1][1] + 1 < fb_letter_ranges[i][0]);
        }
    }

    for (i = 0; i < fb_nelems(fb_digit_ranges); i++) {
        CU_ASSERT(fb_digit_ranges[i][0] <= fb_digit_ranges[i][1]);
        if (i > 0) {
            CU_ASSERT(fb_digit_ranges[i - 1][1] + 1 < fb_digit_ranges[i][0]);
        }
    }

    bad = 0;

    for (cp = 0; cp <= 0x110000; cp++) {
        if (!fb_unicode_is_letter(cp)
            != !in_table_linear(fb_letter_ranges,
                                fb_nelems(fb_letter_ranges), cp))
        {
            bad++;
        }

        if (!fb_unicode_is_digit(cp)
            != !in_table_linear(fb_digit_ranges,
                                fb_nelems(fb_digit_ranges), cp))
        {
            bad++;
        }
    }

    CU_ASSERT_EQUAL(bad, 0);
}


/*
 * The tables hold what fcgi/gen-letters.py took from Unicode 14.0.0:
 * 131756 letters and 660 decimal digits (counted with Python's
 * unicodedata 14.0.0), so a range lost or cut short shows, and a letter
 * of each of a dozen scripts.  Regenerated for another version, the
 * counts here change with it.
 */

static uint32_t
count_table(const uint32_t (*t)[2], size_t n)
{
    size_t    i;
    uint32_t  count;

    count = 0;
    for (i = 0; i < n; i++) {
        count += t[i][1] - t[i][0] + 1;
    }

    return count;
}


static void
test_unicode_version(void)
{
    size_t  i;

    static const uint32_t  letters[] = {
        0x100,      /* Latin A with macron */
        0x3A3,      /* Greek capital sigma */
        0x416,      /* Cyrillic capital zhe */
        0x531,      /* Armenian capital ayb */
        0x5D0,      /* Hebrew alef */
        0x628,      /* Arabic beh */
        0x915,      /* Devanagari ka */
        0xE01,      /* Thai ko kai */
        0x10D0,     /* Georgian an */
        0x1200,     /* Ethiopic ha */
        0x3042,     /* Hiragana a */
        0x30A2,     /* Katakana a */
        0xAC00,     /* Hangul ga, the first syllable */
        0xD7A3,     /* Hangul hih, the last */
        0x20000,    /* CJK Extension B */
        0x1E900     /* Adlam capital alif */
    };

    CU_ASSERT_STRING_EQUAL(FB_LETTERS_UNICODE_VERSION, "14.0.0");
    CU_ASSERT_EQUAL(count_table(fb_letter_ranges,
                                fb_nelems(fb_letter_ranges)), 131756);
    CU_ASSERT_EQUAL(count_table(fb_digit_ranges,
                                fb_nelems(fb_digit_ranges)), 660);

    for (i = 0; i < fb_nelems(letters); i++) {
        CU_ASSERT_TRUE(fb_unicode_is_letter(letters[i]));
    }

    CU_ASSERT_FALSE(fb_unicode_is_letter(0xD7A4));      /* unassigned */
    CU_ASSERT_FALSE(fb_unicode_is_letter(0xE3F));       /* baht sign */
}


static void
test_owner_contract_examples(void)
{
    /* Nícolas, Zoë O'Brien, 李小龙, Анна-Мария, محمد علي */
    CU_ASSERT_TRUE(owner_ok("N\xc3\xad" "colas"));
    CU_ASSERT_TRUE(owner_ok("Zo\xc3\xab O'Brien"));
    CU_ASSERT_TRUE(owner_ok("\xe6\x9d\x8e\xe5\xb0\x8f\xe9\xbe\x99"));
    CU_ASSERT_TRUE(owner_ok("\xd0\x90\xd0\xbd\xd0\xbd\xd0\xb0-"
                            "\xd0\x9c\xd0\xb0\xd1\x80\xd0\xb8\xd1\x8f"));
    CU_ASSERT_TRUE(owner_ok("\xd9\x85\xd8\xad\xd9\x85\xd8\xaf "
                            "\xd8\xb9\xd9\x84\xd9\x8a"));
    CU_ASSERT_TRUE(owner_ok("007"));
    CU_ASSERT_TRUE(owner_ok("Alice"));

    CU_ASSERT_STRING_EQUAL(owner_why(""), FB_TOO_LONG);
    CU_ASSERT_STRING_EQUAL(owner_why("A"), FB_TOO_LONG);
    CU_ASSERT_STRING_EQUAL(owner_why("<script>"), FB_BAD_CHAR);
    CU_ASSERT_STRING_EQUAL(owner_why("a;b"), FB_BAD_CHAR);
    CU_ASSERT_STRING_EQUAL(owner_why("tab\tname"), FB_BAD_CHAR);
    CU_ASSERT_STRING_EQUAL(owner_why("Bob\xf0\x9f\x98\x80"), FB_BAD_CHAR);
    CU_ASSERT_STRING_EQUAL(owner_why("Bob\xff"), FB_BAD_UTF8);
}


static void
test_owner_length(void)
{
    char      *s;
    size_t     len;
    fb_str_t   out;

    /* 2 code points, not 2 bytes */
    CU_ASSERT_TRUE(owner_ok("ab"));
    CU_ASSERT_FALSE(owner_ok("a"));
    CU_ASSERT_TRUE(owner_ok("\xe6\x9d\x8e\xe5\xb0\x8f"));      /* 李小 */
    CU_ASSERT_FALSE(owner_ok("\xe6\x9d\x8e"));                /* 李 */
    CU_ASSERT_FALSE(owner_ok("\xf0\x90\x90\x80"));            /* U+10400 */
    CU_ASSERT_TRUE(owner_ok("\xf0\x90\x90\x80\xf0\x90\x90\x81"));

    s = repeat("a", 100, &len);
    CU_ASSERT_EQUAL(check_owner(s, len, NULL), FB_OK);
    free(s);

    s = repeat("a", 101, &len);
    CU_ASSERT_EQUAL(check_owner(s, len, NULL), FB_DECLINED);
    CU_ASSERT_STRING_EQUAL(check_owner_why(s, len), FB_TOO_LONG);
    free(s);

    /* 100 CJK characters are 300 bytes and accepted */
    s = repeat("\xe6\x9d\x8e", 100, &len);
    CU_ASSERT_EQUAL(len, 300);
    CU_ASSERT_EQUAL(check_owner(s, len, NULL), FB_OK);
    free(s);

    s = repeat("\xe6\x9d\x8e", 101, &len);
    CU_ASSERT_EQUAL(check_owner(s, len, NULL), FB_DECLINED);
    free(s);

    /* 100 four-byte letters */
    s = repeat("\xf0\x90\x90\x80", 100, &len);
    CU_ASSERT_EQUAL(check_owner(s, len, NULL), FB_OK);
    free(s);

    /* the limits apply after trimming */
    s = repeat(" ", 300, &len);
    memset(s + 100, 'a', 100);
    CU_ASSERT_EQUAL(check_owner(s, len, &out), FB_OK);
    CU_ASSERT_PTR_EQUAL(out.data, s + 100);
    CU_ASSERT_EQUAL(out.len, 100);
    memset(s + 100, 'a', 101);
    CU_ASSERT_EQUAL(check_owner(s, len, NULL), FB_DECLINED);
    free(s);

    CU_ASSERT_FALSE(owner_ok(" a "));
    CU_ASSERT_TRUE(owner_ok(" ab "));
}


static void
test_owner_trim(void)
{
    static const char  in[] = " \t\r\n Zo\xc3\xab  O'Brien \n\r\t ";
    fb_str_t           out;

    CU_ASSERT_EQUAL_FATAL(check_owner(in, sizeof(in) - 1, &out), FB_OK);
    CU_ASSERT_PTR_EQUAL(out.data, in + 5);
    CU_ASSERT_EQUAL(out.len, sizeof("Zo\xc3\xab  O'Brien") - 1);
    CU_ASSERT_EQUAL(memcmp(out.data, "Zo\xc3\xab  O'Brien", out.len), 0);

    /* nothing to trim: the whole input comes back */
    CU_ASSERT_EQUAL_FATAL(check_owner("Bo", 2, &out), FB_OK);
    CU_ASSERT_EQUAL(out.len, 2);

    /* white space only */
    CU_ASSERT_STRING_EQUAL(owner_why(" \t\r\n \n"), FB_TOO_LONG);
    CU_ASSERT_STRING_EQUAL(owner_why("    "), FB_TOO_LONG);

    /* only space, tab, CR and LF are trimmed; other spaces are refused */
    CU_ASSERT_STRING_EQUAL(owner_why("Bob\v"), FB_BAD_CHAR);
    CU_ASSERT_STRING_EQUAL(owner_why("\fBob"), FB_BAD_CHAR);
    CU_ASSERT_STRING_EQUAL(owner_why("\vBob"), FB_BAD_CHAR);
    CU_ASSERT_STRING_EQUAL(owner_why("Bob\f"), FB_BAD_CHAR);
    CU_ASSERT_STRING_EQUAL(owner_why("Bob\xc2\xa0"), FB_BAD_CHAR);  /* NBSP */
    CU_ASSERT_STRING_EQUAL(owner_why("\xe3\x80\x80" "Bob"), FB_BAD_CHAR);

    /* inside, a tab, CR or LF is refused, a space is kept */
    CU_ASSERT_STRING_EQUAL(owner_why("Ann\nLee"), FB_BAD_CHAR);
    CU_ASSERT_STRING_EQUAL(owner_why("Ann\rLee"), FB_BAD_CHAR);
    CU_ASSERT_TRUE(owner_ok("Ann Lee"));
}


static void
test_owner_characters(void)
{
    /* the allowed punctuation */
    CU_ASSERT_TRUE(owner_ok("J. R."));
    CU_ASSERT_TRUE(owner_ok("Anne-Marie"));
    CU_ASSERT_TRUE(owner_ok("O'Neil"));
    CU_ASSERT_TRUE(owner_ok("snake_case"));
    CU_ASSERT_TRUE(owner_ok("__"));

    /* and its neighbours */
    CU_ASSERT_FALSE(owner_ok("a,b"));
    CU_ASSERT_FALSE(owner_ok("a/b"));
    CU_ASSERT_FALSE(owner_ok("a\"b"));
    CU_ASSERT_FALSE(owner_ok("a`b"));
    CU_ASSERT_FALSE(owner_ok("a^b"));
    CU_ASSERT_FALSE(owner_ok("a&b"));
    CU_ASSERT_FALSE(owner_ok("a@b"));
    CU_ASSERT_FALSE(owner_ok("a!b"));
    CU_ASSERT_FALSE(owner_ok("a\\b"));
    CU_ASSERT_FALSE(owner_ok("ab\x7f"));
    CU_ASSERT_FALSE(owner_ok("O\xe2\x80\x99Neil"));      /* U+2019 */
    CU_ASSERT_FALSE(owner_ok("a\xc3\x97" "b"));          /* U+00D7 */

    /* NUL, anywhere */
    CU_ASSERT_STRING_EQUAL(owner_why("Al\0ice"), FB_BAD_CHAR);
    CU_ASSERT_STRING_EQUAL(owner_why("Alice\0"), FB_BAD_CHAR);
    CU_ASSERT_STRING_EQUAL(owner_why("\0Alice"), FB_BAD_CHAR);

    /* invisible and combining code points */
    CU_ASSERT_STRING_EQUAL(owner_why("Al\xe2\x80\x8bice"), FB_BAD_CHAR);
    CU_ASSERT_STRING_EQUAL(owner_why("Jose\xcc\x81"), FB_BAD_CHAR);
    CU_ASSERT_STRING_EQUAL(owner_why("\xef\xbb\xbf" "Alice"), FB_BAD_CHAR);
    CU_ASSERT_STRING_EQUAL(owner_why("Al\xe2\x80\x8ei"), FB_BAD_CHAR);

    /* U+FFFD, which json-c makes of a lone surrogate escape */
    CU_ASSERT_STRING_EQUAL(owner_why("ab\xef\xbf\xbd"), FB_BAD_CHAR);

    /* other number kinds and symbols */
    CU_ASSERT_FALSE(owner_ok("x\xc2\xb2"));               /* superscript 2 */
    CU_ASSERT_FALSE(owner_ok("XII\xe2\x85\xab"));         /* roman 12 */
    CU_ASSERT_FALSE(owner_ok("\xe2\x82\xac" "5"));        /* euro sign */

    /* letters and decimal digits of any script */
    CU_ASSERT_TRUE(owner_ok("\xd9\xa0\xd9\xa1\xd9\xa9"));  /* Arabic-Indic */
    CU_ASSERT_TRUE(owner_ok("\xe0\xa5\xa7\xe0\xa5\xa8"));  /* Devanagari 12 */
    CU_ASSERT_TRUE(owner_ok("\xef\xbc\x91\xef\xbc\x92"));  /* fullwidth 12 */
    CU_ASSERT_TRUE(owner_ok("\xc7\x85" "a"));            /* Lt */
    CU_ASSERT_TRUE(owner_ok("a\xca\xb0"));               /* Lm */
    CU_ASSERT_TRUE(owner_ok("\xc2\xaa\xc2\xba"));         /* Lo */
    CU_ASSERT_TRUE(owner_ok("\xce\xa3\xcf\x89\xce\xba\xcf\x81\xce\xac"
                            "\xcf\x84\xce\xb7\xcf\x82"));   /* Σωκράτης */
}


static void
test_owner_bad_utf8(void)
{
    CU_ASSERT_STRING_EQUAL(owner_why("a\xc0\xaf" "b"), FB_BAD_UTF8);
    CU_ASSERT_STRING_EQUAL(owner_why("ab\xed\xa0\x80"), FB_BAD_UTF8);
    CU_ASSERT_STRING_EQUAL(owner_why("ab\xed\xb0\x80"), FB_BAD_UTF8);
    CU_ASSERT_STRING_EQUAL(owner_why("ab\xf4\x90\x80\x80"), FB_BAD_UTF8);
    CU_ASSERT_STRING_EQUAL(owner_why("a\x80" "b"), FB_BAD_UTF8);
    CU_ASSERT_STRING_EQUAL(owner_why("ab\xc3"), FB_BAD_UTF8);
    CU_ASSERT_STRING_EQUAL(owner_why("ab\xe6\x9d"), FB_BAD_UTF8);
    CU_ASSERT_STRING_EQUAL(owner_why("\xff\xfe" "ab"), FB_BAD_UTF8);

    /* a truncated sequence is not mended by trimming */
    CU_ASSERT_STRING_EQUAL(owner_why("ab\xc3 "), FB_BAD_UTF8);
}


static CU_TestInfo  fb_utf8_tests[] = {
    { "valid sequences", test_utf8_valid },
    { "invalid sequences", test_utf8_invalid },
    { "letter and digit classes", test_unicode_classes },
    { "tables sorted, search agrees with scan", test_unicode_tables },
    { "the tables are Unicode 14.0.0's", test_unicode_version },
    CU_TEST_INFO_NULL
};

static CU_TestInfo  fb_owner_tests[] = {
    { "contract examples", test_owner_contract_examples },
    { "2 to 100 code points", test_owner_length },
    { "trimming", test_owner_trim },
    { "allowed and refused characters", test_owner_characters },
    { "invalid UTF-8", test_owner_bad_utf8 },
    CU_TEST_INFO_NULL
};

static CU_SuiteInfo  fb_suites[] = {
    { "utf8", NULL, NULL, NULL, NULL, fb_utf8_tests },
    { "owner", NULL, NULL, NULL, NULL, fb_owner_tests },
    CU_SUITE_INFO_NULL
};


int
main(void)
{
    return fb_cunit_run_suites("test-owner", fb_suites);
}
