/*
 * fuzz-conffile.c: the configuration file parser, fb_conffile_parse(), on
 * any text.
 *
 * Promises checked: it accepts or refuses with one message naming
 * "fuzz.conf:LINE:"; what it accepts holds values the command line would
 * accept (threads 1..1024, a power-of-two stripe count, ...), and every
 * string the configuration points to outlives the text it came from.
 */

#include "fb_fuzz.h"

#include <string.h>

#include "fb_conffile.h"
#include "fb_listen.h"
#include "fb_log.h"

static char  msg[8192];


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc;
    FILE           *err;
    char           *copy;
    fb_conf_t       c;
    const char     *why;
    fb_conffile_t   cf;

    /* A private copy, wiped after the parse: nothing may point into it. */
    copy = malloc(size + 1);
    fb_fuzz_assert(copy != NULL);
    memcpy(copy, data, size);

    memset(msg, 0, sizeof(msg));
    err = fmemopen(msg, sizeof(msg) - 1, "w");
    fb_fuzz_assert(err != NULL);

    fb_conf_default(&c);
    fb_conffile_init(&cf);
    rc = fb_conffile_parse(&c, &cf, "fuzz.conf", copy, size, err);
    fclose(err);

    memset(copy, 'X', size);
    free(copy);

    if (rc != FB_OK) {
        fb_fuzz_assert(rc == FB_ERROR);
        fb_fuzz_assert(strncmp(msg, "fastbank: fuzz.conf", 19) == 0);
    } else {
        fb_fuzz_assert(msg[0] == '\0');
        /* Unset, threads stays 0: one per CPU, fb_conf_threads says. */
        fb_fuzz_assert(c.threads_set ? c.threads >= 1
                                       && c.threads <= FB_MAX_THREADS
                                     : c.threads == FB_DEFAULT_THREADS);
        fb_fuzz_assert(fb_conf_threads(&c) >= 1
                       && fb_conf_threads(&c) <= FB_MAX_THREADS);
        fb_fuzz_assert(c.backlog >= 1 && c.backlog <= 65535);
        fb_fuzz_assert(c.max_body >= 1 && c.max_body <= FB_MAX_MAX_BODY);
        fb_fuzz_assert(c.max_accounts >= 1);
        fb_fuzz_assert(c.stripes >= 1 && (c.stripes & (c.stripes - 1)) == 0);
        fb_fuzz_assert(c.socket_mode <= 0777);
        fb_fuzz_assert(c.log_level >= FB_LOG_ERR
                       && c.log_level <= FB_LOG_DEBUG);
        /* Reads the string: ASan reports it if it points into copy. */
        fb_fuzz_assert(fb_listen_check(c.listen, &why) == FB_OK);
        fb_fuzz_assert(!c.config_given);
    }

    fb_conffile_free(&cf);
    return 0;
}
