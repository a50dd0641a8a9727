/*
 * fb_fcgiclient.h: a FastCGI client for the C tests, speaking as nginx
 * does: request id 1 (another on request), one request at a time per
 * connection, the parameters of nginx/fastbank-fastcgi.conf.
 */

#ifndef FB_FCGICLIENT_H_INCLUDED
#define FB_FCGICLIENT_H_INCLUDED

#include <stddef.h>

/*
 * Connects to the unix socket at path, with a receive timeout of
 * timeout_s seconds (a hang bound, not a timing check): the descriptor,
 * or -1.
 */
int fbt_fcgi_connect(const char *path, int timeout_s);

/*
 * Writes one whole request (BEGIN_REQUEST with FCGI_KEEP_CONN if keep,
 * PARAMS, STDIN) in one write.  0, or -1 if it does not fit or the
 * write fails.
 */
int fbt_fcgi_send(int fd, int keep, const char *method, const char *uri,
    const char *body);

/* fbt_fcgi_send with request id id (1 to 65535) instead of 1. */
int fbt_fcgi_send_id(int fd, int id, int keep, const char *method,
    const char *uri, const char *body);

/* fbt_fcgi_send_id with CONTENT_LENGTH content_length whatever the body
 * (-1: the body's length), for a request nginx would never send. */
int fbt_fcgi_send_clen(int fd, int id, int keep, const char *method,
    const char *uri, const char *body, long content_length);

/*
 * Reads the records of one reply to request id, as fastbank writes them
 * (fb_fcgx_reply): STDOUT records with content, the empty STDOUT that
 * ends the stream, END_REQUEST with REQUEST_COMPLETE, each of version 1
 * and for id.  The STDOUT bytes go to out, NUL-terminated.  Returns their
 * length, or -1 if the connection ends first, a record is not the one
 * expected, or the bytes do not fit in cap - 1.
 */
long fbt_fcgi_records(int fd, int id, char *out, size_t cap);

/* fbt_fcgi_records for request id 1, the id fbt_fcgi_send uses. */
long fbt_fcgi_reply(int fd, char *out, size_t cap);

#endif /* FB_FCGICLIENT_H_INCLUDED */
