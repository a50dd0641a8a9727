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

#include "fb_cunit.h"
#include "fb_log.h"

/* fb_log()'s buffer: a record is at most this long, its newline included. */
#define LOG_RECORD_MAX  1023

static int     cap_file = -1;      /* a scratch file, already unlinked */
static int     cap_saved = -1;     /* the real stderr, while caught */
static char    cap_text[4096];
static size_t  cap_len;


static int
setup(void)
{
    char         path[4096];
    const char  *tmp = getenv("TMPDIR");

    snprintf(path, sizeof(path), "%s/fb-log-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");

    cap_file = mkstemp(path);
    if (cap_file < 0) {
        return 1;
    }

    unlink(path);
    fb_log_level = FB_LOG_WARN;
    return 0;
}


static int
teardown(void)
{
    close(cap_file);
    return 0;
}


/* Descriptor 2 to the scratch file (to is the file), or closed (-1). */
static void
cap_begin(int to)
{
    fflush(stderr);

    if (ftruncate(cap_file, 0) != 0 || lseek(cap_file, 0, SEEK_SET) != 0) {
        CU_FAIL_FATAL("cannot empty the log file");
    }

    cap_saved = dup(STDERR_FILENO);
    CU_ASSERT_FATAL(cap_saved >= 0);

    if (to < 0) {
        close(STDERR_FILENO);
    } else {
        CU_ASSERT_FATAL(dup2(to, STDERR_FILENO) == STDERR_FILENO);
    }
}


static void
cap_end(void)
{
    ssize_t  n;

    dup2(cap_saved, STDERR_FILENO);
    close(cap_saved);
    cap_saved = -1;

    n = pread(cap_file, cap_text, sizeof(cap_text) - 1, 0);
    cap_len = n > 0 ? (size_t) n : 0;
    cap_text[cap_len] = '\0';
}


/* The record after its "time fastbank[pid]: " prefix. */
static const char *
cap_after_prefix(void)
{
    const char  *p = strstr(cap_text, "]: ");

    return p != NULL ? p + 3 : "";
}


static void
test_record(void)
{
    char  want[256];

    cap_begin(cap_file);
    fb_log(FB_LOG_ERR, ENOENT, "open() \"%s\" failed", "x");
    fb_log(FB_LOG_INFO, 0, "below the level: not written");
    cap_end();

    /* 2026-11-28T11:42:23Z fastbank[PID]: error: ... (2: text)\n */
    snprintf(want, sizeof(want), " fastbank[%ld]: ", (long) getpid());
    CU_ASSERT_EQUAL(cap_text[19], 'Z');
    CU_ASSERT_EQUAL(strncmp(cap_text + 20, want, strlen(want)), 0);

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

    cap_begin(cap_file);
    fb_log(FB_LOG_ERR, ENOSPC, "%s", msg);
    cap_end();

    CU_ASSERT_EQUAL(cap_len, LOG_RECORD_MAX);
    CU_ASSERT_EQUAL(cap_text[cap_len - 1], '\n');
    CU_ASSERT_EQUAL(cap_text[cap_len - 2], 'a');
    CU_ASSERT_PTR_EQUAL(memchr(cap_text, '\n', cap_len),
                        cap_text + cap_len - 1);
}


/* The caller logs between a failed call and its own use of errno. */
static void
test_errno(void)
{
    cap_begin(cap_file);
    errno = EAGAIN;
    fb_log(FB_LOG_ERR, EAGAIN, "read() failed");
    CU_ASSERT_EQUAL(errno, EAGAIN);
    cap_end();

    /* stderr closed: the write fails (EBADF), errno stays. */
    cap_begin(-1);
    errno = EAGAIN;
    fb_log(FB_LOG_ERR, EAGAIN, "read() failed");
    CU_ASSERT_EQUAL(errno, EAGAIN);
    cap_end();
    CU_ASSERT_EQUAL(cap_len, 0);
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
