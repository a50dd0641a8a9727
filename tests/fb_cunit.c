/*
 * fb_cunit.c: the shared main() of the CUnit test programs (fb_cunit.h).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "fb_cunit.h"

/*
 * A test that hangs (a lock never released, a wait never woken) fails
 * after this long instead of holding make check until CI's own limit.
 * Generous: sanitizer builds run many times slower.  A program that arms
 * alarm() itself (test-stress, per test) replaces this one.
 */
#define FB_CUNIT_WATCHDOG  1800

static int fb_cunit_finish(const char *prog);
static void fb_cunit_watchdog(int sig);

static char    fb_cunit_hung[256];
static size_t  fb_cunit_hung_len;


int
fb_cunit_run(const char *prog, const char *suite, CU_InitializeFunc init,
    CU_CleanupFunc clean, const fb_ctest_t *tests, size_t n)
{
    size_t      i;
    CU_pSuite   s;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        goto failed;
    }

    s = CU_add_suite(suite, init, clean);
    if (s == NULL) {
        goto failed;
    }

    for (i = 0; i < n; i++) {
        if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL) {
            goto failed;
        }
    }

    return fb_cunit_finish(prog);

failed:

    /* Before the cleanup, which clears the error. */
    fprintf(stderr, "%s: %s\n", prog, CU_get_error_msg());
    CU_cleanup_registry();
    return 1;
}


int
fb_cunit_run_suites(const char *prog, CU_SuiteInfo *suites)
{
    if (CU_initialize_registry() != CUE_SUCCESS
        || CU_register_suites(suites) != CUE_SUCCESS)
    {
        fprintf(stderr, "%s: %s\n", prog, CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }

    return fb_cunit_finish(prog);
}


/* Runs what the registry holds, then empties it. */
static int
fb_cunit_finish(const char *prog)
{
    unsigned  failed, registered, ran;

    registered = CU_get_registry()->uiNumberOfTests;

    snprintf(fb_cunit_hung, sizeof(fb_cunit_hung),
             "\n%s: still running after %d s: a test hangs\n", prog,
             FB_CUNIT_WATCHDOG);
    fb_cunit_hung_len = strlen(fb_cunit_hung);
    signal(SIGALRM, fb_cunit_watchdog);
    alarm(FB_CUNIT_WATCHDOG);

    CU_basic_set_mode(CU_BRM_VERBOSE);
    if (CU_basic_run_tests() != CUE_SUCCESS) {
        fprintf(stderr, "%s: %s\n", prog, CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }

    failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures()
             + CU_get_number_of_suites_failed();

    /*
     * A test that never ran (its suite's init failed, say) checked
     * nothing, and neither did an empty registry: neither is a pass.
     */
    ran = CU_get_number_of_tests_run();
    if (registered == 0 || ran != registered) {
        fprintf(stderr, "%s: %u of %u tests ran\n", prog, ran, registered);
        failed++;
    }

    CU_cleanup_registry();

    return failed == 0 ? 0 : 1;
}


static void
fb_cunit_watchdog(int sig)
{
    ssize_t  n;

    (void) sig;
    n = write(STDERR_FILENO, fb_cunit_hung, fb_cunit_hung_len);
    (void) n;
    _exit(1);
}
