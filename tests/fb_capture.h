/*
 * fb_capture.h: what the code under test writes to descriptor 2 (fb_log's
 * records), caught in a scratch file between fb_capture_begin and
 * fb_capture_end.  For CUnit tests: a failure fails the running test.
 */

#ifndef FB_CAPTURE_H_INCLUDED
#define FB_CAPTURE_H_INCLUDED

#include <stddef.h>

#define FB_CAPTURE_MAX  16384

/* The text caught by the last fb_capture_end, NUL-terminated. */
extern char    fb_capture_text[FB_CAPTURE_MAX];
extern size_t  fb_capture_len;

/* The scratch file, created under $TMPDIR (or /tmp) as NAME-XXXXXX and
 * unlinked at once: 0, or -1. */
int fb_capture_init(const char *name);
void fb_capture_free(void);

/* Descriptor 2 to the emptied scratch file; with closed, closed instead. */
void fb_capture_begin(int closed);

/* Descriptor 2 back as it was; what was caught in fb_capture_text
 * (echoed to stderr when FB_TEST_VERBOSE is set). */
void fb_capture_end(void);

#endif /* FB_CAPTURE_H_INCLUDED */
