/*
 * test-powercut.c: nothing acknowledged is lost by a power cut.
 *
 * A kill -9 keeps the page cache (tests/test-crash.py), and the fault
 * tests' syncs sync nothing (tests/fb_io_fault.c), so neither can see a
 * reply sent before its record was fdatasync()ed.  Here tests/
 * fb_io_powercut.c keeps what the disk would hold after a power cut:
 * file contents as of their last sync, names as of the directory's last
 * fsync.  Several threads move money under --fsync always; each notes
 * every record it made (by LSN, with the balances it produced) and, once
 * the journal says it is durable, acknowledges it.  At a chosen file-
 * system call (a random one, or a random one of a random kind, before or
 * after its effect) the shim notes how many operations were acknowledged
 * and saves the disk as a power cut would leave it; the saved directory
 * is recovered and must:
 *
 *   - recover (a torn tail is cut; anything else is corruption);
 *   - hold every operation acknowledged before the cut: its LSN is at
 *     most the last one recovered;
 *   - hold exactly the records up to that LSN: every account has the
 *     balance the last of them touching it left, and the balances sum to
 *     what their deposits and withdrawals say.
 *
 * The same with snapshots every few records (rotations, snapshot.tmp
 * renamed into place, old segments deleted), with segments rotated by
 * size too, and, every few cuts, with the page cache kept (what a kill
 * -9 leaves).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "fb_cunit.h"
#include "fb_io_powercut.h"
#include "fb_jtest.h"
#include "fb_journal.h"
#include "fb_store.h"

#define PC_THREADS    4
#define PC_ACCOUNTS   16          /* created, give or take one a thread */
#define PC_CUTS       50
#define PC_MAX_LSN    (1u << 17)
#define PC_LATENCY    300         /* us each sync takes */
#define PC_BOUND      60          /* s: a hang, not a timing */
#define PC_MANY       20000       /* accounts before the snapshot case */

typedef struct {
    fb_op_type_e   type;
    int64_t        id, to, amount;
    int64_t        balance, to_balance;     /* after */
} pc_op_t;

/* pc_mutex protects everything below. */
static pthread_mutex_t   pc_mutex = PTHREAD_MUTEX_INITIALIZER;
static pc_op_t          *pc_ops;            /* by LSN */
static unsigned char    *pc_have;           /* pc_ops[lsn] is filled */
static uint64_t         *pc_acked;          /* LSNs, in acknowledgement order */
static size_t            pc_nacked;
static size_t            pc_taken;          /* pc_nacked at the cut */
static int               pc_stop;

typedef struct {
    pthread_t    tid;
    jt_pair_t   *p;
    uint64_t     seed;
} pc_worker_t;


static int
pc_stopping(void)
{
    int  stop;

    pthread_mutex_lock(&pc_mutex);
    stop = pc_stop;
    pthread_mutex_unlock(&pc_mutex);

    return stop;
}


/* The shim's call at the cut, under its mutex. */
static void
pc_take(void *arg)
{
    (void) arg;

    pthread_mutex_lock(&pc_mutex);
    pc_taken = pc_nacked;
    pthread_mutex_unlock(&pc_mutex);
}


/*
 * Waits for lsn to be durable: blocked in fb_journal_wait, or polling
 * fb_journal_durable after a pause, so that some acknowledgements come
 * while the writer is between its calls, not only once it woke waiters.
 */
static int
pc_wait(fb_journal_t *j, uint64_t lsn, jt_rng_t *r)
{
    int  d;

    if (jt_rng_next(r) % 2 == 0) {
        return fb_journal_wait(j, lsn);
    }

    for ( ;; ) {
        usleep((useconds_t) (jt_rng_next(r) % 200));
        d = fb_journal_durable(j, lsn);
        if (d != 0) {
            return d > 0 ? 0 : -1;
        }
    }
}


static void *
pc_worker(void *arg)
{
    char            owner[32];
    uint64_t        x, lsn, n, base;
    jt_rng_t        r;
    pc_op_t         op;
    pc_worker_t    *w = arg;
    fb_store_t     *s = w->p->s;
    fb_account_t    a;
    fb_store_rc_e   rc;

    jt_rng_seed(&r, w->seed);

    while (!pc_stopping()) {
        memset(&op, 0, sizeof(op));
        x = jt_rng_next(&r);
        n = fb_store_count(s);
        lsn = 0;

        if (n < 3 || (n < PC_ACCOUNTS && x % 20 == 0)) {
            op.type = FB_OP_CREATE;
            snprintf(owner, sizeof(owner), "owner %" PRIu64, x % 1000);
            rc = fb_store_create(s, owner, strlen(owner), &a);
            if (rc == FB_STORE_OK) {
                op.id = a.id;
                lsn = a.lsn;
            }
        } else {
            /* The last accounts: a snapshot's scan reads them last, so
             * its image holds changes made during the scan. */
            base = n > PC_ACCOUNTS ? n - PC_ACCOUNTS : 0;
            op.id = (int64_t) (base + 1 + jt_rng_next(&r) % (n - base));
            op.amount = 1 + (int64_t) (jt_rng_next(&r) % 5000);

            switch (x % 4) {
            case 0:
            case 1:
                op.type = FB_OP_DEPOSIT;
                rc = fb_store_deposit(s, op.id, op.amount, &op.balance, &lsn);
                break;
            case 2:
                op.type = FB_OP_WITHDRAW;
                rc = fb_store_withdraw(s, op.id, op.amount, &op.balance,
                                       &lsn);
                break;
            default:
                op.type = FB_OP_TRANSFER;
                op.to = (int64_t) (base + 1 + jt_rng_next(&r) % (n - base));
                if (op.to == op.id) {
                    op.to = op.id == (int64_t) n ? (int64_t) base + 1
                                                 : op.id + 1;
                }
                rc = fb_store_transfer(s, op.id, op.to, op.amount,
                                       &op.balance, &op.to_balance, &lsn);
                break;
            }
        }

        if (rc != FB_STORE_OK) {
            if (rc != FB_STORE_INSUFFICIENT_FUNDS) {
                /* The journal failed, or ran out of LSNs to note. */
                break;
            }
            continue;
        }

        if (lsn >= PC_MAX_LSN) {
            break;
        }

        pthread_mutex_lock(&pc_mutex);
        pc_ops[lsn] = op;
        pc_have[lsn] = 1;
        pthread_mutex_unlock(&pc_mutex);

        if (pc_wait(w->p->j, lsn, &r) != 0) {
            break;
        }

        pthread_mutex_lock(&pc_mutex);
        pc_acked[pc_nacked++] = lsn;
        pthread_mutex_unlock(&pc_mutex);
    }

    /* The main thread waits for cuts that no call of ours may bring. */
    pthread_mutex_lock(&pc_mutex);
    pc_stop = 1;
    pthread_mutex_unlock(&pc_mutex);
    fb_powercut_cancel();

    return NULL;
}


/* 0 once every record up to last is noted: a worker notes its record
 * just after the store returns. */
static int
pc_wait_noted(uint64_t last)
{
    int       i;
    uint64_t  lsn;

    for (i = 0; i < PC_BOUND * 1000; i++) {
        pthread_mutex_lock(&pc_mutex);
        for (lsn = 1; lsn <= last && pc_have[lsn]; lsn++) {
            /* void */
        }
        pthread_mutex_unlock(&pc_mutex);

        if (lsn > last) {
            return 0;
        }
        usleep(1000);
    }

    return -1;
}


/* The recovered store s against the records 1..last and the first taken
 * acknowledgements: 0, or -1 with why. */
static int
pc_check(fb_store_t *s, uint64_t last, size_t taken, char *why, size_t len)
{
    int64_t        n = 0, id, flow = 0, *balance;
    size_t         i;
    uint64_t       lsn;
    pc_op_t       *op;
    fb_account_t   a;

    pthread_mutex_lock(&pc_mutex);

    for (i = 0; i < taken; i++) {
        if (pc_acked[i] > last) {
            snprintf(why, len, "LSN %" PRIu64 " was acknowledged before the "
                     "cut, the journal recovered ends at %" PRIu64,
                     pc_acked[i], last);
            pthread_mutex_unlock(&pc_mutex);
            return -1;
        }
    }

    balance = calloc(PC_MANY + PC_ACCOUNTS + PC_THREADS + 1,
                     sizeof(*balance));
    if (balance == NULL) {
        snprintf(why, len, "calloc() failed");
        pthread_mutex_unlock(&pc_mutex);
        return -1;
    }

    for (lsn = 1; lsn <= last; lsn++) {
        op = &pc_ops[lsn];
        switch (op->type) {
        case FB_OP_CREATE:
            n = op->id;
            break;
        case FB_OP_DEPOSIT:
            balance[op->id] = op->balance;
            flow += op->amount;
            break;
        case FB_OP_WITHDRAW:
            balance[op->id] = op->balance;
            flow -= op->amount;
            break;
        default:
            balance[op->id] = op->balance;
            balance[op->to] = op->to_balance;
            break;
        }
    }

    pthread_mutex_unlock(&pc_mutex);

    if ((int64_t) fb_store_count(s) != n) {
        snprintf(why, len, "%" PRIu64 " accounts, the records up to %"
                 PRIu64 " create %" PRId64, fb_store_count(s), last, n);
        free(balance);
        return -1;
    }

    for (id = 1; id <= n; id++) {
        if (fb_store_get(s, id, &a) != FB_STORE_OK || a.balance != balance[id])
        {
            snprintf(why, len, "account %" PRId64 ": %" PRId64 ", the "
                     "records up to %" PRIu64 " leave %" PRId64, id,
                     a.balance, last, balance[id]);
            free(balance);
            return -1;
        }
    }

    free(balance);

    if (jt_store_sum(s) != flow) {
        snprintf(why, len, "the balances sum to %" PRId64 ", the deposits "
                 "and withdrawals up to %" PRIu64 " to %" PRId64,
                 jt_store_sum(s), last, flow);
        return -1;
    }

    return 0;
}


/*
 * Creates many accounts in dir and stops with a snapshot, before the
 * model is armed: their creates are noted as records 1..many.  A scan of
 * that many accounts lasts long enough for the workers' records to come
 * during it, in batches after the one the snapshot's rotation splits.
 */
static void
pc_many(const char *dir, int64_t many)
{
    int64_t       id;
    jt_pair_t     p;
    fb_account_t  a;

    CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, FB_FSYNC_ALWAYS, 0), 0);

    fb_journal_hold(p.j);
    for (id = 1; id <= many; id++) {
        CU_ASSERT_EQUAL_FATAL(fb_store_create(p.s, "many", 4, &a),
                              FB_STORE_OK);
        CU_ASSERT_EQUAL_FATAL(a.lsn, (uint64_t) id);
        pc_ops[id].type = FB_OP_CREATE;
        pc_ops[id].id = id;
        pc_have[id] = 1;
    }
    fb_journal_release(p.j);

    CU_ASSERT_EQUAL_FATAL(fb_journal_wait(p.j, (uint64_t) many), 0);
    jt_close(&p, 1);
}


static void
pc_run(uint64_t snapshot_records, int64_t many)
{
    int            i, rc, cuts = 0, torn = 0;
    char          *dir, *cut, why[256];
    size_t         taken;
    uint64_t       seed;
    jt_rng_t       r;
    jt_pair_t      p;
    pc_worker_t    w[PC_THREADS];
    fb_store_t    *s;
    fb_recovery_t  rec;
    const char    *what;
    static const char  *kinds[] = {
        NULL, NULL, "write", "pwrite", "fdatasync", "fsync", "open",
        "ftruncate", "rename", "unlink", "unlink", "unlink"
    };

    seed = jt_seed();
    printf("\n    seed %" PRIu64 " (FB_TEST_SEED)", seed);
    jt_rng_seed(&r, seed);

    pc_ops = calloc(PC_MAX_LSN, sizeof(*pc_ops));
    pc_have = calloc(PC_MAX_LSN, 1);
    pc_acked = calloc(PC_MAX_LSN, sizeof(*pc_acked));
    CU_ASSERT_FATAL(pc_ops != NULL && pc_have != NULL && pc_acked != NULL);
    pc_nacked = 0;
    pc_stop = 0;

    dir = jt_mkdir("powercut");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    fb_powercut_disarm();
    fb_powercut_latency(0);
    if (many > 0) {
        pc_many(dir, many);
    }

    /* Segments of 4 KiB rotate by size too; zeros written ahead 512
     * bytes at a time keep the files the model copies at each sync
     * small.  Armed after the start-up: its files count as durable as
     * they are, and so does the new segment (its header and zeros were
     * synced). */
    jt_segment_bytes = 4096;
    rc = jt_open_tuned(&p, dir, FB_FSYNC_ALWAYS, snapshot_records, 0, 512);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(fb_powercut_arm(dir), 0);
    fb_powercut_latency(PC_LATENCY);

    for (i = 0; i < PC_THREADS; i++) {
        w[i].p = &p;
        w[i].seed = seed + (uint64_t) i + 1;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&w[i].tid, NULL, pc_worker,
                                             &w[i]), 0);
    }

    for (i = 0; i < PC_CUTS && !pc_stopping(); i++) {
        cut = jt_mkdir("powercut-cut");
        CU_ASSERT_PTR_NOT_NULL_FATAL(cut);

        what = kinds[jt_rng_next(&r) % (sizeof(kinds) / sizeof(kinds[0]))];
        if (snapshot_records == 0 && what != NULL
            && (strcmp(what, "rename") == 0 || strcmp(what, "unlink") == 0))
        {
            what = "fdatasync";
        }

        fb_powercut_at(what, 1 + (long) (jt_rng_next(&r)
                                         % (what == NULL ? 200 : 10)),
                       (int) (jt_rng_next(&r) % 2), i % 5 == 4, cut, pc_take,
                       NULL);

        if (fb_powercut_wait(PC_BOUND) != 0) {
            fb_powercut_cancel();
            jt_rmdir(cut);
            if (!pc_stopping()) {
                CU_FAIL("no cut within the hang bound");
            }
            break;
        }

        pthread_mutex_lock(&pc_mutex);
        taken = pc_taken;
        pthread_mutex_unlock(&pc_mutex);

        jt_log_clear();
        s = jt_recover(cut, &rc, &rec);
        if (rc != FB_OK || s == NULL) {
            printf("\n    cut %d (%s, %s): recovery failed:\n%s", i,
                   what != NULL ? what : "any call",
                   i % 5 == 4 ? "page cache kept" : "power cut",
                   jt_log_text());
            CU_FAIL("a power cut left a directory that does not recover");
            if (s != NULL) {
                fb_store_free(s);
            }
            jt_rmdir(cut);
            break;
        }

        torn += rec.torn_bytes > 0;

        CU_ASSERT_EQUAL(pc_wait_noted(rec.last_seq), 0);
        if (pc_check(s, rec.last_seq, taken, why, sizeof(why)) != 0) {
            printf("\n    cut %d (%s, %s, %zu acknowledged): %s", i,
                   what != NULL ? what : "any call",
                   i % 5 == 4 ? "page cache kept" : "power cut", taken, why);
            CU_FAIL("the recovered store is not the acknowledged one");
            fb_store_free(s);
            jt_rmdir(cut);
            break;
        }

        fb_store_free(s);
        jt_rmdir(cut);
        cuts++;
    }

    pthread_mutex_lock(&pc_mutex);
    pc_stop = 1;
    pthread_mutex_unlock(&pc_mutex);

    for (i = 0; i < PC_THREADS; i++) {
        pthread_join(w[i].tid, NULL);
    }

    printf("\n    %d cuts, %d with a torn tail, %zu operations acknowledged\n"
           "    ", cuts, torn, pc_nacked);
    CU_ASSERT_FALSE(fb_journal_failed(p.j));
    CU_ASSERT(cuts >= PC_CUTS / 2);

    jt_close(&p, 0);
    fb_powercut_disarm();
    jt_rmdir(dir);

    free(pc_ops);
    free(pc_have);
    free(pc_acked);
}


static void
test_powercut(void)
{
    pc_run(0, 0);
}


static void
test_powercut_snapshots(void)
{
    pc_run(40, PC_MANY);
}


static const fb_ctest_t  tests[] = {
    { "a power cut keeps every acknowledged operation", test_powercut },
    { "... with snapshots every 40 records of 20,000 accounts",
      test_powercut_snapshots },
};


int
main(void)
{
    /* No sync reaches the disk (the model is the disk): a memory file
     * system, when there is one, keeps the churn off the real one. */
    if (getenv("TMPDIR") == NULL && access("/dev/shm", W_OK | X_OK) == 0) {
        jt_tmpdir = "/dev/shm";
    }

    return fb_cunit_run("test-powercut", "journal and power cuts", NULL,
                        NULL, tests, sizeof(tests) / sizeof(tests[0]));
}
