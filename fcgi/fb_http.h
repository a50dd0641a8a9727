/*
 * fb_http.h: replies.  The contract's error codes and their HTTP statuses
 * live in one table here, and the store's result codes map onto them in
 * one more.  A reply is rendered as the CGI response the backend writes
 * in one piece (fb_fcgx_reply): headers immediately followed by the body.
 */

#ifndef FB_HTTP_H_INCLUDED
#define FB_HTTP_H_INCLUDED

#include "fb_core.h"
#include "fb_buf.h"
#include "fb_store.h"

typedef enum {
    FB_ERR_VALIDATION = 0,       /* 400 VALIDATION_ERROR */
    FB_ERR_INVALID_AMOUNT,       /* 400 INVALID_AMOUNT */
    FB_ERR_INSUFFICIENT_FUNDS,   /* 400 INSUFFICIENT_FUNDS */
    FB_ERR_SELF_TRANSFER,        /* 400 SELF_TRANSFER_NOT_ALLOWED */
    FB_ERR_ACCOUNT_NOT_FOUND,    /* 404 ACCOUNT_NOT_FOUND */
    FB_ERR_NOT_FOUND,            /* 404 NOT_FOUND */
    FB_ERR_METHOD_NOT_ALLOWED,   /* 405 METHOD_NOT_ALLOWED */
    FB_ERR_PAYLOAD_TOO_LARGE,    /* 413 PAYLOAD_TOO_LARGE */
    FB_ERR_INTERNAL,             /* 500 INTERNAL_ERROR */
    FB_ERR_UNAVAILABLE,          /* 503 SERVICE_UNAVAILABLE */
    FB_ERR_COUNT
} fb_err_e;

typedef enum {
    FB_TYPE_JSON = 0,
    FB_TYPE_PROMETHEUS
} fb_content_type_e;

/*
 * Bytes kept free in front of the body for the headers, so that headers
 * and body are contiguous without copying the body.
 */
#define FB_REPLY_HEADROOM  256

typedef struct {
    int                 status;
    fb_content_type_e   type;
    const char         *allow;      /* Allow header, or NULL */
    int64_t             location;   /* Location: /accounts/N, or 0 */
    fb_buf_t            buf;        /* FB_REPLY_HEADROOM, then the body */
} fb_reply_t;

int fb_reply_init(fb_reply_t *r);
void fb_reply_free(fb_reply_t *r);

/* Empties the reply for the next request. */
void fb_reply_reset(fb_reply_t *r);

/* The body bytes written so far. */
#define fb_reply_body(r)      ((r)->buf.data + FB_REPLY_HEADROOM)
#define fb_reply_body_len(r)  ((r)->buf.len - FB_REPLY_HEADROOM)

/* {"code": ..., "message": ...} with the table's status.  Replaces any body
 * written so far. */
int fb_reply_error(fb_reply_t *r, fb_err_e err, const char *message);

/* The store's result code as the contract's error (FB_STORE_OK excluded). */
fb_err_e fb_http_store_error(fb_store_rc_e rc);

int fb_http_err_status(fb_err_e err);
const char *fb_http_err_code(fb_err_e err);
const char *fb_http_reason(int status);

/*
 * Writes the headers into the headroom.  *out and *len are then the whole
 * CGI response.  FB_ERROR only if the headers cannot fit (a bug).
 */
int fb_reply_render(fb_reply_t *r, const char **out, size_t *len);

#endif /* FB_HTTP_H_INCLUDED */
