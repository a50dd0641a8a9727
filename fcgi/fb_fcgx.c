/*
 * fb_fcgx.c: one request at a time on a connection handed in by the
 * caller (see fb_fcgx.h for why).
 *
 * What libfcgi 2.4.2 does, and what this relies on (fcgiapp.c):
 *  - FCGX_Accept_r first calls FCGX_Finish_r, which closes ipcFd unless
 *    keepConnection is set; then, if ipcFd >= 0, it reads the next request
 *    from it instead of accepting.  So a handed-in fd needs
 *    keepConnection = 1 as well as ipcFd = fd.
 *  - On EOF or a protocol error it closes ipcFd (FCGX_Free(r, 1)) and goes
 *    back to accept() on listen_sock.  listen_sock is -1 here, so accept()
 *    fails with EBADF at once and FCGX_Accept_r returns < 0, with
 *    ipcFd == -1.
 *  - ProcessBeginRecord sets keepConnection from nginx's FCGI_KEEP_CONN.
 *  - FCGX_Free(r, 0) frees the streams and the parameters and leaves
 *    ipcFd open; the next FCGX_Accept_r's FCGX_Finish_r then has nothing
 *    to finish (r->in is NULL).
 *
 * Replies do not go through libfcgi's output stream.  A reply may wait for
 * the journal while its worker serves other connections; holding libfcgi's
 * 8 KiB buffers for every such reply (hundreds at a time) scattered
 * glibc's heap and the caches.  So the request's libfcgi state is freed
 * as soon as it is served, in the order it was allocated, and the reply,
 * already whole in the worker's buffer, goes out in FastCGI records
 * written here: the records libfcgi would write (STDOUT, empty STDOUT,
 * END_REQUEST), without its copy into an 8 KiB buffer.
 */

#include "fb_core.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fastcgi.h>

#include "fb_fcgx.h"
#include "fb_log.h"


int
fb_fcgx_init(void)
{
    int  rc;

    rc = FCGX_Init();
    if (rc != 0) {
        fb_log(FB_LOG_ERR, 0, "FCGX_Init() failed (%d)", rc);
        return FB_ERROR;
    }

    return FB_OK;
}


void
fb_fcgx_request_init(FCGX_Request *r)
{
    (void) FCGX_InitRequest(r, -1, 0);
}


int
fb_fcgx_begin(FCGX_Request *r, int fd)
{
    int  rc;

    r->ipcFd = fd;
    r->keepConnection = 1;

    rc = FCGX_Accept_r(r);
    if (rc == 0) {
        return FB_OK;
    }

    /* libfcgi closed the connection; make sure nothing refers to it. */
    if (r->ipcFd >= 0) {
        fb_log(FB_LOG_ERR, 0, "FCGX_Accept_r() failed (%d) and left fd %d "
               "open", rc, r->ipcFd);
    }

    r->ipcFd = -1;
    return FB_DECLINED;
}


int
fb_fcgx_release(FCGX_Request *r, int *keep)
{
    int  id = r->requestId;

    *keep = r->keepConnection;

    FCGX_Free(r, 0);
    r->ipcFd = -1;
    r->keepConnection = 1;

    return id;
}


/* Content bytes per STDOUT record: at most 65535, kept a multiple of 8. */
#define FB_FCGX_RECORD_MAX  65528

/* Records per writev(): a reply of up to 4 MiB goes out in one call. */
#define FB_FCGX_IOV         128


static void
fb_fcgx_header(FCGI_Header *h, int type, int id, size_t len)
{
    memset(h, 0, sizeof(*h));
    h->version = FCGI_VERSION_1;
    h->type = (unsigned char) type;
    h->requestIdB1 = (unsigned char) ((id >> 8) & 0xff);
    h->requestIdB0 = (unsigned char) (id & 0xff);
    h->contentLengthB1 = (unsigned char) ((len >> 8) & 0xff);
    h->contentLengthB0 = (unsigned char) (len & 0xff);
}


/* writev() until all of iov is written; FB_ERROR on an error or timeout. */
static int
fb_fcgx_writev_all(int fd, struct iovec *iov, int n)
{
    ssize_t  w;

    while (n > 0) {
        w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return FB_ERROR;
        }

        while (n > 0 && (size_t) w >= iov->iov_len) {
            w -= (ssize_t) iov->iov_len;
            iov++;
            n--;
        }

        if (n > 0) {
            iov->iov_base = (char *) iov->iov_base + w;
            iov->iov_len -= (size_t) w;
        }
    }

    return FB_OK;
}


int
fb_fcgx_reply(int fd, int id, const char *data, size_t len)
{
    int           n = 0;
    size_t        chunk;
    struct iovec  iov[FB_FCGX_IOV * 2 + 1];
    FCGI_Header   heads[FB_FCGX_IOV];

    /* The empty STDOUT that ends the stream, then END_REQUEST. */
    struct {
        FCGI_Header            eof;
        FCGI_EndRequestRecord  end;
    } tail;

    do {
        for (n = 0; n < FB_FCGX_IOV && len > 0; n++) {
            chunk = len < FB_FCGX_RECORD_MAX ? len : FB_FCGX_RECORD_MAX;
            fb_fcgx_header(&heads[n], FCGI_STDOUT, id, chunk);
            iov[2 * n].iov_base = &heads[n];
            iov[2 * n].iov_len = sizeof(heads[n]);
            iov[2 * n + 1].iov_base = (void *) data;
            iov[2 * n + 1].iov_len = chunk;
            data += chunk;
            len -= chunk;
        }
        n *= 2;

        if (len == 0) {
            fb_fcgx_header(&tail.eof, FCGI_STDOUT, id, 0);
            fb_fcgx_header(&tail.end.header, FCGI_END_REQUEST, id,
                           sizeof(tail.end.body));
            memset(&tail.end.body, 0, sizeof(tail.end.body));
            tail.end.body.protocolStatus = FCGI_REQUEST_COMPLETE;
            iov[n].iov_base = &tail;
            iov[n].iov_len = sizeof(tail);
            n++;
        }

        if (fb_fcgx_writev_all(fd, iov, n) != FB_OK) {
            return FB_ERROR;
        }
    } while (len > 0);

    return FB_OK;
}


void
fb_fcgx_close_after(FCGX_Request *r)
{
    r->keepConnection = 0;
}


int
fb_fcgx_broken(FCGX_Request *r)
{
    return r->in == NULL || FCGX_GetError(r->in) != 0;
}


void
fb_fcgx_drop(FCGX_Request *r)
{
    int  fd = r->ipcFd;

    r->ipcFd = -1;
    FCGX_Free(r, 0);

    if (fd >= 0) {
        close(fd);
    }
}
