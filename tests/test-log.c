/*
 * test-log.c: fb_log()'s records: one line each, written whole; the level
 * filter; the errno text; a message longer than the record cut and its
 * line still ended; and errno as the caller left it, even when the write
 * to stderr fails.
 */

#include "fb_core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "fb_capture.h"
#include "fb_cunit.h"
#include "fb_log.h"

/* fb_log()'s buffer: a record is at most this long, its newline included. */
#define LOG_RECORD_MAX  1023

static int
setup(void)
{
    fb_log_level = FB_LOG_WARN;
    return fb_capture_init("fb-log") == 0 ? 0 : 1;
}


static int
teardown(void)
{
    fb_capture_free();
    return 0;
}


/* The record after its "time fastbank[pid]: " prefix. */
static const char *
cap_after_prefix(void)
{
    const char  *p = strstr(fb_capture_text, "]: ");

    return p != NULL ? p + 3 : "";
}


static void
test_record(void)
{
    char  want[256];

    fb_capture_begin(0);
    fb_log(FB_LOG_ERR, ENOENT, "open() \"%s\" failed", "x");
    fb_log(FB_LOG_INFO, 0, "below the level: not written");
    fb_capture_end();

    /* 2026-11-28T11:42:23Z fastbank[PID]: error: ... (2: text)\n */
    snprintf(want, sizeof(want), " fastbank[%ld]: ", (long) getpid());
    CU_ASSERT_EQUAL(fb_capture_text[19], 'Z');
    CU_ASSERT_EQUAL(strncmp(fb_capture_text + 20, want, strlen(want)), 0);

    snprintf(want, sizeof(want), "error: open() \"x\" failed (%d: %s)\n",
             ENOENT, strerror(ENOENT));
    CU_ASSERT_STRING_EQUAL(cap_after_prefix(), want);
}


/* A message longer than the record: cut, its line ended, nothing more. */
static void
test_long(void)
{
    char  msg[2000];

    memset(msg, 'a', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';

    fb_capture_begin(0);
    fb_log(FB_LOG_ERR, ENOSPC, "%s", msg);
    fb_capture_end();

    CU_ASSERT_EQUAL(fb_capture_len, LOG_RECORD_MAX);
    CU_ASSERT_EQUAL(fb_capture_text[fb_capture_len - 1], '\n');
    CU_ASSERT_EQUAL(fb_capture_text[fb_capture_len - 2], 'a');
    CU_ASSERT_PTR_EQUAL(memchr(fb_capture_text, '\n', fb_capture_len),
                        fb_capture_text + fb_capture_len - 1);
}


/* The caller logs between a failed call and its own use of errno. */
static void
test_errno(void)
{
    fb_capture_begin(0);
    errno = EAGAIN;
    fb_log(FB_LOG_ERR, EAGAIN, "read() failed");
    CU_ASSERT_EQUAL(errno, EAGAIN);
    fb_capture_end();

    /* stderr closed: the write fails (EBADF), errno stays. */
    fb_capture_begin(1);
    errno = EAGAIN;
    fb_log(FB_LOG_ERR, EAGAIN, "read() failed");
    CU_ASSERT_EQUAL(errno, EAGAIN);
    fb_capture_end();
    CU_ASSERT_EQUAL(fb_capture_len, 0);
}


int
main(void)
{
    static const fb_ctest_t  tests[] = {
        { "a record", test_record },
        { "a message longer than a record", test_long },
        { "errno kept", test_errno },
    };

    return fb_cunit_run("test-log", "log", setup, teardown, tests,
                        fb_nelems(tests));
}
