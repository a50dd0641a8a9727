/*
 * fb_io_fault.c: fb_io_* with faults on demand (fb_io_fault.h).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fb_io.h"
#include "fb_io_fault.h"

/*
 * fault_mutex protects every counter below: the writer thread, the
 * snapshot thread and the test's own thread all make counted calls.
 */
static pthread_mutex_t  fault_mutex = PTHREAD_MUTEX_INITIALIZER;
static long             fault_calls;
static long             fault_at = -1;
static int              fault_persist;
static int              fault_fired;
static int              fault_next_write;   /* a short write happened */
static const char      *fault_first;
static const char      *fault_only;         /* count only these calls */

/* Held syncs (fb_fault_hold), under fault_mutex too. */
static pthread_cond_t   hold_cond = PTHREAD_COND_INITIALIZER;
static int              hold_on;
static int              hold_tickets;       /* held calls let go */
static int              hold_waiting;       /* held calls now */
static long             hold_total;         /* held since fb_fault_hold(1) */

/* fb_fault_before, under fault_mutex: [0] open, [1] rename. */
typedef struct {
    const char  *suffix;
    void       (*fn)(void *arg);
    void        *arg;
} before_t;

static before_t         before[2];


void
fb_fault_arm(long n, int persist)
{
    pthread_mutex_lock(&fault_mutex);
    fault_calls = 0;
    fault_at = n;
    fault_persist = persist;
    fault_fired = 0;
    fault_next_write = 0;
    fault_first = NULL;
    fault_only = NULL;
    pthread_mutex_unlock(&fault_mutex);
}


void
fb_fault_arm_only(const char *what, long n, int persist)
{
    fb_fault_arm(n, persist);

    pthread_mutex_lock(&fault_mutex);
    fault_only = what;
    pthread_mutex_unlock(&fault_mutex);
}


void
fb_fault_disarm(void)
{
    pthread_mutex_lock(&fault_mutex);
    fault_at = -1;
    fault_next_write = 0;
    fault_only = NULL;
    pthread_mutex_unlock(&fault_mutex);
}


int
fb_fault_fired(void)
{
    int  f;

    pthread_mutex_lock(&fault_mutex);
    f = fault_fired;
    pthread_mutex_unlock(&fault_mutex);
    return f;
}


const char *
fb_fault_what(void)
{
    const char  *w;

    pthread_mutex_lock(&fault_mutex);
    w = fault_first != NULL ? fault_first : "nothing";
    pthread_mutex_unlock(&fault_mutex);
    return w;
}


void
fb_fault_hold(int on)
{
    pthread_mutex_lock(&fault_mutex);
    hold_on = on;
    hold_tickets = 0;
    if (on) {
        hold_total = 0;
    }
    pthread_cond_broadcast(&hold_cond);
    pthread_mutex_unlock(&fault_mutex);
}


void
fb_fault_release(int n)
{
    pthread_mutex_lock(&fault_mutex);
    hold_tickets += n;
    pthread_cond_broadcast(&hold_cond);
    pthread_mutex_unlock(&fault_mutex);
}


int
fb_fault_wait_held(int n, int seconds)
{
    int              rc = 0;
    struct timespec  due;

    clock_gettime(CLOCK_REALTIME, &due);
    due.tv_sec += seconds;

    pthread_mutex_lock(&fault_mutex);
    while (hold_waiting < n && rc == 0) {
        rc = pthread_cond_timedwait(&hold_cond, &fault_mutex, &due);
    }
    rc = hold_waiting >= n ? 0 : -1;
    pthread_mutex_unlock(&fault_mutex);

    return rc;
}


long
fb_fault_held_total(void)
{
    long  n;

    pthread_mutex_lock(&fault_mutex);
    n = hold_total;
    pthread_mutex_unlock(&fault_mutex);
    return n;
}


void
fb_fault_before(const char *what, const char *suffix, void (*fn)(void *arg),
    void *arg)
{
    before_t  *b = &before[strcmp(what, "rename") == 0];

    pthread_mutex_lock(&fault_mutex);
    b->suffix = suffix;
    b->fn = fn;
    b->arg = arg;
    pthread_mutex_unlock(&fault_mutex);
}


/* Calls the function fb_fault_before set for what (0 open, 1 rename) if
 * path ends in its suffix; outside the mutex, as the function may make
 * counted calls itself. */
static void
before_call(int what, const char *path)
{
    size_t     n, len;
    before_t   b;

    pthread_mutex_lock(&fault_mutex);
    b = before[what];
    pthread_mutex_unlock(&fault_mutex);

    if (b.fn == NULL) {
        return;
    }

    n = strlen(b.suffix);
    len = strlen(path);
    if (len >= n && strcmp(path + len - n, b.suffix) == 0) {
        b.fn(b.arg);
    }
}


/* While syncs are held: waits until this one is let go. */
static void
hold_sync(void)
{
    pthread_mutex_lock(&fault_mutex);

    if (hold_on) {
        hold_waiting++;
        hold_total++;
        pthread_cond_broadcast(&hold_cond);

        while (hold_on && hold_tickets == 0) {
            pthread_cond_wait(&hold_cond, &fault_mutex);
        }

        if (hold_on) {
            hold_tickets--;
        }
        hold_waiting--;
    }

    pthread_mutex_unlock(&fault_mutex);
}


/* 1 if this call fails; *short_write set for a write that fails half way. */
static int
fault_check(const char *what, int is_write, int *short_write)
{
    int   fail = 0;
    long  n;

    pthread_mutex_lock(&fault_mutex);

    if (fault_only != NULL && strcmp(what, fault_only) != 0) {
        pthread_mutex_unlock(&fault_mutex);
        return 0;
    }

    n = fault_calls++;

    if (is_write && fault_next_write) {
        fault_next_write = 0;
        fail = 1;
    } else if (fault_at >= 0
               && (n == fault_at || (fault_persist && n > fault_at)))
    {
        fail = 1;
        if (!fault_fired) {
            fault_fired = 1;
            fault_first = what;
            if (is_write && short_write != NULL) {
                *short_write = 1;
                fault_next_write = 1;
                fail = 0;
            }
        }
    }

    pthread_mutex_unlock(&fault_mutex);
    return fail;
}


int
fb_io_open(const char *path, int flags, mode_t mode)
{
    before_call(0, path);

    if (fault_check("open", 0, NULL)) {
        errno = EIO;
        return -1;
    }

    return open(path, flags, mode);
}


ssize_t
fb_io_write(int fd, const void *buf, size_t len)
{
    int  sw = 0;

    if (fault_check("write", 1, &sw)) {
        errno = ENOSPC;
        return -1;
    }

    if (sw && len > 1) {
        return write(fd, buf, len / 2);
    }

    if (sw) {
        errno = ENOSPC;
        return -1;
    }

    return write(fd, buf, len);
}


ssize_t
fb_io_pwrite(int fd, const void *buf, size_t len, off_t off)
{
    if (fault_check("pwrite", 0, NULL)) {
        errno = EIO;
        return -1;
    }

    return pwrite(fd, buf, len, off);
}


int
fb_io_fdatasync(int fd)
{
    hold_sync();

    if (fault_check("fdatasync", 0, NULL)) {
        errno = EIO;
        return -1;
    }

    return 0;
}


int
fb_io_fsync(int fd)
{
    if (fault_check("fsync", 0, NULL)) {
        errno = EIO;
        return -1;
    }

    return 0;
}


int
fb_io_ftruncate(int fd, off_t len)
{
    if (fault_check("ftruncate", 0, NULL)) {
        errno = EIO;
        return -1;
    }

    return ftruncate(fd, len);
}


int
fb_io_rename(const char *from, const char *to)
{
    before_call(1, from);

    if (fault_check("rename", 0, NULL)) {
        errno = EIO;
        return -1;
    }

    return rename(from, to);
}


int
fb_io_unlink(const char *path)
{
    if (fault_check("unlink", 0, NULL)) {
        errno = EIO;
        return -1;
    }

    return unlink(path);
}
