/*
 * fb_store_peek.c: store/fb_store.c compiled with test-only doors (see
 * fb_store_peek.h).  The store's allocation calls are routed through
 * counters that can be told to fail, as SQLite and nghttp2 do, and its
 * release stores through one that can pause after a chosen one, its
 * acquire loads through one that can run a callback after a chosen one;
 * the code under test is otherwise the library's, byte for byte.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "fb_atomic.h"
#include "fb_store_peek.h"


static long  fb_peek_nallocs;
static long  fb_peek_fail_at = -1;
static int   fb_peek_persist;

/* Set before the thread that stores is started; read only by it. */
static const fb_atomic_i64_t  *fb_peek_pause_at;
static long                    fb_peek_pause_ms;
static fb_atomic_i64_t         fb_peek_paused_flag;

/* Set by the reading thread (fb_peek_after_first_load), which also
 * clears the flag when it runs the callback. */
static const fb_atomic_i64_t  *fb_peek_load_at[2];
static void                  (*fb_peek_load_fn)(void *arg);
static void                   *fb_peek_load_arg;
static fb_atomic_i64_t         fb_peek_load_armed;


static int fb_peek_failing(void);
static void *fb_peek_malloc(size_t size);
static void *fb_peek_calloc(size_t n, size_t size);
static int fb_peek_posix_memalign(void **p, size_t align, size_t size);
static int fb_peek_mutex_init(pthread_mutex_t *m,
    const pthread_mutexattr_t *attr);
static void fb_peek_store_release(fb_atomic_i64_t *a, int64_t v);
static int64_t fb_peek_load_acquire(const fb_atomic_i64_t *a);


#define malloc              fb_peek_malloc
#define calloc              fb_peek_calloc
#define posix_memalign      fb_peek_posix_memalign
#define pthread_mutex_init  fb_peek_mutex_init
#define fb_atomic_store_release  fb_peek_store_release
#define fb_atomic_load_acquire   fb_peek_load_acquire

#include "fb_store.c"

#undef malloc
#undef calloc
#undef posix_memalign
#undef pthread_mutex_init
#undef fb_atomic_store_release
#undef fb_atomic_load_acquire


int
fb_peek_set_balance(fb_store_t *s, int64_t id, int64_t balance)
{
    fb_slot_t        *slot;
    pthread_mutex_t  *m;

    slot = fb_store_slot(s, id);
    if (slot == NULL) {
        return -1;
    }

    m = fb_store_stripe(s, id);
    pthread_mutex_lock(m);
    fb_atomic_store_release(&slot->balance, balance);
    pthread_mutex_unlock(m);

    return 0;
}


int
fb_peek_pause_after_balance(fb_store_t *s, int64_t id, long ms)
{
    fb_slot_t  *slot;

    slot = fb_store_slot(s, id);
    if (slot == NULL) {
        return -1;
    }

    fb_peek_pause_at = &slot->balance;
    fb_peek_pause_ms = ms;
    fb_atomic_store_release(&fb_peek_paused_flag, 0);

    return 0;
}


int
fb_peek_paused(void)
{
    return fb_atomic_load_acquire(&fb_peek_paused_flag) != 0;
}


int
fb_peek_after_first_load(fb_store_t *s, int64_t id, void (*fn)(void *arg),
    void *arg)
{
    fb_slot_t  *slot;

    slot = fb_store_slot(s, id);
    if (slot == NULL) {
        return -1;
    }

    fb_peek_load_at[0] = &slot->balance;
    fb_peek_load_at[1] = &slot->lsn;
    fb_peek_load_fn = fn;
    fb_peek_load_arg = arg;
    fb_atomic_store_relaxed(&fb_peek_load_armed, 1);

    return 0;
}


void
fb_peek_fail_alloc(long n, int persist)
{
    fb_peek_fail_at = n < 0 ? -1 : fb_peek_nallocs + n;
    fb_peek_persist = persist;
}


long
fb_peek_allocs(void)
{
    return fb_peek_nallocs;
}


static int
fb_peek_failing(void)
{
    long  n;

    n = fb_peek_nallocs++;

    if (fb_peek_fail_at < 0) {
        return 0;
    }

    return n == fb_peek_fail_at || (fb_peek_persist && n > fb_peek_fail_at);
}


static void *
fb_peek_malloc(size_t size)
{
    if (fb_peek_failing()) {
        errno = ENOMEM;
        return NULL;
    }

    return malloc(size);
}


static void *
fb_peek_calloc(size_t n, size_t size)
{
    if (fb_peek_failing()) {
        errno = ENOMEM;
        return NULL;
    }

    return calloc(n, size);
}


static int
fb_peek_posix_memalign(void **p, size_t align, size_t size)
{
    if (fb_peek_failing()) {
        return ENOMEM;
    }

    return posix_memalign(p, align, size);
}


static int
fb_peek_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
    if (fb_peek_failing()) {
        return ENOMEM;
    }

    return pthread_mutex_init(m, attr);
}


static void
fb_peek_store_release(fb_atomic_i64_t *a, int64_t v)
{
    struct timespec  ts;

    fb_atomic_store_release(a, v);

    if (a != fb_peek_pause_at || fb_atomic_load_relaxed(&fb_peek_paused_flag))
    {
        return;
    }

    fb_atomic_store_release(&fb_peek_paused_flag, 1);

    ts.tv_sec = fb_peek_pause_ms / 1000;
    ts.tv_nsec = fb_peek_pause_ms % 1000 * 1000000;
    nanosleep(&ts, NULL);
}


static int64_t
fb_peek_load_acquire(const fb_atomic_i64_t *a)
{
    int64_t  v;

    v = fb_atomic_load_acquire(a);

    if ((a != fb_peek_load_at[0] && a != fb_peek_load_at[1])
        || !fb_atomic_load_relaxed(&fb_peek_load_armed))
    {
        return v;
    }

    fb_atomic_store_relaxed(&fb_peek_load_armed, 0);
    fb_peek_load_fn(fb_peek_load_arg);

    return v;
}
