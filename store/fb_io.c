/*
 * fb_io.c: the file-system calls of the durable state, as they are (see
 * fb_io.h for why they have their own names).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "fb_io.h"


int
fb_io_open(const char *path, int flags, mode_t mode)
{
    return open(path, flags, mode);
}


ssize_t
fb_io_write(int fd, const void *buf, size_t len)
{
    return write(fd, buf, len);
}


ssize_t
fb_io_pwrite(int fd, const void *buf, size_t len, off_t off)
{
    return pwrite(fd, buf, len, off);
}


int
fb_io_fdatasync(int fd)
{
    return fdatasync(fd);
}


int
fb_io_fsync(int fd)
{
    return fsync(fd);
}


int
fb_io_ftruncate(int fd, off_t len)
{
    return ftruncate(fd, len);
}


int
fb_io_rename(const char *from, const char *to)
{
    return rename(from, to);
}


int
fb_io_unlink(const char *path)
{
    return unlink(path);
}
