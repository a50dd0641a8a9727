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
 * Writes all len bytes, retrying short writes and EINTR.  On failure
 * returns -1 with errno set and *done (if not NULL) the bytes written.
 */
static inline int
fb_io_write_all(int fd, const void *buf, size_t len, size_t *done)
{
    size_t       off = 0;
    ssize_t      n;
    const char  *p = buf;

    while (off < len) {
        n = fb_io_write(fd, p + off, len - off);
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
        off += (size_t) n;
    }

    if (done != NULL) {
        *done = off;
    }

    return off == len ? 0 : -1;
}

/* The same for pwrite(), at off. */
static inline int
fb_io_pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
    size_t       done = 0;
    ssize_t      n;
    const char  *p = buf;

    while (done < len) {
        n = fb_io_pwrite(fd, p + done, len - done, off + (off_t) done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        done += (size_t) n;
    }

    return 0;
}

#endif /* FB_IO_H_INCLUDED */
