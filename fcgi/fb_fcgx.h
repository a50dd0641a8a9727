/*
 * fb_fcgx.h: libfcgi, driven one connection at a time.
 *
 * libfcgi's FCGX_Accept_r accepts a connection and then keeps the thread
 * on it for as long as nginx keeps it open, so with upstream keepalive
 * every idle kept connection pins a thread.  fastbank instead keeps idle
 * connections in an epoll set and hands a readable one to any free worker,
 * which reads one request from it with libfcgi and gives it back.  This
 * file is the only one that touches the two FCGX_Request members below
 * libfcgi's "don't use" line (ipcFd, keepConnection); configure checks
 * that they exist and tests/test-fcgx.c checks the behaviour relied on.
 */

#ifndef FB_FCGX_H_INCLUDED
#define FB_FCGX_H_INCLUDED

#include "fb_core.h"

#include <fcgiapp.h>

/* FCGX_Init(): once, before any request. */
int fb_fcgx_init(void);

/* Prepares a worker's request; it never accepts connections itself. */
void fb_fcgx_request_init(FCGX_Request *r);

/*
 * Reads the next request's parameters from the connection fd.  FB_OK: the
 * request is ready (params in r->envp, body in r->in).  FB_DECLINED: the
 * peer closed the connection or broke the protocol, and libfcgi has
 * closed fd: the caller must not touch that descriptor number again.
 */
int fb_fcgx_begin(FCGX_Request *r, int fd);

/*
 * Frees what libfcgi holds for the request (its three stream buffers and
 * its parameters) once the request is read and served, and takes the
 * connection back; the reply goes out later with fb_fcgx_reply.  Returns
 * the FastCGI request id; *keep says whether nginx asked to keep the
 * connection open (FCGI_KEEP_CONN) and nothing since asked to close it.
 */
int fb_fcgx_release(FCGX_Request *r, int *keep);

/*
 * Sends data as the whole reply to request id on fd: STDOUT records, the
 * empty STDOUT record that ends the stream and END_REQUEST, in one
 * writev() where the socket takes it.  FB_OK, or FB_ERROR if the write
 * failed (the connection is then unusable: close it).
 */
int fb_fcgx_reply(int fd, int id, const char *data, size_t len);

/* Makes the current request's connection close after its reply (*keep
 * of fb_fcgx_release is then 0). */
void fb_fcgx_close_after(FCGX_Request *r);

/*
 * Whether the request could be read whole.  libfcgi ends the parameters
 * or the body at a read error (a receive timeout, a reset) as it ends them
 * at their last record, and FCGX_Accept_r succeeds; only the input
 * stream's error tells the two apart.
 */
int fb_fcgx_broken(FCGX_Request *r);

/*
 * Forgets the current request without a reply and closes its connection
 * (the descriptor is closed on return): for a request not read whole.
 */
void fb_fcgx_drop(FCGX_Request *r);

#endif /* FB_FCGX_H_INCLUDED */
