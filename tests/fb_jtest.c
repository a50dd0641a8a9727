/*
 * fb_jtest.c: shared helpers of the journal tests (fb_jtest.h).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fb_jtest.h"
#include "fb_record.h"

#define JT_LOG_MAX  (64 * 1024)

const char  *jt_tmpdir;
uint64_t     jt_segment_bytes;
unsigned     jt_interval_ms;

/* jt_log_mutex protects the kept lines: the journal's threads log too. */
static pthread_mutex_t  jt_log_mutex = PTHREAD_MUTEX_INITIALIZER;
static char             jt_log_buf[JT_LOG_MAX];
static size_t           jt_log_len;


void
jt_rng_seed(jt_rng_t *r, uint64_t seed)
{
    r->s = seed * 0x9e3779b97f4a7c15ull + 1;
}


uint64_t
jt_rng_next(jt_rng_t *r)
{
    uint64_t  x = r->s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->s = x;
    return x;
}


uint64_t
jt_seed(void)
{
    const char  *env = getenv("FB_TEST_SEED");

    if (env != NULL && *env != '\0') {
        return strtoull(env, NULL, 10);
    }

    return (uint64_t) time(NULL) ^ ((uint64_t) getpid() << 20);
}


char *
jt_mkdir(const char *tag)
{
    char        *dir;
    const char  *tmp = jt_tmpdir != NULL ? jt_tmpdir : getenv("TMPDIR");

    if (tmp == NULL || *tmp == '\0') {
        tmp = "/tmp";
    }

    if (asprintf(&dir, "%s/fb-%s-XXXXXX", tmp, tag) < 0) {
        return NULL;
    }

    if (mkdtemp(dir) == NULL) {
        free(dir);
        return NULL;
    }

    return dir;
}


void
jt_rmdir(char *dir)
{
    DIR            *d;
    char            path[4096];
    struct dirent  *de;

    if (dir == NULL) {
        return;
    }

    d = opendir(dir);
    if (d != NULL) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            {
                continue;
            }
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            unlink(path);
        }
        closedir(d);
    }

    rmdir(dir);
    free(dir);
}


int
jt_count_files(const char *dir, const char *prefix)
{
    int             n = 0;
    DIR            *d;
    struct dirent  *de;

    d = opendir(dir);
    if (d == NULL) {
        return -1;
    }

    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
            n++;
        }
    }

    closedir(d);
    return n;
}


long
jt_file_size(const char *path)
{
    struct stat  st;

    return stat(path, &st) == 0 ? (long) st.st_size : -1;
}


const char *
jt_last_segment(const char *dir)
{
    return jt_last_file(dir, FB_SEGMENT_PREFIX);
}


const char *
jt_last_file(const char *dir, const char *prefix)
{
    DIR            *d;
    size_t          n = strlen(prefix);
    struct dirent  *de;
    static char     best[256], path[4096];

    best[0] = '\0';

    d = opendir(dir);
    if (d == NULL) {
        return NULL;
    }

    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, n) == 0
            && strcmp(de->d_name, best) > 0)
        {
            snprintf(best, sizeof(best), "%s", de->d_name);
        }
    }

    closedir(d);

    if (best[0] == '\0') {
        return NULL;
    }

    snprintf(path, sizeof(path), "%s/%s", dir, best);
    return path;
}


void
jt_log(int level, int err, const char *fmt, ...)
{
    int      n;
    char     line[1024];
    va_list  ap;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);

    if (n < 0) {
        return;
    }

    if (err != 0) {
        snprintf(line + strlen(line), sizeof(line) - strlen(line),
                 " (%d: %s)", err, strerror(err));
    }

    if (getenv("FB_TEST_VERBOSE") != NULL) {
        fprintf(stderr, "  log %d: %s\n", level, line);
    }

    n = (int) strlen(line);
    pthread_mutex_lock(&jt_log_mutex);
    if (jt_log_len + (size_t) n + 2 < JT_LOG_MAX) {
        memcpy(jt_log_buf + jt_log_len, line, (size_t) n);
        jt_log_len += (size_t) n;
        jt_log_buf[jt_log_len++] = '\n';
        jt_log_buf[jt_log_len] = '\0';
    }
    pthread_mutex_unlock(&jt_log_mutex);
}


void
jt_log_clear(void)
{
    pthread_mutex_lock(&jt_log_mutex);
    jt_log_len = 0;
    jt_log_buf[0] = '\0';
    pthread_mutex_unlock(&jt_log_mutex);
}


int
jt_log_has(const char *needle)
{
    int  found;

    pthread_mutex_lock(&jt_log_mutex);
    found = strstr(jt_log_buf, needle) != NULL;
    pthread_mutex_unlock(&jt_log_mutex);
    return found;
}


/* Only once the journal's threads are stopped. */
const char *
jt_log_text(void)
{
    return jt_log_buf;
}


int
jt_open(jt_pair_t *p, const char *dir, fb_fsync_e policy,
    uint64_t snapshot_records)
{
    return jt_open_tuned(p, dir, policy, snapshot_records, 0, 0);
}


int
jt_open_tuned(jt_pair_t *p, const char *dir, fb_fsync_e policy,
    uint64_t snapshot_records, unsigned delay_us, uint64_t prealloc_bytes)
{
    fb_store_conf_t     sc;
    fb_journal_conf_t   jc;

    memset(p, 0, sizeof(*p));
    p->recover_rc = FB_ERROR;

    memset(&jc, 0, sizeof(jc));
    jc.dir = dir;
    jc.fsync = policy;
    jc.interval_ms = jt_interval_ms ? jt_interval_ms : 2;
    jt_interval_ms = 0;
    jc.delay_us = delay_us;
    jc.prealloc_bytes = prealloc_bytes;
    jc.segment_bytes = jt_segment_bytes;
    jt_segment_bytes = 0;       /* one journal's, whatever befalls its test */
    jc.snapshot_records = snapshot_records;
    jc.log = jt_log;

    p->j = fb_journal_new(&jc);
    if (p->j == NULL) {
        return -1;
    }

    memset(&sc, 0, sizeof(sc));
    sc.stripes = 16;
    sc.log = fb_journal_log;
    sc.log_ctx = p->j;

    p->s = fb_store_new(&sc);
    if (p->s == NULL) {
        return -1;
    }

    p->recover_rc = fb_journal_recover(p->j, p->s, &p->rec);
    if (p->recover_rc != FB_OK) {
        return -1;
    }

    return fb_journal_start(p->j, p->s) == FB_OK ? 0 : -1;
}


void
jt_close(jt_pair_t *p, int final_snapshot)
{
    if (p->j != NULL) {
        fb_journal_stop(p->j, final_snapshot);
        fb_journal_free(p->j);
        p->j = NULL;
    }

    if (p->s != NULL) {
        fb_store_free(p->s);
        p->s = NULL;
    }
}


fb_store_t *
jt_recover(const char *dir, int *rc, fb_recovery_t *rec)
{
    jt_pair_t  p;

    if (jt_open(&p, dir, FB_FSYNC_ALWAYS, 0) != 0) {
        *rc = p.recover_rc == FB_OK ? FB_ERROR : p.recover_rc;
        if (rec != NULL) {
            *rec = p.rec;
        }
        jt_close(&p, 0);
        return NULL;
    }

    *rc = FB_OK;
    if (rec != NULL) {
        *rec = p.rec;
    }

    /* Stop the journal, keep the store: it is what recovery built. */
    fb_journal_stop(p.j, 0);
    fb_journal_free(p.j);
    return p.s;
}


void
jt_model_init(jt_model_t *m)
{
    memset(m, 0, sizeof(*m));
}


void
jt_model_apply(jt_model_t *m, const jt_op_t *op)
{
    switch (op->type) {
    case FB_OP_CREATE:
        m->n = op->id;
        m->balance[op->id] = 0;
        break;
    case FB_OP_DEPOSIT:
        m->balance[op->id] += op->amount;
        m->deposited += op->amount;
        break;
    case FB_OP_WITHDRAW:
        m->balance[op->id] -= op->amount;
        m->withdrawn += op->amount;
        break;
    default:
        m->balance[op->id] -= op->amount;
        m->balance[op->to] += op->amount;
        break;
    }
}


jt_op_t
jt_run_op(jt_pair_t *p, jt_model_t *m, jt_rng_t *r)
{
    char           owner[32];
    uint64_t       x;
    jt_op_t        op;
    fb_account_t   a;

    memset(&op, 0, sizeof(op));
    x = jt_rng_next(r);

    /* Creates until there are accounts to work on, then now and then. */
    if (m->n < 3 || (m->n < JT_ACCOUNTS && x % 10 == 0)) {
        op.type = FB_OP_CREATE;
        snprintf(owner, sizeof(owner), "owner %" PRId64, m->n + 1);
        op.rc = fb_store_create(p->s, owner, strlen(owner), &a);
        if (op.rc == FB_STORE_OK) {
            op.id = a.id;
            op.lsn = a.lsn;
        }
    } else {
        op.id = 1 + (int64_t) (jt_rng_next(r) % (uint64_t) m->n);
        op.amount = 1 + (int64_t) (jt_rng_next(r) % 5000);

        switch (x % 4) {
        case 0:
        case 1:
            op.type = FB_OP_DEPOSIT;
            op.rc = fb_store_deposit(p->s, op.id, op.amount, NULL, &op.lsn);
            break;
        case 2:
            op.type = FB_OP_WITHDRAW;
            op.rc = fb_store_withdraw(p->s, op.id, op.amount, NULL, &op.lsn);
            break;
        default:
            op.type = FB_OP_TRANSFER;
            op.to = 1 + (int64_t) (jt_rng_next(r) % (uint64_t) m->n);
            if (op.to == op.id) {
                op.to = op.id % m->n + 1;
            }
            op.rc = fb_store_transfer(p->s, op.id, op.to, op.amount, NULL,
                                      NULL, &op.lsn);
            break;
        }
    }

    if (op.rc == FB_STORE_OK) {
        op.durable = fb_journal_wait(p->j, op.lsn) == 0;
        if (op.durable) {
            jt_model_apply(m, &op);
        }
    }

    return op;
}


int
jt_store_equals_model(fb_store_t *s, const jt_model_t *m, char *why,
    size_t len)
{
    int64_t        id;
    fb_account_t   a;

    if ((int64_t) fb_store_count(s) != m->n) {
        snprintf(why, len, "%" PRIu64 " accounts, the model has %" PRId64,
                 fb_store_count(s), m->n);
        return -1;
    }

    for (id = 1; id <= m->n; id++) {
        if (fb_store_get(s, id, &a) != FB_STORE_OK) {
            snprintf(why, len, "account %" PRId64 ": missing", id);
            return -1;
        }

        if (a.balance != m->balance[id]) {
            snprintf(why, len, "account %" PRId64 ": %" PRId64 ", the model "
                     "has %" PRId64, id, a.balance, m->balance[id]);
            return -1;
        }
    }

    return 0;
}


int
jt_stores_equal(fb_store_t *x, fb_store_t *y, char *why, size_t len)
{
    int64_t        id, n;
    fb_account_t   a, b;

    n = (int64_t) fb_store_count(x);

    if ((uint64_t) n != fb_store_count(y)) {
        snprintf(why, len, "%" PRId64 " accounts against %" PRIu64, n,
                 fb_store_count(y));
        return -1;
    }

    for (id = 1; id <= n; id++) {
        if (fb_store_get(x, id, &a) != FB_STORE_OK
            || fb_store_get(y, id, &b) != FB_STORE_OK
            || a.balance != b.balance || a.created != b.created
            || a.owner_len != b.owner_len
            || memcmp(a.owner, b.owner, a.owner_len) != 0)
        {
            snprintf(why, len, "account %" PRId64 " differs", id);
            return -1;
        }
    }

    return 0;
}


int64_t
jt_store_sum(fb_store_t *s)
{
    int64_t        id, n, sum = 0;
    fb_account_t   a;

    n = (int64_t) fb_store_count(s);

    for (id = 1; id <= n; id++) {
        if (fb_store_get(s, id, &a) == FB_STORE_OK) {
            sum += a.balance;
        }
    }

    return sum;
}


/* ---- asynchronous waits ---- */


/* Hang bound of jt_notice_wait, seconds: not a timing check. */
#define JT_NOTICE_BOUND  60


/* The journal writer's call. */
static void
jt_notice_fn(void *arg)
{
    jt_notice_t  *n = arg;

    pthread_mutex_lock(&n->mutex);
    n->calls++;
    n->durable = fb_journal_durable(n->j, n->lsn);
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->mutex);
}


int
jt_notice_init(jt_notice_t *n, fb_journal_t *j)
{
    memset(n, 0, sizeof(*n));
    n->j = j;
    n->jn = fb_journal_notify_new(jt_notice_fn, n);
    if (n->jn == NULL) {
        return -1;
    }

    pthread_mutex_init(&n->mutex, NULL);
    pthread_cond_init(&n->cond, NULL);

    return 0;
}


void
jt_notice_free(jt_notice_t *n)
{
    fb_journal_notify_free(n->jn);
    pthread_mutex_destroy(&n->mutex);
    pthread_cond_destroy(&n->cond);
}


int
jt_notice_link(jt_notice_t *n, uint64_t lsn)
{
    pthread_mutex_lock(&n->mutex);
    n->lsn = lsn;
    pthread_mutex_unlock(&n->mutex);

    return fb_journal_notify(n->j, n->jn, lsn);
}


int
jt_notice_calls(jt_notice_t *n)
{
    int  calls;

    pthread_mutex_lock(&n->mutex);
    calls = n->calls;
    pthread_mutex_unlock(&n->mutex);

    return calls;
}


int
jt_notice_wait(jt_notice_t *n, int calls)
{
    int              rc = 0;
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += JT_NOTICE_BOUND;

    pthread_mutex_lock(&n->mutex);
    while (n->calls < calls && rc == 0) {
        rc = pthread_cond_timedwait(&n->cond, &n->mutex, &ts);
    }
    rc = n->calls >= calls ? 0 : -1;
    pthread_mutex_unlock(&n->mutex);

    return rc;
}


int
jt_open_noticed(jt_pair_t *p, jt_notice_t *n, const char *dir,
    fb_account_t *a)
{
    if (jt_open(p, dir, FB_FSYNC_ALWAYS, 0) != 0) {
        jt_close(p, 0);
        return -1;
    }

    if (jt_notice_init(n, p->j) != 0) {
        jt_close(p, 0);
        return -1;
    }

    if (fb_store_create(p->s, "Notify", 6, a) != FB_STORE_OK
        || fb_journal_wait(p->j, a->lsn) != 0)
    {
        jt_close(p, 0);
        jt_notice_free(n);
        return -1;
    }

    return 0;
}


int
jt_open_gathering(jt_pair_t *p, const char *dir, fb_account_t *a)
{
    if (jt_open_tuned(p, dir, FB_FSYNC_ALWAYS, 0, 600u * 1000 * 1000, 0)
        != 0)
    {
        jt_close(p, 0);
        return -1;
    }

    if (fb_store_create(p->s, "Gather", 6, a) != FB_STORE_OK
        || fb_journal_wait(p->j, a->lsn) != 0
        || jt_gather_pair(p, a->id) != 0)
    {
        jt_close(p, 0);
        return -1;
    }

    return 0;
}


int
jt_close_recover(jt_pair_t *p, const char *dir, int64_t *sum)
{
    int          rc;
    fb_store_t  *s;

    *sum = jt_store_sum(p->s);
    jt_close(p, 0);

    s = jt_recover(dir, &rc, NULL);
    if (s == NULL) {
        return -1;
    }

    rc = rc == FB_OK && jt_store_sum(s) == *sum ? 0 : -1;
    fb_store_free(s);
    return rc;
}


int
jt_wait_gathers(jt_pair_t *p, uint64_t n)
{
    int                  i;
    fb_journal_stats_t   st;

    for (i = 0; i < 60000; i++) {
        fb_journal_stats(p->j, &st);
        if (st.gathers >= n) {
            return 0;
        }
        usleep(1000);
    }

    return -1;
}


int
jt_gather_one(jt_pair_t *p, uint64_t id, uint64_t n, uint64_t *lsn)
{
    int64_t  balance;

    if (fb_store_deposit(p->s, id, 10, &balance, lsn) != FB_STORE_OK) {
        return -1;
    }

    return jt_wait_gathers(p, n);
}


/* The pair is appended under a hold while the writer is idle, so that
 * only the release wakes it.  A writer still busy with the batch before
 * may take them apart (one write each): try again until one write took
 * both. */
int
jt_gather_pair(jt_pair_t *p, uint64_t id)
{
    int                  i;
    int64_t              balance;
    uint64_t             lsn;
    fb_journal_stats_t   st0, st;

    for (i = 0; i < 20; i++) {
        usleep(100000);
        fb_journal_stats(p->j, &st0);
        fb_journal_hold(p->j);
        if (fb_store_deposit(p->s, id, 10, &balance, &lsn) != FB_STORE_OK
            || fb_store_deposit(p->s, id, 10, &balance, &lsn) != FB_STORE_OK)
        {
            fb_journal_release(p->j);
            return -1;
        }
        fb_journal_release(p->j);
        if (fb_journal_wait(p->j, lsn) != 0) {
            return -1;
        }
        fb_journal_stats(p->j, &st);
        if (st.batches == st0.batches + 1) {
            return 0;
        }
    }

    return -1;
}
