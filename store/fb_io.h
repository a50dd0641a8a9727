/*
 * fb_io.h: the file-system calls the journal and the snapshots make.
 *
 * Every write, sync, rename, truncate and unlink of the durable state goes
 * through these functions so that a test can make the Nth of them fail
 * (tests/fb_io_fault.c defines them all and is linked instead of
 * store/fb_io.c, as SQLite's I/O-error tests swap the VFS).  Here they are
 * the system calls themselves: they return what the call returns and
 * leave errno as it set it.
 */

#ifndef FB_IO_H_INCLUDED
#define FB_IO_H_INCLUDED

#include <errno.h>
#include <stddef.h>
#include <sys/types.h>

int fb_io_open(const char *path, int flags, mode_t mode);
ssize_t fb_io_write(int fd, const void *buf, size_t len);
ssize_t fb_io_pwrite(int fd, const void *buf, size_t len, off_t off);
int fb_io_fdatasync(int fd);
int fb_io_fsync(int fd);
int fb_io_ftruncate(int fd, off_t len);
int fb_io_rename(const char *from, const char *to);
int fb_io_unlink(const char *path);

/*
 * Writes all len bytes, retrying short writes and EINTR: with write() at
 * the file position if off < 0, else with pwrite() at off.  On failure
 * returns -1 with errno set and *done (if not NULL) the bytes written.
 */
static inline int
fb_io_write_at(int fd, const void *buf, size_t len, off_t off, size_t *done)
{
    size_t       k = 0;
    ssize_t      n;
    const char  *p = buf;

    while (k < len) {
        n = off < 0 ? fb_io_write(fd, p + k, len - k)
                    : fb_io_pwrite(fd, p + k, len - k, off + (off_t) k);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (n == 0) {
            errno = EIO;
            break;
        }
        k += (size_t) n;
    }

    if (done != NULL) {
        *done = k;
    }

    return k == len ? 0 : -1;
}

static inline int
fb_io_write_all(int fd, const void *buf, size_t len, size_t *done)
{
    return fb_io_write_at(fd, buf, len, -1, done);
}

#endif /* FB_IO_H_INCLUDED */
