/*
 * fb_core.h: what every file under fcgi/ shares: the return codes and the
 * length-carrying string.  Included first.
 */

#ifndef FB_CORE_H_INCLUDED
#define FB_CORE_H_INCLUDED

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdint.h>

#define FB_OK         0
#define FB_ERROR     -1
#define FB_AGAIN     -2
#define FB_DECLINED  -3

/* Bytes and their length; data need not be NUL-terminated. */
typedef struct {
    size_t       len;
    const char  *data;
} fb_str_t;

#define fb_string(s)      { sizeof(s) - 1, (s) }
#define fb_null_string    { 0, NULL }
#define fb_str_set(str, text)                                              \
    do { (str)->len = sizeof(text) - 1; (str)->data = (text); } while (0)

#define fb_nelems(a)      (sizeof(a) / sizeof((a)[0]))

#endif /* FB_CORE_H_INCLUDED */
