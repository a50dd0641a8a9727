/*
 * fb_stest.c: shared helpers of the store tests (fb_stest.h).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "fb_stest.h"


#ifdef __SANITIZE_THREAD__
/*
 * ThreadSanitizer's deadlock detector stops the process ("CHECK failed:
 * sanitizer_deadlock_detector.h") when one thread holds more than 64
 * mutexes, and fb_store_audit holds every stripe (1,024 by default).
 * Race detection is unaffected; deadlocks are caught by the watchdogs.
 */
const char *__tsan_default_options(void);

const char *
__tsan_default_options(void)
{
    return "detect_deadlocks=0";
}
#endif


fb_store_rc_e
st_fund(fb_store_t *s, int64_t id, int64_t total)
{
    int64_t        step;
    fb_store_rc_e  rc;

    while (total > 0) {
        step = total < FB_AMOUNT_MAX ? total : FB_AMOUNT_MAX;
        rc = fb_store_deposit(s, id, step, NULL, NULL);
        if (rc != FB_STORE_OK) {
            return rc;
        }
        total -= step;
    }

    return FB_STORE_OK;
}
