/*
 * fb_owner.h: the contract's owner-name rules.
 *
 * Trim spaces, tabs, CR and LF at both ends; the rest must be valid UTF-8
 * of 2..100 code points, each a letter of any script (Unicode general
 * category L), a decimal digit (Nd), U+0020, or one of . - ' _
 */

#ifndef FB_OWNER_H_INCLUDED
#define FB_OWNER_H_INCLUDED

#include "fb_core.h"

#define FB_OWNER_MIN_CODEPOINTS  2
#define FB_OWNER_MAX_CODEPOINTS  100

/*
 * FB_OK: *out is the trimmed slice of in (pointing into in).
 * FB_DECLINED: *why is a static, human-readable reason.
 */
int fb_owner_check(const char *in, size_t len, fb_str_t *out,
    const char **why);

/* Decodes one UTF-8 sequence at s (n bytes available).  Returns its length
 * and sets *cp, or returns 0 for an invalid, overlong, surrogate or
 * truncated sequence. */
size_t fb_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Unicode general category L, or Nd. */
int fb_unicode_is_letter(uint32_t cp);
int fb_unicode_is_digit(uint32_t cp);

#endif /* FB_OWNER_H_INCLUDED */
