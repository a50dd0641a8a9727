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
 * CI's own limit.  Per test, armed by the setup every suite gets here:
 * generous, as sanitizer builds run many times slower and the slowest
 * test takes about 20 s under TSan.  A test that arms alarm() itself
 * (test-stress) replaces this one while it runs.
 */
#define FB_CUNIT_WATCHDOG  600

static int fb_cunit_finish(const char *prog);
static void fb_cunit_setup(void);
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

    /* The per-test setup is the watchdog's: a suite with its own would
     * run without one. */
    for (s = CU_get_registry()->pSuite; s != NULL; s = s->pNext) {
        if (s->pSetUpFunc != NULL) {
            fprintf(stderr, "%s: suite \"%s\" has a setup of its own\n",
                    prog, s->pName);
            CU_cleanup_registry();
            return 1;
        }
        s->pSetUpFunc = fb_cunit_setup;
    }

    fb_cunit_prog = prog;

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


/* Before each test: its name in the message, and the alarm. */
static void
fb_cunit_setup(void)
{
    CU_pTest  t = CU_get_current_test();

    alarm(0);
    snprintf(fb_cunit_hung, sizeof(fb_cunit_hung),
             "\n%s: \"%s\" still running after %d s: it hangs\n",
             fb_cunit_prog, t != NULL ? t->pName : "?", FB_CUNIT_WATCHDOG);
    fb_cunit_hung_len = strlen(fb_cunit_hung);
    signal(SIGALRM, fb_cunit_watchdog);
    alarm(FB_CUNIT_WATCHDOG);
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
