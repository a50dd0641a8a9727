/*
 * fb_log.h: one-line log records on stderr, filtered by level.
 *
 * Log once, where a failure happens, naming the call that failed:
 *     fb_log(FB_LOG_ERR, errno, "bind() \"%s\" failed", path);
 * Nothing is logged per request at the default level.
 */

#ifndef FB_LOG_H_INCLUDED
#define FB_LOG_H_INCLUDED

typedef enum {
    FB_LOG_ERR = 0,
    FB_LOG_WARN,
    FB_LOG_INFO,
    FB_LOG_DEBUG
} fb_log_level_e;

extern int fb_log_level;

#define fb_log_enabled(level)  ((int) (level) <= fb_log_level)

/* err: an errno value to append as "(N: text)", or 0. */
void fb_log(int level, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* FB_LOG_H_INCLUDED */
