/*
 * fb_buf.h: a growable byte buffer, owned by one worker and reused by every
 * request it serves, so the steady state allocates nothing.
 */

#ifndef FB_BUF_H_INCLUDED
#define FB_BUF_H_INCLUDED

#include "fb_core.h"

typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
} fb_buf_t;

int fb_buf_init(fb_buf_t *b, size_t cap);
void fb_buf_free(fb_buf_t *b);

/* Makes room for n more bytes.  FB_OK or FB_ERROR (allocation failed). */
int fb_buf_reserve(fb_buf_t *b, size_t n);

int fb_buf_append(fb_buf_t *b, const char *p, size_t n);
int fb_buf_printf(fb_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* FB_BUF_H_INCLUDED */
