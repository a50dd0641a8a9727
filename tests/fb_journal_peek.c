/*
 * fb_journal_peek.c: store/fb_journal.c compiled with a test-only door
 * (see fb_journal_peek.h): its acquire loads go through one that can
 * pause after a chosen one.  The code under test is otherwise the
 * library's, byte for byte.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "fb_atomic.h"
#include "fb_journal_peek.h"


static int64_t fb_jpeek_load_acquire(const fb_atomic_i64_t *a);

#define fb_atomic_load_acquire  fb_jpeek_load_acquire

#include "fb_journal.c"

#undef fb_atomic_load_acquire


/*
 * armed is read on every load, by every thread, through the real load;
 * the rest is under mutex.
 */
static fb_atomic_i64_t          fb_jpeek_armed;
static pthread_mutex_t          fb_jpeek_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t           fb_jpeek_cond = PTHREAD_COND_INITIALIZER;
static const fb_atomic_i64_t   *fb_jpeek_at;
static pthread_t                fb_jpeek_thread;
static int                      fb_jpeek_paused;
static int                      fb_jpeek_going;


void
fb_jpeek_pause_acked(fb_journal_t *j)
{
    pthread_mutex_lock(&fb_jpeek_mutex);
    fb_jpeek_at = j->conf.fsync == FB_FSYNC_ALWAYS ? &j->synced_lsn
                                                   : &j->written_lsn;
    fb_jpeek_thread = pthread_self();
    fb_jpeek_paused = 0;
    fb_jpeek_going = 0;
    fb_atomic_store_release(&fb_jpeek_armed, 1);
    pthread_mutex_unlock(&fb_jpeek_mutex);
}


int
fb_jpeek_wait_paused(int seconds)
{
    int              rc = 0;
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += seconds;

    pthread_mutex_lock(&fb_jpeek_mutex);
    while (!fb_jpeek_paused && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&fb_jpeek_cond, &fb_jpeek_mutex, &ts);
    }
    rc = fb_jpeek_paused ? 0 : -1;
    pthread_mutex_unlock(&fb_jpeek_mutex);

    return rc;
}


void
fb_jpeek_go(void)
{
    pthread_mutex_lock(&fb_jpeek_mutex);
    fb_jpeek_going = 1;
    pthread_cond_broadcast(&fb_jpeek_cond);
    pthread_mutex_unlock(&fb_jpeek_mutex);
}


static int64_t
fb_jpeek_load_acquire(const fb_atomic_i64_t *a)
{
    int64_t  v = fb_atomic_load_acquire(a);

    if (fb_atomic_load_relaxed(&fb_jpeek_armed) == 0) {
        return v;
    }

    pthread_mutex_lock(&fb_jpeek_mutex);

    if (a == fb_jpeek_at && pthread_equal(pthread_self(), fb_jpeek_thread)
        && fb_atomic_load_relaxed(&fb_jpeek_armed) != 0)
    {
        fb_atomic_store_relaxed(&fb_jpeek_armed, 0);
        fb_jpeek_paused = 1;
        pthread_cond_broadcast(&fb_jpeek_cond);

        while (!fb_jpeek_going) {
            pthread_cond_wait(&fb_jpeek_cond, &fb_jpeek_mutex);
        }
    }

    pthread_mutex_unlock(&fb_jpeek_mutex);

    return v;
}
