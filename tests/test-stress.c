/*
 * test-stress.c: the store under concurrent load: money is conserved, no
 * balance is ever seen negative, audits and lock-free readers never see a
 * transfer half done, opposite transfers never deadlock, creates race
 * safely with operations on existing accounts, and fb_atomic.h's
 * compare-and-swap lets one thread of many win.
 *
 * Worker threads never call CUnit (it is not thread-safe): each counts
 * what it did and what went wrong, and the main thread asserts after the
 * join.  Sizes are bounded by iteration counts, never by time.  Every
 * thread draws from its own xorshift generator seeded from one printed
 * seed; FB_TEST_SEED=<seed> replays a run.  A watchdog (alarm) fails the
 * run instead of letting a deadlock hang it.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "fb_atomic.h"
#include "fb_cunit.h"
#include "fb_store.h"
#include "fb_stest.h"


#define WORKERS          8
#define READERS          2
#define MAX_THREADS      16
#define WATCHDOG_SECONDS 60     /* per test; FB_TEST_WATCHDOG overrides */


typedef struct {
    uint64_t  s;
} rng_t;


/* One test's shared state. */
typedef struct {
    fb_store_t        *store;
    int64_t            naccounts;    /* accounts the workers choose from */
    long               ops;          /* per worker */
    int                transfers_only;
    int64_t            expect_sum;   /* fixed while transfers_only */
    pthread_barrier_t  start;
    fb_atomic_i64_t    workers_left;
} run_t;

/* One thread's tally, merged by the main thread after the join. */
typedef struct {
    run_t         *run;
    pthread_t      tid;
    rng_t          rng;
    int            index;
    int64_t        deposited;
    int64_t        withdrawn;
    long           ok;
    long           refused;      /* INSUFFICIENT_FUNDS, as expected */
    long           samples;      /* reader: balances read */
    long           audits;       /* reader: audits taken */
    long           errors;       /* anything that must never happen */
    char           first_error[160];
} worker_t;


static uint64_t  base_seed;
static unsigned  watchdog_seconds = WATCHDOG_SECONDS;


static void rng_seed(rng_t *r, int stream);
static uint64_t rng_next(rng_t *r);
static int64_t rng_range(rng_t *r, int64_t lo, int64_t hi);
static void note_error(worker_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void watchdog(int sig);
static void watchdog_arm(void);
static fb_store_t *new_store(size_t stripes, int64_t naccounts,
    int64_t funding);
static void *mixed_worker(void *arg);
static void *reader(void *arg);
static void run_threads(run_t *run, worker_t *w, int nworkers,
    int nreaders);
static void check_threads(worker_t *w, int n);


static void
rng_seed(rng_t *r, int stream)
{
    uint64_t  z;

    /* splitmix64 of the seed and the stream: distinct, never zero. */
    z = base_seed + 0x9e3779b97f4a7c15ULL * (uint64_t) (stream + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    r->s = z ? z : 1;
}


/* xorshift64* */
static uint64_t
rng_next(rng_t *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dULL;
}


static int64_t
rng_range(rng_t *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t) (rng_next(r) % (uint64_t) (hi - lo + 1));
}


static void
note_error(worker_t *w, const char *fmt, ...)
{
    va_list  ap;

    if (w->errors++ == 0) {
        va_start(ap, fmt);
        vsnprintf(w->first_error, sizeof(w->first_error), fmt, ap);
        va_end(ap);
    }
}


static void
watchdog(int sig)
{
    static const char  msg[] =
        "test-stress: watchdog: a test did not finish (deadlock?)\n";

    (void) sig;
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to do */
    }
    _exit(2);
}


static void
watchdog_arm(void)
{
    signal(SIGALRM, watchdog);
    alarm(watchdog_seconds);
}


/* A store of naccounts accounts holding funding centavos each. */
static fb_store_t *
new_store(size_t stripes, int64_t naccounts, int64_t funding)
{
    int64_t           i;
    fb_store_t       *s;
    fb_store_conf_t   conf;

    memset(&conf, 0, sizeof(conf));
    conf.stripes = stripes;
    s = fb_store_new(&conf);
    if (s == NULL) {
        return NULL;
    }

    for (i = 1; i <= naccounts; i++) {
        if (fb_store_create(s, "stress", 6, NULL) != FB_STORE_OK
            || st_fund(s, i, funding) != FB_STORE_OK)
        {
            fb_store_free(s);
            return NULL;
        }
    }

    return s;
}


/* Random deposits, withdraws and transfers (or transfers only). */
static void *
mixed_worker(void *arg)
{
    worker_t       *w = arg;
    run_t          *run = w->run;
    long            i;
    int64_t         a, b, amount, b1, b2;
    fb_store_rc_e   rc;
    unsigned        op;

    pthread_barrier_wait(&run->start);

    for (i = 0; i < run->ops; i++) {
        a = rng_range(&w->rng, 1, run->naccounts);
        do {
            b = rng_range(&w->rng, 1, run->naccounts);
        } while (b == a);

        op = run->transfers_only ? 2 : (unsigned) (rng_next(&w->rng) % 3);

        /* Deposits are small and money leaves in large amounts half the
         * time, so balances hover near zero and both outcomes of the
         * funds check keep happening. */
        amount = op != 0 && rng_next(&w->rng) % 2 == 0
                 ? rng_range(&w->rng, FB_AMOUNT_MIN, FB_AMOUNT_MAX)
                 : rng_range(&w->rng, 1, 5000);
        b1 = b2 = -1;

        switch (op) {
        case 0:
            rc = fb_store_deposit(run->store, a, amount, &b1, NULL);
            if (rc == FB_STORE_OK) {
                w->deposited += amount;
            }
            b2 = 0;
            break;

        case 1:
            rc = fb_store_withdraw(run->store, a, amount, &b1, NULL);
            if (rc == FB_STORE_OK) {
                w->withdrawn += amount;
            }
            b2 = 0;
            break;

        default:
            rc = fb_store_transfer(run->store, a, b, amount, &b1, &b2, NULL);
            break;
        }

        if (rc == FB_STORE_OK) {
            w->ok++;
            if (b1 < 0 || b2 < 0) {
                note_error(w, "op %u on %" PRId64 " returned balances %"
                           PRId64 ", %" PRId64, op, a, b1, b2);
            }

        } else if (rc == FB_STORE_INSUFFICIENT_FUNDS && op != 0) {
            w->refused++;

        } else {
            note_error(w, "op %u on %" PRId64 ", %" PRId64 " amount %"
                       PRId64 ": %s", op, a, b, amount,
                       fb_store_strerror(rc));
        }
    }

    (void) fb_atomic_fetch_add(&run->workers_left, -1);
    return NULL;
}


/*
 * Samples balances without a lock and takes audits until the workers are
 * done (and at least once after that): no balance is ever negative, and
 * while only transfers run, every audit sums to exactly the funding.
 */
static void *
reader(void *arg)
{
    worker_t          *w = arg;
    run_t             *run = w->run;
    int                k, last;
    int64_t            id;
    fb_account_t       acct;
    fb_store_audit_t   au;

    pthread_barrier_wait(&run->start);

    do {
        last = fb_atomic_load_acquire(&run->workers_left) == 0;

        for (k = 0; k < 64; k++) {
            id = rng_range(&w->rng, 1, run->naccounts);
            if (fb_store_get(run->store, id, &acct) != FB_STORE_OK) {
                note_error(w, "get %" PRId64 " failed", id);
            } else if (acct.balance < 0) {
                note_error(w, "balance of %" PRId64 " is %" PRId64,
                           id, acct.balance);
            }
            w->samples++;
        }

        fb_store_audit(run->store, &au);
        w->audits++;

        if (au.min_balance < 0 || au.overflow
            || au.accounts != (uint64_t) run->naccounts)
        {
            note_error(w, "audit: min %" PRId64 " overflow %d accounts %"
                       PRIu64, au.min_balance, au.overflow, au.accounts);
        }

        if (run->transfers_only && au.sum != run->expect_sum) {
            note_error(w, "audit during transfers: sum %" PRId64
                       ", expected %" PRId64, au.sum, run->expect_sum);
        }

    } while (!last);

    return NULL;
}


static void
run_threads(run_t *run, worker_t *w, int nworkers, int nreaders)
{
    int  i, n;

    n = nworkers + nreaders;
    CU_ASSERT_FATAL(n <= MAX_THREADS);
    CU_ASSERT_EQUAL_FATAL(pthread_barrier_init(&run->start, NULL,
                                               (unsigned) n), 0);
    fb_atomic_store_release(&run->workers_left, nworkers);

    for (i = 0; i < n; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].run = run;
        w[i].index = i;
        rng_seed(&w[i].rng, i);
        CU_ASSERT_EQUAL_FATAL(pthread_create(&w[i].tid, NULL,
                                             i < nworkers ? mixed_worker
                                                          : reader,
                                             &w[i]), 0);
    }

    for (i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(pthread_join(w[i].tid, NULL), 0);
    }

    pthread_barrier_destroy(&run->start);
}


static void
check_threads(worker_t *w, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        if (w[i].errors != 0) {
            printf("\n    thread %d: %ld errors, first: %s\n",
                   i, w[i].errors, w[i].first_error);
        }
        CU_ASSERT_EQUAL(w[i].errors, 0);
    }
}


/*
 * Mixed load; at the end the audit equals funding + deposits - withdraws,
 * and the per-account balances add up to the audit.
 */
static void
mixed(size_t stripes, int64_t naccounts, long ops)
{
    int                i;
    long               ok, refused, audits;
    int64_t            funding, deposited, withdrawn, id, sum;
    run_t              run;
    worker_t           w[WORKERS + READERS];
    fb_account_t       a;
    fb_store_audit_t   au;

    funding = naccounts > 100 ? 300000 : 2 * FB_AMOUNT_MAX;

    memset(&run, 0, sizeof(run));
    run.store = new_store(stripes, naccounts, funding);
    CU_ASSERT_PTR_NOT_NULL_FATAL(run.store);
    run.naccounts = naccounts;
    run.ops = ops;

    watchdog_arm();
    run_threads(&run, w, WORKERS, READERS);
    alarm(0);

    check_threads(w, WORKERS + READERS);

    ok = refused = audits = 0;
    deposited = withdrawn = 0;
    for (i = 0; i < WORKERS; i++) {
        ok += w[i].ok;
        refused += w[i].refused;
        deposited += w[i].deposited;
        withdrawn += w[i].withdrawn;
    }
    for (i = WORKERS; i < WORKERS + READERS; i++) {
        audits += w[i].audits;
    }

    printf("\n    %" PRId64 " accounts, %d stripes: %ld ok, %ld refused, "
           "%ld audits ", naccounts, (int) stripes, ok, refused, audits);

    /* Every operation either succeeded or was refused for funds. */
    CU_ASSERT_EQUAL(ok + refused, (long) WORKERS * ops);
    CU_ASSERT(ok > 0);
    CU_ASSERT(audits > 0);

    fb_store_audit(run.store, &au);
    CU_ASSERT_EQUAL(au.overflow, 0);
    CU_ASSERT(au.min_balance >= 0);
    CU_ASSERT_EQUAL(au.accounts, (uint64_t) naccounts);
    CU_ASSERT_EQUAL(au.sum, naccounts * funding + deposited - withdrawn);

    sum = 0;
    for (id = 1; id <= naccounts; id++) {
        CU_ASSERT_EQUAL_FATAL(fb_store_get(run.store, id, &a), FB_STORE_OK);
        sum += a.balance;
    }
    CU_ASSERT_EQUAL(sum, au.sum);

    fb_store_free(run.store);
}


static void
test_mixed_two_accounts(void)
{
    mixed(1024, 2, 20000);
}


static void
test_mixed_two_accounts_one_stripe(void)
{
    mixed(1, 2, 10000);
}


static void
test_mixed_spread(void)
{
    mixed(1024, 100000, 20000);
}


/* Transfers only: every audit, at any moment, sums to the funding. */
static void
transfers_only(size_t stripes, int64_t naccounts, long ops)
{
    int                i;
    long               ok, audits;
    run_t              run;
    worker_t           w[WORKERS + READERS];
    fb_store_audit_t   au;

    memset(&run, 0, sizeof(run));
    run.store = new_store(stripes, naccounts, 100000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(run.store);
    run.naccounts = naccounts;
    run.ops = ops;
    run.transfers_only = 1;
    run.expect_sum = naccounts * 100000;

    watchdog_arm();
    run_threads(&run, w, WORKERS, READERS);
    alarm(0);

    check_threads(w, WORKERS + READERS);

    ok = audits = 0;
    for (i = 0; i < WORKERS; i++) {
        ok += w[i].ok;
    }
    for (i = WORKERS; i < WORKERS + READERS; i++) {
        audits += w[i].audits;
    }

    printf("\n    %" PRId64 " accounts: %ld transfers, %ld audits ",
           naccounts, ok, audits);
    CU_ASSERT(ok > 0);
    CU_ASSERT(audits > 0);

    fb_store_audit(run.store, &au);
    CU_ASSERT_EQUAL(au.sum, run.expect_sum);
    CU_ASSERT(au.min_balance >= 0);

    fb_store_free(run.store);
}


static void
test_transfers_two_accounts(void)
{
    transfers_only(1024, 2, 20000);
}


static void
test_transfers_spread(void)
{
    transfers_only(64, 1000, 20000);
}


/* ---- opposite transfers between the same two accounts ---- */


typedef struct {
    fb_store_t     *store;
    int64_t         from, to;
    long            ops;
    long            ok;
    long            errors;
    pthread_barrier_t  *start;
} opposite_t;


static void *
opposite_worker(void *arg)
{
    opposite_t     *o = arg;
    long            i;
    fb_store_rc_e   rc;

    pthread_barrier_wait(o->start);

    for (i = 0; i < o->ops; i++) {
        rc = fb_store_transfer(o->store, o->from, o->to, 1, NULL, NULL, NULL);
        if (rc == FB_STORE_OK) {
            o->ok++;
        } else if (rc != FB_STORE_INSUFFICIENT_FUNDS) {
            o->errors++;
        }
    }

    return NULL;
}


static void *
opposite_auditor(void *arg)
{
    opposite_t        *o = arg;
    long               i;
    fb_store_audit_t   au;

    pthread_barrier_wait(o->start);

    for (i = 0; i < o->ops; i++) {
        fb_store_audit(o->store, &au);
        if (au.sum != 2 * 1000 || au.min_balance < 0) {
            o->errors++;
        }
    }

    return NULL;
}


/*
 * Half the threads send a -> b, half b -> a, with an auditor taking all
 * stripes at the same time.  Exact final balances from the counts.
 */
static void
opposite(size_t stripes, int64_t a, int64_t b, long ops)
{
    int                 i, n;
    int64_t             id, expect_a;
    fb_store_t         *s;
    opposite_t          o[WORKERS + 1];
    pthread_t           tid[WORKERS + 1];
    pthread_barrier_t   start;
    fb_store_conf_t     conf;

    memset(&conf, 0, sizeof(conf));
    conf.stripes = stripes;
    s = fb_store_new(&conf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    for (id = 1; id <= (a > b ? a : b); id++) {
        CU_ASSERT_EQUAL_FATAL(fb_store_create(s, "opposite", 8, NULL),
                              FB_STORE_OK);
    }
    CU_ASSERT_EQUAL_FATAL(fb_store_deposit(s, a, 1000, NULL, NULL),
                          FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_store_deposit(s, b, 1000, NULL, NULL),
                          FB_STORE_OK);

    n = WORKERS + 1;
    CU_ASSERT_EQUAL_FATAL(pthread_barrier_init(&start, NULL, (unsigned) n),
                          0);

    watchdog_arm();

    for (i = 0; i < n; i++) {
        memset(&o[i], 0, sizeof(o[i]));
        o[i].store = s;
        o[i].from = i % 2 ? a : b;
        o[i].to = i % 2 ? b : a;
        o[i].ops = i < WORKERS ? ops : ops / 20;
        o[i].start = &start;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL,
                                             i < WORKERS ? opposite_worker
                                                         : opposite_auditor,
                                             &o[i]), 0);
    }

    for (i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(pthread_join(tid[i], NULL), 0);
    }

    alarm(0);
    pthread_barrier_destroy(&start);

    expect_a = 1000;
    for (i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(o[i].errors, 0);
        if (i < WORKERS) {
            expect_a += o[i].from == a ? -o[i].ok : o[i].ok;
        }
    }

    {
        fb_account_t  acc;

        CU_ASSERT_EQUAL_FATAL(fb_store_get(s, a, &acc), FB_STORE_OK);
        CU_ASSERT_EQUAL(acc.balance, expect_a);
        CU_ASSERT_EQUAL_FATAL(fb_store_get(s, b, &acc), FB_STORE_OK);
        CU_ASSERT_EQUAL(acc.balance, 2000 - expect_a);
    }

    fb_store_free(s);
}


static void
test_opposite_transfers(void)
{
    /* Different stripes, ascending with the ids. */
    opposite(1024, 1, 2, 20000);
}


static void
test_opposite_transfers_reversed_stripes(void)
{
    /* With 4 stripes, account 3 is in stripe 3 and account 4 in stripe 0:
     * the lock order is the reverse of the id order. */
    opposite(4, 3, 4, 20000);
}


static void
test_opposite_transfers_shared_stripe(void)
{
    /* 1 and 3 share stripe 1 of 2: one lock. */
    opposite(2, 1, 3, 20000);
}


/* ---- what lock-free readers see of a transfer ---- */


/* One reader beside the payer keeps two CPUs busy.  The window between a
 * transfer's two stores is a few instructions wide: a release build lands
 * in it now and then, a ThreadSanitizer build often; test-store holds a
 * transfer there on purpose. */
#define ORDER_TRANSFERS  500000
#define ORDER_READERS    1


typedef struct {
    fb_store_t         *store;
    pthread_barrier_t   start;
    fb_atomic_i64_t     paying;
} order_run_t;

typedef struct {
    order_run_t  *run;
    pthread_t     tid;
    long          reads;
    long          errors;
    int64_t       first_a, first_b;  /* the first pair of reads gone wrong */
} order_t;


/* Moves 1 centavo at a time from account 1 to account 2, ORDER_TRANSFERS
 * times: account 1 only ever goes down, account 2 only ever goes up. */
static void *
order_payer(void *arg)
{
    order_t  *o = arg;
    long      i;

    pthread_barrier_wait(&o->run->start);

    for (i = 0; i < ORDER_TRANSFERS; i++) {
        if (fb_store_transfer(o->run->store, 1, 2, 1, NULL, NULL, NULL)
            != FB_STORE_OK)
        {
            o->errors++;
        }
    }

    fb_atomic_store_release(&o->run->paying, 0);
    return NULL;
}


/*
 * Reads one account and then the other, in turn.  A read that starts
 * after another has returned sees at least as much of the transfers: once
 * the payer is seen debited, the payee is then seen credited (the sum
 * never drops below the total), and once the payee is seen credited, the
 * payer is then seen debited (the sum never rises above it).
 */
static void *
order_reader(void *arg)
{
    order_t       *o = arg;
    int64_t        a, b;
    fb_account_t   acct;

    pthread_barrier_wait(&o->run->start);

    while (fb_atomic_load_acquire(&o->run->paying)) {
        if (o->reads++ % 2 == 0) {
            (void) fb_store_get(o->run->store, 1, &acct);
            a = acct.balance;
            (void) fb_store_get(o->run->store, 2, &acct);
            b = acct.balance;
            if (a + b >= ORDER_TRANSFERS) {
                continue;
            }
        } else {
            (void) fb_store_get(o->run->store, 2, &acct);
            b = acct.balance;
            (void) fb_store_get(o->run->store, 1, &acct);
            a = acct.balance;
            if (a + b <= ORDER_TRANSFERS) {
                continue;
            }
        }

        if (o->errors++ == 0) {
            o->first_a = a;
            o->first_b = b;
        }
    }

    return NULL;
}


/* A reader never sees a transfer in neither account or in both. */
static void
transfer_order(size_t stripes)
{
    int               i;
    long              reads;
    order_t           o[1 + ORDER_READERS];
    order_run_t       run;
    fb_account_t      acct;
    fb_store_conf_t   conf;

    memset(&run, 0, sizeof(run));
    memset(&conf, 0, sizeof(conf));
    conf.stripes = stripes;
    run.store = fb_store_new(&conf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(run.store);
    CU_ASSERT_EQUAL_FATAL(fb_store_create(run.store, "payer", 5, NULL),
                          FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_store_create(run.store, "payee", 5, NULL),
                          FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(st_fund(run.store, 1, ORDER_TRANSFERS),
                          FB_STORE_OK);

    CU_ASSERT_EQUAL_FATAL(pthread_barrier_init(&run.start, NULL,
                                               1 + ORDER_READERS), 0);
    fb_atomic_store_release(&run.paying, 1);

    watchdog_arm();

    for (i = 0; i < 1 + ORDER_READERS; i++) {
        memset(&o[i], 0, sizeof(o[i]));
        o[i].run = &run;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&o[i].tid, NULL,
                                             i == 0 ? order_payer
                                                    : order_reader,
                                             &o[i]), 0);
    }

    for (i = 0; i < 1 + ORDER_READERS; i++) {
        CU_ASSERT_EQUAL(pthread_join(o[i].tid, NULL), 0);
    }

    alarm(0);
    pthread_barrier_destroy(&run.start);

    reads = 0;
    for (i = 0; i < 1 + ORDER_READERS; i++) {
        if (o[i].errors != 0) {
            printf("\n    thread %d: %ld errors, first: payer %" PRId64
                   ", payee %" PRId64 "\n", i, o[i].errors, o[i].first_a,
                   o[i].first_b);
        }
        CU_ASSERT_EQUAL(o[i].errors, 0);
        reads += o[i].reads;
    }

    printf("\n    %d stripes: %d transfers, %ld pairs of reads ",
           (int) stripes, ORDER_TRANSFERS, reads);

    CU_ASSERT_EQUAL_FATAL(fb_store_get(run.store, 2, &acct), FB_STORE_OK);
    CU_ASSERT_EQUAL(acct.balance, ORDER_TRANSFERS);

    fb_store_free(run.store);
}


static void
test_transfer_order(void)
{
    transfer_order(1024);
}


static void
test_transfer_order_shared_stripe(void)
{
    transfer_order(1);
}


/* ---- creates racing with operations ---- */


#define CREATORS        2
#define CREATE_OPS      4
#define CREATES_EACH    40000
#define CREATE_BASE     1000


typedef struct {
    fb_store_t        *store;
    pthread_barrier_t  start;
    fb_atomic_i64_t    creators_left;
} race_t;

typedef struct {
    race_t        *race;
    pthread_t      tid;
    int            index;
    rng_t          rng;
    int64_t       *ids;          /* creator: the ids it was given */
    int64_t        deposited;
    int64_t        withdrawn;
    long           ok;
    long           samples;
    long           errors;
    char           first_error[160];
} racer_t;


static void
racer_error(racer_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
racer_error(racer_t *r, const char *fmt, ...)
{
    va_list  ap;

    if (r->errors++ == 0) {
        va_start(ap, fmt);
        vsnprintf(r->first_error, sizeof(r->first_error), fmt, ap);
        va_end(ap);
    }
}


static void *
creator(void *arg)
{
    racer_t        *r = arg;
    int             len;
    long            i;
    char            owner[32];
    fb_account_t    a;

    pthread_barrier_wait(&r->race->start);

    for (i = 0; i < CREATES_EACH; i++) {
        len = snprintf(owner, sizeof(owner), "c%d-%ld", r->index, i);
        if (fb_store_create(r->race->store, owner, (size_t) len, &a)
            != FB_STORE_OK)
        {
            racer_error(r, "create %ld failed", i);
            break;
        }
        r->ids[i] = a.id;
    }

    (void) fb_atomic_fetch_add(&r->race->creators_left, -1);
    return NULL;
}


/* Checks that an account just seen in the count is complete. */
static void
check_published(racer_t *r, int64_t id)
{
    int             c;
    long            i;
    char            want[32];
    fb_account_t    a;

    if (fb_store_get(r->race->store, id, &a) != FB_STORE_OK) {
        racer_error(r, "get %" PRId64 " <= count failed", id);
        return;
    }

    if (id <= CREATE_BASE) {
        return;
    }

    if (a.owner == NULL || sscanf(a.owner, "c%d-%ld", &c, &i) != 2) {
        racer_error(r, "account %" PRId64 " has no owner yet", id);
        return;
    }

    snprintf(want, sizeof(want), "c%d-%ld", c, i);
    if (a.owner_len != strlen(want) || strcmp(a.owner, want) != 0
        || a.created == 0 || a.balance < 0)
    {
        racer_error(r, "account %" PRId64 " is not fully published", id);
    }
}


/* Operates on random accounts among those created so far. */
static void *
operator(void *arg)
{
    racer_t        *r = arg;
    int             k, last;
    int64_t         n, a, b, amount;
    fb_store_rc_e   rc;

    pthread_barrier_wait(&r->race->start);

    do {
        last = fb_atomic_load_acquire(&r->race->creators_left) == 0;

        for (k = 0; k < 256; k++) {
            n = (int64_t) fb_store_count(r->race->store);

            /* The newest account must be complete the moment it shows. */
            check_published(r, n);
            r->samples++;

            a = rng_range(&r->rng, n > CREATE_BASE ? n - 64 : 1, n);
            do {
                b = rng_range(&r->rng, 1, n);
            } while (b == a);
            amount = rng_range(&r->rng, 1, 1000);

            switch (rng_next(&r->rng) % 3) {
            case 0:
                rc = fb_store_deposit(r->race->store, a, amount, NULL, NULL);
                if (rc == FB_STORE_OK) {
                    r->deposited += amount;
                }
                break;
            case 1:
                rc = fb_store_withdraw(r->race->store, a, amount, NULL, NULL);
                if (rc == FB_STORE_OK) {
                    r->withdrawn += amount;
                }
                break;
            default:
                rc = fb_store_transfer(r->race->store, b, a, amount,
                                       NULL, NULL, NULL);
                break;
            }

            if (rc == FB_STORE_OK) {
                r->ok++;
            } else if (rc != FB_STORE_INSUFFICIENT_FUNDS) {
                racer_error(r, "op on %" PRId64 " (count %" PRId64 "): %s",
                            a, n, fb_store_strerror(rc));
            }
        }

    } while (!last);

    return NULL;
}


static void
test_creates_race(void)
{
    int                i, n;
    char               want[32];
    long               j;
    int64_t            id, deposited, withdrawn, total;
    uint8_t           *seen;
    race_t             race;
    racer_t            r[CREATORS + CREATE_OPS];
    fb_account_t       a;
    fb_store_audit_t   au;

    memset(&race, 0, sizeof(race));
    race.store = new_store(0, CREATE_BASE, 1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(race.store);

    n = CREATORS + CREATE_OPS;
    CU_ASSERT_EQUAL_FATAL(pthread_barrier_init(&race.start, NULL,
                                               (unsigned) n), 0);
    fb_atomic_store_release(&race.creators_left, CREATORS);

    watchdog_arm();

    for (i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].race = &race;
        r[i].index = i;
        rng_seed(&r[i].rng, 100 + i);
        if (i < CREATORS) {
            r[i].ids = calloc(CREATES_EACH, sizeof(int64_t));
            CU_ASSERT_PTR_NOT_NULL_FATAL(r[i].ids);
        }
        CU_ASSERT_EQUAL_FATAL(pthread_create(&r[i].tid, NULL,
                                             i < CREATORS ? creator
                                                          : operator,
                                             &r[i]), 0);
    }

    for (i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(pthread_join(r[i].tid, NULL), 0);
    }

    alarm(0);
    pthread_barrier_destroy(&race.start);

    deposited = withdrawn = 0;
    for (i = 0; i < n; i++) {
        if (r[i].errors != 0) {
            printf("\n    thread %d: %ld errors, first: %s\n",
                   i, r[i].errors, r[i].first_error);
        }
        CU_ASSERT_EQUAL(r[i].errors, 0);
        deposited += r[i].deposited;
        withdrawn += r[i].withdrawn;
    }

    total = CREATE_BASE + (int64_t) CREATORS * CREATES_EACH;
    CU_ASSERT_EQUAL(fb_store_count(race.store), (uint64_t) total);

    /* The creators' ids are exactly CREATE_BASE+1 .. total, each once,
     * and each account carries the owner its creator gave it. */
    seen = calloc((size_t) total + 1, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(seen);

    for (i = 0; i < CREATORS; i++) {
        for (j = 0; j < CREATES_EACH; j++) {
            id = r[i].ids[j];
            if (id <= CREATE_BASE || id > total || seen[id]) {
                CU_FAIL("creators got a bad or repeated id");
                break;
            }
            seen[id] = 1;

            snprintf(want, sizeof(want), "c%d-%ld", i, j);
            if (fb_store_get(race.store, id, &a) != FB_STORE_OK
                || a.owner_len != strlen(want)
                || memcmp(a.owner, want, a.owner_len) != 0)
            {
                CU_FAIL("an account has the wrong owner");
                break;
            }

            /* Ids each creator got are increasing. */
            if (j > 0 && id <= r[i].ids[j - 1]) {
                CU_FAIL("ids not increasing");
                break;
            }
        }
        free(r[i].ids);
    }
    free(seen);

    fb_store_audit(race.store, &au);
    printf("\n    %" PRId64 " accounts, %ld ops by operators ",
           total, r[CREATORS].ok + r[CREATORS + 1].ok);
    CU_ASSERT_EQUAL(au.accounts, (uint64_t) total);
    CU_ASSERT_EQUAL(au.sum, CREATE_BASE * 1000 + deposited - withdrawn);
    CU_ASSERT(au.min_balance >= 0);

    fb_store_free(race.store);
}


/*
 * fb_atomic_u64_cas, which lets one of the workers that meet an accept()
 * failure in the same second log it: with the old value it swaps, with
 * another it leaves the value; and of many threads released together to
 * swap the same old value, exactly one wins, for a hundred rounds.
 */
#define CAS_THREADS  8
#define CAS_ROUNDS   100

typedef struct {
    fb_atomic_u64_t    word;
    pthread_barrier_t  start, done;
    int                wins[CAS_THREADS];
} cas_run_t;

typedef struct {
    cas_run_t  *run;
    int         i;
} cas_arg_t;

static void *
cas_claimant(void *arg)
{
    int         r;
    cas_arg_t  *a = arg;

    for (r = 0; r < CAS_ROUNDS; r++) {
        pthread_barrier_wait(&a->run->start);
        /* Round r claims r + 1 from r: one thread may take it. */
        if (fb_atomic_u64_cas(&a->run->word, (uint64_t) r,
                              (uint64_t) r + 1))
        {
            a->run->wins[a->i]++;
        }
        pthread_barrier_wait(&a->run->done);
    }
    return NULL;
}

static void
test_cas_one_winner(void)
{
    int             i, total = 0;
    pthread_t       tid[CAS_THREADS];
    cas_arg_t       args[CAS_THREADS];
    static cas_run_t  run;

    fb_atomic_u64_store(&run.word, 7);
    CU_ASSERT_FALSE(fb_atomic_u64_cas(&run.word, 6, 9));
    CU_ASSERT_EQUAL(fb_atomic_u64_load(&run.word), 7);
    CU_ASSERT_TRUE(fb_atomic_u64_cas(&run.word, 7, UINT64_MAX));
    CU_ASSERT_EQUAL(fb_atomic_u64_load(&run.word), UINT64_MAX);
    CU_ASSERT_FALSE(fb_atomic_u64_cas(&run.word, 7, 9));
    CU_ASSERT_EQUAL(fb_atomic_u64_load(&run.word), UINT64_MAX);

    fb_atomic_u64_store(&run.word, 0);
    memset(run.wins, 0, sizeof(run.wins));
    CU_ASSERT_FATAL(pthread_barrier_init(&run.start, NULL, CAS_THREADS) == 0);
    CU_ASSERT_FATAL(pthread_barrier_init(&run.done, NULL, CAS_THREADS) == 0);

    for (i = 0; i < CAS_THREADS; i++) {
        args[i].run = &run;
        args[i].i = i;
        CU_ASSERT_FATAL(pthread_create(&tid[i], NULL, cas_claimant, &args[i])
                        == 0);
    }
    for (i = 0; i < CAS_THREADS; i++) {
        pthread_join(tid[i], NULL);
        total += run.wins[i];
    }

    /* One winner a round: a load and a store would let several through. */
    CU_ASSERT_EQUAL(total, CAS_ROUNDS);
    CU_ASSERT_EQUAL(fb_atomic_u64_load(&run.word), CAS_ROUNDS);

    pthread_barrier_destroy(&run.start);
    pthread_barrier_destroy(&run.done);
}


static const fb_ctest_t  tests[] = {
    { "mixed: 2 accounts", test_mixed_two_accounts },
    { "mixed: 2 accounts, 1 stripe", test_mixed_two_accounts_one_stripe },
    { "mixed: 100,000 accounts", test_mixed_spread },
    { "transfers: 2 accounts, audits exact", test_transfers_two_accounts },
    { "transfers: 1,000 accounts, audits exact", test_transfers_spread },
    { "opposite transfers", test_opposite_transfers },
    { "opposite transfers, reversed stripes",
      test_opposite_transfers_reversed_stripes },
    { "opposite transfers, shared stripe",
      test_opposite_transfers_shared_stripe },
    { "readers see a transfer whole", test_transfer_order },
    { "readers see a transfer whole, shared stripe",
      test_transfer_order_shared_stripe },
    { "creates race operations", test_creates_race },
    { "compare-and-swap: one winner of many", test_cas_one_winner },
};


int
main(void)
{
    int           rc;
    const char   *env;

    env = getenv("FB_TEST_SEED");
    if (env != NULL && *env != '\0') {
        base_seed = strtoull(env, NULL, 0);
    } else {
        base_seed = (uint64_t) time(NULL) * 2654435761u ^ (uint64_t) getpid();
    }

    env = getenv("FB_TEST_WATCHDOG");
    if (env != NULL && atoi(env) > 0) {
        watchdog_seconds = (unsigned) atoi(env);
    }

    printf("test-stress: seed %" PRIu64 " (replay with FB_TEST_SEED=%" PRIu64
           ")\n", base_seed, base_seed);
    fflush(stdout);

    rc = fb_cunit_run("test-stress", "stress", NULL, NULL, tests,
                      sizeof(tests) / sizeof(tests[0]));

    printf("test-stress: seed %" PRIu64 "\n", base_seed);
    return rc;
}
