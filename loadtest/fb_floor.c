/*
 * fb_floor.c: fb-floor, the cheapest FastCGI responder this machine can
 * run: what nginx's FastCGI hop costs with nothing behind it.
 *
 * One thread, one epoll set, non-blocking sockets, no libfcgi: records are
 * scanned only far enough to find the request id, the keep-connection flag
 * and the empty STDIN record that ends a request; the reply (STDOUT with a
 * fixed JSON, END_REQUEST) goes out in one write.  Nothing is parsed, so
 * no real backend can cost less per request: the ratio of fastbank to
 * fb-floor is the part of the gap to nginx alone that a backend controls,
 * and fb-floor's own ratio to nginx alone is the part it does not.  Its
 * thread runs under SCHED_BATCH, as fastbank's workers do by default
 * (doc/design.txt), so that the floor stays a floor.
 */

#include "fb_core.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FB_FLOOR_BUF     16384     /* nginx sends a request in far less */
#define FB_FLOOR_EVENTS  64

/* The same reply as fb-echo's. */
#define FB_FLOOR_BODY   "{\"id\": 1, \"owner\": \"load 1\", \"balance\": 100000}"
#define FB_FLOOR_HTTP   "Status: 200 OK\r\n"                                 \
                        "Content-Type: application/json\r\n"                 \
                        "Content-Length: 47\r\n"                             \
                        "\r\n"                                               \
                        FB_FLOOR_BODY

_Static_assert(sizeof(FB_FLOOR_BODY) - 1 == 47,
               "Content-Length in FB_FLOOR_HTTP is the body's length");

#define FB_FCGI_BEGIN_REQUEST  1
#define FB_FCGI_END_REQUEST    3
#define FB_FCGI_STDIN          5
#define FB_FCGI_STDOUT         6
#define FB_FCGI_KEEP_CONN      1

typedef struct {
    int       fd;
    int       keep;
    unsigned  id;
    size_t    len;
    unsigned char    buf[FB_FLOOR_BUF];
} fb_floor_conn_t;

static volatile sig_atomic_t  fb_floor_stop;


static void
fb_floor_signal(int sig)
{
    (void) sig;
    fb_floor_stop = 1;
}


static void
fb_floor_usage(FILE *f)
{
    fputs(
"usage: fb-floor --socket PATH [--lifetime SECONDS]\n"
"\n"
"The cheapest FastCGI responder: one thread, epoll, no libfcgi, a fixed\n"
"JSON reply to every request.  The floor under any FastCGI backend.\n", f);
}


/* Writes the reply for request id; 0 or -1. */
static int
fb_floor_reply(fb_floor_conn_t *c)
{
    size_t   n = sizeof(FB_FLOOR_HTTP) - 1;
    unsigned char   out[8 + sizeof(FB_FLOOR_HTTP) + 16], *p = out;
    ssize_t  w;

    *p++ = 1;
    *p++ = FB_FCGI_STDOUT;
    *p++ = (unsigned char) (c->id >> 8);
    *p++ = (unsigned char) c->id;
    *p++ = (unsigned char) (n >> 8);
    *p++ = (unsigned char) n;
    *p++ = 0;
    *p++ = 0;
    memcpy(p, FB_FLOOR_HTTP, n);
    p += n;

    *p++ = 1;
    *p++ = FB_FCGI_END_REQUEST;
    *p++ = (unsigned char) (c->id >> 8);
    *p++ = (unsigned char) c->id;
    *p++ = 0;
    *p++ = 8;
    *p++ = 0;
    *p++ = 0;
    memset(p, 0, 8);                /* appStatus 0, FCGI_REQUEST_COMPLETE */
    p += 8;

    /* A reply this small fits any empty socket buffer at once. */
    w = write(c->fd, out, (size_t) (p - out));

    return w == p - out ? 0 : -1;
}


/*
 * Consumes whole records from the buffer; replies at each empty STDIN.
 * 0 to keep the connection, -1 to close it.
 */
static int
fb_floor_records(fb_floor_conn_t *c)
{
    size_t   off = 0, clen, total;
    unsigned char  *h;

    while (c->len - off >= 8) {
        h = c->buf + off;
        clen = ((size_t) h[4] << 8) | h[5];
        total = 8 + clen + h[6];

        if (c->len - off < total) {
            break;
        }

        if (h[1] == FB_FCGI_BEGIN_REQUEST && clen >= 3) {
            c->id = ((unsigned) h[2] << 8) | h[3];
            c->keep = h[8 + 2] & FB_FCGI_KEEP_CONN;

        } else if (h[1] == FB_FCGI_STDIN && clen == 0) {
            if (fb_floor_reply(c) != 0 || !c->keep) {
                return -1;
            }
        }

        off += total;
    }

    if (off == 0 && c->len == sizeof(c->buf)) {
        return -1;                  /* one record larger than the buffer */
    }

    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;

    return 0;
}


int
main(int argc, char **argv)
{
    int                  c, i, n, lfd, epfd, fd;
    long                 lifetime = 0;
    char                *path = NULL, *end;
    time_t               deadline = 0;
    ssize_t              r;
    fb_floor_conn_t     *conn;
    struct sigaction     sa;
    struct sched_param   sp;
    struct sockaddr_un   sun;
    struct epoll_event   ev, evs[FB_FLOOR_EVENTS];

    static const struct option  longs[] = {
        { "socket",   required_argument, NULL, 's' },
        { "lifetime", required_argument, NULL, 'l' },
        { "help",     no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    while ((c = getopt_long(argc, argv, "s:l:h", longs, NULL)) != -1) {
        switch (c) {
        case 's':
            path = optarg;
            break;
        case 'l':
            errno = 0;
            lifetime = strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || lifetime < 0) {
                fprintf(stderr, "fb-floor: --lifetime takes seconds\n");
                return 2;
            }
            break;
        case 'h':
            fb_floor_usage(stdout);
            return 0;
        default:
            fb_floor_usage(stderr);
            return 2;
        }
    }

    if (path == NULL || strlen(path) >= sizeof(sun.sun_path)) {
        fb_floor_usage(stderr);
        return 2;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fb_floor_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        perror("fb-floor: socket()");
        return 1;
    }

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    unlink(path);

    if (bind(lfd, (struct sockaddr *) &sun, sizeof(sun)) != 0
        || chmod(path, 0660) != 0 || listen(lfd, 1024) != 0)
    {
        perror("fb-floor: bind()/listen()");
        return 1;
    }

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        perror("fb-floor: epoll_create1()");
        return 1;
    }

    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;                 /* NULL: the listening socket */
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) != 0) {
        perror("fb-floor: epoll_ctl()");
        return 1;
    }

    if (lifetime > 0) {
        deadline = time(NULL) + lifetime;
        alarm((unsigned) lifetime);
    }

    memset(&sp, 0, sizeof(sp));
    if (sched_setscheduler(0, SCHED_BATCH, &sp) != 0) {
        perror("fb-floor: sched_setscheduler(SCHED_BATCH)");
        return 1;
    }

    fprintf(stderr, "fb-floor: 1 thread on unix:%s (SCHED_BATCH)\n", path);

    while (!fb_floor_stop) {
        n = epoll_wait(epfd, evs, FB_FLOOR_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("fb-floor: epoll_wait()");
            break;
        }

        for (i = 0; i < n; i++) {
            conn = evs[i].data.ptr;

            if (conn == NULL) {
                while ((fd = accept4(lfd, NULL, NULL,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
                {
                    conn = malloc(sizeof(*conn));
                    if (conn == NULL) {
                        close(fd);
                        continue;
                    }
                    conn->fd = fd;
                    conn->keep = 0;
                    conn->id = 0;
                    conn->len = 0;
                    ev.events = EPOLLIN;
                    ev.data.ptr = conn;
                    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
                        close(fd);
                        free(conn);
                    }
                }
                continue;
            }

            r = read(conn->fd, conn->buf + conn->len,
                     sizeof(conn->buf) - conn->len);

            if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }

            if (r > 0) {
                conn->len += (size_t) r;
                if (fb_floor_records(conn) == 0) {
                    continue;
                }
            }

            close(conn->fd);            /* also leaves the epoll set */
            free(conn);
        }

        if (deadline != 0 && time(NULL) >= deadline) {
            break;
        }
    }

    unlink(path);
    fprintf(stderr, "fb-floor: exiting\n");

    return 0;
}
