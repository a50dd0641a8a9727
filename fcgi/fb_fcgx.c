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
 *  - FCGX_Finish_r closes ipcFd when keepConnection is 0 or a stream had
 *    an error; the close lingers up to 2 s (OS_Close: shutdown, then poll
 *    for the peer's EOF).  fb_fcgx_end sets keepConnection = 1 around it
 *    so that only real errors close there, and the caller closes a
 *    finished connection itself, at once.
 */

#include "fb_core.h"

#include <errno.h>
#include <unistd.h>

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
fb_fcgx_end(FCGX_Request *r, int *keep)
{
    int  fd;

    *keep = r->keepConnection;
    r->keepConnection = 1;

    FCGX_Finish_r(r);

    fd = r->ipcFd;
    r->ipcFd = -1;

    return fd;
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
