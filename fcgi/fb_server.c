/*
 * fb_server.c: the worker pool, the epoll set and orderly shutdown.
 *
 * Every descriptor in the epoll set is registered EPOLLONESHOT: once an
 * event is delivered to a worker, the descriptor stays disarmed until that
 * worker re-arms it, so two workers never read one connection.  The
 * listening socket is re-armed as soon as the accepts are done; a
 * connection is re-armed after its request is answered, if nginx keeps it.
 *
 * Shutdown: the main thread waits in sigwait(); on SIGTERM/SIGINT it sets
 * stopping and makes the eventfd readable.  That eventfd is level
 * triggered, so it wakes every worker in turn; a worker serving a request
 * finishes it, closes that connection and exits.  Workers block every
 * signal, so no read or write of theirs is ever interrupted (libfcgi does
 * not retry EINTR).
 */

#include "fb_core.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fb_fcgx.h"
#include "fb_handler.h"
#include "fb_log.h"
#include "fb_server.h"

/*
 * ThreadSanitizer (GCC 12's libtsan) takes EPOLL_CTL_ADD as a release of
 * the epoll descriptor and epoll_wait() as an acquire, but not
 * EPOLL_CTL_MOD: it does not know that re-arming an EPOLLONESHOT
 * descriptor orders everything the re-arming worker did with it before
 * everything the next worker to receive it does, and reports the next
 * worker's close() as racing the epoll_ctl().  In that build the re-arm
 * says so with a release, and bypasses the epoll_ctl() interceptor, whose
 * access to the descriptor would come after the release; the acquire
 * follows every epoll_wait().  Other builds compile all this out.
 */
#if defined(__SANITIZE_THREAD__)
#include <sys/syscall.h>
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define fb_tsan_acquire(addr)  __tsan_acquire(addr)
#define fb_epoll_rearm(srv, fd, ev)                                        \
    (__tsan_release(&(srv)->epfd),                                         \
     (int) syscall(SYS_epoll_ctl, (srv)->epfd, EPOLL_CTL_MOD, fd, ev))
#else
#define fb_tsan_acquire(addr)
#define fb_epoll_rearm(srv, fd, ev)                                        \
    epoll_ctl((srv)->epfd, EPOLL_CTL_MOD, fd, ev)
#endif

/* Connections taken per wake-up of the listening socket. */
#define FB_ACCEPT_BATCH  64

/*
 * A body larger than the limit is read and thrown away up to this much,
 * to keep the connection in step with nginx; beyond it the connection is
 * closed after the 413.
 */
#define FB_DRAIN_MAX     (1024 * 1024)

typedef struct {
    pthread_t          tid;
    int                index;
    unsigned           started:1;
    fb_server_t       *srv;
    FCGX_Request       req;
    fb_handler_ctx_t   ctx;
    char              *body;       /* max_body + 1 bytes */
} fb_worker_t;

struct fb_server_s {
    fb_server_conf_t   conf;
    fb_listen_t       *listen;
    fb_store_t        *store;
    int                epfd;
    int                stopfd;     /* eventfd, readable once stopping */
    fb_atomic_u64_t    failed;     /* a worker could not go on */
    fb_atomic_u64_t    stopping;
    fb_atomic_u64_t    emfile_logged;  /* time of the last EMFILE record */
    fb_metrics_t       metrics;
    fb_stats_t        *stats;      /* one per worker, FB_STATS_ALIGN apart */
    fb_worker_t       *workers;
};

static void *fb_worker_main(void *arg);


int
fb_server_block_signals(void)
{
    int       rc;
    sigset_t  set;

    /* A write to a connection nginx closed must fail with EPIPE, not kill. */
    signal(SIGPIPE, SIG_IGN);

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);

    rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc != 0) {
        fb_log(FB_LOG_ERR, rc, "pthread_sigmask() failed");
        return FB_ERROR;
    }

    return FB_OK;
}


static int
fb_stopping(fb_server_t *srv)
{
    return fb_atomic_u64_load(&srv->stopping) != 0;
}


fb_server_t *
fb_server_new(const fb_server_conf_t *conf, fb_listen_t *l, fb_store_t *store)
{
    int                 i;
    size_t              n = (size_t) conf->threads;
    fb_server_t        *srv;
    struct timespec     ts;
    struct epoll_event  ev;

    srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        fb_log(FB_LOG_ERR, errno, "calloc() failed");
        return NULL;
    }

    srv->conf = *conf;
    if (srv->conf.events < 1 || srv->conf.events > FB_EVENTS_MAX) {
        srv->conf.events = FB_EVENTS_DEFAULT;
    }
    srv->listen = l;
    srv->store = store;
    srv->epfd = -1;
    srv->stopfd = -1;

    srv->stats = fb_stats_alloc(n);
    if (srv->stats == NULL) {
        fb_log(FB_LOG_ERR, 0, "posix_memalign() failed");
        goto failed;
    }

    clock_gettime(CLOCK_REALTIME, &ts);
    srv->metrics.threads = srv->stats;
    srv->metrics.nthreads = n;
    srv->metrics.start_time = (double) ts.tv_sec + ts.tv_nsec / 1e9;

    srv->workers = calloc(n, sizeof(fb_worker_t));
    if (srv->workers == NULL) {
        fb_log(FB_LOG_ERR, errno, "calloc() failed");
        goto failed;
    }

    for (i = 0; i < conf->threads; i++) {
        fb_worker_t *w = &srv->workers[i];

        w->index = i;
        w->srv = srv;
        fb_fcgx_request_init(&w->req);

        w->body = malloc(conf->max_body + 1);
        if (w->body == NULL
            || fb_handler_ctx_init(&w->ctx, store, &srv->metrics,
                                   &srv->stats[i]) != FB_OK)
        {
            fb_log(FB_LOG_ERR, 0, "worker %d: allocation failed", i);
            goto failed;
        }

        w->ctx.journal = conf->journal;
    }

    srv->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (srv->epfd < 0) {
        fb_log(FB_LOG_ERR, errno, "epoll_create1() failed");
        goto failed;
    }

    srv->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv->stopfd < 0) {
        fb_log(FB_LOG_ERR, errno, "eventfd() failed");
        goto failed;
    }

    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;                      /* level triggered: wakes all */
    ev.data.fd = srv->stopfd;
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->stopfd, &ev) != 0) {
        fb_log(FB_LOG_ERR, errno, "epoll_ctl(ADD, eventfd) failed");
        goto failed;
    }

    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.fd = l->fd;
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, l->fd, &ev) != 0) {
        fb_log(FB_LOG_ERR, errno, "epoll_ctl(ADD, listen) failed");
        goto failed;
    }

    return srv;

failed:

    fb_server_free(srv);
    return NULL;
}


void
fb_server_free(fb_server_t *srv)
{
    int  i;

    if (srv == NULL) {
        return;
    }

    if (srv->workers != NULL) {
        for (i = 0; i < srv->conf.threads; i++) {
            fb_handler_ctx_free(&srv->workers[i].ctx);
            free(srv->workers[i].body);
        }
        free(srv->workers);
    }

    if (srv->stopfd >= 0) {
        close(srv->stopfd);
    }

    if (srv->epfd >= 0) {
        close(srv->epfd);
    }

    free(srv->stats);
    free(srv);
}


static int
fb_rearm(fb_server_t *srv, int fd)
{
    struct epoll_event  ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.fd = fd;

    if (fb_epoll_rearm(srv, fd, &ev) != 0) {
        fb_log(FB_LOG_ERR, errno, "epoll_ctl(MOD, %d) failed", fd);
        return FB_ERROR;
    }

    return FB_OK;
}


static void
fb_accept(fb_server_t *srv)
{
    int                 i, fd, on = 1;
    uint64_t            now;
    struct epoll_event  ev;

    for (i = 0; i < FB_ACCEPT_BATCH; i++) {
        fd = accept4(srv->listen->fd, NULL, NULL, SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }

            if (errno == EMFILE || errno == ENFILE) {
                /* Out of descriptors: back off a little instead of
                 * spinning on a listening socket that stays readable. */
                now = (uint64_t) time(NULL);
                if (fb_atomic_u64_load(&srv->emfile_logged) != now) {
                    fb_atomic_u64_store(&srv->emfile_logged, now);
                    fb_log(FB_LOG_ERR, errno, "accept4() failed");
                }
                usleep(10000);
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                fb_log(FB_LOG_ERR, errno, "accept4() failed");
            }

            break;
        }

        if (srv->listen->family != AF_UNIX
            && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0)
        {
            fb_log(FB_LOG_WARN, errno, "setsockopt(TCP_NODELAY) failed");
        }

        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN | EPOLLONESHOT;
        ev.data.fd = fd;

        if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            fb_log(FB_LOG_ERR, errno, "epoll_ctl(ADD, %d) failed", fd);
            close(fd);
        }
    }

    if (!fb_stopping(srv)) {
        (void) fb_rearm(srv, srv->listen->fd);
    }
}


/* The parameters the backend uses; nginx passes them (nginx/). */
static void
fb_read_params(FCGX_Request *r, fb_request_t *req, long long *clen)
{
    char  **p;

    req->method = FB_METHOD_OTHER;
    req->uri = "";
    req->uri_len = 0;
    *clen = -1;

    for (p = r->envp; *p != NULL; p++) {
        const char *e = *p;

        if (strncmp(e, "REQUEST_METHOD=", 15) == 0) {
            req->method = fb_method_parse(e + 15, strlen(e + 15));
        } else if (strncmp(e, "REQUEST_URI=", 12) == 0) {
            req->uri = e + 12;
            req->uri_len = strlen(e + 12);
        } else if (strncmp(e, "CONTENT_LENGTH=", 15) == 0 && e[15] != '\0') {
            *clen = strtoll(e + 15, NULL, 10);
        }
    }
}


/*
 * Reads the body to its end: the empty STDIN record that ends it must be
 * consumed, or the next request on this connection is out of step.
 */
static void
fb_read_body(fb_worker_t *w, fb_request_t *req, long long clen)
{
    int      n;
    char     scratch[4096];
    size_t   len = 0, cap = w->srv->conf.max_body + 1, drained = 0;

    req->body = w->body;
    req->body_len = 0;
    req->body_too_large = clen > (long long) w->srv->conf.max_body;

    if (!req->body_too_large) {
        while (len < cap
               && (n = FCGX_GetStr(w->body + len, (int) (cap - len),
                                   w->req.in)) > 0)
        {
            len += (size_t) n;
        }

        req->body_len = len;
        if (len < cap) {
            return;
        }

        req->body_too_large = 1;
    }

    while ((n = FCGX_GetStr(scratch, sizeof(scratch), w->req.in)) > 0) {
        drained += (size_t) n;
        if (drained > FB_DRAIN_MAX) {
            fb_fcgx_close_after(&w->req);
            break;
        }
    }
}


static void
fb_serve(fb_worker_t *w, int fd)
{
    int            keep;
    size_t         len;
    uint64_t       start;
    long long      clen;
    fb_route_e     route;
    const char    *out;
    fb_request_t   req;
    fb_stats_t    *st = w->ctx.stats;

    start = fb_stats_clock();

    if (fb_fcgx_begin(&w->req, fd) != FB_OK) {
        return;
    }

    fb_stats_set_busy(st, 1);

    fb_read_params(&w->req, &req, &clen);
    fb_read_body(w, &req, clen);

    route = fb_handle(&w->ctx, &req);

    if (fb_reply_render(&w->ctx.reply, &out, &len) != FB_OK
        || FCGX_PutStr(out, (int) len, w->req.out) != (int) len)
    {
        fb_fcgx_close_after(&w->req);
    }

    /*
     * Counted before FCGX_Finish_r flushes the reply, so that a client
     * that has read a reply finds it in the next scrape, and finds this
     * worker idle: the scraped values are exact, not "soon".  The duration
     * thus ends when the reply is handed to libfcgi.
     */
    fb_stats_request(st, route, req.method, w->ctx.reply.status,
                     fb_stats_clock() - start);
    fb_stats_set_busy(st, 0);

    fd = fb_fcgx_end(&w->req, &keep);

    if (fd < 0) {
        return;
    }

    if (!keep || fb_stopping(w->srv) || fb_rearm(w->srv, fd) != FB_OK) {
        close(fd);
    }
}


static void *
fb_worker_main(void *arg)
{
    int                 i, n, stop = 0;
    fb_worker_t        *w = arg;
    fb_server_t        *srv = w->srv;
    struct epoll_event  ev[FB_EVENTS_MAX];

    while (!stop) {
        n = epoll_wait(srv->epfd, ev, srv->conf.events, -1);

        fb_tsan_acquire(&srv->epfd);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fb_log(FB_LOG_ERR, errno, "epoll_wait() failed");
            fb_atomic_u64_store(&srv->failed, 1);
            kill(getpid(), SIGTERM);
            break;
        }

        /*
         * Every descriptor delivered here is ours alone until re-armed
         * (EPOLLONESHOT), so each one is served before waiting again.
         */
        for (i = 0; i < n; i++) {
            if (ev[i].data.fd == srv->stopfd) {
                stop = 1;
            } else if (ev[i].data.fd == srv->listen->fd) {
                fb_accept(srv);
            } else {
                fb_serve(w, ev[i].data.fd);
            }
        }
    }

    return NULL;
}


int
fb_server_run(fb_server_t *srv)
{
    int       i, rc, sig;
    uint64_t  one = 1;
    sigset_t  set;

    for (i = 0; i < srv->conf.threads; i++) {
        rc = pthread_create(&srv->workers[i].tid, NULL, fb_worker_main,
                            &srv->workers[i]);
        if (rc != 0) {
            fb_log(FB_LOG_ERR, rc, "pthread_create() failed");
            fb_atomic_u64_store(&srv->failed, 1);
            break;
        }
        srv->workers[i].started = 1;
    }

    if (fb_atomic_u64_load(&srv->failed) == 0) {
        fb_log(FB_LOG_INFO, 0, "serving with %d worker threads",
               srv->conf.threads);

        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);

        do {
            rc = sigwait(&set, &sig);
        } while (rc == EINTR);

        fb_log(FB_LOG_INFO, 0, "signal %d: finishing requests in flight",
               sig);
    }

    fb_atomic_u64_store(&srv->stopping, 1);

    /* Stop accepting.  The socket itself is closed only after the workers
     * are gone: one of them may be in accept4() on it right now. */
    (void) epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->listen->fd, NULL);

    if (write(srv->stopfd, &one, sizeof(one)) != sizeof(one)) {
        fb_log(FB_LOG_ERR, errno, "write(eventfd) failed");
    }

    for (i = 0; i < srv->conf.threads; i++) {
        if (srv->workers[i].started) {
            pthread_join(srv->workers[i].tid, NULL);
        }
    }

    fb_listen_close(srv->listen);

    return fb_atomic_u64_load(&srv->failed) ? FB_ERROR : FB_OK;
}
