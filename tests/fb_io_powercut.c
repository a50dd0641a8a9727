/*
 * fb_io_powercut.c: fb_io_* over a model of the disk after a power cut
 * (fb_io_powercut.h says what the model assumes).
 *
 * Each file of the directory that was created, or found at arming, has a
 * pc_file_t: its inode and its durable content.  An inode number can be
 * reused once its file is gone, so a file unlinked or renamed over leaves
 * the live list at once; its pc_file_t stays as long as the model, since
 * the durable names may still hold it (a power cut before the directory's
 * next fsync brings the file back).  Calls on anything else (the scratch
 * directories the test recovers) pass through untouched and uncounted.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fb_io.h"
#include "fb_io_powercut.h"

typedef struct pc_file_s  pc_file_t;

struct pc_file_s {
    dev_t           dev;
    ino_t           ino;
    int             live;           /* the inode is still this file */
    unsigned char  *data;           /* durable content */
    size_t          len;
    pc_file_t      *next;
};

typedef struct {
    char        name[256];
    pc_file_t  *file;
} pc_name_t;

/* pc_mutex protects everything below, and is held around every call. */
static pthread_mutex_t  pc_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t   pc_cond = PTHREAD_COND_INITIALIZER;
static char             pc_dir[4096];
static size_t           pc_dir_len;
static dev_t            pc_dir_dev;
static ino_t            pc_dir_ino;
static pc_file_t       *pc_files;
static pc_name_t       *pc_names;   /* durable names */
static size_t           pc_nnames;
static unsigned         pc_latency_us;
static uint64_t         pc_rng = 88172645463325252ull;

/* The save at a chosen call (fb_powercut_at). */
static const char      *at_what;
static long             at_left;     /* calls to go; 0: none set */
static int              at_after;
static int              at_keep;
static char             at_dest[4096];
static void           (*at_take)(void *arg);
static void            *at_arg;
static int              at_done;     /* 1 saved, -1 failed */


/* Whole file content through fd, which may be open for writing only. */
static int
pc_read_fd(int fd, unsigned char **data, size_t *len)
{
    int              rfd;
    char             proc[64];
    ssize_t          n;
    size_t           k = 0;
    struct stat      st;
    unsigned char   *p;

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    rfd = open(proc, O_RDONLY | O_CLOEXEC);
    if (rfd < 0) {
        fprintf(stderr, "fb_io_powercut: open() \"%s\" failed: %s\n", proc,
                strerror(errno));
        return -1;
    }

    if (fstat(rfd, &st) != 0) {
        fprintf(stderr, "fb_io_powercut: fstat() failed: %s\n",
                strerror(errno));
        close(rfd);
        return -1;
    }

    p = malloc((size_t) st.st_size + 1);
    if (p == NULL) {
        fprintf(stderr, "fb_io_powercut: malloc() failed\n");
        close(rfd);
        return -1;
    }

    while (k < (size_t) st.st_size) {
        n = pread(rfd, p + k, (size_t) st.st_size - k, (off_t) k);
        if (n <= 0) {
            break;
        }
        k += (size_t) n;
    }

    close(rfd);

    if (k != (size_t) st.st_size) {
        fprintf(stderr, "fb_io_powercut: pread() \"%s\" failed\n", proc);
        free(p);
        return -1;
    }

    *data = p;
    *len = k;
    return 0;
}


static pc_file_t *
pc_live(dev_t dev, ino_t ino)
{
    pc_file_t  *f;

    for (f = pc_files; f != NULL; f = f->next) {
        if (f->live && f->dev == dev && f->ino == ino) {
            return f;
        }
    }

    return NULL;
}


/* A new file at dev/ino, durable as empty; whatever had the inode before
 * is gone. */
static pc_file_t *
pc_new_file(dev_t dev, ino_t ino)
{
    pc_file_t  *f, *old;

    old = pc_live(dev, ino);
    if (old != NULL) {
        old->live = 0;
    }

    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        fprintf(stderr, "fb_io_powercut: calloc() failed\n");
        return NULL;
    }

    f->dev = dev;
    f->ino = ino;
    f->live = 1;
    f->next = pc_files;
    pc_files = f;
    return f;
}


/* The live file of a descriptor, or NULL if it is not one of the model's. */
static pc_file_t *
pc_fd_file(int fd)
{
    struct stat  st;

    if (pc_dir_len == 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        return NULL;
    }

    return pc_live(st.st_dev, st.st_ino);
}


static int
pc_is_dir_fd(int fd)
{
    struct stat  st;

    return pc_dir_len != 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)
           && st.st_dev == pc_dir_dev && st.st_ino == pc_dir_ino;
}


static int
pc_in_dir(const char *path)
{
    return pc_dir_len != 0 && strncmp(path, pc_dir, pc_dir_len) == 0
           && path[pc_dir_len] == '/' && strchr(path + pc_dir_len + 1, '/')
                                         == NULL;
}


/* Makes the whole file durable as it is now. */
static int
pc_sync_file(pc_file_t *f, int fd)
{
    size_t          len;
    unsigned char  *data;

    if (pc_read_fd(fd, &data, &len) != 0) {
        return -1;
    }

    free(f->data);
    f->data = data;
    f->len = len;
    return 0;
}


/* The durable names become the directory's listing now.  With
 * as_found, a file the model does not know yet is durable as it is (the
 * files present at arming); otherwise as empty. */
static int
pc_sync_names(int as_found)
{
    int             fd;
    DIR            *d;
    char            path[4096 + 256];
    size_t          n = 0, cap = 16;
    pc_file_t      *f;
    pc_name_t      *names, *grown;
    struct stat     st;
    struct dirent  *de;

    names = malloc(cap * sizeof(*names));
    if (names == NULL) {
        fprintf(stderr, "fb_io_powercut: malloc() failed\n");
        return -1;
    }

    d = opendir(pc_dir);
    if (d == NULL) {
        fprintf(stderr, "fb_io_powercut: opendir() \"%s\" failed: %s\n",
                pc_dir, strerror(errno));
        free(names);
        return -1;
    }

    while ((de = readdir(d)) != NULL) {
        snprintf(path, sizeof(path), "%s/%s", pc_dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)
            || strlen(de->d_name) >= sizeof(names[0].name))
        {
            continue;
        }

        f = pc_live(st.st_dev, st.st_ino);
        if (f == NULL) {
            f = pc_new_file(st.st_dev, st.st_ino);
            fd = f != NULL && as_found ? open(path, O_RDONLY | O_CLOEXEC)
                                       : -2;
            if (f == NULL || fd == -1
                || (fd >= 0 && pc_sync_file(f, fd) != 0))
            {
                if (fd >= 0) {
                    close(fd);
                }
                closedir(d);
                free(names);
                return -1;
            }
            if (fd >= 0) {
                close(fd);
            }
        }

        if (n == cap) {
            cap *= 2;
            grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL) {
                fprintf(stderr, "fb_io_powercut: realloc() failed\n");
                closedir(d);
                free(names);
                return -1;
            }
            names = grown;
        }

        snprintf(names[n].name, sizeof(names[n].name), "%s", de->d_name);
        names[n].file = f;
        n++;
    }

    closedir(d);

    free(pc_names);
    pc_names = names;
    pc_nnames = n;
    return 0;
}


static int
pc_write_file(const char *dest, const char *name, const unsigned char *data,
    size_t len)
{
    int   fd, rc;
    char  path[4096 + 256];

    snprintf(path, sizeof(path), "%s/%s", dest, name);

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "fb_io_powercut: open() \"%s\" failed: %s\n", path,
                strerror(errno));
        return -1;
    }

    rc = len == 0 || write(fd, data, len) == (ssize_t) len ? 0 : -1;
    if (rc != 0) {
        fprintf(stderr, "fb_io_powercut: write() \"%s\" failed\n", path);
    }

    close(fd);
    return rc;
}


/* Under pc_mutex. */
static int
pc_save(const char *dest, int keep_unsynced)
{
    int             fd, rc = 0;
    DIR            *d;
    char            path[4096 + 256];
    size_t          i, len;
    struct stat     st;
    struct dirent  *de;
    unsigned char  *data;

    if (!keep_unsynced) {
        for (i = 0; i < pc_nnames && rc == 0; i++) {
            rc = pc_write_file(dest, pc_names[i].name,
                               pc_names[i].file->data, pc_names[i].file->len);
        }
        return rc;
    }

    d = opendir(pc_dir);
    if (d == NULL) {
        fprintf(stderr, "fb_io_powercut: opendir() \"%s\" failed: %s\n",
                pc_dir, strerror(errno));
        return -1;
    }

    while (rc == 0 && (de = readdir(d)) != NULL) {
        snprintf(path, sizeof(path), "%s/%s", pc_dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "fb_io_powercut: open() \"%s\" failed: %s\n",
                    path, strerror(errno));
            rc = -1;
            break;
        }
        rc = pc_read_fd(fd, &data, &len);
        close(fd);
        if (rc == 0) {
            rc = pc_write_file(dest, de->d_name, data, len);
            free(data);
        }
    }

    closedir(d);
    return rc;
}


/* Under pc_mutex, for a call on the model's files: 1 if it is the one
 * fb_powercut_at chose. */
static int
pc_count(const char *what)
{
    if (at_left == 0 || (at_what != NULL && strcmp(what, at_what) != 0)) {
        return 0;
    }

    return --at_left == 0;
}


/* Under pc_mutex: the chosen call's save, at this side of its effect. */
static void
pc_point(int chosen, int after)
{
    if (!chosen || after != at_after) {
        return;
    }

    if (at_take != NULL) {
        at_take(at_arg);
    }

    at_done = pc_save(at_dest, at_keep) == 0 ? 1 : -1;
    pthread_cond_broadcast(&pc_cond);
}


static void
pc_delay(void)
{
    unsigned         us;
    struct timespec  ts;

    /* Between none and twice the latency, so that syncs that run side
     * by side (a segment's and the directory's) end in either order. */
    pthread_mutex_lock(&pc_mutex);
    pc_rng ^= pc_rng << 13;
    pc_rng ^= pc_rng >> 7;
    pc_rng ^= pc_rng << 17;
    us = pc_latency_us > 0 ? (unsigned) (pc_rng % (2 * pc_latency_us + 1))
                           : 0;
    pthread_mutex_unlock(&pc_mutex);

    if (us > 0) {
        ts.tv_sec = us / 1000000;
        ts.tv_nsec = (long) (us % 1000000) * 1000;
        nanosleep(&ts, NULL);
    }
}


int
fb_powercut_arm(const char *dir)
{
    int          rc;
    struct stat  st;

    fb_powercut_disarm();

    if (stat(dir, &st) != 0 || strlen(dir) >= sizeof(pc_dir)) {
        fprintf(stderr, "fb_io_powercut: stat() \"%s\" failed\n", dir);
        return -1;
    }

    pthread_mutex_lock(&pc_mutex);
    snprintf(pc_dir, sizeof(pc_dir), "%s", dir);
    pc_dir_len = strlen(pc_dir);
    pc_dir_dev = st.st_dev;
    pc_dir_ino = st.st_ino;
    rc = pc_sync_names(1);
    pthread_mutex_unlock(&pc_mutex);

    return rc;
}


void
fb_powercut_disarm(void)
{
    pc_file_t  *f;

    pthread_mutex_lock(&pc_mutex);

    while (pc_files != NULL) {
        f = pc_files;
        pc_files = f->next;
        free(f->data);
        free(f);
    }

    free(pc_names);
    pc_names = NULL;
    pc_nnames = 0;
    pc_dir_len = 0;
    pc_dir[0] = '\0';
    at_left = 0;

    pthread_mutex_unlock(&pc_mutex);
}


void
fb_powercut_latency(unsigned us)
{
    pthread_mutex_lock(&pc_mutex);
    pc_latency_us = us;
    pthread_mutex_unlock(&pc_mutex);
}


int
fb_powercut_save(const char *dest, int keep_unsynced)
{
    int  rc;

    pthread_mutex_lock(&pc_mutex);
    rc = pc_dir_len != 0 ? pc_save(dest, keep_unsynced) : -1;
    pthread_mutex_unlock(&pc_mutex);

    return rc;
}


void
fb_powercut_at(const char *what, long n, int after, int keep_unsynced,
    const char *dest, void (*take)(void *arg), void *arg)
{
    pthread_mutex_lock(&pc_mutex);
    at_what = what;
    at_left = n > 0 ? n : 1;
    at_after = after;
    at_keep = keep_unsynced;
    snprintf(at_dest, sizeof(at_dest), "%s", dest);
    at_take = take;
    at_arg = arg;
    at_done = 0;
    pthread_mutex_unlock(&pc_mutex);
}


int
fb_powercut_wait(int seconds)
{
    int              rc = 0;
    struct timespec  due;

    clock_gettime(CLOCK_REALTIME, &due);
    due.tv_sec += seconds;

    pthread_mutex_lock(&pc_mutex);
    while (at_done == 0 && rc == 0) {
        rc = pthread_cond_timedwait(&pc_cond, &pc_mutex, &due);
    }
    rc = at_done == 1 ? 0 : -1;
    pthread_mutex_unlock(&pc_mutex);

    return rc;
}


void
fb_powercut_cancel(void)
{
    pthread_mutex_lock(&pc_mutex);
    at_left = 0;
    pthread_mutex_unlock(&pc_mutex);
}


int
fb_io_open(const char *path, int flags, mode_t mode)
{
    int          fd, err, ours, chosen = 0, existed = 1;
    struct stat  st;

    pthread_mutex_lock(&pc_mutex);

    ours = pc_in_dir(path);
    if (ours) {
        chosen = pc_count("open");
        pc_point(chosen, 0);
        existed = stat(path, &st) == 0;
    }

    fd = open(path, flags, mode);
    err = errno;

    if (ours && fd >= 0) {
        /* A file just created: durable as empty, whatever the inode
         * was before. */
        if (fstat(fd, &st) == 0
            && (!existed || pc_live(st.st_dev, st.st_ino) == NULL))
        {
            (void) pc_new_file(st.st_dev, st.st_ino);
        }
        pc_point(chosen, 1);
    }

    pthread_mutex_unlock(&pc_mutex);

    errno = err;
    return fd;
}


/*
 * A call on one descriptor, seen by the model: pc_enter locks, counts
 * the call if the descriptor is one of the model's files and saves
 * before its effect if it is the chosen one; pc_leave saves after the
 * effect, unlocks and gives the call's errno back.
 */
static int
pc_enter(int fd, const char *what)
{
    int  chosen = 0;

    pthread_mutex_lock(&pc_mutex);

    if (pc_fd_file(fd) != NULL) {
        chosen = pc_count(what);
    }

    pc_point(chosen, 0);
    return chosen;
}


static void
pc_leave(int chosen, int err)
{
    pc_point(chosen, 1);
    pthread_mutex_unlock(&pc_mutex);
    errno = err;
}


ssize_t
fb_io_write(int fd, const void *buf, size_t len)
{
    int      chosen = pc_enter(fd, "write");
    ssize_t  n = write(fd, buf, len);

    pc_leave(chosen, errno);
    return n;
}


ssize_t
fb_io_pwrite(int fd, const void *buf, size_t len, off_t off)
{
    int      chosen = pc_enter(fd, "pwrite");
    ssize_t  n = pwrite(fd, buf, len, off);

    pc_leave(chosen, errno);
    return n;
}


/* fdatasync and fsync alike: the model keeps no metadata but names. */
static int
pc_sync(const char *what, int fd)
{
    int         rc = 0, chosen = 0;
    pc_file_t  *f;

    pc_delay();

    pthread_mutex_lock(&pc_mutex);

    if (pc_is_dir_fd(fd)) {
        chosen = pc_count(what);
        pc_point(chosen, 0);
        rc = pc_sync_names(0);
    } else if ((f = pc_fd_file(fd)) != NULL) {
        chosen = pc_count(what);
        pc_point(chosen, 0);
        rc = pc_sync_file(f, fd);
    }

    pc_point(chosen, 1);

    pthread_mutex_unlock(&pc_mutex);

    if (rc != 0) {
        errno = EIO;
        return -1;
    }

    return 0;
}


int
fb_io_fdatasync(int fd)
{
    return pc_sync("fdatasync", fd);
}


int
fb_io_fsync(int fd)
{
    return pc_sync("fsync", fd);
}


int
fb_io_ftruncate(int fd, off_t len)
{
    int  chosen = pc_enter(fd, "ftruncate");
    int  rc = ftruncate(fd, len);

    pc_leave(chosen, errno);
    return rc;
}


int
fb_io_rename(const char *from, const char *to)
{
    int          rc, err, ours, chosen = 0;
    pc_file_t   *over = NULL;
    struct stat  st;

    pthread_mutex_lock(&pc_mutex);

    ours = pc_in_dir(from) && pc_in_dir(to);
    if (ours) {
        chosen = pc_count("rename");
        if (stat(to, &st) == 0) {
            over = pc_live(st.st_dev, st.st_ino);
        }
    }

    pc_point(chosen, 0);
    rc = rename(from, to);
    err = errno;

    /* The file renamed over is gone: its inode may be reused. */
    if (rc == 0 && over != NULL) {
        over->live = 0;
    }

    pc_point(chosen, 1);

    pthread_mutex_unlock(&pc_mutex);

    errno = err;
    return rc;
}


int
fb_io_unlink(const char *path)
{
    int          rc, err, chosen = 0;
    pc_file_t   *gone = NULL;
    struct stat  st;

    pthread_mutex_lock(&pc_mutex);

    if (pc_in_dir(path)) {
        chosen = pc_count("unlink");
        if (stat(path, &st) == 0) {
            gone = pc_live(st.st_dev, st.st_ino);
        }
    }

    pc_point(chosen, 0);
    rc = unlink(path);
    err = errno;

    if (rc == 0 && gone != NULL) {
        gone->live = 0;
    }

    pc_point(chosen, 1);

    pthread_mutex_unlock(&pc_mutex);

    errno = err;
    return rc;
}
