/*
 * fb_listen.c: opening the listening socket.
 *
 * Not FCGX_OpenSocket(): it binds every interface for ":9000", unlinks
 * whatever is at a unix path, and calls exit() when bind() fails.
 */

#include "fb_core.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fb_listen.h"
#include "fb_log.h"

static int fb_listen_unix(fb_listen_t *l, const char *path, unsigned mode,
    int backlog);
static int fb_listen_inet(fb_listen_t *l, const char *addr, int backlog);
static int fb_listen_fd(fb_listen_t *l, const char *num);
static int fb_parse_inet(const char *addr, struct sockaddr_storage *ss,
    socklen_t *len, const char **why);


int
fb_listen_check(const char *addr, const char **why)
{
    long                     n;
    char                    *end;
    socklen_t                len;
    struct sockaddr_storage  ss;

    if (strncmp(addr, "unix:", 5) == 0) {
        if (addr[5] == '\0'
            || strlen(addr + 5) >= sizeof(((struct sockaddr_un *) 0)->sun_path))
        {
            *why = "a unix socket path must be 1 to 107 bytes";
            return FB_DECLINED;
        }
        return FB_OK;
    }

    if (strncmp(addr, "fd:", 3) == 0) {
        errno = 0;
        n = strtol(addr + 3, &end, 10);
        if (addr[3] < '0' || addr[3] > '9' || *end != '\0' || errno != 0
            || n < 0 || n > 65535)
        {
            *why = "fd: takes a descriptor number, as in fd:0";
            return FB_DECLINED;
        }
        return FB_OK;
    }

    return fb_parse_inet(addr, &ss, &len, why) == FB_OK ? FB_OK
                                                        : FB_DECLINED;
}


int
fb_listen_open(fb_listen_t *l, const char *addr, unsigned mode, int backlog)
{
    const char  *why;

    memset(l, 0, sizeof(*l));
    l->fd = -1;

    if (fb_listen_check(addr, &why) != FB_OK) {
        fb_log(FB_LOG_ERR, 0, "--listen \"%s\": %s", addr, why);
        return FB_ERROR;
    }

    if (strncmp(addr, "unix:", 5) == 0) {
        return fb_listen_unix(l, addr + 5, mode, backlog);
    }

    if (strncmp(addr, "fd:", 3) == 0) {
        return fb_listen_fd(l, addr + 3);
    }

    return fb_listen_inet(l, addr, backlog);
}


void
fb_listen_close(fb_listen_t *l)
{
    if (l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
    }

    if (l->created) {
        if (unlink(l->path) != 0 && errno != ENOENT) {
            fb_log(FB_LOG_WARN, errno, "unlink() \"%s\" failed", l->path);
        }
        l->created = 0;
    }
}


static int
fb_set_nonblocking(int fd)
{
    int  flags = fcntl(fd, F_GETFL);

    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        fb_log(FB_LOG_ERR, errno, "fcntl(O_NONBLOCK) failed");
        return FB_ERROR;
    }

    return FB_OK;
}


/*
 * A socket file left by a process that died is replaced; one that a live
 * process listens on is not (connect() tells them apart).
 */
static int
fb_unix_stale(const struct sockaddr_un *sa)
{
    int          fd, rc;
    struct stat  st;

    if (lstat(sa->sun_path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        return 0;
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return 0;
    }

    rc = connect(fd, (const struct sockaddr *) sa, sizeof(*sa));
    close(fd);

    return rc != 0 && errno == ECONNREFUSED;
}


static int
fb_listen_unix(fb_listen_t *l, const char *path, unsigned mode, int backlog)
{
    int                 fd;
    struct sockaddr_un  sa;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fb_log(FB_LOG_ERR, errno, "socket(AF_UNIX) failed");
        return FB_ERROR;
    }

    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
        if (errno != EADDRINUSE || !fb_unix_stale(&sa)) {
            fb_log(FB_LOG_ERR, errno, "bind() \"%s\" failed", path);
            goto failed;
        }

        if (unlink(path) != 0) {
            fb_log(FB_LOG_ERR, errno, "unlink() \"%s\" failed (a stale "
                   "socket)", path);
            goto failed;
        }

        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
            fb_log(FB_LOG_ERR, errno, "bind() \"%s\" failed", path);
            goto failed;
        }
    }

    l->created = 1;
    memcpy(l->path, path, strlen(path) + 1);

    /* Only the web server's group may connect: see doc/security.txt. */
    if (chmod(path, (mode_t) mode) != 0) {
        fb_log(FB_LOG_ERR, errno, "chmod() \"%s\" failed", path);
        goto failed;
    }

    if (listen(fd, backlog) != 0) {
        fb_log(FB_LOG_ERR, errno, "listen() \"%s\" failed", path);
        goto failed;
    }

    if (fb_set_nonblocking(fd) != FB_OK) {
        goto failed;
    }

    l->fd = fd;
    l->family = AF_UNIX;
    return FB_OK;

failed:

    close(fd);
    if (l->created) {
        (void) unlink(path);
        l->created = 0;
    }
    return FB_ERROR;
}


/* "a.b.c.d:port" or "[v6]:port"; the address is required. */
static int
fb_parse_inet(const char *addr, struct sockaddr_storage *ss, socklen_t *len,
    const char **why)
{
    long                  port;
    char                  host[64], *end;
    size_t                hlen;
    const char           *colon;
    struct sockaddr_in   *sin = (struct sockaddr_in *) ss;
    struct sockaddr_in6  *sin6 = (struct sockaddr_in6 *) ss;

    *why = "expected unix:/path, 127.0.0.1:9000, [::1]:9000, "
           "0.0.0.0:9000 (all interfaces) or fd:N";

    colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr) {
        return FB_DECLINED;
    }

    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0
        || port < 1
        || port > 65535)
    {
        *why = "the port must be 1 to 65535";
        return FB_DECLINED;
    }

    hlen = (size_t) (colon - addr);
    if (hlen >= sizeof(host)) {
        return FB_DECLINED;
    }

    memset(ss, 0, sizeof(*ss));

    if (addr[0] == '[') {
        if (hlen < 3 || addr[hlen - 1] != ']') {
            return FB_DECLINED;
        }
        memcpy(host, addr + 1, hlen - 2);
        host[hlen - 2] = '\0';
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
            return FB_DECLINED;
        }
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t) port);
        *len = sizeof(*sin6);
        return FB_OK;
    }

    memcpy(host, addr, hlen);
    host[hlen] = '\0';
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
        return FB_DECLINED;
    }
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t) port);
    *len = sizeof(*sin);
    return FB_OK;
}


static int
fb_listen_inet(fb_listen_t *l, const char *addr, int backlog)
{
    int                      fd, on = 1;
    socklen_t                len;
    const char              *why;
    struct sockaddr_storage  ss;

    if (fb_parse_inet(addr, &ss, &len, &why) != FB_OK) {
        fb_log(FB_LOG_ERR, 0, "--listen \"%s\": %s", addr, why);
        return FB_ERROR;
    }

    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fb_log(FB_LOG_ERR, errno, "socket() failed");
        return FB_ERROR;
    }

    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0) {
        fb_log(FB_LOG_ERR, errno, "setsockopt(SO_REUSEADDR) failed");
        goto failed;
    }

    if (bind(fd, (struct sockaddr *) &ss, len) != 0) {
        fb_log(FB_LOG_ERR, errno, "bind() \"%s\" failed", addr);
        goto failed;
    }

    if (listen(fd, backlog) != 0) {
        fb_log(FB_LOG_ERR, errno, "listen() \"%s\" failed", addr);
        goto failed;
    }

    if (fb_set_nonblocking(fd) != FB_OK) {
        goto failed;
    }

    l->fd = fd;
    l->family = ss.ss_family;
    return FB_OK;

failed:

    close(fd);
    return FB_ERROR;
}


static int
fb_listen_fd(fb_listen_t *l, const char *num)
{
    int                      fd, on = 0;
    socklen_t                len = sizeof(on);
    struct sockaddr_storage  ss;

    fd = atoi(num);

    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) != 0 || !on) {
        fb_log(FB_LOG_ERR, errno, "--listen fd:%d: not a listening socket",
               fd);
        return FB_ERROR;
    }

    len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *) &ss, &len) != 0) {
        fb_log(FB_LOG_ERR, errno, "getsockname(%d) failed", fd);
        return FB_ERROR;
    }

    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0
        || fb_set_nonblocking(fd) != FB_OK)
    {
        return FB_ERROR;
    }

    l->fd = fd;
    l->family = ss.ss_family;
    return FB_OK;
}
