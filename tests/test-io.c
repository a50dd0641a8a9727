/*
 * test-io.c: fb_io_write_at() and fb_io_write_all(), the loops every
 * journal and snapshot write goes through, over fb_io_write and
 * fb_io_pwrite defined here: each call does what a script says (write
 * some bytes, or fail with an errno), into a file image kept in memory.
 */

#include "fb_core.h"

#include <errno.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "fb_cunit.h"
#include "fb_io.h"

/* One call's outcome: bytes written (at most what was asked), or -1
 * with err. */
typedef struct {
    ssize_t  n;
    int      err;
} io_step_t;

static const io_step_t  *io_script;
static size_t            io_steps, io_calls;
static char              io_file[256];
static off_t             io_pos;        /* the file position of write() */


static void
io_run(const io_step_t *script, size_t n)
{
    io_script = script;
    io_steps = n;
    io_calls = 0;
    io_pos = 0;
    memset(io_file, '.', sizeof(io_file));
}


static ssize_t
io_step(const void *buf, size_t len, off_t off)
{
    ssize_t  n;

    CU_ASSERT_FATAL(io_calls < io_steps);
    n = io_script[io_calls++].n;

    if (n < 0) {
        errno = io_script[io_calls - 1].err;
        return -1;
    }

    if ((size_t) n > len) {
        n = (ssize_t) len;
    }
    CU_ASSERT_FATAL(off >= 0 && (size_t) off + (size_t) n <= sizeof(io_file));
    memcpy(io_file + off, buf, (size_t) n);
    return n;
}


ssize_t
fb_io_write(int fd, const void *buf, size_t len)
{
    ssize_t  n;

    (void) fd;
    n = io_step(buf, len, io_pos);
    if (n > 0) {
        io_pos += n;
    }
    return n;
}


ssize_t
fb_io_pwrite(int fd, const void *buf, size_t len, off_t off)
{
    (void) fd;
    return io_step(buf, len, off);
}


/* Interrupted before anything was written, then short writes: all of it,
 * in order, at the file position. */
static void
test_write_all(void)
{
    size_t                   done = 0;
    static const io_step_t   s[] = {
        { -1, EINTR }, { 3, 0 }, { -1, EINTR }, { 4, 0 }, { 100, 0 }
    };

    io_run(s, fb_nelems(s));
    CU_ASSERT_EQUAL(fb_io_write_all(3, "0123456789", 10, &done), 0);
    CU_ASSERT_EQUAL(done, 10);
    CU_ASSERT_EQUAL(io_calls, 5);
    CU_ASSERT_EQUAL(memcmp(io_file, "0123456789.", 11), 0);
}


/* The same with pwrite(): each piece at its own offset. */
static void
test_write_at(void)
{
    size_t                   done = 0;
    static const io_step_t   s[] = {
        { 2, 0 }, { -1, EINTR }, { 5, 0 }, { 100, 0 }
    };

    io_run(s, fb_nelems(s));
    CU_ASSERT_EQUAL(fb_io_write_at(3, "0123456789", 10, 100, &done), 0);
    CU_ASSERT_EQUAL(done, 10);
    CU_ASSERT_EQUAL(io_calls, 4);
    CU_ASSERT_EQUAL(memcmp(io_file + 99, ".0123456789.", 12), 0);
}


/* A failure after a short write: -1, its errno, and what was written. */
static void
test_write_fails(void)
{
    size_t                   done = 0;
    static const io_step_t   s[] = { { 4, 0 }, { -1, ENOSPC } };
    static const io_step_t   z[] = { { 4, 0 }, { 0, 0 } };

    io_run(s, fb_nelems(s));
    CU_ASSERT_EQUAL(fb_io_write_at(3, "0123456789", 10, 8, &done), -1);
    CU_ASSERT_EQUAL(errno, ENOSPC);
    CU_ASSERT_EQUAL(done, 4);

    /* A write of nothing would be retried for ever: EIO. */
    io_run(z, fb_nelems(z));
    CU_ASSERT_EQUAL(fb_io_write_all(3, "0123456789", 10, &done), -1);
    CU_ASSERT_EQUAL(errno, EIO);
    CU_ASSERT_EQUAL(done, 4);
    CU_ASSERT_EQUAL(io_calls, 2);
}


int
main(void)
{
    static const fb_ctest_t  tests[] = {
        { "write: EINTR and short writes", test_write_all },
        { "pwrite: EINTR and short writes", test_write_at },
        { "a write that fails", test_write_fails },
    };

    return fb_cunit_run("test-io", "io", NULL, NULL, tests,
                        fb_nelems(tests));
}
