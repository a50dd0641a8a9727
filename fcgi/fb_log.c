/*
 * fb_log.c: log records on stderr.  Each record is formatted in full and
 * written with a single write(2), so records from many threads never
 * interleave.
 */

#include "fb_core.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fb_log.h"

int fb_log_level = FB_LOG_WARN;

static const char *fb_log_names[] = { "error", "warn", "info", "debug" };


void
fb_log(int level, int err, const char *fmt, ...)
{
    int              n, len;
    char             buf[1024], ebuf[128];
    va_list          ap;
    time_t           now;
    struct tm        tm;
    const char      *etext;
    int              saved = errno;

    if (!fb_log_enabled(level)) {
        return;
    }

    now = time(NULL);
    gmtime_r(&now, &tm);

    len = (int) strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    n = snprintf(buf + len, sizeof(buf) - len, " fastbank[%ld]: %s: ",
                 (long) getpid(), fb_log_names[level]);
    len += n;

    va_start(ap, fmt);
    n = vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
    va_end(ap);
    len = (n < 0 || (size_t) (len + n) >= sizeof(buf) - 1)
          ? (int) sizeof(buf) - 2 : len + n;

    if (err != 0 && (size_t) len < sizeof(buf) - 2) {
        /* GNU strerror_r may return a static string instead of filling ebuf. */
        etext = strerror_r(err, ebuf, sizeof(ebuf));
        n = snprintf(buf + len, sizeof(buf) - len, " (%d: %s)", err, etext);
        len = (n < 0 || (size_t) (len + n) >= sizeof(buf) - 1)
              ? (int) sizeof(buf) - 2 : len + n;
    }

    buf[len++] = '\n';

    /* stderr may be a closed pipe; nothing useful can be done about it. */
    if (write(STDERR_FILENO, buf, (size_t) len) < 0) {
        /* void */
    }

    errno = saved;
}
