/*
 * fb_listen.h: the listening socket: a unix socket (the default), a TCP
 * address, or a socket inherited on a descriptor (spawn-fcgi and systemd
 * pass it on fd 0).
 */

#ifndef FB_LISTEN_H_INCLUDED
#define FB_LISTEN_H_INCLUDED

#include "fb_core.h"

typedef struct {
    int        fd;
    int        family;       /* AF_UNIX, AF_INET, AF_INET6 */
    unsigned   created:1;    /* a unix socket path we made (unlink at exit) */
    char       path[108];    /* the unix socket path, when created */
} fb_listen_t;

/*
 * addr: "unix:/path", "127.0.0.1:9000", "[::1]:9000", "0.0.0.0:9000" (all
 * interfaces, only when written so) or "fd:N".  The socket is left
 * non-blocking.  FB_OK, or FB_ERROR with the reason logged.
 */
int fb_listen_open(fb_listen_t *l, const char *addr, unsigned mode,
    int backlog);

/* Checks the syntax of addr only.  FB_OK, or FB_DECLINED with *why. */
int fb_listen_check(const char *addr, const char **why);

void fb_listen_close(fb_listen_t *l);

#endif /* FB_LISTEN_H_INCLUDED */
