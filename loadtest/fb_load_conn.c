/*
 * fb_load_conn.c: the connection engine.  Each worker thread owns an
 * epoll set and its share of the connections; every connection carries
 * at most one request at a time (HTTP/1.1 keep-alive, no pipelining), so
 * a response is complete when its Content-Length worth of body is in.
 *
 * What is sent, and what becomes of each answer, is the phase's business
 * (fb_load.c); this file moves bytes, parses responses, keeps time, and
 * reconnects.
 */

#include "fb_load.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define FB_LOAD_SCRATCH_SIZE   65536
#define FB_LOAD_EVENTS         256
#define FB_LOAD_SCAN_NS        (10 * 1000000ULL)
#define FB_LOAD_BACKOFF_MIN    10            /* ms */
#define FB_LOAD_BACKOFF_MAX    500


typedef enum {
    FB_LOAD_CONN_CLOSED = 0,                /* no socket; see retry_at */
    FB_LOAD_CONN_CONNECTING,
    FB_LOAD_CONN_IDLE,                      /* connected, nothing sent */
    FB_LOAD_CONN_WRITING,
    FB_LOAD_CONN_READING
} fb_load_conn_state_e;

struct fb_load_conn_s {
    int                   fd;
    fb_load_conn_state_e  state;
    fb_load_conn_t       *idle_prev;
    fb_load_conn_t       *idle_next;
    uint64_t              retry_at;
    uint64_t              connect_start;
    int                   backoff_ms;
    uint64_t              served;           /* responses on this socket */
    size_t                wpos;

    /* the response being parsed */
    char                 *rbuf;
    size_t                rlen;
    size_t                scan;             /* header search resumes here */
    size_t                body_start;
    uint64_t              body_len;
    uint64_t              discard;          /* body bytes to throw away */
    int                   status;

    unsigned              in_idle:1;
    unsigned              want_out:1;       /* EPOLLOUT is registered */
    unsigned              hdr_done:1;
    unsigned              until_close:1;    /* no Content-Length */
    unsigned              close:1;          /* server will close after it */
    unsigned              chunked:1;

    fb_load_req_t         req;
};

volatile sig_atomic_t  fb_load_interrupted;

static atomic_int  fb_load_no_pwait2;


static uint64_t fb_load_splitmix(uint64_t *x);
static const char *fb_load_json_value(const char *p, size_t n,
    const char *key);
static void *fb_load_worker_main(void *arg);
static void fb_load_worker_loop(fb_load_worker_t *w);
static int fb_load_wait(fb_load_worker_t *w, struct epoll_event *ev,
    uint64_t wait_ns);
static void fb_load_dispatch(fb_load_worker_t *w, struct epoll_event *ev,
    int n);
static void fb_load_scan(fb_load_worker_t *w, uint64_t now);
static void fb_load_progress(fb_load_run_t *run, uint64_t now);
static void fb_load_rate_dispatch(fb_load_worker_t *w, uint64_t now);
static void fb_load_idle_push(fb_load_worker_t *w, fb_load_conn_t *c);
static fb_load_conn_t *fb_load_idle_pop(fb_load_worker_t *w);
static void fb_load_idle_remove(fb_load_worker_t *w, fb_load_conn_t *c);
static void fb_load_conn_open(fb_load_worker_t *w, fb_load_conn_t *c,
    uint64_t now);
static void fb_load_conn_connected(fb_load_worker_t *w, fb_load_conn_t *c,
    uint64_t now);
static void fb_load_conn_connect_failed(fb_load_worker_t *w,
    fb_load_conn_t *c, int err, uint64_t now);
static void fb_load_conn_close(fb_load_worker_t *w, fb_load_conn_t *c);
static void fb_load_conn_reopen(fb_load_worker_t *w, fb_load_conn_t *c,
    uint64_t now);
static void fb_load_conn_ready(fb_load_worker_t *w, fb_load_conn_t *c,
    uint64_t now);
static int fb_load_conn_issue(fb_load_worker_t *w, fb_load_conn_t *c,
    uint64_t intended, uint64_t now);
static void fb_load_conn_write(fb_load_worker_t *w, fb_load_conn_t *c,
    uint64_t now);
static void fb_load_conn_read(fb_load_worker_t *w, fb_load_conn_t *c,
    uint64_t now);
static void fb_load_conn_eof(fb_load_worker_t *w, fb_load_conn_t *c,
    int err, uint64_t now);
static void fb_load_conn_complete(fb_load_worker_t *w, fb_load_conn_t *c,
    uint64_t now);
static void fb_load_conn_fail(fb_load_worker_t *w, fb_load_conn_t *c,
    fb_load_fail_e why, uint64_t now);
static int fb_load_conn_want_out(fb_load_worker_t *w, fb_load_conn_t *c,
    int on);
static int fb_load_http_parse(fb_load_conn_t *c, const char **err);
static int fb_load_http_head(fb_load_conn_t *c, size_t hend,
    const char **err);
static int fb_load_rate_mode(fb_load_run_t *run);
static void fb_load_rate_unsent(fb_load_worker_t *w);


uint64_t
fb_load_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * FB_LOAD_NS + (uint64_t) ts.tv_nsec;
}


void
fb_load_err(int err, const char *fmt, ...)
{
    char     buf[1024];
    int      n;
    va_list  ap;

    n = snprintf(buf, sizeof(buf), "fb-load: ");

    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    va_end(ap);

    if (err != 0) {
        fprintf(stderr, "%s (%d: %s)\n", buf, err, strerror(err));
    } else {
        fprintf(stderr, "%s\n", buf);
    }
}


void
fb_load_abort(fb_load_run_t *run, const char *fmt, ...)
{
    int      expected;
    va_list  ap;

    expected = 0;
    if (!atomic_compare_exchange_strong(&run->abort, &expected, 1)) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(run->abort_msg, sizeof(run->abort_msg), fmt, ap);
    va_end(ap);

    /* Only now may other threads read the message. */
    atomic_store(&run->abort, 2);
}


void
fb_load_stopped(fb_load_run_t *run, int why)
{
    int  none = FB_LOAD_STOP_NONE;

    atomic_compare_exchange_strong(&run->stopped_by, &none, why);
}


void
fb_load_log_once(fb_load_run_t *run, unsigned once, const char *fmt, ...)
{
    char     buf[1024];
    va_list  ap;

    if (atomic_fetch_or(&run->logged, once) & once) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);

    fprintf(stderr, "fb-load: %s (reported once)\n", buf);
}


uint64_t
fb_load_random(fb_load_worker_t *w)
{
    uint64_t  s0, s1, r;

    /* xorshift128+: fast, and plenty for picking accounts and amounts. */
    s1 = w->rng[0];
    s0 = w->rng[1];
    r = s0 + s1;
    w->rng[0] = s0;
    s1 ^= s1 << 23;
    w->rng[1] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);

    return r;
}


uint64_t
fb_load_random_below(fb_load_worker_t *w, uint64_t n)
{
    return (uint64_t) (((unsigned __int128) fb_load_random(w) * n) >> 64);
}


static uint64_t
fb_load_splitmix(uint64_t *x)
{
    uint64_t  z;

    z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;

    return z ^ (z >> 31);
}


/* ------------------------------------------------------------------ */
/* set-up and teardown                                                 */

int
fb_load_engine_init(fb_load_run_t *run)
{
    int                i, j, per, extra;
    uint64_t           seed;
    fb_load_conf_t    *conf = run->conf;
    fb_load_worker_t  *w;

    run->nworkers = conf->threads;
    run->workers = calloc((size_t) run->nworkers, sizeof(fb_load_worker_t));
    if (run->workers == NULL) {
        fb_load_err(errno, "calloc() of %d workers failed", run->nworkers);
        return FB_ERROR;
    }

    per = conf->connections / run->nworkers;
    extra = conf->connections % run->nworkers;

    for (i = 0; i < run->nworkers; i++) {
        w = &run->workers[i];
        w->id = i;
        w->run = run;
        w->epfd = -1;
        w->nconns = per + (i < extra ? 1 : 0);

        seed = conf->seed * 0x100000001b3ULL + (uint64_t) i;
        w->rng[0] = fb_load_splitmix(&seed);
        w->rng[1] = fb_load_splitmix(&seed);

        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (w->epfd == -1) {
            fb_load_err(errno, "epoll_create1() failed");
            return FB_ERROR;
        }

        w->conns = calloc((size_t) w->nconns, sizeof(fb_load_conn_t));
        w->stats = calloc(1, sizeof(fb_load_stats_t));
        w->scratch = malloc(FB_LOAD_SCRATCH_SIZE);
        if (w->conns == NULL || w->stats == NULL || w->scratch == NULL) {
            fb_load_err(errno, "calloc() of worker %d failed", i);
            return FB_ERROR;
        }

        for (j = 0; j < w->nconns; j++) {
            w->conns[j].fd = -1;
            w->conns[j].rbuf = malloc(FB_LOAD_RBUF_SIZE);
            if (w->conns[j].rbuf == NULL) {
                fb_load_err(errno, "malloc() of a read buffer failed");
                return FB_ERROR;
            }
        }
    }

    return FB_OK;
}


void
fb_load_engine_free(fb_load_run_t *run)
{
    int                i, j;
    fb_load_worker_t  *w;

    if (run->workers == NULL) {
        return;
    }

    for (i = 0; i < run->nworkers; i++) {
        w = &run->workers[i];

        if (w->conns != NULL) {
            for (j = 0; j < w->nconns; j++) {
                if (w->conns[j].fd != -1) {
                    close(w->conns[j].fd);
                }

                free(w->conns[j].rbuf);
            }
        }

        if (w->epfd != -1) {
            close(w->epfd);
        }

        free(w->conns);
        free(w->stats);
        free(w->scratch);
    }

    free(run->workers);
    run->workers = NULL;
}


int
fb_load_engine_run(fb_load_run_t *run, fb_load_phase_t *phase)
{
    int                i, err, started;
    double             interval;
    fb_load_worker_t  *w;

    run->phase = phase;
    run->interrupted_before = fb_load_interrupted;
    atomic_store(&run->claim, 0);

    interval = 0;
    if (fb_load_rate_mode(run)) {
        interval = (double) FB_LOAD_NS * run->nworkers / run->conf->rate;
    }

    for (i = 0; i < run->nworkers; i++) {
        w = &run->workers[i];
        w->exhausted = 0;
        w->inflight = 0;
        w->idle_head = NULL;
        w->idle_tail = NULL;
        w->connect_fail_since = 0;
        w->rate_interval = interval;
        w->rate_k = 0;
        w->rate_counted = 0;
        /* Workers' schedules interleave rather than coincide. */
        w->rate_start = run->t_start
                        + (uint64_t) (interval * i / run->nworkers);
        w->rate_next = w->rate_start;
    }

    started = 1;

    for (i = 1; i < run->nworkers; i++) {
        err = pthread_create(&run->workers[i].tid, NULL, fb_load_worker_main,
                             &run->workers[i]);
        if (err != 0) {
            fb_load_err(err, "pthread_create() failed");
            fb_load_abort(run, "could not start worker threads");
            break;
        }

        started++;
    }

    fb_load_worker_main(&run->workers[0]);

    for (i = 1; i < started; i++) {
        pthread_join(run->workers[i].tid, NULL);
    }

    return atomic_load(&run->abort) ? FB_ERROR : FB_OK;
}


static int
fb_load_rate_mode(fb_load_run_t *run)
{
    return run->phase->measured && run->conf->rate > 0;
}


/* ------------------------------------------------------------------ */
/* the loop                                                            */

static void *
fb_load_worker_main(void *arg)
{
    int                 i, n;
    uint64_t            now;
    sigset_t            set;
    fb_load_conn_t     *c;
    fb_load_worker_t   *w = arg;
    struct epoll_event  ev[FB_LOAD_EVENTS];

    if (w->id != 0) {
        /* Signals go to the main thread, which is worker 0. */
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
    }

    /*
     * The default 50 us timer slack, on top of a VM's wake-up latency,
     * makes fixed-rate sends late; 1 ns asks for the exact time.
     */
    if (fb_load_rate_mode(w->run) && prctl(PR_SET_TIMERSLACK, 1UL) == -1) {
        fb_load_log_once(w->run, FB_LOAD_ONCE_SLACK,
                         "prctl(PR_SET_TIMERSLACK) failed: %s",
                         strerror(errno));
    }

    /*
     * Connections kept from the last phase may have been closed by the
     * server since: take in what happened to them before sending on them,
     * or a request would be lost on a dead connection.
     */
    n = fb_load_wait(w, ev, 0);
    if (n > 0) {
        fb_load_dispatch(w, ev, n);
    }

    now = fb_load_now();

    for (i = 0; i < w->nconns && !w->exhausted; i++) {
        c = &w->conns[i];

        if (c->state == FB_LOAD_CONN_CLOSED) {
            fb_load_conn_open(w, c, now);

        } else if (c->state == FB_LOAD_CONN_IDLE) {
            fb_load_conn_ready(w, c, now);
        }
    }

    fb_load_worker_loop(w);

    if (fb_load_rate_mode(w->run)) {
        fb_load_rate_unsent(w);
    }

    return NULL;
}


/* Sends k = 0, 1, ... of w's schedule with rate_start + k * interval < t. */
static uint64_t
fb_load_rate_due(fb_load_worker_t *w, uint64_t t)
{
    if (t <= w->rate_start) {
        return 0;
    }

    return (uint64_t) ((double) (t - w->rate_start - 1) / w->rate_interval)
           + 1;
}


/*
 * A fixed-rate run that ends at a deadline may leave sends that were due
 * and never made, because every connection was waiting for the server:
 * they are counted, so that a rate the server cannot keep is not hidden.
 * Like every result, over the measured window: the sends due from the end
 * of the warm-up on, against the sends made of them.
 */
static void
fb_load_rate_unsent(fb_load_worker_t *w)
{
    uint64_t        due, end;
    fb_load_run_t  *run = w->run;

    end = fb_load_now();
    if (run->t_deadline < end) {
        end = run->t_deadline;
    }

    if (end <= w->rate_start || end <= run->t_warm
        || atomic_load(&run->abort)
        || atomic_load(&run->stopped_by) == FB_LOAD_STOP_SIGNAL)
    {
        return;
    }

    due = fb_load_rate_due(w, end) - fb_load_rate_due(w, run->t_warm);

    if (run->conf->requests != 0) {
        /* Only what the request budget had left could have been due. */
        if (atomic_load(&run->claim) >= run->conf->requests) {
            return;
        }
    }

    if (due > w->rate_counted) {
        w->stats->unsent += due - w->rate_counted;
    }
}


static void
fb_load_worker_loop(fb_load_worker_t *w)
{
    int                 n;
    uint64_t            now, next_scan, wake;
    fb_load_run_t      *run = w->run;
    fb_load_phase_t    *phase = run->phase;
    struct epoll_event  ev[FB_LOAD_EVENTS];

    now = fb_load_now();
    next_scan = now + FB_LOAD_SCAN_NS;

    for ( ;; ) {
        if (atomic_load_explicit(&run->abort, memory_order_relaxed)) {
            return;
        }

        if (w->exhausted && w->inflight == 0) {
            return;
        }

        wake = next_scan;

        if (w->idle_head != NULL && !w->exhausted && w->rate_next < wake) {
            wake = w->rate_next;
        }

        if (phase->measured && w->id == 0) {
            if (run->next_progress < wake) {
                wake = run->next_progress;
            }

            if (!run->procs_sampled && run->t_warm < wake) {
                wake = run->t_warm;
            }
        }

        n = fb_load_wait(w, ev, wake > now ? wake - now : 0);

        if (n == -1) {
            if (errno != EINTR) {
                fb_load_err(errno, "epoll_wait() failed");
                fb_load_abort(run, "epoll_wait() failed");
                return;
            }

            n = 0;
        }

        fb_load_dispatch(w, ev, n);

        now = fb_load_now();

        if (phase->measured && w->id == 0) {
            if (!run->procs_sampled && now >= run->t_warm) {
                fb_load_sample_procs(run, 0);
                run->procs_sampled = 1;
            }

            if (now >= run->next_progress) {
                fb_load_progress(run, now);
            }
        }

        if (fb_load_rate_mode(run)) {
            fb_load_rate_dispatch(w, now);
        }

        if (now >= next_scan) {
            fb_load_scan(w, now);
            next_scan = now + FB_LOAD_SCAN_NS;
        }
    }
}


static void
fb_load_dispatch(fb_load_worker_t *w, struct epoll_event *ev, int n)
{
    int              i;
    uint64_t         now;
    fb_load_conn_t  *c;

    for (i = 0; i < n; i++) {
        c = ev[i].data.ptr;
        now = fb_load_now();

        if (c->state == FB_LOAD_CONN_CONNECTING) {
            fb_load_conn_connected(w, c, now);
            continue;
        }

        if ((ev[i].events & EPOLLOUT) && c->state == FB_LOAD_CONN_WRITING) {
            fb_load_conn_write(w, c, now);
        }

        if ((ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            && c->state != FB_LOAD_CONN_CLOSED)
        {
            fb_load_conn_read(w, c, now);
        }
    }
}


static int
fb_load_wait(fb_load_worker_t *w, struct epoll_event *ev, uint64_t wait_ns)
{
    int              ms;
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 35)
    int              rc;
    struct timespec  ts;

    /* Nanosecond timeouts keep fixed-rate sends on time. */
    if (!atomic_load_explicit(&fb_load_no_pwait2, memory_order_relaxed)) {
        ts.tv_sec = (time_t) (wait_ns / FB_LOAD_NS);
        ts.tv_nsec = (long) (wait_ns % FB_LOAD_NS);

        rc = epoll_pwait2(w->epfd, ev, FB_LOAD_EVENTS, &ts, NULL);
        if (rc != -1 || errno != ENOSYS) {
            return rc;
        }

        atomic_store(&fb_load_no_pwait2, 1);
    }
#endif

    /* Rounded up: an early wake-up would only spin. */
    ms = (int) ((wait_ns + 999999) / 1000000);

    return epoll_wait(w->epfd, ev, FB_LOAD_EVENTS, ms);
}


/*
 * Every 10 ms: time out requests and connection attempts, reopen closed
 * connections whose back-off has passed, and notice the end of the run.
 */
static void
fb_load_scan(fb_load_worker_t *w, uint64_t now)
{
    int              i;
    uint64_t         timeout;
    fb_load_run_t   *run = w->run;
    fb_load_conn_t  *c;

    timeout = (uint64_t) (run->conf->timeout * FB_LOAD_NS);

    if (run->phase->measured && !w->exhausted) {
        if (fb_load_interrupted) {
            w->exhausted = 1;
            fb_load_stopped(run, FB_LOAD_STOP_SIGNAL);

        } else if (now >= run->t_deadline) {
            /* Also ends a run whose connections all keep failing. */
            w->exhausted = 1;
            fb_load_stopped(run, run->deadline_reason);
        }

    } else if (fb_load_interrupted && !run->phase->measured
               && !run->interrupted_before)
    {
        /*
         * A ^C in set-up or in the audit ends the run.  One that stopped
         * the measured run was answered there: the audit that follows
         * must still read every balance, or what was sent goes unchecked.
         */
        fb_load_abort(run, "interrupted during %s", run->phase->name);
        return;
    }

    for (i = 0; i < w->nconns; i++) {
        c = &w->conns[i];

        switch (c->state) {

        case FB_LOAD_CONN_CLOSED:
            if (!w->exhausted && now >= c->retry_at) {
                fb_load_conn_open(w, c, now);
            }
            break;

        case FB_LOAD_CONN_CONNECTING:
            if (now - c->connect_start > timeout) {
                fb_load_conn_connect_failed(w, c, ETIMEDOUT, now);
            }
            break;

        case FB_LOAD_CONN_WRITING:
        case FB_LOAD_CONN_READING:
            if (now - c->req.t_sent > timeout) {
                fb_load_log_once(run, FB_LOAD_ONCE_TIMEOUT,
                                 "no response within %.3g s: timed out",
                                 run->conf->timeout);
                fb_load_conn_fail(w, c, FB_LOAD_FAIL_TIMEOUT, now);
            }
            break;

        default:
            break;
        }
    }

    if (w->connect_fail_since != 0
        && now - w->connect_fail_since > timeout
        && now - w->last_connect_ok > timeout)
    {
        fb_load_abort(run, "cannot connect to %s:%d for %.3g s (%s)",
                      run->conf->host, run->conf->port, run->conf->timeout,
                      strerror(w->last_connect_errno));
    }
}


static void
fb_load_progress(fb_load_run_t *run, uint64_t now)
{
    int       i;
    double    dt;
    uint64_t  done, errors;

    done = 0;
    errors = 0;

    for (i = 0; i < run->nworkers; i++) {
        done += atomic_load_explicit(&run->workers[i].progress_done,
                                     memory_order_relaxed);
        errors += atomic_load_explicit(&run->workers[i].progress_errors,
                                       memory_order_relaxed);
    }

    dt = (double) (now - run->progress_last_ns) / FB_LOAD_NS;

    if (!run->conf->quiet && dt > 0) {
        fprintf(stderr, "fb-load: %6.1f s %10llu responses %9.0f req/s"
                "  %llu errors%s\n",
                (double) (now - run->t_start) / FB_LOAD_NS,
                (unsigned long long) done,
                (double) (done - run->progress_last_done) / dt,
                (unsigned long long) errors,
                now < run->t_warm ? "  (warm-up)" : "");
    }

    run->progress_last_done = done;
    run->progress_last_ns = now;
    run->next_progress = now + FB_LOAD_NS;
}


/* ------------------------------------------------------------------ */
/* fixed rate: idle connections wait here for their intended send time */

static void
fb_load_rate_dispatch(fb_load_worker_t *w, uint64_t now)
{
    fb_load_conn_t  *c;

    while (!w->exhausted && w->idle_head != NULL && w->rate_next <= now) {
        c = fb_load_idle_pop(w);

        if (fb_load_conn_issue(w, c, w->rate_next, now) != FB_OK) {
            return;
        }

        w->rate_k++;
        w->rate_counted += c->req.counted;
        w->rate_next = w->rate_start
                       + (uint64_t) ((double) w->rate_k * w->rate_interval);
    }
}


static void
fb_load_idle_push(fb_load_worker_t *w, fb_load_conn_t *c)
{
    if (c->in_idle) {
        return;
    }

    c->in_idle = 1;
    c->idle_next = NULL;
    c->idle_prev = w->idle_tail;

    if (w->idle_tail != NULL) {
        w->idle_tail->idle_next = c;
    } else {
        w->idle_head = c;
    }

    w->idle_tail = c;
}


static fb_load_conn_t *
fb_load_idle_pop(fb_load_worker_t *w)
{
    fb_load_conn_t  *c;

    c = w->idle_head;
    if (c != NULL) {
        fb_load_idle_remove(w, c);
    }

    return c;
}


static void
fb_load_idle_remove(fb_load_worker_t *w, fb_load_conn_t *c)
{
    if (!c->in_idle) {
        return;
    }

    if (c->idle_prev != NULL) {
        c->idle_prev->idle_next = c->idle_next;
    } else {
        w->idle_head = c->idle_next;
    }

    if (c->idle_next != NULL) {
        c->idle_next->idle_prev = c->idle_prev;
    } else {
        w->idle_tail = c->idle_prev;
    }

    c->idle_prev = NULL;
    c->idle_next = NULL;
    c->in_idle = 0;
}


/* ------------------------------------------------------------------ */
/* connections                                                         */

static void
fb_load_conn_open(fb_load_worker_t *w, fb_load_conn_t *c, uint64_t now)
{
    int                  fd, one, rc;
    fb_load_run_t       *run = w->run;
    fb_load_conf_t      *conf = run->conf;
    struct epoll_event   ev;

    /* The warm-up's reconnects are no more in the results than its
     * responses. */
    if (c->served > 0 && run->phase->measured && now >= run->t_warm) {
        w->stats->reconnects++;
    }

    c->served = 0;

    fd = socket(conf->addr.ss_family,
                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        fb_load_err(errno, "socket() failed");
        fb_load_abort(run, "socket() failed: %s%s", strerror(errno),
                      errno == EMFILE ? " (raise ulimit -n)" : "");
        return;
    }

    one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
        fb_load_log_once(run, FB_LOAD_ONCE_NODELAY,
                         "setsockopt(TCP_NODELAY) failed: %s",
                         strerror(errno));
    }

    c->fd = fd;
    c->connect_start = now;

    rc = connect(fd, (struct sockaddr *) &conf->addr, conf->addrlen);

    if (rc == -1 && errno != EINPROGRESS) {
        fb_load_conn_connect_failed(w, c, errno, now);
        return;
    }

    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = c;

    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
        fb_load_err(errno, "epoll_ctl(ADD) failed");
        fb_load_abort(run, "epoll_ctl() failed: %s", strerror(errno));
        close(fd);
        c->fd = -1;
        return;
    }

    c->want_out = 1;
    c->state = FB_LOAD_CONN_CONNECTING;

    if (rc == 0) {
        fb_load_conn_connected(w, c, now);
    }
}


static void
fb_load_conn_connected(fb_load_worker_t *w, fb_load_conn_t *c, uint64_t now)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
        err = errno;
    }

    if (err != 0) {
        fb_load_conn_connect_failed(w, c, err, now);
        return;
    }

    if (fb_load_conn_want_out(w, c, 0) != FB_OK) {
        return;
    }

    c->backoff_ms = 0;
    w->connect_fail_since = 0;
    w->last_connect_ok = now;

    fb_load_conn_ready(w, c, now);
}


static void
fb_load_conn_connect_failed(fb_load_worker_t *w, fb_load_conn_t *c, int err,
    uint64_t now)
{
    fb_load_run_t  *run = w->run;

    fb_load_log_once(run, FB_LOAD_ONCE_CONNECT, "connect() to %s:%d failed: %s",
                     run->conf->host, run->conf->port, strerror(err));

    fb_load_conn_close(w, c);

    c->backoff_ms = c->backoff_ms == 0
                    ? FB_LOAD_BACKOFF_MIN
                    : (c->backoff_ms * 2 > FB_LOAD_BACKOFF_MAX
                       ? FB_LOAD_BACKOFF_MAX : c->backoff_ms * 2);
    c->retry_at = now + (uint64_t) c->backoff_ms * 1000000;

    if (run->phase->measured && now >= run->t_warm) {
        w->stats->connect_errors++;
    }

    atomic_fetch_add_explicit(&w->progress_errors, 1, memory_order_relaxed);

    if (w->connect_fail_since == 0) {
        w->connect_fail_since = now;
    }

    w->last_connect_errno = err;
}


static void
fb_load_conn_close(fb_load_worker_t *w, fb_load_conn_t *c)
{
    fb_load_idle_remove(w, c);

    if (c->fd != -1) {
        /* close() also takes the socket out of the epoll set. */
        close(c->fd);
        c->fd = -1;
    }

    c->state = FB_LOAD_CONN_CLOSED;
    c->want_out = 0;
    c->retry_at = 0;
}


static void
fb_load_conn_reopen(fb_load_worker_t *w, fb_load_conn_t *c, uint64_t now)
{
    fb_load_conn_close(w, c);

    if (!w->exhausted) {
        fb_load_conn_open(w, c, now);
    }
}


static int
fb_load_conn_want_out(fb_load_worker_t *w, fb_load_conn_t *c, int on)
{
    struct epoll_event  ev;

    if ((unsigned) on == c->want_out) {
        return FB_OK;
    }

    ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
    ev.data.ptr = c;

    if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1) {
        fb_load_err(errno, "epoll_ctl(MOD) failed");
        fb_load_abort(w->run, "epoll_ctl() failed: %s", strerror(errno));
        return FB_ERROR;
    }

    c->want_out = on;

    return FB_OK;
}


static void
fb_load_conn_ready(fb_load_worker_t *w, fb_load_conn_t *c, uint64_t now)
{
    c->state = FB_LOAD_CONN_IDLE;

    if (w->exhausted) {
        return;
    }

    if (fb_load_rate_mode(w->run)) {
        fb_load_idle_push(w, c);
        return;
    }

    fb_load_conn_issue(w, c, now, now);
}


static int
fb_load_conn_issue(fb_load_worker_t *w, fb_load_conn_t *c, uint64_t intended,
    uint64_t now)
{
    int             rc;
    fb_load_req_t  *req = &c->req;

    req->t_intended = intended;
    req->counted = 0;

    rc = w->run->phase->next(w, req);

    if (rc != FB_OK) {
        w->exhausted = 1;
        return rc;
    }

    req->t_sent = now;

    if (req->counted && now - intended > 1000000) {
        w->stats->late++;
    }

    c->wpos = 0;
    c->rlen = 0;
    c->scan = 0;
    c->hdr_done = 0;
    c->until_close = 0;
    c->close = 0;
    c->discard = 0;
    c->state = FB_LOAD_CONN_WRITING;
    w->inflight++;

    fb_load_conn_write(w, c, now);

    return FB_OK;
}


static void
fb_load_conn_write(fb_load_worker_t *w, fb_load_conn_t *c, uint64_t now)
{
    ssize_t         n;
    fb_load_req_t  *req = &c->req;

    while (c->wpos < req->len) {
        n = send(c->fd, req->data + c->wpos, req->len - c->wpos,
                 MSG_NOSIGNAL);

        if (n > 0) {
            c->wpos += (size_t) n;
            continue;
        }

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            fb_load_conn_want_out(w, c, 1);
            return;
        }

        /* EPIPE, ECONNRESET: the server closed the kept connection. */
        fb_load_conn_eof(w, c, n == -1 ? errno : 0, now);
        return;
    }

    if (fb_load_conn_want_out(w, c, 0) != FB_OK) {
        return;
    }

    c->state = FB_LOAD_CONN_READING;
}


static void
fb_load_conn_read(fb_load_worker_t *w, fb_load_conn_t *c, uint64_t now)
{
    int          rc;
    size_t       room;
    ssize_t      n;
    const char  *err;

    for ( ;; ) {
        if (c->discard > 0) {
            room = c->discard < FB_LOAD_SCRATCH_SIZE
                   ? (size_t) c->discard : FB_LOAD_SCRATCH_SIZE;
            n = read(c->fd, w->scratch, room);

        } else {
            room = FB_LOAD_RBUF_SIZE - c->rlen;
            n = read(c->fd, c->rbuf + c->rlen, room);
        }

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }

            fb_load_conn_eof(w, c, errno, now);
            return;
        }

        if (n == 0) {
            fb_load_conn_eof(w, c, 0, now);
            return;
        }

        if (c->state != FB_LOAD_CONN_READING
            && c->state != FB_LOAD_CONN_WRITING)
        {
            fb_load_log_once(w->run, FB_LOAD_ONCE_PROTOCOL,
                             "the server sent %zd bytes with no request"
                             " outstanding; connection closed", n);
            if (w->run->phase->measured && now >= w->run->t_warm) {
                w->stats->protocol_errors++;
            }

            fb_load_conn_reopen(w, c, now);
            return;
        }

        if (c->discard > 0) {
            if (!c->until_close) {
                c->discard -= (uint64_t) n;

                if (c->discard == 0) {
                    fb_load_conn_complete(w, c, now);
                    return;
                }
            }

            continue;
        }

        c->rlen += (size_t) n;

        rc = fb_load_http_parse(c, &err);

        if (rc == FB_OK) {
            fb_load_conn_complete(w, c, now);
            return;
        }

        if (rc == FB_ERROR) {
            if (c->chunked) {
                fb_load_abort(w->run, "%s", err);
                return;
            }

            fb_load_log_once(w->run, FB_LOAD_ONCE_PROTOCOL,
                             "bad response from %s:%d: %s",
                             w->run->conf->host, w->run->conf->port, err);
            fb_load_conn_fail(w, c, FB_LOAD_FAIL_PROTOCOL, now);
            return;
        }

        /* A short read means the socket is drained for now. */
        if ((size_t) n < room && c->discard == 0) {
            return;
        }
    }
}


static void
fb_load_conn_eof(fb_load_worker_t *w, fb_load_conn_t *c, int err,
    uint64_t now)
{
    if (c->state == FB_LOAD_CONN_READING || c->state == FB_LOAD_CONN_WRITING) {
        if (c->hdr_done && c->until_close && err == 0) {
            fb_load_conn_complete(w, c, now);
            return;
        }

        fb_load_log_once(w->run, FB_LOAD_ONCE_LOST,
                         "the server closed a connection with a request in"
                         " flight (%s)", err ? strerror(err) : "EOF");
        fb_load_conn_fail(w, c, FB_LOAD_FAIL_LOST, now);
        return;
    }

    /* An idle kept connection that the server closed: open another. */
    fb_load_conn_reopen(w, c, now);
}


static void
fb_load_conn_complete(fb_load_worker_t *w, fb_load_conn_t *c, uint64_t now)
{
    int             close_after;
    fb_load_resp_t  resp;

    resp.status = c->status;
    resp.body = c->rbuf + c->body_start;
    resp.body_len = c->rlen - c->body_start;
    if (!c->until_close && resp.body_len > c->body_len) {
        resp.body_len = (size_t) c->body_len;
    }

    /* A response before the request was all sent leaves it unsynced. */
    close_after = c->close || c->until_close
                  || c->state == FB_LOAD_CONN_WRITING;

    c->served++;
    c->state = FB_LOAD_CONN_IDLE;
    w->inflight--;

    w->run->phase->done(w, &c->req, &resp, now);

    atomic_fetch_add_explicit(&w->progress_done, 1, memory_order_relaxed);

    if (close_after) {
        fb_load_conn_reopen(w, c, now);
        return;
    }

    fb_load_conn_ready(w, c, now);
}


static void
fb_load_conn_fail(fb_load_worker_t *w, fb_load_conn_t *c, fb_load_fail_e why,
    uint64_t now)
{
    w->inflight--;
    c->state = FB_LOAD_CONN_IDLE;

    w->run->phase->fail(w, &c->req, why);

    atomic_fetch_add_explicit(&w->progress_errors, 1, memory_order_relaxed);

    fb_load_conn_reopen(w, c, now);
}


/* ------------------------------------------------------------------ */
/* HTTP/1.x responses                                                  */

static int
fb_load_http_parse(fb_load_conn_t *c, const char **err)
{
    size_t       i, hend;
    uint64_t     have;

    for ( ;; ) {
        if (!c->hdr_done) {
            hend = 0;

            for (i = c->scan > 3 ? c->scan - 3 : 0; i + 4 <= c->rlen; i++) {
                if (c->rbuf[i] == '\r' && c->rbuf[i + 1] == '\n'
                    && c->rbuf[i + 2] == '\r' && c->rbuf[i + 3] == '\n')
                {
                    hend = i + 4;
                    break;
                }
            }

            if (hend == 0) {
                c->scan = c->rlen;

                if (c->rlen == FB_LOAD_RBUF_SIZE) {
                    *err = "response headers larger than 16 KB";
                    return FB_ERROR;
                }

                return FB_AGAIN;
            }

            if (fb_load_http_head(c, hend, err) != FB_OK) {
                return FB_ERROR;
            }

            if (c->status < 200) {
                /* An interim response (100 Continue): the real one follows. */
                memmove(c->rbuf, c->rbuf + hend, c->rlen - hend);
                c->rlen -= hend;
                c->scan = 0;
                continue;
            }

            c->body_start = hend;
            c->hdr_done = 1;
        }

        if (c->until_close) {
            if (c->rlen == FB_LOAD_RBUF_SIZE) {
                c->discard = UINT64_MAX;
            }

            return FB_AGAIN;
        }

        have = c->rlen - c->body_start;

        if (have >= c->body_len) {
            if (have > c->body_len) {
                *err = "bytes after the response, though nothing was"
                       " pipelined";
                return FB_ERROR;
            }

            return FB_OK;
        }

        if (c->rlen == FB_LOAD_RBUF_SIZE) {
            /* Keep the body's first bytes, throw the rest away. */
            c->discard = c->body_len - have;
        }

        return FB_AGAIN;
    }
}


static int
fb_load_http_head(fb_load_conn_t *c, size_t hend, const char **err)
{
    int          keepalive, have_cl;
    char        *p, *eol, *colon, *v, *ve, *end;
    size_t       nlen;
    uint64_t     cl;

    p = c->rbuf;
    end = c->rbuf + hend;

    if (hend < 16 || memcmp(p, "HTTP/1.", 7) != 0
        || (p[7] != '0' && p[7] != '1') || p[8] != ' '
        || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9'
        || p[11] < '0' || p[11] > '9' || (p[12] != ' ' && p[12] != '\r'))
    {
        *err = "not an HTTP/1.x status line";
        return FB_ERROR;
    }

    c->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    keepalive = (p[7] == '1');
    have_cl = 0;
    cl = 0;

    p = (char *) memchr(p, '\n', (size_t) (end - p)) + 1;

    while (p < end - 2) {
        eol = memchr(p, '\r', (size_t) (end - p));
        if (eol == NULL || eol[1] != '\n') {
            *err = "a header line does not end in CRLF";
            return FB_ERROR;
        }

        colon = memchr(p, ':', (size_t) (eol - p));
        if (colon == NULL) {
            *err = "a header line has no colon";
            return FB_ERROR;
        }

        nlen = (size_t) (colon - p);
        v = colon + 1;
        ve = eol;

        while (v < ve && (*v == ' ' || *v == '\t')) {
            v++;
        }

        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
            ve--;
        }

        if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0) {
            if (v == ve) {
                *err = "an empty Content-Length";
                return FB_ERROR;
            }

            for (cl = 0; v < ve; v++) {
                if (*v < '0' || *v > '9' || cl > (1ULL << 40)) {
                    *err = "a bad Content-Length";
                    return FB_ERROR;
                }

                cl = cl * 10 + (uint64_t) (*v - '0');
            }

            if (have_cl && cl != c->body_len) {
                *err = "two different Content-Length headers";
                return FB_ERROR;
            }

            have_cl = 1;
            c->body_len = cl;

        } else if (nlen == 17
                   && strncasecmp(p, "transfer-encoding", 17) == 0)
        {
            if ((size_t) (ve - v) == 8 && strncasecmp(v, "identity", 8) == 0) {
                p = eol + 2;
                continue;
            }

            c->chunked = 1;
            *err = "the server sent a Transfer-Encoding (chunked) response;"
                   " fb-load needs Content-Length on every response";
            return FB_ERROR;

        } else if (nlen == 10 && strncasecmp(p, "connection", 10) == 0) {
            for ( ; v < ve; v++) {
                if ((size_t) (ve - v) >= 5 && strncasecmp(v, "close", 5) == 0) {
                    c->close = 1;
                    v += 4;

                } else if ((size_t) (ve - v) >= 10
                           && strncasecmp(v, "keep-alive", 10) == 0)
                {
                    keepalive = 1;
                    v += 9;
                }
            }
        }

        p = eol + 2;
    }

    if (!keepalive) {
        c->close = 1;
    }

    if (c->status < 200 || c->status == 204 || c->status == 304) {
        c->body_len = 0;

    } else if (!have_cl) {
        /* The body runs to the end of the connection. */
        c->until_close = 1;
        c->close = 1;
        c->body_len = 0;

    } else {
        c->body_len = cl;
    }

    return FB_OK;
}


/* ------------------------------------------------------------------ */
/* JSON fields, found cheaply (the contract's bodies are flat objects) */

static const char *
fb_load_json_value(const char *p, size_t n, const char *key)
{
    size_t       klen;
    const char  *end, *q;

    klen = strlen(key);
    end = p + n;

    for (q = p; q + klen + 2 <= end; q++) {
        q = memchr(q, '"', (size_t) (end - q));
        if (q == NULL || q + klen + 2 > end) {
            return NULL;
        }

        if (memcmp(q + 1, key, klen) != 0 || q[klen + 1] != '"') {
            continue;
        }

        q += klen + 2;

        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'
                           || *q == '\n'))
        {
            q++;
        }

        if (q == end || *q != ':') {
            continue;
        }

        q++;

        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'
                           || *q == '\n'))
        {
            q++;
        }

        return q < end ? q : NULL;
    }

    return NULL;
}


int
fb_load_json_int(const char *p, size_t n, const char *key, int64_t *v)
{
    int          neg;
    uint64_t     x;
    const char  *q, *end;

    q = fb_load_json_value(p, n, key);
    if (q == NULL) {
        return FB_DECLINED;
    }

    end = p + n;
    neg = 0;

    if (*q == '-') {
        neg = 1;
        q++;
    }

    if (q == end || *q < '0' || *q > '9') {
        return FB_ERROR;
    }

    for (x = 0; q < end && *q >= '0' && *q <= '9'; q++) {
        if (x > (uint64_t) INT64_MAX / 10) {
            return FB_ERROR;
        }

        x = x * 10 + (uint64_t) (*q - '0');
    }

    if (x > (uint64_t) INT64_MAX) {
        return FB_ERROR;
    }

    *v = neg ? -(int64_t) x : (int64_t) x;

    return FB_OK;
}


int
fb_load_json_str(const char *p, size_t n, const char *key, const char **s,
    size_t *len)
{
    const char  *q, *e, *end;

    q = fb_load_json_value(p, n, key);
    if (q == NULL || *q != '"') {
        return FB_DECLINED;
    }

    end = p + n;
    q++;

    for (e = q; e < end && *e != '"'; e++) {
        if (*e == '\\') {
            e++;
        }
    }

    if (e >= end) {
        return FB_ERROR;
    }

    *s = q;
    *len = (size_t) (e - q);

    return FB_OK;
}
