/*
 * fb_load.c: fb-load, the load generator.  This file holds the phases of
 * a run and their order:
 *
 *   create   POST /accounts for each account       (not in the results)
 *   fund     deposits of at most 1,000,000 each     (not in the results)
 *   main     the measured mix, or one GET path
 *   audit    GET /accounts/{id} for each account; the money must add up
 *
 * Money is audited per account as well as in total: a successful
 * operation's effect on each account is known, and addition commutes, so
 * every final balance is exactly its funding plus the effects of the
 * operations that answered 200, whatever order the server ran them in.
 * An operation whose fate is unknown (timed out, connection lost, a 5xx)
 * makes its accounts uncertain.  The audit then looks, group by group of
 * operations that share accounts, for a set of them that applied (a
 * transfer at both ends or at neither) and explains every balance in the
 * group exactly; if none does, money was lost or made.
 */

#include "fb_load.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int fb_load_create_next(fb_load_worker_t *w, fb_load_req_t *req);
static void fb_load_create_done(fb_load_worker_t *w, fb_load_req_t *req,
    fb_load_resp_t *resp, uint64_t now);
static int fb_load_fund_next(fb_load_worker_t *w, fb_load_req_t *req);
static void fb_load_fund_done(fb_load_worker_t *w, fb_load_req_t *req,
    fb_load_resp_t *resp, uint64_t now);
static void fb_load_setup_fail(fb_load_worker_t *w, fb_load_req_t *req,
    fb_load_fail_e why);
static int fb_load_main_next(fb_load_worker_t *w, fb_load_req_t *req);
static void fb_load_main_done(fb_load_worker_t *w, fb_load_req_t *req,
    fb_load_resp_t *resp, uint64_t now);
static void fb_load_main_fail(fb_load_worker_t *w, fb_load_req_t *req,
    fb_load_fail_e why);
static int fb_load_read_next(fb_load_worker_t *w, fb_load_req_t *req);
static void fb_load_read_done(fb_load_worker_t *w, fb_load_req_t *req,
    fb_load_resp_t *resp, uint64_t now);
static void fb_load_read_fail(fb_load_worker_t *w, fb_load_req_t *req,
    fb_load_fail_e why);
static int fb_load_post(fb_load_run_t *run, fb_load_req_t *req,
    const char *path, const char *body, int blen);
static void fb_load_get(fb_load_run_t *run, fb_load_req_t *req,
    const char *path);
static void fb_load_money(fb_load_worker_t *w, fb_load_req_t *req,
    int status);
static int fb_load_audit(fb_load_run_t *run, fb_load_stats_t *s,
    fb_load_summary_t *sum, int last);
static int64_t fb_load_resolve(fb_load_run_t *run, int last);
static int fb_load_alloc_accounts(fb_load_run_t *run);
static void fb_load_free_accounts(fb_load_run_t *run);
static double fb_load_cpu_self(void);
static int fb_load_phase(fb_load_run_t *run, fb_load_phase_t *phase,
    uint64_t requests, uint64_t *count, double *seconds);
static int fb_load_main_run(fb_load_run_t *run, fb_load_summary_t *sum);
static int fb_load_exit_code(fb_load_run_t *run, fb_load_stats_t *s,
    fb_load_summary_t *sum);
static void fb_load_on_signal(int signo);

static fb_load_phase_t  fb_load_phase_create = {
    "set-up (creating accounts)", fb_load_create_next, fb_load_create_done,
    fb_load_setup_fail, 0
};

static fb_load_phase_t  fb_load_phase_fund = {
    "set-up (funding accounts)", fb_load_fund_next, fb_load_fund_done,
    fb_load_setup_fail, 0
};

static fb_load_phase_t  fb_load_phase_main = {
    "the measured run", fb_load_main_next, fb_load_main_done,
    fb_load_main_fail, 1
};

static fb_load_phase_t  fb_load_phase_read = {
    "the audit (reading balances)", fb_load_read_next, fb_load_read_done,
    fb_load_read_fail, 0
};


static const char  *fb_load_fail_names[] = {
    "timed out", "connection lost", "unparsable response"
};


/* ------------------------------------------------------------------ */
/* request formatting                                                  */

static int
fb_load_post(fb_load_run_t *run, fb_load_req_t *req, const char *path,
    const char *body, int blen)
{
    int  n;

    n = snprintf(req->buf, sizeof(req->buf),
                 "POST %s HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: %d\r\n"
                 "\r\n"
                 "%.*s",
                 path, run->conf->host_header, blen, blen, body);

    if (n < 0 || (size_t) n >= sizeof(req->buf)) {
        fb_load_abort(run, "a request does not fit in %zu bytes",
                      sizeof(req->buf));
        return FB_ERROR;
    }

    req->data = req->buf;
    req->len = (size_t) n;

    return FB_OK;
}


static void
fb_load_get(fb_load_run_t *run, fb_load_req_t *req, const char *path)
{
    int  n;

    /* Paths here are "/accounts/<id>..." and always fit. */
    n = snprintf(req->buf, sizeof(req->buf),
                 "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                 path, run->conf->host_header);

    req->data = req->buf;
    req->len = (size_t) n;
}


/* ------------------------------------------------------------------ */
/* set-up                                                              */

static int
fb_load_create_next(fb_load_worker_t *w, fb_load_req_t *req)
{
    int             blen;
    char            body[64];
    uint64_t        i;
    fb_load_run_t  *run = w->run;

    i = atomic_fetch_add(&run->claim, 1);
    if (i >= (uint64_t) run->conf->accounts) {
        return FB_DECLINED;
    }

    req->op = FB_LOAD_OP_CREATE;
    req->a = (int64_t) i;

    /* Letters, digits and a space: an owner the contract accepts. */
    blen = snprintf(body, sizeof(body), "{\"owner\":\"load %llu\"}",
                    (unsigned long long) i + 1);

    return fb_load_post(run, req, "/accounts", body, blen);
}


static void
fb_load_create_done(fb_load_worker_t *w, fb_load_req_t *req,
    fb_load_resp_t *resp, uint64_t now)
{
    int64_t         id;
    fb_load_run_t  *run = w->run;

    if (resp->status != 201
        || fb_load_json_int(resp->body, resp->body_len, "id", &id) != FB_OK
        || id <= 0)
    {
        fb_load_abort(run, "set-up: POST /accounts answered %d, not 201 with"
                      " an id: %.*s", resp->status,
                      (int) (resp->body_len > 200 ? 200 : resp->body_len),
                      resp->body);
        return;
    }

    run->ids[req->a] = id;
}


static int
fb_load_fund_next(fb_load_worker_t *w, fb_load_req_t *req)
{
    int             blen;
    char            body[64], path[64];
    int64_t         chunks;
    uint64_t        j;
    fb_load_run_t  *run = w->run;

    chunks = run->fund_chunks;

    j = atomic_fetch_add(&run->claim, 1);
    if (j >= (uint64_t) (run->conf->accounts * chunks)) {
        return FB_DECLINED;
    }

    req->op = FB_LOAD_OP_FUND;
    req->a = (int64_t) j / chunks;
    req->amount = ((int64_t) j % chunks == chunks - 1)
                  ? run->conf->fund - (chunks - 1) * FB_LOAD_AMOUNT_MAX
                  : FB_LOAD_AMOUNT_MAX;

    snprintf(path, sizeof(path), "/accounts/%lld/deposit",
             (long long) run->ids[req->a]);
    blen = snprintf(body, sizeof(body), "{\"amount\":%lld}",
                    (long long) req->amount);

    return fb_load_post(run, req, path, body, blen);
}


static void
fb_load_fund_done(fb_load_worker_t *w, fb_load_req_t *req,
    fb_load_resp_t *resp, uint64_t now)
{
    if (resp->status != 200) {
        fb_load_abort(w->run, "set-up: deposit of %lld to account %lld"
                      " answered %d: %.*s", (long long) req->amount,
                      (long long) w->run->ids[req->a], resp->status,
                      (int) (resp->body_len > 200 ? 200 : resp->body_len),
                      resp->body);
    }
}


static void
fb_load_setup_fail(fb_load_worker_t *w, fb_load_req_t *req,
    fb_load_fail_e why)
{
    fb_load_abort(w->run, "%s: a request got no response: %s",
                  w->run->phase->name, fb_load_fail_names[why]);
}


/* ------------------------------------------------------------------ */
/* the measured run                                                    */

static int
fb_load_main_next(fb_load_worker_t *w, fb_load_req_t *req)
{
    int              blen;
    char             body[128], path[64];
    int64_t          a, b, amount;
    uint64_t         n, r, t;
    unsigned        *mix;
    fb_load_run_t   *run = w->run;
    fb_load_conf_t  *conf = run->conf;

    t = req->t_intended;

    if (fb_load_interrupted) {
        fb_load_stopped(run, FB_LOAD_STOP_SIGNAL);
        return FB_DECLINED;
    }

    if (t >= run->t_deadline) {
        fb_load_stopped(run, run->deadline_reason);
        return FB_DECLINED;
    }

    if (t >= run->t_warm) {
        n = atomic_fetch_add_explicit(&run->claim, 1, memory_order_relaxed);

        if (conf->requests != 0 && n >= conf->requests) {
            fb_load_stopped(run, FB_LOAD_STOP_REQUESTS);
            return FB_DECLINED;
        }

        req->counted = 1;
    }

    if (conf->mode == FB_LOAD_MODE_GET) {
        req->op = FB_LOAD_OP_GET;
        req->data = run->get_req;
        req->len = run->get_len;
        return FB_OK;
    }

    mix = conf->mix;
    r = fb_load_random_below(w, mix[0] + mix[1] + mix[2] + mix[3]);

    for (req->op = FB_LOAD_OP_DEPOSIT; req->op < FB_LOAD_OP_BALANCE; req->op++)
    {
        if (r < mix[req->op]) {
            break;
        }

        r -= mix[req->op];
    }

    a = (int64_t) fb_load_random_below(w, (uint64_t) conf->accounts);
    amount = conf->amount_min
             + (int64_t) fb_load_random_below(w, (uint64_t) (conf->amount_max
                                                 - conf->amount_min + 1));
    req->a = a;
    req->amount = amount;

    switch (req->op) {

    case FB_LOAD_OP_DEPOSIT:
    case FB_LOAD_OP_WITHDRAW:
        snprintf(path, sizeof(path), "/accounts/%lld/%s",
                 (long long) run->ids[a],
                 req->op == FB_LOAD_OP_DEPOSIT ? "deposit" : "withdraw");
        blen = snprintf(body, sizeof(body), "{\"amount\":%lld}",
                        (long long) amount);
        return fb_load_post(run, req, path, body, blen);

    case FB_LOAD_OP_TRANSFER:
        /* Any other account, uniformly. */
        b = (int64_t) fb_load_random_below(w, (uint64_t) conf->accounts - 1);
        if (b >= a) {
            b++;
        }

        req->b = b;
        blen = snprintf(body, sizeof(body),
                        "{\"from\":%lld,\"to\":%lld,\"amount\":%lld}",
                        (long long) run->ids[a], (long long) run->ids[b],
                        (long long) amount);
        return fb_load_post(run, req, "/accounts/transfer", body, blen);

    default:
        snprintf(path, sizeof(path), "/accounts/%lld/balance",
                 (long long) run->ids[a]);
        fb_load_get(run, req, path);
        return FB_OK;
    }
}


static void
fb_load_main_done(fb_load_worker_t *w, fb_load_req_t *req,
    fb_load_resp_t *resp, uint64_t now)
{
    int               st;
    size_t            len;
    uint64_t          latency;
    const char       *code;
    fb_load_stats_t  *s = w->stats;

    st = resp->status;

    if (req->counted) {
        /* From the intended send time: a late send is the server's delay
         * too when a fixed rate is asked for. */
        latency = now > req->t_intended ? now - req->t_intended : 0;

        fb_load_hist_record(&s->hist[req->op], latency);
        fb_load_hist_record(&s->hist[FB_LOAD_ALL], latency);

        if (st >= 200 && st < 300) {
            s->ok[req->op]++;
        } else {
            s->failed[req->op]++;
        }

        s->status[st]++;

        if (st >= 400) {
            if (fb_load_json_str(resp->body, resp->body_len, "code", &code,
                                 &len) == FB_OK)
            {
                fb_load_codes_add(&s->codes, code, len, 1);
            } else {
                s->codes.none++;
            }
        }

        s->last_ns = now;
    }

    if (w->run->conf->mode == FB_LOAD_MODE_BANK) {
        fb_load_money(w, req, st);
    }
}


static void
fb_load_main_fail(fb_load_worker_t *w, fb_load_req_t *req,
    fb_load_fail_e why)
{
    fb_load_stats_t  *s = w->stats;

    if (req->counted) {
        switch (why) {
        case FB_LOAD_FAIL_TIMEOUT:
            s->timeouts++;
            break;
        case FB_LOAD_FAIL_LOST:
            s->lost++;
            break;
        default:
            s->protocol_errors++;
        }
    }

    if (w->run->conf->mode == FB_LOAD_MODE_BANK) {
        fb_load_money(w, req, 0);
    }
}


/*
 * Books an operation's effect.  200 is success.  A 5xx may or may not
 * have done the work: a 502 or 504 comes from the proxy, a 503 from a
 * backend whose journal failed after the change was made in memory
 * (doc/journal.txt), a 500 from anywhere; status 0 means no answer at
 * all.  Any other status changed nothing (the contract: "A failed
 * request changes nothing").
 */
static void
fb_load_money(fb_load_worker_t *w, fb_load_req_t *req, int status)
{
    uint64_t            n;
    fb_load_run_t      *run = w->run;
    fb_load_stats_t    *s = w->stats;
    fb_load_unknown_t   e;

    if (req->op == FB_LOAD_OP_BALANCE) {
        return;
    }

    if (status == 200) {
        switch (req->op) {
        case FB_LOAD_OP_DEPOSIT:
            atomic_fetch_add_explicit(&run->delta[req->a], req->amount,
                                      memory_order_relaxed);
            s->deposited += req->amount;
            break;
        case FB_LOAD_OP_WITHDRAW:
            atomic_fetch_sub_explicit(&run->delta[req->a], req->amount,
                                      memory_order_relaxed);
            s->withdrawn += req->amount;
            break;
        default:
            atomic_fetch_sub_explicit(&run->delta[req->a], req->amount,
                                      memory_order_relaxed);
            atomic_fetch_add_explicit(&run->delta[req->b], req->amount,
                                      memory_order_relaxed);
        }

        return;
    }

    if (status != 0 && status < 500) {
        return;
    }

    s->uncertain_ops++;
    atomic_store_explicit(&run->uncertain[req->a], 1, memory_order_relaxed);

    e = (fb_load_unknown_t) { req->a, -1, -req->amount };

    switch (req->op) {
    case FB_LOAD_OP_DEPOSIT:
        s->uncertain_in += req->amount;
        e.amount = req->amount;
        break;
    case FB_LOAD_OP_WITHDRAW:
        s->uncertain_out += req->amount;
        break;
    default:
        atomic_store_explicit(&run->uncertain[req->b], 1,
                              memory_order_relaxed);
        e.b = req->b;
    }

    n = atomic_fetch_add_explicit(&run->unknown_n, 1, memory_order_relaxed);
    if (n < FB_LOAD_UNKNOWN_MAX) {
        run->unknown[n] = e;
    }
}


/* ------------------------------------------------------------------ */
/* reading balances (the audit, and the snapshot with --no-setup)      */

static int
fb_load_read_next(fb_load_worker_t *w, fb_load_req_t *req)
{
    char            path[64];
    uint64_t        i;
    fb_load_run_t  *run = w->run;

    i = atomic_fetch_add(&run->claim, 1);
    if (i >= (uint64_t) run->conf->accounts) {
        return FB_DECLINED;
    }

    req->op = FB_LOAD_OP_READ;
    req->a = (int64_t) i;

    snprintf(path, sizeof(path), "/accounts/%lld", (long long) run->ids[i]);
    fb_load_get(run, req, path);

    return FB_OK;
}


static void
fb_load_read_done(fb_load_worker_t *w, fb_load_req_t *req,
    fb_load_resp_t *resp, uint64_t now)
{
    int64_t         balance;
    fb_load_run_t  *run = w->run;

    if (resp->status == 200
        && fb_load_json_int(resp->body, resp->body_len, "balance", &balance)
           == FB_OK)
    {
        run->balance[req->a] = balance;
        run->read_ok[req->a] = 1;
        return;
    }

    fb_load_log_once(run, FB_LOAD_ONCE_READ,
                     "reading account %lld answered %d: %.*s",
                     (long long) run->ids[req->a], resp->status,
                     (int) (resp->body_len > 200 ? 200 : resp->body_len),
                     resp->body);
}


static void
fb_load_read_fail(fb_load_worker_t *w, fb_load_req_t *req,
    fb_load_fail_e why)
{
    fb_load_log_once(w->run, FB_LOAD_ONCE_READ_FAIL,
                     "reading account %lld: %s",
                     (long long) w->run->ids[req->a], fb_load_fail_names[why]);
}


/* The group of operation k: its root in the union-find forest. */
static size_t
fb_load_group(size_t *up, size_t k)
{
    while (up[k] != k) {
        up[k] = up[up[k]];
        k = up[k];
    }

    return k;
}


/*
 * The local index of account x among the acc[0..*nacc) of a group, added
 * if new with need: what its balance read back holds beyond its funding
 * and certain effects.
 */
static size_t
fb_load_local(fb_load_run_t *run, int64_t x, int64_t *acc, int64_t *need,
    size_t *nacc)
{
    size_t  j;

    for (j = 0; j < *nacc; j++) {
        if (acc[j] == x) {
            return j;
        }
    }

    acc[j] = x;
    need[j] = run->balance[x]
              - (run->funded[x] + atomic_load(&run->delta[x]));
    (*nacc)++;

    return j;
}


/* The most operations of one group left to try set by set (2^20 sets). */
#define FB_LOAD_UNKNOWN_GROUP_MAX  20

/* The scratch space of fb_load_resolve: n operations, 2n accounts. */
typedef struct {
    size_t         *up;         /* union-find parent, by operation */
    size_t         *first;      /* first operation on an account (global) */
    size_t         *ops;        /* a group's operations */
    size_t         *ia;         /* their accounts, as local indexes */
    size_t         *ib;         /* SIZE_MAX: a deposit or withdrawal */
    unsigned char  *done;       /* settled */
    int64_t        *acc;        /* local index -> account index */
    int64_t        *need;       /* what is left to explain */
    int64_t        *got;
    size_t         *deg;        /* unsettled operations on the account */
    size_t         *stack;
} fb_load_scratch_t;


/*
 * One group of m operations over nacc accounts.  An account that only one
 * unsettled operation touches decides it: its balance shows it applied,
 * or not, or neither (then nothing explains the group).  Such operations
 * are settled first, again and again; what is left (accounts several
 * operations share, cycles of transfers) is tried set by set.  Returns 1
 * if explained, 0 if not, -1 if too many are left to try.
 */
static int
fb_load_explain(fb_load_unknown_t *u, fb_load_scratch_t *w, size_t m,
    size_t nacc)
{
    size_t   j, k, x, sp, rest, r[FB_LOAD_UNKNOWN_GROUP_MAX];
    int64_t  eff;
    uint32_t mask;

    memset(w->deg, 0, nacc * sizeof(size_t));
    for (j = 0; j < m; j++) {
        w->done[j] = 0;
        w->deg[w->ia[j]]++;
        if (w->ib[j] != SIZE_MAX) {
            w->deg[w->ib[j]]++;
        }
    }

    sp = 0;
    for (x = 0; x < nacc; x++) {
        if (w->deg[x] == 1) {
            w->stack[sp++] = x;
        }
    }

    while (sp > 0) {
        x = w->stack[--sp];
        if (w->deg[x] != 1) {
            continue;
        }

        for (j = 0; j < m; j++) {
            if (!w->done[j] && (w->ia[j] == x || w->ib[j] == x)) {
                break;
            }
        }

        k = w->ops[j];
        eff = w->ia[j] == x ? u[k].amount : -u[k].amount;

        if (w->need[x] == eff) {
            w->need[w->ia[j]] -= u[k].amount;
            if (w->ib[j] != SIZE_MAX) {
                w->need[w->ib[j]] += u[k].amount;
            }

        } else if (w->need[x] != 0) {
            return 0;
        }

        w->done[j] = 1;
        w->deg[w->ia[j]]--;
        if (w->deg[w->ia[j]] == 1) {
            w->stack[sp++] = w->ia[j];
        }
        if (w->ib[j] != SIZE_MAX) {
            w->deg[w->ib[j]]--;
            if (w->deg[w->ib[j]] == 1) {
                w->stack[sp++] = w->ib[j];
            }
        }
    }

    rest = 0;
    for (j = 0; j < m; j++) {
        if (!w->done[j]) {
            if (rest == FB_LOAD_UNKNOWN_GROUP_MAX) {
                return -1;
            }
            r[rest++] = j;
        }
    }

    for (mask = 0; mask < (1u << rest); mask++) {
        memset(w->got, 0, nacc * sizeof(int64_t));
        for (k = 0; k < rest; k++) {
            if (mask & (1u << k)) {
                j = r[k];
                w->got[w->ia[j]] += u[w->ops[j]].amount;
                if (w->ib[j] != SIZE_MAX) {
                    w->got[w->ib[j]] -= u[w->ops[j]].amount;
                }
            }
        }

        for (x = 0; x < nacc && w->got[x] == w->need[x]; x++) {
            /* void */
        }

        if (x == nacc) {
            return 1;
        }
    }

    return 0;
}


/*
 * Resolves the operations of unknown fate.  Operations that share an
 * account form a group; a group is explained if some set of its
 * operations, applied (a transfer at both ends or at neither), gives every
 * one of its accounts exactly the balance read back beyond the certain
 * effects.  Returns the number of groups nothing explains; if none, -1 if
 * there were too many operations to keep, or a group fb_load_explain could
 * not decide, else 0.
 */
static int64_t
fb_load_resolve(fb_load_run_t *run, int last)
{
    int                 rc, undecided = 0;
    int64_t             x, bad = -1;
    size_t              i, k, n, g, m, nacc;
    fb_load_scratch_t   w;
    fb_load_unknown_t  *u = run->unknown;

    n = (size_t) atomic_load(&run->unknown_n);
    if (n == 0) {
        return 0;
    }

    if (n > FB_LOAD_UNKNOWN_MAX) {
        return -1;
    }

    memset(&w, 0, sizeof(w));
    w.up = malloc(n * sizeof(size_t));
    w.first = malloc((size_t) run->conf->accounts * sizeof(size_t));
    w.ops = malloc(n * sizeof(size_t));
    w.ia = malloc(n * sizeof(size_t));
    w.ib = malloc(n * sizeof(size_t));
    w.done = malloc(n);
    w.acc = malloc(2 * n * sizeof(int64_t));
    w.need = malloc(2 * n * sizeof(int64_t));
    w.got = malloc(2 * n * sizeof(int64_t));
    w.deg = malloc(2 * n * sizeof(size_t));
    w.stack = malloc(4 * n * sizeof(size_t));

    if (w.up == NULL || w.first == NULL || w.ops == NULL || w.ia == NULL
        || w.ib == NULL || w.done == NULL || w.acc == NULL || w.need == NULL
        || w.got == NULL || w.deg == NULL || w.stack == NULL)
    {
        fb_load_err(errno, "malloc() for the audit failed");
        goto done;
    }

    /* Union by shared account: first[x] is the first operation on x. */
    for (x = 0; x < run->conf->accounts; x++) {
        w.first[x] = SIZE_MAX;
    }

    for (k = 0; k < n; k++) {
        w.up[k] = k;
    }

    for (k = 0; k < n; k++) {
        for (i = 0; i < 2; i++) {
            x = i == 0 ? u[k].a : u[k].b;
            if (x < 0) {
                continue;
            }
            if (w.first[x] == SIZE_MAX) {
                w.first[x] = k;
            } else {
                w.up[fb_load_group(w.up, k)] = fb_load_group(w.up,
                                                             w.first[x]);
            }
        }
    }

    bad = 0;

    for (g = 0; g < n; g++) {
        if (fb_load_group(w.up, g) != g) {
            continue;
        }

        m = 0;
        nacc = 0;
        for (k = 0; k < n; k++) {
            if (fb_load_group(w.up, k) != g) {
                continue;
            }
            w.ops[m] = k;
            w.ia[m] = fb_load_local(run, u[k].a, w.acc, w.need, &nacc);
            w.ib[m] = u[k].b < 0 ? SIZE_MAX
                                 : fb_load_local(run, u[k].b, w.acc, w.need,
                                                 &nacc);
            m++;
        }

        rc = fb_load_explain(u, &w, m, nacc);

        if (rc < 0) {
            undecided = 1;

        } else if (rc == 0) {
            if (last && bad < 5) {
                fb_load_err(0, "audit: account %lld: no outcome of the %zu "
                            "operation(s) of unknown fate on it and on the "
                            "accounts they touch explains the balances",
                            (long long) run->ids[u[w.ops[0]].a], m);
            }
            bad++;
        }
    }

    if (bad == 0 && undecided) {
        bad = -1;
    }

done:

    free(w.up);
    free(w.first);
    free(w.ops);
    free(w.ia);
    free(w.ib);
    free(w.done);
    free(w.acc);
    free(w.need);
    free(w.got);
    free(w.deg);
    free(w.stack);
    return bad;
}


/* How many times the audit reads the balances at most (a second apart). */
#define FB_LOAD_AUDIT_TRIES  5

/*
 * Checks the balances read back.  Returns 1 if only operations of unknown
 * fate stand unexplained: one may still have been running in the server
 * when its balance was read, and a later read may explain it.  Those are
 * named only on the last try (last); every other outcome is final and
 * says why at once.
 */
static int
fb_load_audit(fb_load_run_t *run, fb_load_stats_t *s, fb_load_summary_t *sum,
    int last)
{
    int64_t          i, expected;
    fb_load_conf_t  *conf = run->conf;

    sum->audit_sum = 0;
    sum->audit_expected = sum->funding + s->deposited - s->withdrawn;
    sum->audit_uncertain_accounts = 0;
    sum->audit_unreadable = 0;
    sum->audit_negative = 0;
    sum->audit_differing = 0;
    sum->audit_unexplained = 0;

    for (i = 0; i < conf->accounts; i++) {
        if (atomic_load(&run->uncertain[i])) {
            sum->audit_uncertain_accounts++;
        }

        if (!run->read_ok[i]) {
            sum->audit_unreadable++;
            continue;
        }

        sum->audit_sum += run->balance[i];

        if (run->balance[i] < 0) {
            sum->audit_negative++;
        }

        expected = run->funded[i] + atomic_load(&run->delta[i]);

        if (!atomic_load(&run->uncertain[i]) && run->balance[i] != expected) {
            if (sum->audit_differing < 5) {
                fb_load_err(0, "audit: account %lld has %lld, expected %lld",
                            (long long) run->ids[i],
                            (long long) run->balance[i], (long long) expected);
            }

            sum->audit_differing++;
        }
    }

    if (sum->audit_unreadable > 0) {
        sum->audit = "unverified";
        return 0;
    }

    if (sum->audit_differing > 0 || sum->audit_negative > 0) {
        sum->audit = "fail";
        return 0;
    }

    if (s->uncertain_ops == 0) {
        sum->audit = sum->audit_sum == sum->audit_expected ? "pass" : "fail";
        return 0;
    }

    sum->audit_unexplained = fb_load_resolve(run, last);

    if (sum->audit_unexplained < 0) {
        fb_load_err(0, "audit: %llu operations of unknown fate, too many"
                    " to resolve (at most %d kept, at most %d of a group "
                    "left undecided by its accounts)",
                    (unsigned long long) s->uncertain_ops,
                    FB_LOAD_UNKNOWN_MAX, FB_LOAD_UNKNOWN_GROUP_MAX);
        sum->audit = "unverified";
        return 0;
    }

    if (sum->audit_unexplained > 0) {
        sum->audit = "fail";
        return 1;
    }

    sum->audit = "pass-uncertain";
    return 0;
}


/* ------------------------------------------------------------------ */
/* the run                                                             */

static int
fb_load_alloc_accounts(fb_load_run_t *run)
{
    size_t  n;

    n = (size_t) run->conf->accounts;

    run->ids = calloc(n, sizeof(int64_t));
    run->funded = calloc(n, sizeof(int64_t));
    run->delta = calloc(n, sizeof(atomic_int_fast64_t));
    run->uncertain = calloc(n, sizeof(atomic_uchar));
    run->balance = calloc(n, sizeof(int64_t));
    run->balance_before = calloc(n, sizeof(int64_t));
    run->read_ok = calloc(n, 1);
    run->unknown = calloc(FB_LOAD_UNKNOWN_MAX, sizeof(fb_load_unknown_t));

    if (run->ids == NULL || run->funded == NULL || run->delta == NULL
        || run->uncertain == NULL || run->balance == NULL
        || run->balance_before == NULL || run->read_ok == NULL
        || run->unknown == NULL)
    {
        fb_load_err(errno, "calloc() for %zu accounts failed", n);
        return FB_ERROR;
    }

    return FB_OK;
}


static void
fb_load_free_accounts(fb_load_run_t *run)
{
    free(run->ids);
    free(run->funded);
    free(run->delta);
    free(run->uncertain);
    free(run->balance);
    free(run->balance_before);
    free(run->read_ok);
    free(run->unknown);
}


static double
fb_load_cpu_self(void)
{
    struct rusage  ru;

    if (getrusage(RUSAGE_SELF, &ru) == -1) {
        return 0;
    }

    return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
           + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}


void
fb_load_sample_procs(fb_load_run_t *run, int after)
{
    int                  i;
    fb_load_proc_t      *p;
    fb_load_proc_now_t   now;

    if (after) {
        run->client_cpu_after = fb_load_cpu_self();

        /* Under SCHED_OTHER fb-load, woken by a reply, may preempt the
         * server that wrote it (BENCHMARKS.md): say how it ran. */
        run->client_sched = sched_getscheduler(0);
    } else {
        run->client_cpu_before = fb_load_cpu_self();
    }

    for (i = 0; i < run->nprocs; i++) {
        p = &run->procs[i];

        if (fb_load_proc_sample(p->pid, &now, p->comm, sizeof(p->comm))
            != FB_OK)
        {
            continue;
        }

        if (after) {
            p->cpu_after = now.cpu;
            p->rss_after_kb = now.rss_kb;
            p->hwm_kb = now.hwm_kb;
            p->csw_vol_after = now.csw_vol;
            p->csw_invol_after = now.csw_invol;
            p->csw_after = now.csw_ok;
            p->seen_after = 1;
        } else {
            p->cpu_before = now.cpu;
            p->rss_before_kb = now.rss_kb;
            p->csw_vol_before = now.csw_vol;
            p->csw_invol_before = now.csw_invol;
            p->csw_before = now.csw_ok;
            p->seen_before = 1;
        }
    }
}


/* Runs one unmeasured phase; FB_ERROR (reported) if it was aborted. */
static int
fb_load_phase(fb_load_run_t *run, fb_load_phase_t *phase, uint64_t requests,
    uint64_t *count, double *seconds)
{
    uint64_t  t0, t1;

    t0 = fb_load_now();
    run->t_start = t0;

    if (fb_load_engine_run(run, phase) != FB_OK) {
        fb_load_err(0, "%s", run->abort_msg);
        return FB_ERROR;
    }

    t1 = fb_load_now();
    *seconds += (double) (t1 - t0) / FB_LOAD_NS;
    *count += requests;

    return FB_OK;
}


static int
fb_load_main_run(fb_load_run_t *run, fb_load_summary_t *sum)
{
    int              i, rc;
    uint64_t         deadline;
    fb_load_conf_t  *conf = run->conf;

    run->t_start = fb_load_now();
    run->t_warm = run->t_start + (uint64_t) (conf->warmup * FB_LOAD_NS);
    run->t_deadline = UINT64_MAX;

    if (conf->duration > 0) {
        run->t_deadline = run->t_warm
                          + (uint64_t) (conf->duration * FB_LOAD_NS);
        run->deadline_reason = FB_LOAD_STOP_DURATION;
    }

    if (conf->time_limit > 0) {
        deadline = run->t_start + (uint64_t) (conf->time_limit * FB_LOAD_NS);
        if (deadline < run->t_deadline) {
            run->t_deadline = deadline;
            run->deadline_reason = FB_LOAD_STOP_TIME_LIMIT;
        }
    }

    run->next_progress = run->t_start + FB_LOAD_NS;
    run->progress_last_ns = run->t_start;
    run->progress_last_done = 0;
    run->procs_sampled = 0;

    for (i = 0; i < run->nworkers; i++) {
        atomic_store(&run->workers[i].progress_done, 0);
        atomic_store(&run->workers[i].progress_errors, 0);
    }

    rc = fb_load_engine_run(run, &fb_load_phase_main);

    if (!run->procs_sampled) {
        fb_load_sample_procs(run, 0);
        run->procs_sampled = 1;
    }

    fb_load_sample_procs(run, 1);

    if (rc != FB_OK) {
        fb_load_err(0, "%s", run->abort_msg);
        return FB_ERROR;
    }

    return FB_OK;
}


static int
fb_load_exit_code(fb_load_run_t *run, fb_load_stats_t *s,
    fb_load_summary_t *sum)
{
    if (sum->audit != NULL && strcmp(sum->audit, "pass") != 0
        && strcmp(sum->audit, "pass-uncertain") != 0
        && strcmp(sum->audit, "skipped") != 0)
    {
        return 1;
    }

    if (run->conf->strict
        && (sum->status_5xx > 0 || s->timeouts > 0 || s->lost > 0
            || s->protocol_errors > 0 || s->connect_errors > 0
            || s->unsent > 0))
    {
        return 1;
    }

    return 0;
}


static void
fb_load_on_signal(int signo)
{
    if (fb_load_interrupted) {
        /* A second ^C: stop now. */
        signal(signo, SIG_DFL);
        raise(signo);
        return;
    }

    fb_load_interrupted = 1;
}


int
main(int argc, char **argv)
{
    int                 rc, i, code, st, tries, last, jrc;
    FILE               *jf, *tf;
    int64_t             a;
    fb_load_run_t      *run;
    fb_load_conf_t      conf;
    fb_load_stats_t    *total;
    fb_load_summary_t   sum;
    struct sigaction    sa;

    rc = fb_load_conf_parse(&conf, argc, argv);
    if (rc != FB_OK) {
        fb_load_conf_free(&conf);
        return rc == FB_ERROR ? 2 : 0;
    }

    /* No SA_RESTART: ^C interrupts epoll_wait at once. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fb_load_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    code = 3;
    memset(&sum, 0, sizeof(sum));
    sum.audit = "skipped";

    run = calloc(1, sizeof(fb_load_run_t));
    total = calloc(1, sizeof(fb_load_stats_t));
    if (run == NULL || total == NULL) {
        fb_load_err(errno, "calloc() failed");
        free(run);
        free(total);
        fb_load_conf_free(&conf);
        return 3;
    }

    run->conf = &conf;
    run->nprocs = conf.npids;
    for (i = 0; i < conf.npids; i++) {
        run->procs[i].pid = conf.pids[i];
    }

    if (fb_load_engine_init(run) != FB_OK) {
        goto done;
    }

    if (!conf.quiet) {
        fprintf(stderr, "fb-load: %s, %s mode, %s, %d connections,"
                " %d thread%s%s\n", conf.name,
                conf.mode == FB_LOAD_MODE_GET ? "get" : "bank",
                conf.host_header, conf.connections, conf.threads,
                conf.threads > 1 ? "s" : "",
                conf.rate > 0 ? ", fixed rate" : ", closed loop");
    }

    if (conf.mode == FB_LOAD_MODE_GET) {
        run->get_len = strlen(conf.get_path) + strlen(conf.host_header) + 32;
        run->get_req = malloc(run->get_len);
        if (run->get_req == NULL) {
            fb_load_err(errno, "malloc() failed");
            goto done;
        }

        run->get_len = (size_t) snprintf(run->get_req, run->get_len,
                                         "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                                         conf.get_path, conf.host_header);
    } else {
        if (fb_load_alloc_accounts(run) != FB_OK) {
            goto done;
        }

        for (a = 0; a < conf.accounts; a++) {
            run->ids[a] = a + 1;
        }

        if (conf.setup) {
            run->fund_chunks = (conf.fund + FB_LOAD_AMOUNT_MAX - 1)
                               / FB_LOAD_AMOUNT_MAX;

            if (fb_load_phase(run, &fb_load_phase_create,
                              (uint64_t) conf.accounts, &sum.setup_requests,
                              &sum.setup_seconds)
                != FB_OK)
            {
                goto done;
            }

            if (run->fund_chunks > 0
                && fb_load_phase(run, &fb_load_phase_fund,
                                 (uint64_t) (conf.accounts * run->fund_chunks),
                                 &sum.setup_requests, &sum.setup_seconds)
                   != FB_OK)
            {
                goto done;
            }

            for (a = 0; a < conf.accounts; a++) {
                run->funded[a] = conf.fund;
            }

        } else if (conf.audit) {
            /* Existing accounts: their balances now are the baseline. */
            if (fb_load_phase(run, &fb_load_phase_read,
                              (uint64_t) conf.accounts, &sum.setup_requests,
                              &sum.setup_seconds)
                != FB_OK)
            {
                goto done;
            }

            for (a = 0; a < conf.accounts; a++) {
                if (!run->read_ok[a]) {
                    fb_load_err(0, "account %lld cannot be read: use"
                                " --no-audit, or let fb-load create its own",
                                (long long) run->ids[a]);
                    goto done;
                }

                run->funded[a] = run->balance[a];
                run->read_ok[a] = 0;
            }
        }

        for (a = 0; a < conf.accounts; a++) {
            sum.funding += run->funded[a];
        }

        if (!conf.quiet && (conf.setup || conf.audit)) {
            fprintf(stderr, "fb-load: set-up: %lld accounts %s in %.2f s\n",
                    (long long) conf.accounts,
                    conf.setup ? "created and funded" : "read",
                    sum.setup_seconds);
        }
    }

    if (fb_load_main_run(run, &sum) != FB_OK) {
        /* Report what there is, but no audit. */
        conf.audit = 0;
        code = 3;

    } else {
        code = 0;
    }

    for (i = 0; i < run->nworkers; i++) {
        fb_load_stats_merge(total, run->workers[i].stats);
    }

    /*
     * An operation of unknown fate may still be running in the server
     * while the balances are read: if only such operations stand
     * unexplained, read again, a second apart, a few times.
     */
    for (tries = 1; conf.audit && code == 0; tries++) {
        memset(run->read_ok, 0, (size_t) conf.accounts);

        if (fb_load_phase(run, &fb_load_phase_read, (uint64_t) conf.accounts,
                          &sum.audit_requests, &sum.audit_seconds)
            != FB_OK)
        {
            sum.audit = "unverified";
            break;
        }

        last = tries == FB_LOAD_AUDIT_TRIES;

        if (fb_load_audit(run, total, &sum, last) == 0) {
            break;
        }

        if (last) {
            if (memcmp(run->balance_before, run->balance,
                       (size_t) conf.accounts * sizeof(int64_t)) != 0)
            {
                /* Still moving: the server is not done, not wrong yet. */
                fb_load_err(0, "audit: balances still changed between the "
                            "last two reads");
                sum.audit = "unverified";
            }
            break;
        }

        memcpy(run->balance_before, run->balance,
               (size_t) conf.accounts * sizeof(int64_t));
        sleep(1);
    }

    sum.responses = total->hist[FB_LOAD_ALL].count;
    sum.seconds = total->last_ns > run->t_warm
                  ? (double) (total->last_ns - run->t_warm) / FB_LOAD_NS : 0;
    sum.rps = sum.seconds > 0 ? (double) sum.responses / sum.seconds : 0;

    for (st = 500; st < 600; st++) {
        sum.status_5xx += total->status[st];
    }

    if (code == 0) {
        code = fb_load_exit_code(run, total, &sum);
    }

    /*
     * The JSON first, then the table: a JSON file that cannot be opened
     * or written (ENOSPC at fclose, say) makes the status 3, and the
     * table's exit line is the status the run ends with.  The JSON's own
     * exit_code is the one from before; a file that failed holds nothing
     * to trust anyway.
     */
    sum.exit_code = code;

    if (conf.json_path != NULL) {
        jf = strcmp(conf.json_path, "-") == 0
             ? stdout : fopen(conf.json_path, "w");

        if (jf == NULL) {
            fb_load_err(errno, "fopen() \"%s\" failed", conf.json_path);
            code = code == 0 ? 3 : code;
        } else {
            jrc = fb_load_report_json(jf, run, total, &sum);
            if ((jf != stdout ? fclose(jf) : fflush(jf)) != 0
                || jrc != FB_OK)
            {
                fb_load_err(errno, "writing \"%s\" failed", conf.json_path);
                code = code == 0 ? 3 : code;
            }
        }
    }

    sum.exit_code = code;

    tf = stdout;
    if (conf.json_path != NULL && strcmp(conf.json_path, "-") == 0) {
        tf = conf.quiet ? NULL : stderr;
    }

    if (tf != NULL) {
        fb_load_report_table(tf, run, total, &sum);
        fflush(tf);
    }

done:

    fb_load_engine_free(run);
    fb_load_free_accounts(run);
    free(run->get_req);
    free(run);
    free(total);
    fb_load_conf_free(&conf);

    return code;
}
