/*
 * fb_jtest.h: what the journal tests share: scratch data directories, a
 * journal and store opened together, a deterministic mix of operations
 * with a model of what was acknowledged, store comparison, and a log
 * callback that keeps the lines for the tests to search.
 */

#ifndef FB_JTEST_H_INCLUDED
#define FB_JTEST_H_INCLUDED

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "fb_journal.h"
#include "fb_store.h"

#define JT_ACCOUNTS  16

typedef struct {
    uint64_t  s;
} jt_rng_t;

void jt_rng_seed(jt_rng_t *r, uint64_t seed);
uint64_t jt_rng_next(jt_rng_t *r);
uint64_t jt_seed(void);                 /* FB_TEST_SEED or the clock */

/* A fresh directory under jt_tmpdir, else $TMPDIR, else /tmp; jt_rmdir
 * removes it and all its files. */
extern const char  *jt_tmpdir;
/* Segment size for the next journal jt_open opens, then back to 0 (the
 * default, 64 MiB). */
extern uint64_t     jt_segment_bytes;
/* --fsync-interval for the next journal jt_open opens, then back to 0
 * (2 ms). */
extern unsigned     jt_interval_ms;

char *jt_mkdir(const char *tag);
void jt_rmdir(char *dir);
int jt_count_files(const char *dir, const char *prefix);
long jt_file_size(const char *path);
/* The path of the newest file in dir whose name begins with prefix, or of
 * the newest journal segment (static buffer, shared), or NULL. */
const char *jt_last_file(const char *dir, const char *prefix);
const char *jt_last_segment(const char *dir);

/* The log callback: lines kept, printed with FB_TEST_VERBOSE set. */
void jt_log(int level, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void jt_log_clear(void);
int jt_log_has(const char *needle);     /* a kept line contains needle */
const char *jt_log_text(void);

typedef struct {
    fb_journal_t  *j;
    fb_store_t    *s;
    fb_recovery_t  rec;
    int            recover_rc;          /* FB_OK or FB_ERROR */
} jt_pair_t;

/* Opens dir: journal, store, recovery, start.  Returns 0 if all of it
 * worked; recover_rc says whether recovery did. */
int jt_open(jt_pair_t *p, const char *dir, fb_fsync_e policy,
    uint64_t snapshot_records);

/* The same with fb_journal_conf_t's delay_us (--fsync-delay) and
 * prealloc_bytes (0: the defaults). */
int jt_open_tuned(jt_pair_t *p, const char *dir, fb_fsync_e policy,
    uint64_t snapshot_records, unsigned delay_us, uint64_t prealloc_bytes);
void jt_close(jt_pair_t *p, int final_snapshot);

/* A store recovered from dir with no journal running (as --check does). */
fb_store_t *jt_recover(const char *dir, int *rc, fb_recovery_t *rec);

/*
 * The model: balances the test knows were acknowledged.  ops apply one
 * operation to the store (and journal), wait for it, and on success apply
 * it to the model.  Amounts and accounts come from the rng.
 */
typedef struct {
    int64_t   n;                        /* accounts */
    int64_t   balance[JT_ACCOUNTS + 1];
    int64_t   deposited, withdrawn;
} jt_model_t;

typedef struct {
    fb_op_type_e   type;
    int64_t        id, to, amount;
    uint64_t       lsn;
    fb_store_rc_e  rc;                  /* the store's answer */
    int            durable;             /* fb_journal_wait said yes */
} jt_op_t;

void jt_model_init(jt_model_t *m);
/* Picks and runs one operation; returns what happened. */
jt_op_t jt_run_op(jt_pair_t *p, jt_model_t *m, jt_rng_t *r);
/* Applies a successful operation to a model. */
void jt_model_apply(jt_model_t *m, const jt_op_t *op);

/* 0 if store s holds exactly the model's accounts and balances. */
int jt_store_equals_model(fb_store_t *s, const jt_model_t *m, char *why,
    size_t len);
/* 0 if the two stores hold the same accounts: owners, created, balances. */
int jt_stores_equal(fb_store_t *a, fb_store_t *b, char *why, size_t len);
int64_t jt_store_sum(fb_store_t *s);

/*
 * An asynchronous waiter (fb_journal_notify) that counts its calls and
 * notes, at each, what fb_journal_durable said of the LSN it waited for.
 */
typedef struct {
    pthread_mutex_t   mutex;
    pthread_cond_t    cond;
    fb_journal_t     *j;
    fb_jnotify_t     *jn;
    uint64_t          lsn;
    int               calls;
    int               durable;        /* at the last call */
} jt_notice_t;

int jt_notice_init(jt_notice_t *n, fb_journal_t *j);
void jt_notice_free(jt_notice_t *n);
/* fb_journal_notify(n, lsn): FB_OK (linked) or FB_DECLINED. */
int jt_notice_link(jt_notice_t *n, uint64_t lsn);
/* The calls so far. */
int jt_notice_calls(jt_notice_t *n);
/* Waits until n has been called calls times: 0; -1 past a hang bound. */
int jt_notice_wait(jt_notice_t *n, int calls);
/* Opens dir under always, with n on its journal, and creates account *a
 * ("Notify"), durable: 0, or -1 (the pair closed, n not to be freed). */
int jt_open_noticed(jt_pair_t *p, jt_notice_t *n, const char *dir,
    fb_account_t *a);

/*
 * Group commit's gathers (--fsync-delay).  jt_wait_gathers polls until the
 * writer has begun gather number n: 0, or -1 if none began within a
 * minute (a hang, not a timing).  jt_gather_one first appends one record
 * (a deposit of 10 to id; its LSN in *lsn).  jt_gather_pair makes the
 * journal's last batch exactly two records and waits until they are
 * durable: 0, or -1.
 */
int jt_wait_gathers(jt_pair_t *p, uint64_t n);
/* Opens dir under always with a ten-minute --fsync-delay, so that only
 * the count, a snapshot or a stop ends a gather, creates account *a and
 * makes the last batch two of its deposits (jt_gather_pair), all durable:
 * 0, or -1 (the pair closed). */
int jt_open_gathering(jt_pair_t *p, const char *dir, fb_account_t *a);
/* Stops p's journal (which ends a gather and syncs its records), notes
 * the balances' sum in *sum, recovers dir and compares: 0 if recovery
 * worked and found that sum, else -1. */
int jt_close_recover(jt_pair_t *p, const char *dir, int64_t *sum);
int jt_gather_one(jt_pair_t *p, uint64_t id, uint64_t n, uint64_t *lsn);
int jt_gather_pair(jt_pair_t *p, uint64_t id);

#endif /* FB_JTEST_H_INCLUDED */
