/*
 * fb_server.c: the worker event loops and orderly shutdown.
 *
 * The memcached model: each worker thread runs its own epoll set and owns
 * the connections in it.  The listening socket is in every set
 * (EPOLLEXCLUSIVE); the worker that takes it accepts and hands the new
 * connections round-robin to all workers, each into its owner's set,
 * level-triggered, for the connection's life.  Only the owner ever reads,
 * writes or closes a connection, so nothing is re-armed per request and
 * no lock is taken on the request path.  A readable connection holds a
 * whole request (nginx writes one at once and sends the next only after
 * the reply), which the owner reads with libfcgi (fcgi/fb_fcgx.h), serves
 * and answers; a receive timeout bounds a peer that stops half-way.
 *
 * A reply that must wait for the journal (doc/journal.txt, "Replies")
 * does not block its worker: the connection is parked with its reply,
 * and the worker goes on serving others.  The journal's writer notifies
 * the worker (an eventfd in its set) once the earliest parked LSN is
 * durable; the worker then sends every reply the journal allows.  nginx
 * sends nothing on a parked connection, so it raises no event until it is
 * answered, unless nginx closes it.
 *
 * Shutdown: the main thread waits in sigwait(); on SIGTERM/SIGINT it sets
 * stopping, takes the listening socket out of every set and makes the
 * stop eventfd readable.  Each worker serves the requests already
 * delivered to it, closes its idle connections, sends its parked replies
 * once durable, and exits.  Workers block every signal, so no read or
 * write of theirs is interrupted by a signal (libfcgi does not retry
 * EINTR).  A stop and continue of the process (SIGSTOP, a debugger or
 * strace attaching) still ends a read that has a receive timeout with
 * EINTR (signal(7)); the request being read then is dropped unanswered.
 */

#include "fb_core.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fb_fcgx.h"
#include "fb_handler.h"
#include "fb_log.h"
#include "fb_parked.h"
#include "fb_server.h"

#ifndef EPOLLEXCLUSIVE
#define EPOLLEXCLUSIVE  (1u << 28)
#endif

/* Connections taken per wake-up of the listening socket. */
#define FB_ACCEPT_BATCH  64

/*
 * Descriptors that connections leave free: the journal's writer opens its
 * next segment and the data directory, the snapshotter its file, /metrics
 * reads /proc.  A journal that cannot open its next segment fails for
 * good (doc/journal.txt, section 7), so a burst of connections must not
 * take those descriptors: a connection that would leave fewer than this
 * is closed at once (nginx answers 502) instead.
 */
#define FB_FD_RESERVE    32

/*
 * A body larger than the limit is read and thrown away up to this much,
 * to keep the connection in step with nginx; beyond it the connection is
 * closed after the 413.
 */
#define FB_DRAIN_MAX     (1024 * 1024)

/*
 * The longest one read or write of a connection may block its worker: a
 * peer that sends half a request and stops, or stops reading replies, is
 * dropped after this long instead of holding the worker's other
 * connections.  It bounds each call, not a whole request: a peer that
 * sends a byte every few seconds holds the worker for as long as it
 * keeps that up (doc/security.txt).  nginx writes a request at once and
 * reads replies as they come.
 */
#define FB_IO_TIMEOUT_S  5

typedef struct fb_worker_s  fb_worker_t;
typedef struct fb_conn_s    fb_conn_t;

/* epoll data of the two eventfds; connections carry their fb_conn_t. */
static char  fb_stop_tag, fb_wake_tag, fb_listen_tag;

struct fb_conn_s {
    int            fd;
    fb_worker_t   *owner;
    fb_conn_t     *prev;          /* the owner's connections */
    fb_conn_t     *next;
    fb_parked_t    park;          /* in the owner's parked list */
    FCGX_Request   req;           /* at most one request per connection */
    int            req_id;        /* its FastCGI id, for the reply */

    /* While parked: the reply held back and what it waits for. */
    fb_reply_t     reply;
    fb_pending_t   pending;
    fb_method_e    method;
    uint64_t       start;
    unsigned       parked:1;
    unsigned       gone:1;         /* nginx closed it while parked */
    unsigned       reply_ready:1;  /* reply was initialised */
    unsigned       keep:1;         /* nginx keeps it after this reply */
};

#define fb_conn_of_park(p)                                                  \
    ((fb_conn_t *) (void *) ((char *) (p) - offsetof(fb_conn_t, park)))

struct fb_worker_s {
    pthread_t          tid;
    int                index;
    unsigned           started:1;
    fb_server_t       *srv;
    int                epfd;
    int                wakefd;     /* eventfd: the journal's notification */
    fb_handler_ctx_t   ctx;
    char              *body;       /* max_body + 1 bytes */

    /*
     * conns_mutex protects conns and closed: a worker accepting links new
     * connections into their owner's list, the owner unlinks them.  Taken
     * once per connection, never per request.
     */
    pthread_mutex_t    conns_mutex;
    unsigned           conns_mutex_ready:1;
    fb_conn_t         *conns;
    unsigned           closed:1;   /* stopping: takes no connection */

    /* The owner's own. */
    fb_parked_list_t   parked;
    fb_jnotify_t      *jnotify;
    uint64_t           armed_lsn;  /* what jnotify was linked for */
    unsigned           armed:1;    /* jnotify is linked in the journal */
};

struct fb_server_s {
    fb_server_conf_t   conf;
    fb_listen_t       *listen;
    fb_store_t        *store;
    int                stopfd;     /* eventfd, readable once stopping */
    fb_atomic_u64_t    failed;     /* a worker could not go on */
    fb_atomic_u64_t    stopping;
    fb_atomic_u64_t    accept_logged;  /* time of the last accept failure
                                          record */
    int                fd_room;    /* a connection's fd must be below it;
                                      0: no bound */
    fb_atomic_i64_t    next_owner; /* round-robin of new connections */
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


/* The journal writer's call, outside its locks: wakes the worker. */
static void
fb_worker_notify(void *arg)
{
    fb_worker_t  *w = arg;
    uint64_t      one = 1;

    if (write(w->wakefd, &one, sizeof(one)) != sizeof(one)) {
        fb_log(FB_LOG_ERR, errno, "write(eventfd) failed");
    }
}


static int
fb_epoll_add(int epfd, int fd, uint32_t events, void *ptr)
{
    struct epoll_event  ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = ptr;

    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}


fb_server_t *
fb_server_new(const fb_server_conf_t *conf, fb_listen_t *l, fb_store_t *store)
{
    int                 i;
    size_t              n = (size_t) conf->threads;
    fb_server_t        *srv;
    struct rlimit       rl;

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
    srv->stopfd = -1;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
        && rl.rlim_cur > 2 * FB_FD_RESERVE && rl.rlim_cur <= INT_MAX)
    {
        srv->fd_room = (int) rl.rlim_cur - FB_FD_RESERVE;
    }

    srv->stats = fb_stats_alloc(n);
    if (srv->stats == NULL) {
        fb_log(FB_LOG_ERR, 0, "posix_memalign() failed");
        goto failed;
    }

    srv->metrics.threads = srv->stats;
    srv->metrics.nthreads = n;
    srv->metrics.journal = conf->journal;
    srv->metrics.start_time = fb_process_start_time();

    srv->workers = calloc(n, sizeof(fb_worker_t));
    if (srv->workers == NULL) {
        fb_log(FB_LOG_ERR, errno, "calloc() failed");
        goto failed;
    }

    for (i = 0; i < conf->threads; i++) {
        srv->workers[i].epfd = -1;
        srv->workers[i].wakefd = -1;
    }

    /* Level triggered, in every set: once stopping it wakes every worker. */
    srv->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv->stopfd < 0) {
        fb_log(FB_LOG_ERR, errno, "eventfd() failed");
        goto failed;
    }

    for (i = 0; i < conf->threads; i++) {
        fb_worker_t *w = &srv->workers[i];

        w->index = i;
        w->srv = srv;

        if (pthread_mutex_init(&w->conns_mutex, NULL) != 0) {
            fb_log(FB_LOG_ERR, 0, "worker %d: pthread_mutex_init() failed", i);
            goto failed;
        }
        w->conns_mutex_ready = 1;

        w->body = malloc(conf->max_body + 1);
        if (w->body == NULL) {
            fb_log(FB_LOG_ERR, errno, "worker %d: malloc(%zu) failed", i,
                   conf->max_body + 1);
            goto failed;
        }

        /* It logs what failed. */
        if (fb_handler_ctx_init(&w->ctx, store, &srv->metrics,
                                &srv->stats[i]) != FB_OK)
        {
            goto failed;
        }

        w->ctx.journal = conf->journal;
        fb_parked_init(&w->parked);

        if (conf->journal != NULL) {
            w->jnotify = fb_journal_notify_new(fb_worker_notify, w);
            if (w->jnotify == NULL) {
                fb_log(FB_LOG_ERR, errno, "worker %d: calloc() failed", i);
                goto failed;
            }
        }

        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (w->epfd < 0) {
            fb_log(FB_LOG_ERR, errno, "epoll_create1() failed");
            goto failed;
        }

        w->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->wakefd < 0) {
            fb_log(FB_LOG_ERR, errno, "eventfd() failed");
            goto failed;
        }

        if (fb_epoll_add(w->epfd, srv->stopfd, EPOLLIN, &fb_stop_tag) != 0
            || fb_epoll_add(w->epfd, w->wakefd, EPOLLIN, &fb_wake_tag) != 0
            || fb_epoll_add(w->epfd, l->fd, EPOLLIN | EPOLLEXCLUSIVE,
                            &fb_listen_tag) != 0)
        {
            fb_log(FB_LOG_ERR, errno, "epoll_ctl(ADD) failed");
            goto failed;
        }
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
            fb_worker_t *w = &srv->workers[i];

            fb_handler_ctx_free(&w->ctx);
            free(w->body);
            fb_journal_notify_free(w->jnotify);
            if (w->epfd >= 0) {
                close(w->epfd);
            }
            if (w->wakefd >= 0) {
                close(w->wakefd);
            }
            if (w->conns_mutex_ready) {
                pthread_mutex_destroy(&w->conns_mutex);
            }
        }
        free(srv->workers);
    }

    if (srv->stopfd >= 0) {
        close(srv->stopfd);
    }

    free(srv->stats);
    free(srv);
}


/* Unlinks c from its owner and frees it; closes its descriptor unless
 * libfcgi already did (c->fd < 0). */
static void
fb_conn_close(fb_conn_t *c)
{
    fb_worker_t  *w = c->owner;

    pthread_mutex_lock(&w->conns_mutex);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        w->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    pthread_mutex_unlock(&w->conns_mutex);

    if (c->fd >= 0) {
        close(c->fd);                 /* also leaves the epoll set */
    }

    if (c->reply_ready) {
        fb_reply_free(&c->reply);
    }

    free(c);
}


/* Hands a new connection to the next worker in turn. */
static void
fb_conn_add(fb_server_t *srv, int fd)
{
    fb_conn_t    *c;
    fb_worker_t  *w;

    w = &srv->workers[(uint64_t) fb_atomic_fetch_add(&srv->next_owner, 1)
                      % (uint64_t) srv->conf.threads];

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        fb_log(FB_LOG_ERR, errno, "calloc() failed: connection dropped");
        close(fd);
        return;
    }

    c->fd = fd;
    c->owner = w;
    fb_fcgx_request_init(&c->req);

    pthread_mutex_lock(&w->conns_mutex);

    if (w->closed) {
        pthread_mutex_unlock(&w->conns_mutex);
        close(fd);
        free(c);
        return;
    }

    c->next = w->conns;
    if (w->conns != NULL) {
        w->conns->prev = c;
    }
    w->conns = c;

    /* Under the mutex, so that the owner cannot close its connections
     * between the link and the add.  The add publishes c to the owner. */
    if (fb_epoll_add(w->epfd, fd, EPOLLIN, c) != 0) {
        fb_log(FB_LOG_ERR, errno, "epoll_ctl(ADD, %d) failed", fd);
        w->conns = c->next;
        if (c->next != NULL) {
            c->next->prev = NULL;
        }
        pthread_mutex_unlock(&w->conns_mutex);
        close(fd);
        free(c);
        return;
    }

    pthread_mutex_unlock(&w->conns_mutex);
}


/*
 * One error record a second at most for a failure that lasts, such as the
 * descriptors or the kernel's memory running out: every worker meets it
 * on every wake-up of the listening socket.  The second is claimed with a
 * compare-and-swap, so two workers failing in the same second log once.
 */
static void
fb_log_accept_failure(fb_server_t *srv, int err, const char *what)
{
    uint64_t  now = (uint64_t) time(NULL);
    uint64_t  last = fb_atomic_u64_load(&srv->accept_logged);

    if (last != now && fb_atomic_u64_cas(&srv->accept_logged, last, now)) {
        fb_log(FB_LOG_ERR, err, "%s", what);
    }
}


static void
fb_accept(fb_server_t *srv)
{
    int              i, fd, on = 1;
    struct timeval   tv;

    tv.tv_sec = FB_IO_TIMEOUT_S;
    tv.tv_usec = 0;

    for (i = 0; i < FB_ACCEPT_BATCH && !fb_stopping(srv); i++) {
        fd = accept4(srv->listen->fd, NULL, NULL, SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }

            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }

            fb_log_accept_failure(srv, errno, "accept4() failed");

            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
                || errno == ENOMEM)
            {
                /* Out of descriptors or of kernel memory, the connection
                 * stays queued and the listening socket readable: back
                 * off a little instead of spinning, and logging, on it. */
                usleep(10000);
                break;
            }

            if (errno == EPROTO || errno == ENETDOWN || errno == ENOPROTOOPT
                || errno == EHOSTDOWN || errno == ENONET
                || errno == EHOSTUNREACH || errno == ENETUNREACH)
            {
                /* An error of that one connection, already gone (accept(2):
                 * treat it as EAGAIN and retry): the next may be fine. */
                continue;
            }

            break;
        }

        /*
         * A new descriptor is the lowest free one: every one below fd is
         * in use, so fewer than FB_FD_RESERVE are left above it.
         */
        if (srv->fd_room > 0 && fd >= srv->fd_room) {
            fb_log_accept_failure(srv, 0, "too many connections for the "
                                  "descriptor limit (RLIMIT_NOFILE): new "
                                  "ones are closed");
            close(fd);
            continue;
        }

        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0
            || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
        {
            fb_log(FB_LOG_WARN, errno, "setsockopt(SO_RCVTIMEO) failed");
        }

        if (srv->listen->family != AF_UNIX
            && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0)
        {
            fb_log(FB_LOG_WARN, errno, "setsockopt(TCP_NODELAY) failed");
        }

        fb_conn_add(srv, fd);
    }
}


/*
 * The parameters the backend uses; nginx passes them (nginx/).  One strlen
 * per parameter, then compares of known length that the compiler inlines:
 * three strncmp calls per parameter were 3% of a GET's instructions.
 * FB_PARAM gives the length of "NAME=" if e starts with it, else 0.
 */
#define FB_PARAM(e, len, name)                                               \
    ((len) >= sizeof(name) - 1 && memcmp(e, name, sizeof(name) - 1) == 0     \
     ? sizeof(name) - 1 : 0)

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
        size_t      len = strlen(e);
        size_t      n;

        if ((n = FB_PARAM(e, len, "REQUEST_METHOD=")) != 0) {
            req->method = fb_method_parse(e + n, len - n);
        } else if ((n = FB_PARAM(e, len, "REQUEST_URI=")) != 0) {
            req->uri = e + n;
            req->uri_len = len - n;
        } else if ((n = FB_PARAM(e, len, "CONTENT_LENGTH=")) != 0 && len > n) {
            *clen = strtoll(e + n, NULL, 10);
        }
    }
}


/*
 * Reads the body to its end: the empty STDIN record that ends it must be
 * consumed, or the next request on this connection is out of step.
 */
static void
fb_read_body(fb_worker_t *w, FCGX_Request *r, fb_request_t *req, long long clen)
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
                                   r->in)) > 0)
        {
            len += (size_t) n;
        }

        req->body_len = len;
        if (len < cap) {
            return;
        }

        req->body_too_large = 1;
    }

    while ((n = FCGX_GetStr(scratch, sizeof(scratch), r->in)) > 0) {
        drained += (size_t) n;
        if (drained > FB_DRAIN_MAX) {
            fb_fcgx_close_after(r);
            break;
        }
    }
}



/* fb_journal_durable, for a worker that may have no journal. */
static int
fb_journal_durable_or_none(fb_worker_t *w, uint64_t lsn)
{
    if (lsn == 0 || w->ctx.journal == NULL) {
        return 1;
    }

    return fb_journal_durable(w->ctx.journal, lsn);
}


/*
 * Sends the reply in the worker's handler context, settled by
 * fb_handle_done; closes the connection unless nginx keeps it.  The
 * request's libfcgi state is already freed (fb_fcgx_release).
 */
static void
fb_reply(fb_worker_t *w, fb_conn_t *c, int durable, fb_method_e method,
    uint64_t start)
{
    int            ok;
    size_t         len;
    const char    *out;
    fb_stats_t    *st = w->ctx.stats;

    fb_handle_done(&w->ctx, durable);

    ok = fb_reply_render(&w->ctx.reply, &out, &len) == FB_OK;

    /*
     * Counted before the reply is written, so that a client that has read
     * a reply finds it in the next scrape: the scraped values are exact,
     * not "soon".  The duration thus ends when the reply is ready; for a
     * parked reply it includes the wait for the journal.
     */
    fb_stats_request(st, w->ctx.pending.route, method, w->ctx.reply.status,
                     fb_stats_clock() - start);

    /* Idle before the reply leaves, for the same reason: a scrape the
     * client sends next counts only the workers still serving. */
    fb_stats_set_busy(st, 0);

    if (ok && !c->gone) {
        ok = fb_fcgx_reply(c->fd, c->req_id, out, len) == FB_OK;
    }

    if (!ok || !c->keep || c->gone || fb_stopping(w->srv)) {
        fb_conn_close(c);
    }
}


static void
fb_reply_swap(fb_reply_t *a, fb_reply_t *b)
{
    fb_reply_t  t = *a;

    *a = *b;
    *b = t;
}


/*
 * Holds the reply in the worker's context back until the journal says its
 * LSN is durable.  FB_ERROR if c cannot hold it (no memory): the caller
 * then waits.
 */
static int
fb_park(fb_worker_t *w, fb_conn_t *c, fb_method_e method, uint64_t start)
{
    if (!c->reply_ready) {
        if (fb_reply_init(&c->reply) != FB_OK) {
            return FB_ERROR;
        }
        c->reply_ready = 1;
    }

    fb_reply_swap(&w->ctx.reply, &c->reply);
    c->pending = w->ctx.pending;
    c->method = method;
    c->start = start;
    c->parked = 1;
    c->park.lsn = c->pending.lsn;
    fb_parked_add(&w->parked, &c->park);

    return FB_OK;
}


/*
 * Sends every parked reply the journal allows (or the 503 of each, if it
 * failed), then makes sure to be notified at the earliest LSN still
 * waiting.  The list is in LSN order: the first reply still waiting ends
 * the walk.  Called after each pass of events while replies are parked;
 * while notified for a later LSN, it costs one look at the first reply.
 */
static void
fb_settle(fb_worker_t *w)
{
    int           d, rc;
    fb_conn_t    *c;
    fb_parked_t  *p;

    for ( ;; ) {

        while ((p = fb_parked_first(&w->parked)) != NULL) {
            d = fb_journal_durable(w->ctx.journal, p->lsn);
            if (d == 0) {
                break;
            }

            (void) fb_parked_take(&w->parked);
            c = fb_conn_of_park(p);
            c->parked = 0;
            fb_reply_swap(&w->ctx.reply, &c->reply);
            w->ctx.pending = c->pending;
            fb_reply(w, c, d > 0, c->method, c->start);
        }

        if (p == NULL) {
            return;
        }

        if (!w->armed) {
            rc = fb_journal_notify(w->ctx.journal, w->jnotify, p->lsn);
            if (rc == FB_OK) {
                w->armed = 1;
                w->armed_lsn = p->lsn;
            }

        } else if (p->lsn < w->armed_lsn) {
            /* A read waiting for an earlier change than the records the
             * worker asked for: be notified for it, not one sync later. */
            rc = fb_journal_notify_lower(w->ctx.journal, w->jnotify,
                                         p->lsn);
            if (rc == FB_OK) {
                w->armed_lsn = p->lsn;
            }

        } else {
            return;
        }

        if (rc == FB_OK) {
            return;
        }

        /* Durable, or failed, since the walk: walk again. */
    }
}


static void
fb_serve(fb_worker_t *w, fb_conn_t *c)
{
    int            d, keep;
    uint64_t       start;
    long long      clen;
    fb_request_t   req;
    fb_stats_t    *st = w->ctx.stats;

    if (c->parked) {
        /* nginx sends nothing while it waits for the reply: this is its
         * close.  Out of the set, lest level triggering repeat it. */
        (void) epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        c->gone = 1;
        return;
    }

    start = fb_stats_clock();

    if (fb_fcgx_begin(&c->req, c->fd) != FB_OK) {
        c->fd = -1;                   /* libfcgi closed it */
        fb_conn_close(c);
        return;
    }

    fb_stats_set_busy(st, 1);

    fb_read_params(&c->req, &req, &clen);
    fb_read_body(w, &c->req, &req, clen);

    /*
     * Cut short by a read error (the receive timeout, a reset) or shorter
     * than its CONTENT_LENGTH: nothing of it is served, and there is no
     * one to answer.  nginx never sends such a request.
     */
    if (fb_fcgx_broken(&c->req)
        || (!req.body_too_large && clen >= 0
            && (long long) req.body_len != clen))
    {
        fb_log(FB_LOG_WARN, 0, "a request was not read whole: connection "
               "dropped");
        fb_fcgx_drop(&c->req);
        c->fd = -1;
        fb_conn_close(c);
        fb_stats_set_busy(st, 0);
        return;
    }

    (void) fb_handle_start(&w->ctx, &req);

    /* req's strings are libfcgi's: done with them. */
    c->req_id = fb_fcgx_release(&c->req, &keep);
    c->keep = keep != 0;

    d = fb_journal_durable_or_none(w, w->ctx.pending.lsn);

    if (d == 0 && fb_park(w, c, req.method, start) != FB_OK) {
        d = fb_journal_wait(w->ctx.journal, w->ctx.pending.lsn) == 0 ? 1 : -1;
    }

    if (d != 0) {
        fb_reply(w, c, d > 0, req.method, start);    /* marks it idle */
    } else {
        fb_stats_set_busy(st, 0);
    }
}


/* Closes every connection not waiting for the journal; takes no more. */
static void
fb_worker_close_idle(fb_worker_t *w)
{
    fb_conn_t  *c, *next;

    pthread_mutex_lock(&w->conns_mutex);
    w->closed = 1;
    c = w->conns;
    pthread_mutex_unlock(&w->conns_mutex);

    /* Only this worker unlinks, and no one links any more. */
    for ( /* void */ ; c != NULL; c = next) {
        next = c->next;
        if (!c->parked) {
            fb_conn_close(c);
        }
    }
}


/*
 * --cpu-scheduling batch (the default): each worker asks for SCHED_BATCH
 * for itself; the journal's writer stays SCHED_OTHER.  nginx and the
 * workers hand every request back and forth: under SCHED_OTHER a worker
 * woken by nginx's write preempts nginx at once, and nginx, woken by the
 * reply, preempts the worker, two switches per request where the CPUs are
 * shared.  A SCHED_BATCH thread never preempts on wake-up: it runs on an
 * idle CPU at once, else when the running thread sleeps or its slice
 * ends, by which time nginx has written more requests for one wake-up to
 * serve.  Measured (BENCHMARKS.md): context switches per request 1.5 to
 * 7.5 times fewer, server CPU per request 3-33% lower.  No privilege
 * is needed and systemd's RestrictRealtime= does not apply; a refusal only
 * costs that speed.
 */
static void
fb_worker_sched(fb_worker_t *w)
{
    struct sched_param  sp;

    if (w->srv->conf.cpu_scheduling == SCHED_OTHER) {
        return;
    }

    memset(&sp, 0, sizeof(sp));
    if (sched_setscheduler(0, w->srv->conf.cpu_scheduling, &sp) != 0) {
        fb_log(FB_LOG_WARN, errno, "sched_setscheduler(SCHED_BATCH) of "
               "worker %d failed: it runs under SCHED_OTHER", w->index);
    }
}


static void *
fb_worker_main(void *arg)
{
    int                 i, n, stop = 0;
    void               *tag;
    uint64_t            count;
    fb_worker_t        *w = arg;
    fb_server_t        *srv = w->srv;
    struct epoll_event  ev[FB_EVENTS_MAX];
    char                name[32];

    /* For top -H, perf and gdb (prctl: no file opened); cut to 15. */
    snprintf(name, sizeof(name), "fb-worker-%d", w->index);
    name[15] = '\0';
    (void) pthread_setname_np(pthread_self(), name);

    fb_worker_sched(w);

    while (!stop || fb_parked_first(&w->parked) != NULL) {
        n = epoll_wait(w->epfd, ev, srv->conf.events, -1);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fb_log(FB_LOG_ERR, errno, "epoll_wait() failed");
            fb_atomic_u64_store(&srv->failed, 1);
            kill(getpid(), SIGTERM);
            break;
        }

        /* This pass's records reach the writer together, at its end. */
        if (w->ctx.journal != NULL) {
            fb_journal_hold(w->ctx.journal);
        }

        for (i = 0; i < n; i++) {
            tag = ev[i].data.ptr;

            if (tag == &fb_stop_tag) {
                if (!stop) {
                    stop = 1;
                    (void) epoll_ctl(w->epfd, EPOLL_CTL_DEL, srv->stopfd,
                                     NULL);
                }

            } else if (tag == &fb_wake_tag) {
                if (read(w->wakefd, &count, sizeof(count)) == sizeof(count)) {
                    w->armed = 0;
                }

            } else if (tag == &fb_listen_tag) {
                fb_accept(srv);

            } else {
                fb_serve(w, tag);
            }
        }

        if (w->ctx.journal != NULL) {
            fb_journal_release(w->ctx.journal);
        }

        if (stop && !w->closed) {
            fb_worker_close_idle(w);
        }

        if (fb_parked_first(&w->parked) != NULL) {
            fb_settle(w);
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
    for (i = 0; i < srv->conf.threads; i++) {
        (void) epoll_ctl(srv->workers[i].epfd, EPOLL_CTL_DEL,
                         srv->listen->fd, NULL);
    }

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
