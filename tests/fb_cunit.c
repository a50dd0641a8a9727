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
 * after this long, naming itself, instead of holding make check until
 * CI's own limit.  Armed before the first suite's init, then again by
 * the setup and teardown every suite gets here, so that a suite's init
 * or cleanup is bounded too and the message says which test it came
 * after.  Generous: sanitizer builds run many times slower and the
 * slowest program takes about 20 s under TSan.  A test that arms
 * alarm() itself (test-stress) replaces this one while it runs.
 */
#define FB_CUNIT_WATCHDOG  600

static int fb_cunit_finish(const char *prog);
static void fb_cunit_arm(const char *where, const char *name);
static void fb_cunit_setup(void);
static void fb_cunit_teardown(void);
static void fb_cunit_watchdog(int sig);

static const char  *fb_cunit_prog;
static char         fb_cunit_hung[512];
static size_t       fb_cunit_hung_len;


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
    unsigned   failed, registered, ran;
    CU_pSuite  s;

    registered = CU_get_registry()->uiNumberOfTests;

    /* The per-test setup and teardown are the watchdog's: a suite with
     * its own would run without one. */
    for (s = CU_get_registry()->pSuite; s != NULL; s = s->pNext) {
        if (s->pSetUpFunc != NULL || s->pTearDownFunc != NULL) {
            fprintf(stderr, "%s: suite \"%s\" has a setup or teardown of "
                    "its own\n", prog, s->pName);
            CU_cleanup_registry();
            return 1;
        }
        s->pSetUpFunc = fb_cunit_setup;
        s->pTearDownFunc = fb_cunit_teardown;
    }

    /* The first suite's init comes before any test. */
    fb_cunit_prog = prog;
    fb_cunit_arm("before the first test", "");

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


/* The alarm, and the message that says where the program was. */
static void
fb_cunit_arm(const char *where, const char *name)
{
    alarm(0);
    snprintf(fb_cunit_hung, sizeof(fb_cunit_hung),
             "\n%s: still running after %d s %s%s%s%s: it hangs\n",
             fb_cunit_prog, FB_CUNIT_WATCHDOG, where, *name ? " \"" : "",
             name, *name ? "\"" : "");
    fb_cunit_hung_len = strlen(fb_cunit_hung);
    signal(SIGALRM, fb_cunit_watchdog);
    alarm(FB_CUNIT_WATCHDOG);
}


static void
fb_cunit_setup(void)
{
    CU_pTest  t = CU_get_current_test();

    fb_cunit_arm("in", t != NULL ? t->pName : "?");
}


/* What follows a test: the next test's setup, or a suite's cleanup and
 * the next suite's init. */
static void
fb_cunit_teardown(void)
{
    CU_pTest  t = CU_get_current_test();

    fb_cunit_arm("after", t != NULL ? t->pName : "?");
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
