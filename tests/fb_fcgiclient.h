/*
 * fb_fcgiclient.h: a FastCGI client for the C tests, speaking as nginx
 * does: request id 1, one request at a time per connection, the
 * parameters of nginx/fastbank-fastcgi.conf.
 */

#ifndef FB_FCGICLIENT_H_INCLUDED
#define FB_FCGICLIENT_H_INCLUDED

#include <stddef.h>

/*
 * Writes one whole request (BEGIN_REQUEST with FCGI_KEEP_CONN if keep,
 * PARAMS, STDIN) in one write.  0, or -1 if it does not fit or the
 * write fails.
 */
int fbt_fcgi_send(int fd, int keep, const char *method, const char *uri,
    const char *body);

/*
 * Reads records up to END_REQUEST.  The STDOUT bytes go to out,
 * NUL-terminated (what does not fit in cap - 1 is dropped).  Returns
 * their length, or -1 if the connection ends or a record is cut short
 * first.
 */
long fbt_fcgi_reply(int fd, char *out, size_t cap);

/* Reads exactly n bytes: 0, or -1 at the end of the connection or an
 * error. */
int fbt_read_full(int fd, unsigned char *p, size_t n);

#endif /* FB_FCGICLIENT_H_INCLUDED */
