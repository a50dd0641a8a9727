/*
 * fb_buf.h: a growable byte buffer, owned by one worker and reused by every
 * request it serves, so the steady state allocates nothing.
 */

#ifndef FB_BUF_H_INCLUDED
#define FB_BUF_H_INCLUDED

#include "fb_core.h"

typedef struct {
    char      *data;
    size_t     len;
    size_t     cap;
    unsigned   nomem:1;     /* the last growth failed (and was logged) */
} fb_buf_t;

int fb_buf_init(fb_buf_t *b, size_t cap);
void fb_buf_free(fb_buf_t *b);

/*
 * Makes room for n more bytes.  FB_OK or FB_ERROR (allocation failed).  A
 * failed growth is logged once: the appends after it in the same reply,
 * and the replies until a growth succeeds, fail without a line each.
 */
int fb_buf_reserve(fb_buf_t *b, size_t n);

int fb_buf_append(fb_buf_t *b, const char *p, size_t n);
#define fb_buf_append_lit(b, s)  fb_buf_append(b, s, sizeof(s) - 1)

/* The longest int64_t in decimal, sign included: "-9223372036854775808". */
#define FB_INT64_LEN  20

/*
 * Writes v in decimal at p, without a NUL, and returns its length (at most
 * FB_INT64_LEN).  The replies' numbers go through here and not through
 * snprintf, whose format parsing was a fifth of a worker's instructions.
 */
size_t fb_format_int64(char *p, int64_t v);

/* Appends v in decimal. */
int fb_buf_append_int64(fb_buf_t *b, int64_t v);

int fb_buf_printf(fb_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* FB_BUF_H_INCLUDED */
