/*
 * fb_fcgiclient.c: the tests' FastCGI client (fb_fcgiclient.h).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "fb_fcgiclient.h"

#define FBT_BEGIN_REQUEST  1
#define FBT_END_REQUEST    3
#define FBT_PARAMS         4
#define FBT_STDIN          5
#define FBT_STDOUT         6


int
fbt_fcgi_connect(const char *path, int timeout_s)
{
    int                 fd;
    size_t              len = strlen(path);
    struct timeval      tv = { timeout_s, 0 };
    struct sockaddr_un  sun;

    memset(&sun, 0, sizeof(sun));
    if (len >= sizeof(sun.sun_path)) {
        return -1;
    }
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, len + 1);

    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }

    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0
        || connect(fd, (struct sockaddr *) &sun, sizeof(sun)) != 0)
    {
        close(fd);
        return -1;
    }

    return fd;
}


static size_t
fbt_record(unsigned char *p, int type, int id, const void *content,
    size_t len)
{
    p[0] = 1;
    p[1] = (unsigned char) type;
    p[2] = (unsigned char) (id >> 8);
    p[3] = (unsigned char) id;
    p[4] = (unsigned char) (len >> 8);
    p[5] = (unsigned char) len;
    p[6] = 0;
    p[7] = 0;
    memcpy(p + 8, content, len);

    return 8 + len;
}


/* Every name and value here is shorter than 128 bytes. */
static size_t
fbt_param(unsigned char *p, const char *name, const char *value)
{
    size_t  n = strlen(name), v = strlen(value);

    p[0] = (unsigned char) n;
    p[1] = (unsigned char) v;
    memcpy(p + 2, name, n);
    memcpy(p + 2 + n, value, v);

    return 2 + n + v;
}


int
fbt_fcgi_send(int fd, int keep, const char *method, const char *uri,
    const char *body)
{
    return fbt_fcgi_send_id(fd, 1, keep, method, uri, body);
}


int
fbt_fcgi_send_id(int fd, int id, int keep, const char *method,
    const char *uri, const char *body)
{
    return fbt_fcgi_send_clen(fd, id, keep, method, uri, body, -1);
}


int
fbt_fcgi_send_clen(int fd, int id, int keep, const char *method,
    const char *uri, const char *body, long content_length)
{
    char            clen[32];
    size_t          n = 0, pn = 0, blen = strlen(body);
    unsigned char   out[8192], params[1024];
    unsigned char   begin[8] = { 0, 1, (unsigned char) (keep ? 1 : 0) };

    if (strlen(method) > 100 || strlen(uri) > 100 || blen > 4096) {
        return -1;
    }

    if (content_length < 0) {
        snprintf(clen, sizeof(clen), "%zu", blen);
    } else {
        snprintf(clen, sizeof(clen), "%ld", content_length);
    }
    pn += fbt_param(params + pn, "REQUEST_METHOD", method);
    pn += fbt_param(params + pn, "REQUEST_URI", uri);
    pn += fbt_param(params + pn, "CONTENT_LENGTH",
                    blen || content_length >= 0 ? clen : "");
    pn += fbt_param(params + pn, "CONTENT_TYPE",
                    blen ? "application/json" : "");

    n += fbt_record(out + n, FBT_BEGIN_REQUEST, id, begin, sizeof(begin));
    n += fbt_record(out + n, FBT_PARAMS, id, params, pn);
    n += fbt_record(out + n, FBT_PARAMS, id, "", 0);
    if (blen) {
        n += fbt_record(out + n, FBT_STDIN, id, body, blen);
    }
    n += fbt_record(out + n, FBT_STDIN, id, "", 0);

    return write(fd, out, n) == (ssize_t) n ? 0 : -1;
}


static int
fbt_read_full(int fd, unsigned char *p, size_t n)
{
    ssize_t  r;

    while (n > 0) {
        r = read(fd, p, n);
        if (r <= 0) {
            return -1;
        }
        p += r;
        n -= (size_t) r;
    }

    return 0;
}


long
fbt_fcgi_records(int fd, int id, char *out, size_t cap)
{
    size_t          len = 0, clen, records = 0;
    unsigned char   h[8], c[65536 + 256];

    for ( ;; ) {
        if (fbt_read_full(fd, h, 8) != 0) {
            return -1;
        }
        clen = (size_t) h[4] << 8 | h[5];
        if (fbt_read_full(fd, c, clen + h[6]) != 0) {
            return -1;
        }
        if (h[0] != 1 || (h[2] << 8 | h[3]) != id || h[1] != FBT_STDOUT) {
            return -1;
        }
        if (clen == 0) {
            break;                          /* the end of the stream */
        }
        if (len + clen >= cap) {
            return -1;
        }
        memcpy(out + len, c, clen);
        len += clen;
        records++;
    }

    /* END_REQUEST, REQUEST_COMPLETE (protocolStatus, byte 4). */
    if (records == 0 || fbt_read_full(fd, h, 8) != 0
        || h[0] != 1 || h[1] != FBT_END_REQUEST || (h[2] << 8 | h[3]) != id
        || (h[4] << 8 | h[5]) != 8 || fbt_read_full(fd, c, 8 + h[6]) != 0
        || c[4] != 0)
    {
        return -1;
    }

    out[len] = '\0';
    return (long) len;
}


long
fbt_fcgi_reply(int fd, char *out, size_t cap)
{
    return fbt_fcgi_records(fd, 1, out, cap);
}
