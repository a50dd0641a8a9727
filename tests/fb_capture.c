/*
 * fb_capture.c: descriptor 2 caught in a scratch file (fb_capture.h).
 */

#include "fb_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "fb_capture.h"

char    fb_capture_text[FB_CAPTURE_MAX];
size_t  fb_capture_len;

static int  fb_capture_file = -1;    /* the scratch file, unlinked */
static int  fb_capture_saved = -1;   /* the real descriptor 2, while caught */


int
fb_capture_init(const char *name)
{
    char         path[4096];
    const char  *tmp = getenv("TMPDIR");

    snprintf(path, sizeof(path), "%s/%s-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp", name);

    fb_capture_file = mkstemp(path);
    if (fb_capture_file < 0) {
        return -1;
    }

    unlink(path);
    return 0;
}


void
fb_capture_free(void)
{
    if (fb_capture_file >= 0) {
        close(fb_capture_file);
        fb_capture_file = -1;
    }
}


void
fb_capture_begin(int closed)
{
    fflush(stderr);

    if (ftruncate(fb_capture_file, 0) != 0
        || lseek(fb_capture_file, 0, SEEK_SET) != 0)
    {
        CU_FAIL_FATAL("cannot empty the scratch file for stderr");
    }

    fb_capture_saved = dup(STDERR_FILENO);
    if (fb_capture_saved < 0) {
        CU_FAIL_FATAL("cannot keep stderr");
    }

    if (closed) {
        close(STDERR_FILENO);
    } else if (dup2(fb_capture_file, STDERR_FILENO) < 0) {
        CU_FAIL_FATAL("cannot catch stderr");
    }
}


void
fb_capture_end(void)
{
    ssize_t  n;

    dup2(fb_capture_saved, STDERR_FILENO);
    close(fb_capture_saved);
    fb_capture_saved = -1;

    n = pread(fb_capture_file, fb_capture_text, sizeof(fb_capture_text) - 1,
              0);
    fb_capture_len = n > 0 ? (size_t) n : 0;
    fb_capture_text[fb_capture_len] = '\0';

    if (getenv("FB_TEST_VERBOSE") != NULL && fb_capture_len > 0) {
        fprintf(stderr, "  log: %s", fb_capture_text);
    }
}
