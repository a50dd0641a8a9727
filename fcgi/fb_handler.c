/*
 * fb_handler.c: the endpoints of the contract (doc/api.md).
 *
 * Order of checks, for every endpoint: route and method, path id, body
 * size, JSON shape and field types, then the store (amount, self transfer,
 * existence, funds).  Every reply is written into the worker's reply
 * buffer, its numbers by fb_format_int64 (snprintf only for the error
 * messages); nothing is allocated per request here.
 */

#include "fb_core.h"

#include <stdio.h>
#include <string.h>

#include "fb_handler.h"
#include "fb_log.h"
#include "fb_owner.h"

static void fb_handle_create(fb_handler_ctx_t *ctx, const fb_request_t *req);
static void fb_handle_get(fb_handler_ctx_t *ctx, int64_t id);
static int64_t fb_handle_move(fb_handler_ctx_t *ctx, const fb_request_t *req,
    fb_route_e route, int64_t id);
static int64_t fb_handle_transfer(fb_handler_ctx_t *ctx,
    const fb_request_t *req);
static void fb_handle_healthz(fb_handler_ctx_t *ctx);
static void fb_handle_metrics(fb_handler_ctx_t *ctx);


int
fb_handler_ctx_init(fb_handler_ctx_t *ctx, fb_store_t *store,
    const fb_metrics_t *metrics, fb_stats_t *stats)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->store = store;
    ctx->metrics = metrics;
    ctx->stats = stats;

    ctx->json = fb_json_new();
    if (ctx->json == NULL) {
        fb_log(FB_LOG_ERR, 0, "fb_json_new() failed");
        return FB_ERROR;
    }

    if (fb_reply_init(&ctx->reply) != FB_OK) {
        fb_json_free(ctx->json);
        ctx->json = NULL;
        return FB_ERROR;
    }

    return FB_OK;
}


void
fb_handler_ctx_free(fb_handler_ctx_t *ctx)
{
    if (ctx->json != NULL) {
        fb_json_free(ctx->json);
        ctx->json = NULL;
    }

    fb_reply_free(&ctx->reply);
}


static void
fb_internal_error(fb_handler_ctx_t *ctx)
{
    /* The buffer could not grow: the fixed message still fits. */
    ctx->reply.buf.len = FB_REPLY_HEADROOM;
    if (fb_reply_error(&ctx->reply, FB_ERR_INTERNAL, "internal error")
        != FB_OK)
    {
        ctx->reply.status = 500;
    }
}


static void
fb_error(fb_handler_ctx_t *ctx, fb_err_e err, const char *message)
{
    if (fb_reply_error(&ctx->reply, err, message) != FB_OK) {
        fb_internal_error(ctx);
    }
}


static const char *
fb_store_message(fb_store_rc_e rc)
{
    switch (rc) {
    case FB_STORE_NOT_FOUND:
        return "account not found";
    case FB_STORE_INSUFFICIENT_FUNDS:
        return "insufficient funds";
    case FB_STORE_INVALID_AMOUNT:
        return "amount must be an integer from 1 to 1000000 centavos";
    case FB_STORE_SELF_TRANSFER:
        return "cannot transfer to the same account";
    case FB_STORE_OVERFLOW:
        return "the balance cannot take this amount";
    case FB_STORE_FULL:
        return "no more accounts can be created";
    case FB_STORE_LOG_FAILED:
        return "the operation cannot be recorded now; nothing was changed";
    default:
        return "internal error";
    }
}


static void
fb_store_error(fb_handler_ctx_t *ctx, fb_store_rc_e rc)
{
    if (rc == FB_STORE_NOMEM) {
        fb_log(FB_LOG_ERR, 0, "the store could not allocate memory");
    }

    fb_error(ctx, fb_http_store_error(rc), fb_store_message(rc));
}


/*
 * A reply tells only what is durable under the journal's policy: a
 * mutation's own record, and the record behind any balance it shows
 * (doc/journal.txt, "Replies").  Notes that the reply waits for lsn; if
 * the journal fails first, fb_handle_done turns it into a 503 with
 * message.  Nothing waits here.
 */
static void
fb_durable(fb_handler_ctx_t *ctx, uint64_t lsn, const char *message)
{
    if (ctx->journal == NULL || lsn == 0) {
        return;
    }

    if (lsn > ctx->pending.lsn) {
        ctx->pending.lsn = lsn;
    }

    ctx->pending.not_durable = message;
}


#define FB_NOT_RECORDED                                                    \
    "the journal failed: the operation was not recorded and is not "       \
    "acknowledged"
#define FB_NOT_DURABLE                                                     \
    "the journal failed: this account's balance is not durable"


/*
 * A refusal that depends on a balance (insufficient funds, overflow) is a
 * read of that balance: it waits for the account's last record too.
 */
static void
fb_durable_account(fb_handler_ctx_t *ctx, int64_t id)
{
    fb_account_t  a;

    if (ctx->journal != NULL && fb_store_get(ctx->store, id, &a) == FB_STORE_OK)
    {
        fb_durable(ctx, a.lsn, FB_NOT_DURABLE);
    }
}


static void
fb_refusal_durable(fb_handler_ctx_t *ctx, fb_store_rc_e rc, int64_t id,
    int64_t to)
{
    if (rc != FB_STORE_INSUFFICIENT_FUNDS && rc != FB_STORE_OVERFLOW) {
        return;
    }

    fb_durable_account(ctx, id);
    if (to > 0) {
        fb_durable_account(ctx, to);
    }
}


/* Parses the body as one JSON object; on failure the reply says why. */
static int
fb_parse_body(fb_handler_ctx_t *ctx, const fb_request_t *req)
{
    switch (fb_json_parse(ctx->json, req->body, req->body_len)) {
    case FB_JSON_OK:
        return FB_OK;
    case FB_JSON_NOMEM:
        fb_internal_error(ctx);
        return FB_DECLINED;
    default:
        fb_error(ctx, FB_ERR_VALIDATION,
                 "the request body must be one JSON object");
        return FB_DECLINED;
    }
}


/*
 * Reads an integer field.  Anything but a JSON integer that fits in int64
 * is a validation error: never coerced, never saturated.
 */
static int
fb_int_field(fb_handler_ctx_t *ctx, const char *key, int64_t *v)
{
    char  msg[96];

    switch (fb_json_get_int64(ctx->json, key, v)) {
    case FB_JSON_OK:
        return FB_OK;
    case FB_JSON_MISSING:
        snprintf(msg, sizeof(msg), "field '%s' is required", key);
        break;
    case FB_JSON_RANGE:
        snprintf(msg, sizeof(msg), "field '%s' does not fit in 64 bits", key);
        break;
    default:
        snprintf(msg, sizeof(msg), "field '%s' must be an integer", key);
        break;
    }

    fb_error(ctx, FB_ERR_VALIDATION, msg);
    return FB_DECLINED;
}


/* Account ids in a body: positive integers, as in a path. */
static int
fb_id_field(fb_handler_ctx_t *ctx, const char *key, int64_t *id)
{
    char  msg[96];

    if (fb_int_field(ctx, key, id) != FB_OK) {
        return FB_DECLINED;
    }

    if (*id < 1) {
        snprintf(msg, sizeof(msg), "field '%s' must be a positive account id",
                 key);
        fb_error(ctx, FB_ERR_VALIDATION, msg);
        return FB_DECLINED;
    }

    return FB_OK;
}


static int
fb_reply_account(fb_handler_ctx_t *ctx, const fb_account_t *a)
{
    size_t      n;
    fb_buf_t   *b = &ctx->reply.buf;

    if (fb_buf_append_lit(b, "{\"id\":") != FB_OK
        || fb_buf_append_int64(b, a->id) != FB_OK
        || fb_buf_append_lit(b, ",\"owner\":\"") != FB_OK
        || fb_buf_reserve(b, a->owner_len * 6) != FB_OK)
    {
        return FB_ERROR;
    }

    n = fb_json_escape(b->data + b->len, b->cap - b->len, a->owner,
                       a->owner_len);
    if (n == (size_t) -1) {
        return FB_ERROR;
    }
    b->len += n;

    if (fb_buf_append_lit(b, "\",\"balance\":") != FB_OK
        || fb_buf_append_int64(b, a->balance) != FB_OK)
    {
        return FB_ERROR;
    }

    return fb_buf_append_lit(b, "}");
}


/*
 * The replies of the money operations: {"name":value,...}, n > 0 integer
 * fields, names that need no escaping.
 */
static int
fb_reply_numbers(fb_handler_ctx_t *ctx, size_t n, const fb_str_t *names,
    const int64_t *values)
{
    char      *p;
    size_t     i, need;
    fb_buf_t  *b = &ctx->reply.buf;

    need = 1;
    for (i = 0; i < n; i++) {
        need += names[i].len + sizeof(",\"\":") - 1 + FB_INT64_LEN;
    }

    if (fb_buf_reserve(b, need) != FB_OK) {
        return FB_ERROR;
    }

    p = b->data + b->len;

    for (i = 0; i < n; i++) {
        *p++ = i == 0 ? '{' : ',';
        *p++ = '"';
        memcpy(p, names[i].data, names[i].len);
        p += names[i].len;
        *p++ = '"';
        *p++ = ':';
        p += fb_format_int64(p, values[i]);
    }

    *p++ = '}';
    b->len = (size_t) (p - b->data);
    return FB_OK;
}


fb_route_e
fb_handle_start(fb_handler_ctx_t *ctx, const fb_request_t *req)
{
    char           msg[64];
    int64_t        amount = 0;
    fb_match_t     m;

    fb_reply_reset(&ctx->reply);
    memset(&ctx->pending, 0, sizeof(ctx->pending));
    ctx->pending.route = FB_ROUTE_NONE;

    switch (fb_route_match(req->method, req->uri, req->uri_len, &m)) {
    case FB_MATCH_OK:
        break;

    case FB_MATCH_NOT_FOUND:
        fb_error(ctx, FB_ERR_NOT_FOUND, "no such route");
        return FB_ROUTE_NONE;

    case FB_MATCH_METHOD:
        snprintf(msg, sizeof(msg), "method not allowed; allowed: %s",
                 m.route->allow);
        fb_error(ctx, FB_ERR_METHOD_NOT_ALLOWED, msg);
        ctx->reply.allow = m.route->allow;
        ctx->pending.route = m.route->id;
        return m.route->id;

    case FB_MATCH_BAD_ID:
        fb_error(ctx, FB_ERR_VALIDATION,
                 "the account id in the path must be a positive integer");
        goto done;
    }

    if (req->body_too_large) {
        fb_error(ctx, FB_ERR_PAYLOAD_TOO_LARGE, "request body too large");
        goto done;
    }

    switch (m.route->id) {
    case FB_ROUTE_ACCOUNTS:
        fb_handle_create(ctx, req);
        break;
    case FB_ROUTE_ACCOUNT:
    case FB_ROUTE_BALANCE:
        fb_handle_get(ctx, m.id);
        break;
    case FB_ROUTE_DEPOSIT:
    case FB_ROUTE_WITHDRAW:
        amount = fb_handle_move(ctx, req, m.route->id, m.id);
        break;
    case FB_ROUTE_TRANSFER:
        amount = fb_handle_transfer(ctx, req);
        break;
    case FB_ROUTE_HEALTHZ:
        fb_handle_healthz(ctx);
        break;
    case FB_ROUTE_METRICS:
        fb_handle_metrics(ctx);
        break;
    default:
        fb_internal_error(ctx);
        break;
    }

done:

    ctx->pending.route = m.route->id;
    ctx->pending.amount = amount;
    ctx->pending.operation = 1;

    return m.route->id;
}


void
fb_handle_done(fb_handler_ctx_t *ctx, int durable)
{
    fb_route_e     route = ctx->pending.route;
    fb_stat_op_e   op;

    if (!durable && ctx->pending.lsn != 0) {
        ctx->reply.buf.len = FB_REPLY_HEADROOM;
        ctx->reply.location = 0;
        ctx->reply.allow = NULL;
        fb_error(ctx, FB_ERR_UNAVAILABLE, ctx->pending.not_durable);
    }

    if (ctx->stats == NULL) {
        return;
    }

    if (ctx->pending.created && ctx->reply.status == 201) {
        fb_stats_account_created(ctx->stats);
    }

    if (ctx->pending.operation
        && (route == FB_ROUTE_DEPOSIT || route == FB_ROUTE_WITHDRAW
            || route == FB_ROUTE_TRANSFER))
    {
        op = route == FB_ROUTE_DEPOSIT ? FB_STAT_OP_DEPOSIT
             : route == FB_ROUTE_WITHDRAW ? FB_STAT_OP_WITHDRAW
             : FB_STAT_OP_TRANSFER;
        fb_stats_operation(ctx->stats, op, ctx->reply.status == 200,
                           ctx->pending.amount);
    }
}


fb_route_e
fb_handle(fb_handler_ctx_t *ctx, const fb_request_t *req)
{
    fb_route_e  route;

    route = fb_handle_start(ctx, req);

    fb_handle_done(ctx, ctx->pending.lsn == 0
                        || fb_journal_wait(ctx->journal, ctx->pending.lsn)
                           == 0);

    return route;
}


static void
fb_handle_create(fb_handler_ctx_t *ctx, const fb_request_t *req)
{
    const char     *why;
    fb_str_t        raw, owner;
    fb_account_t    a;
    fb_store_rc_e   rc;

    if (fb_parse_body(ctx, req) != FB_OK) {
        return;
    }

    switch (fb_json_get_string(ctx->json, "owner", &raw)) {
    case FB_JSON_OK:
        break;
    case FB_JSON_MISSING:
        fb_error(ctx, FB_ERR_VALIDATION, "field 'owner' is required");
        return;
    default:
        fb_error(ctx, FB_ERR_VALIDATION, "field 'owner' must be a string");
        return;
    }

    if (fb_owner_check(raw.data, raw.len, &owner, &why) != FB_OK) {
        fb_error(ctx, FB_ERR_VALIDATION, why);
        return;
    }

    rc = fb_store_create(ctx->store, owner.data, owner.len, &a);
    if (rc != FB_STORE_OK) {
        fb_store_error(ctx, rc);
        return;
    }

    fb_durable(ctx, a.lsn, FB_NOT_RECORDED);
    ctx->pending.created = 1;

    ctx->reply.status = 201;
    ctx->reply.location = a.id;

    if (fb_reply_account(ctx, &a) != FB_OK) {
        fb_internal_error(ctx);
    }
}


static void
fb_handle_get(fb_handler_ctx_t *ctx, int64_t id)
{
    fb_account_t    a;
    fb_store_rc_e   rc;

    rc = fb_store_get(ctx->store, id, &a);
    if (rc != FB_STORE_OK) {
        fb_store_error(ctx, rc);
        return;
    }

    fb_durable(ctx, a.lsn, FB_NOT_DURABLE);

    if (fb_reply_account(ctx, &a) != FB_OK) {
        fb_internal_error(ctx);
    }
}


/* Deposit or withdraw.  Returns the amount, for the metrics. */
static int64_t
fb_handle_move(fb_handler_ctx_t *ctx, const fb_request_t *req,
    fb_route_e route, int64_t id)
{
    int64_t         amount, balance;
    uint64_t        lsn;
    fb_store_rc_e   rc;

    if (fb_parse_body(ctx, req) != FB_OK
        || fb_int_field(ctx, "amount", &amount) != FB_OK)
    {
        return 0;
    }

    rc = route == FB_ROUTE_DEPOSIT
         ? fb_store_deposit(ctx->store, id, amount, &balance, &lsn)
         : fb_store_withdraw(ctx->store, id, amount, &balance, &lsn);

    if (rc != FB_STORE_OK) {
        fb_refusal_durable(ctx, rc, id, 0);
        fb_store_error(ctx, rc);
        return amount;
    }

    fb_durable(ctx, lsn, FB_NOT_RECORDED);

    if (fb_reply_numbers(ctx, 2,
            (const fb_str_t []) { fb_string("id"), fb_string("balance") },
            (const int64_t []) { id, balance }) != FB_OK)
    {
        fb_internal_error(ctx);
    }

    return amount;
}


static int64_t
fb_handle_transfer(fb_handler_ctx_t *ctx, const fb_request_t *req)
{
    int64_t         from, to, amount, from_balance, to_balance;
    uint64_t        lsn;
    fb_store_rc_e   rc;

    if (fb_parse_body(ctx, req) != FB_OK
        || fb_id_field(ctx, "from", &from) != FB_OK
        || fb_id_field(ctx, "to", &to) != FB_OK
        || fb_int_field(ctx, "amount", &amount) != FB_OK)
    {
        return 0;
    }

    rc = fb_store_transfer(ctx->store, from, to, amount, &from_balance,
                           &to_balance, &lsn);
    if (rc != FB_STORE_OK) {
        fb_refusal_durable(ctx, rc, from, to);
        fb_store_error(ctx, rc);
        return amount;
    }

    fb_durable(ctx, lsn, FB_NOT_RECORDED);

    if (fb_reply_numbers(ctx, 5,
            (const fb_str_t []) { fb_string("from_id"), fb_string("to_id"),
                                  fb_string("from_balance"),
                                  fb_string("to_balance"),
                                  fb_string("transferred") },
            (const int64_t []) { from, to, from_balance, to_balance,
                                 amount }) != FB_OK)
    {
        fb_internal_error(ctx);
    }

    return amount;
}


/*
 * 200 while every request can be served.  Once the journal has failed no
 * mutation can be: 503, so that a balancer or a supervisor takes the
 * process out, with the error's fields and "status": "read-only" (reads
 * of durable balances are still served).
 */
static void
fb_handle_healthz(fb_handler_ctx_t *ctx)
{
    static const char  ro[] =
        "{\"status\":\"read-only\",\"code\":\"SERVICE_UNAVAILABLE\","
        "\"message\":\"the journal failed: mutations are refused; reads of "
        "durable balances are served\"}";

    if (ctx->journal != NULL && fb_journal_failed(ctx->journal)) {
        ctx->reply.status = 503;
        if (fb_buf_append(&ctx->reply.buf, ro, sizeof(ro) - 1) != FB_OK) {
            fb_internal_error(ctx);
        }
        return;
    }

    if (fb_buf_append(&ctx->reply.buf, "{\"status\":\"ok\"}", 15) != FB_OK) {
        fb_internal_error(ctx);
    }
}


static void
fb_handle_metrics(fb_handler_ctx_t *ctx)
{
    if (ctx->metrics == NULL
        || fb_metrics_format(ctx->metrics, fb_store_count(ctx->store),
                             &ctx->reply.buf) != FB_OK)
    {
        fb_internal_error(ctx);
        return;
    }

    ctx->reply.type = FB_TYPE_PROMETHEUS;
}
