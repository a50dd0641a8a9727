/*
 * fb_server.h: the worker pool.
 *
 * Workers share one epoll set holding the listening socket and every idle
 * FastCGI connection, each registered EPOLLONESHOT so that exactly one
 * worker owns a ready connection at a time.  A worker waits for one event,
 * accepts new connections or serves one request from a ready connection,
 * and re-arms what it took.  No thread is ever pinned to an idle kept
 * connection, so any number of nginx connections share a few threads.
 */

#ifndef FB_SERVER_H_INCLUDED
#define FB_SERVER_H_INCLUDED

#include "fb_core.h"
#include "fb_listen.h"
#include "fb_metrics.h"
#include "fb_journal.h"
#include "fb_store.h"

/*
 * Events a worker takes per epoll_wait().  More than one lets a worker
 * serve several ready connections per wake-up; each is then answered only
 * after those before it, so it trades latency for fewer system calls.
 */
#define FB_EVENTS_DEFAULT  64
#define FB_EVENTS_MAX      64

typedef struct {
    int            threads;
    int            events;      /* events per epoll_wait(), 1..FB_EVENTS_MAX */
    size_t         max_body;
    fb_journal_t  *journal;     /* NULL: no journal (--fsync off) */
    int            cpu_scheduling;  /* the workers' policy; 0: SCHED_OTHER */
} fb_server_conf_t;

typedef struct fb_server_s  fb_server_t;

fb_server_t *fb_server_new(const fb_server_conf_t *conf, fb_listen_t *l,
    fb_store_t *store);

/*
 * Runs the workers and waits for SIGTERM or SIGINT on the calling thread;
 * then stops accepting, lets requests in flight finish, and returns.
 * Signals must already be blocked (fb_server_block_signals) before any
 * thread exists.  FB_OK, or FB_ERROR if a worker failed.
 */
int fb_server_run(fb_server_t *srv);

void fb_server_free(fb_server_t *srv);

/* Blocks the signals the server waits for, in the calling thread (and so
 * in every thread it creates later). */
int fb_server_block_signals(void);

#endif /* FB_SERVER_H_INCLUDED */
