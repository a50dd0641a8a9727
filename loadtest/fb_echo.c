/*
 * fb_echo.c: fb-echo, the reference FastCGI responder: what the FastCGI
 * hop costs with libfcgi's defaults and nothing else.
 *
 * It is libfcgi's examples/threaded.c with the one known fault removed:
 * FCGX_Init, N threads each with its own FCGX_Request blocking in
 * FCGX_Accept_r (no accept mutex: Linux needs none, and with upstream
 * keep-alive the mutex would serialise every kept connection), the body
 * read until FCGX_GetStr returns 0 (so a late empty STDIN record is not
 * left for the next request), and one FCGX_PutStr of a fixed reply.
 * Workers block every signal; the main thread waits for SIGTERM/SIGINT or
 * the end of --lifetime, removes the socket and exits.
 */

#include "fb_core.h"

#include <errno.h>
#include <fcgiapp.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FB_ECHO_THREADS_MAX  1024

/* Shaped like GET /accounts/{id}/balance; Content-Length keeps nginx
 * from switching the client's response to chunked encoding. */
#define FB_ECHO_BODY   "{\"id\": 1, \"owner\": \"load 1\", \"balance\": 100000}"

static const char  fb_echo_reply[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 47\r\n"
    "\r\n"
    FB_ECHO_BODY;

_Static_assert(sizeof(FB_ECHO_BODY) - 1 == 47,
               "Content-Length in fb_echo_reply is the body's length");

typedef struct {
    int        id;
    int        listen_fd;
    pthread_t  tid;
} fb_echo_worker_t;

static void *fb_echo_worker(void *arg);
static int fb_echo_number(const char *s, long min, long max, long *out,
    int base);
static void fb_echo_usage(FILE *f);


static void
fb_echo_usage(FILE *f)
{
    fputs(
"usage: fb-echo --socket PATH [options]\n"
"\n"
"A minimal threaded libfcgi responder: every request gets the same JSON\n"
"reply.  The reference for what nginx -> FastCGI costs by itself.\n"
"\n"
"  -s, --socket PATH      unix socket to listen on (replaced if it exists)\n"
"  -t, --threads N        worker threads, each in FCGX_Accept_r [32]\n"
"  -b, --backlog N        listen backlog [1024]\n"
"  -m, --socket-mode OCT  permissions of the socket [0660]\n"
"  -l, --lifetime SECONDS exit after this long [0: until SIGTERM/SIGINT]\n"
"  -h, --help\n", f);
}


static void *
fb_echo_worker(void *arg)
{
    int               rc;
    char              buf[4096];
    FCGX_Request      req;
    fb_echo_worker_t *w = arg;

    if (FCGX_InitRequest(&req, w->listen_fd, 0) != 0) {
        fprintf(stderr, "fb-echo: FCGX_InitRequest() failed in thread %d\n",
                w->id);
        return NULL;
    }

    for ( ;; ) {
        rc = FCGX_Accept_r(&req);
        if (rc < 0) {
            /* Only accept() failing gets here: libfcgi itself retries
             * after a bad or closed connection.  threaded.c gives up the
             * thread too. */
            fprintf(stderr, "fb-echo: FCGX_Accept_r() failed (%d) in"
                    " thread %d\n", rc, w->id);
            break;
        }

        /* Drain the body, and its empty end record with it. */
        while (FCGX_GetStr(buf, sizeof(buf), req.in) > 0) {
            /* void */
        }

        FCGX_PutStr(fb_echo_reply, (int) sizeof(fb_echo_reply) - 1, req.out);
        FCGX_Finish_r(&req);
    }

    FCGX_Free(&req, 1);

    return NULL;
}


static int
fb_echo_number(const char *s, long min, long max, long *out, int base)
{
    char  *end;
    long   n;

    errno = 0;
    n = strtol(s, &end, base);
    if (errno != 0 || end == s || *end != '\0' || n < min || n > max) {
        return FB_ERROR;
    }

    *out = n;

    return FB_OK;
}


int
main(int argc, char **argv)
{
    int                 c, i, fd, sig, started;
    long                threads, backlog, mode, lifetime;
    char               *path;
    sigset_t            all, wait;
    struct timespec     ts;
    fb_echo_worker_t   *workers;

    static const struct option  longs[] = {
        { "socket",      required_argument, NULL, 's' },
        { "threads",     required_argument, NULL, 't' },
        { "backlog",     required_argument, NULL, 'b' },
        { "socket-mode", required_argument, NULL, 'm' },
        { "lifetime",    required_argument, NULL, 'l' },
        { "help",        no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    path = NULL;
    threads = 32;
    backlog = 1024;
    mode = 0660;
    lifetime = 0;

    while ((c = getopt_long(argc, argv, "s:t:b:m:l:h", longs, NULL)) != -1) {
        switch (c) {
        case 's':
            path = optarg;
            break;
        case 't':
            if (fb_echo_number(optarg, 1, FB_ECHO_THREADS_MAX, &threads, 10)
                != FB_OK)
            {
                fprintf(stderr, "fb-echo: --threads takes 1..%d\n",
                        FB_ECHO_THREADS_MAX);
                return 2;
            }
            break;
        case 'b':
            if (fb_echo_number(optarg, 1, 65535, &backlog, 10) != FB_OK) {
                fprintf(stderr, "fb-echo: --backlog takes 1..65535\n");
                return 2;
            }
            break;
        case 'm':
            if (fb_echo_number(optarg, 0, 0777, &mode, 8) != FB_OK) {
                fprintf(stderr, "fb-echo: --socket-mode takes an octal mode\n");
                return 2;
            }
            break;
        case 'l':
            if (fb_echo_number(optarg, 0, 86400 * 365, &lifetime, 10)
                != FB_OK)
            {
                fprintf(stderr, "fb-echo: --lifetime takes seconds\n");
                return 2;
            }
            break;
        case 'h':
            fb_echo_usage(stdout);
            return 0;
        default:
            fb_echo_usage(stderr);
            return 2;
        }
    }

    if (path == NULL || optind != argc) {
        fb_echo_usage(stderr);
        return 2;
    }

    if (FCGX_Init() != 0) {
        fprintf(stderr, "fb-echo: FCGX_Init() failed\n");
        return 1;
    }

    /* FCGX_OpenSocket unlinks the path and exits on bind failure. */
    fd = FCGX_OpenSocket(path, (int) backlog);
    if (fd < 0) {
        fprintf(stderr, "fb-echo: FCGX_OpenSocket() \"%s\" failed\n", path);
        return 1;
    }

    if (chmod(path, (mode_t) mode) == -1) {
        fprintf(stderr, "fb-echo: chmod() \"%s\" failed (%d: %s)\n", path,
                errno, strerror(errno));
        unlink(path);
        return 1;
    }

    /* Workers inherit a mask with every signal blocked: a signal that hit
     * a worker inside read() would drop its connection (libfcgi does not
     * retry EINTR). */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);

    workers = calloc((size_t) threads, sizeof(fb_echo_worker_t));
    if (workers == NULL) {
        fprintf(stderr, "fb-echo: calloc() of %ld workers failed\n", threads);
        unlink(path);
        return 1;
    }

    started = 0;

    for (i = 0; i < threads; i++) {
        workers[i].id = i;
        workers[i].listen_fd = fd;

        c = pthread_create(&workers[i].tid, NULL, fb_echo_worker, &workers[i]);
        if (c != 0) {
            fprintf(stderr, "fb-echo: pthread_create() failed (%d: %s)\n", c,
                    strerror(c));
            break;
        }

        started++;
    }

    if (started == 0) {
        unlink(path);
        return 1;
    }

    fprintf(stderr, "fb-echo: %d threads on unix:%s\n", started, path);

    sigemptyset(&wait);
    sigaddset(&wait, SIGTERM);
    sigaddset(&wait, SIGINT);
    sigaddset(&wait, SIGHUP);

    if (lifetime > 0) {
        ts.tv_sec = lifetime;
        ts.tv_nsec = 0;

        do {
            sig = sigtimedwait(&wait, NULL, &ts);
        } while (sig == -1 && errno == EINTR);

    } else {
        do {
            sig = sigwaitinfo(&wait, NULL);
        } while (sig == -1 && errno == EINTR);
    }

    unlink(path);

    /* The workers are blocked in accept() or read(): the process's exit
     * ends them, and nginx sees the connections close. */
    fprintf(stderr, "fb-echo: %s, exiting\n",
            sig == -1 ? "lifetime over" : strsignal(sig));

    exit(0);
}
