/*
 * fb_cunit.h: the main() that every CUnit test program here shares:
 * register the tests, run them verbosely, and turn the outcome into the
 * exit status, so that no program can pass having checked less than it
 * registered.
 */

#ifndef FB_CUNIT_H_INCLUDED
#define FB_CUNIT_H_INCLUDED

#include <stddef.h>

#include <CUnit/CUnit.h>

typedef struct {
    const char   *name;
    CU_TestFunc   fn;
} fb_ctest_t;

/*
 * Runs the n tests as one suite (init and clean may be NULL) and returns
 * the exit status: 0 only if every test ran and none failed (no failed
 * assertion, test, suite init or clean); 1 otherwise, and on any CUnit
 * registry error, which goes to stderr after "prog: ".
 */
int fb_cunit_run(const char *prog, const char *suite, CU_InitializeFunc init,
    CU_CleanupFunc clean, const fb_ctest_t *tests, size_t n);

/* The same for several suites, in CUnit's own tables (CU_register_suites). */
int fb_cunit_run_suites(const char *prog, CU_SuiteInfo *suites);

#endif /* FB_CUNIT_H_INCLUDED */
