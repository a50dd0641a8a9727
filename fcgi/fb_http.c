/*
 * fb_http.c: the error table and the rendering of replies.
 */

#include "fb_core.h"

#include <string.h>

#include "fb_http.h"
#include "fb_json.h"

#define FB_REPLY_INITIAL  4096

/* The contract's errors: doc/api.md, "Errors". */
static const struct {
    int          status;
    const char  *code;
} fb_errors[FB_ERR_COUNT] = {
    [FB_ERR_VALIDATION]         = { 400, "VALIDATION_ERROR" },
    [FB_ERR_INVALID_AMOUNT]     = { 400, "INVALID_AMOUNT" },
    [FB_ERR_INSUFFICIENT_FUNDS] = { 400, "INSUFFICIENT_FUNDS" },
    [FB_ERR_SELF_TRANSFER]      = { 400, "SELF_TRANSFER_NOT_ALLOWED" },
    [FB_ERR_ACCOUNT_NOT_FOUND]  = { 404, "ACCOUNT_NOT_FOUND" },
    [FB_ERR_NOT_FOUND]          = { 404, "NOT_FOUND" },
    [FB_ERR_METHOD_NOT_ALLOWED] = { 405, "METHOD_NOT_ALLOWED" },
    [FB_ERR_PAYLOAD_TOO_LARGE]  = { 413, "PAYLOAD_TOO_LARGE" },
    [FB_ERR_INTERNAL]           = { 500, "INTERNAL_ERROR" },
    [FB_ERR_UNAVAILABLE]        = { 503, "SERVICE_UNAVAILABLE" },
};

/*
 * The store's results as the contract's errors.  A balance that would pass
 * INT64_MAX is refused as an amount the account cannot take; an account
 * limit or a refused journal write is a 503: the service cannot take the
 * operation now, and nothing changed.
 */
static const fb_err_e  fb_store_errors[] = {
    [FB_STORE_OK]                 = FB_ERR_INTERNAL,
    [FB_STORE_NOT_FOUND]          = FB_ERR_ACCOUNT_NOT_FOUND,
    [FB_STORE_INSUFFICIENT_FUNDS] = FB_ERR_INSUFFICIENT_FUNDS,
    [FB_STORE_INVALID_AMOUNT]     = FB_ERR_INVALID_AMOUNT,
    [FB_STORE_SELF_TRANSFER]      = FB_ERR_SELF_TRANSFER,
    [FB_STORE_OVERFLOW]           = FB_ERR_INVALID_AMOUNT,
    [FB_STORE_FULL]               = FB_ERR_UNAVAILABLE,
    [FB_STORE_NOMEM]              = FB_ERR_INTERNAL,
    [FB_STORE_LOG_FAILED]         = FB_ERR_UNAVAILABLE,
};


int
fb_http_err_status(fb_err_e err)
{
    return (unsigned) err < FB_ERR_COUNT ? fb_errors[err].status : 500;
}


const char *
fb_http_err_code(fb_err_e err)
{
    return (unsigned) err < FB_ERR_COUNT ? fb_errors[err].code
                                         : "INTERNAL_ERROR";
}


fb_err_e
fb_http_store_error(fb_store_rc_e rc)
{
    return (unsigned) rc < fb_nelems(fb_store_errors) ? fb_store_errors[rc]
                                                      : FB_ERR_INTERNAL;
}


const char *
fb_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default:  return "Unknown";
    }
}


int
fb_reply_init(fb_reply_t *r)
{
    memset(r, 0, sizeof(*r));

    if (fb_buf_init(&r->buf, FB_REPLY_INITIAL) != FB_OK) {
        return FB_ERROR;
    }

    fb_reply_reset(r);
    return FB_OK;
}


void
fb_reply_free(fb_reply_t *r)
{
    fb_buf_free(&r->buf);
}


void
fb_reply_reset(fb_reply_t *r)
{
    r->status = 200;
    r->type = FB_TYPE_JSON;
    r->allow = NULL;
    r->location = 0;
    r->buf.len = FB_REPLY_HEADROOM;
}


int
fb_reply_error(fb_reply_t *r, fb_err_e err, const char *message)
{
    size_t       n, len = strlen(message);
    const char  *code;

    r->status = fb_http_err_status(err);
    r->type = FB_TYPE_JSON;
    r->buf.len = FB_REPLY_HEADROOM;
    code = fb_http_err_code(err);

    /* Messages are ours, but escape them anyway: they may quote input. */
    if (fb_buf_append_lit(&r->buf, "{\"code\":\"") != FB_OK
        || fb_buf_append(&r->buf, code, strlen(code)) != FB_OK
        || fb_buf_append_lit(&r->buf, "\",\"message\":\"") != FB_OK
        || fb_buf_reserve(&r->buf, len * 6) != FB_OK)
    {
        return FB_ERROR;
    }

    n = fb_json_escape(r->buf.data + r->buf.len, r->buf.cap - r->buf.len,
                       message, len);
    if (n == (size_t) -1) {
        return FB_ERROR;
    }

    r->buf.len += n;
    return fb_buf_append(&r->buf, "\"}", 2);
}


/* Appends n bytes at *p if they fit before end. */
static int
fb_hdr_put(char **p, const char *end, const char *s, size_t n)
{
    if ((size_t) (end - *p) < n) {
        return FB_ERROR;
    }

    memcpy(*p, s, n);
    *p += n;
    return FB_OK;
}


/* Appends v in decimal at *p if it fits before end. */
static int
fb_hdr_int(char **p, const char *end, int64_t v)
{
    char  num[FB_INT64_LEN];

    return fb_hdr_put(p, end, num, fb_format_int64(num, v));
}


#define fb_hdr_lit(p, end, s)  fb_hdr_put(p, end, s, sizeof(s) - 1)
#define fb_hdr_str(p, end, s)  fb_hdr_put(p, end, s, strlen(s))


/*
 * The headers go into the headroom in front of the body, so that headers
 * and body leave in one piece.  Written by hand, not with snprintf: this
 * runs for every request.
 */
int
fb_reply_render(fb_reply_t *r, const char **out, size_t *len)
{
    int          rc;
    char         hdr[FB_REPLY_HEADROOM];
    char        *p = hdr;
    const char  *end = hdr + sizeof(hdr);
    size_t       n, body_len = fb_reply_body_len(r);

    rc = fb_hdr_lit(&p, end, "Status: ");
    rc |= fb_hdr_int(&p, end, r->status);
    rc |= fb_hdr_lit(&p, end, " ");
    rc |= fb_hdr_str(&p, end, fb_http_reason(r->status));

    if (r->type == FB_TYPE_PROMETHEUS) {
        rc |= fb_hdr_lit(&p, end,
                         "\r\nContent-Type: text/plain; version=0.0.4");
    } else {
        rc |= fb_hdr_lit(&p, end, "\r\nContent-Type: application/json");
    }

    rc |= fb_hdr_lit(&p, end, "\r\nContent-Length: ");
    rc |= fb_hdr_int(&p, end, (int64_t) body_len);
    rc |= fb_hdr_lit(&p, end, "\r\n");

    if (r->allow != NULL) {
        rc |= fb_hdr_lit(&p, end, "Allow: ");
        rc |= fb_hdr_str(&p, end, r->allow);
        rc |= fb_hdr_lit(&p, end, "\r\n");
    } else if (r->location > 0) {
        rc |= fb_hdr_lit(&p, end, "Location: /accounts/");
        rc |= fb_hdr_int(&p, end, r->location);
        rc |= fb_hdr_lit(&p, end, "\r\n");
    }

    rc |= fb_hdr_lit(&p, end, "\r\n");

    if (rc != FB_OK) {
        return FB_ERROR;
    }

    n = (size_t) (p - hdr);
    memcpy(r->buf.data + FB_REPLY_HEADROOM - n, hdr, n);
    *out = r->buf.data + FB_REPLY_HEADROOM - n;
    *len = n + body_len;
    return FB_OK;
}
