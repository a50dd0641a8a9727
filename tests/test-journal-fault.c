/*
 * test-journal-fault.c: I/O errors, after SQLite's I/O-error loop.
 *
 * For N = 0, 1, 2, ...: open a journal and a store in a fresh directory,
 * make the N-th file-system call fail (tests/fb_io_fault.c), run a fixed
 * mix of operations with a snapshot in the middle and an orderly stop,
 * then recover the directory with the faults off and check:
 *
 *   - recovery succeeds (a torn tail is cut; nothing else is damaged);
 *   - every acknowledged operation is in the recovered store, and nothing
 *     else: the one operation that was in flight when the journal failed
 *     was applied in memory but answered with a failure, and is not there
 *     (all of a transfer or none of it);
 *   - money adds up: the balances sum to what the acknowledged deposits
 *     and withdrawals say;
 *   - once the journal has failed, every mutation is refused and changes
 *     nothing, the in-flight record is reported not durable, and balances
 *     that were durable still are.
 *
 * The loop ends at the first N that no run reaches.  It runs twice: the
 * N-th call fails once, then every call from the N-th on fails (when
 * cutting the file back fails too, the in-flight operation may survive
 * the restart: the one outcome allowed besides its absence).
 *
 * Also here, since they need an fdatasync held back (fb_fault_hold): what
 * group commit's gather counts when records come during a sync, and what
 * a thread that asks whether a record is durable is told when the sync
 * that covers it ends, and the journal fails, while it asks (with the
 * journal compiled with a pause between two of its loads,
 * tests/fb_journal_peek.c).
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
#include "fb_io_fault.h"
#include "fb_jtest.h"
#include "fb_journal.h"
#include "fb_journal_peek.h"
#include "fb_store.h"

#define FAULT_OPS        60
#define FAULT_SNAPSHOT   30       /* a snapshot after this many operations */
#define FAULT_MAX_RUNS   2000     /* a bound, far above the calls one makes */


typedef struct {
    long   runs;
    long   journal_failed;
    long   in_flight;              /* runs with an applied, unacked op */
    long   survived;               /* ... that came back after restart */
} fault_tally_t;


static void
fault_run(long n, int persist, fault_tally_t *t, int *fired)
{
    int            i, rc, failed_seen = 0, have_maybe = 0;
    char          *dir, why[200];
    jt_rng_t       r;
    jt_op_t        op, maybe;
    jt_pair_t      p;
    jt_model_t     m, m_maybe;
    fb_store_t    *s;
    fb_account_t   a;

    dir = jt_mkdir("fault");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);

    jt_model_init(&m);
    memset(&maybe, 0, sizeof(maybe));
    jt_rng_seed(&r, 20251127);      /* the same mix every run */
    jt_log_clear();

    fb_fault_arm(n, persist);

    /* Zeros written ahead 512 bytes at a time: the segment's end moves
     * several times in a run, so a failing pwrite of zeros is met
     * mid-run too, not only when the segment is created. */
    if (jt_open_tuned(&p, dir, FB_FSYNC_ALWAYS, 0, 0, 512) == 0) {
        for (i = 0; i < FAULT_OPS; i++) {
            if (i == FAULT_SNAPSHOT) {
                /* May fail on its own; the journal must not. */
                (void) fb_journal_snapshot(p.j);
            }

            op = jt_run_op(&p, &m, &r);

            if (op.rc == FB_STORE_OK && !op.durable) {
                /* Applied in memory, never acknowledged. */
                CU_ASSERT(!have_maybe);
                have_maybe = 1;
                maybe = op;
            }

            if (failed_seen) {
                /* Once failed, nothing more gets in. */
                CU_ASSERT(op.rc != FB_STORE_OK);
                if (op.rc != FB_STORE_OK && op.rc != FB_STORE_LOG_FAILED
                    && op.rc != FB_STORE_INSUFFICIENT_FUNDS)
                {
                    CU_FAIL("an unexpected result after the failure");
                }
            }

            if (fb_journal_failed(p.j)) {
                failed_seen = 1;
            }
        }

        if (failed_seen) {
            t->journal_failed++;

            /* The in-memory store is the model plus the in-flight op. */
            m_maybe = m;
            if (have_maybe) {
                jt_model_apply(&m_maybe, &maybe);
                CU_ASSERT_NOT_EQUAL(fb_journal_wait(p.j, maybe.lsn), 0);
                CU_ASSERT_EQUAL(fb_store_get(p.s, maybe.id, &a), FB_STORE_OK);
                CU_ASSERT_NOT_EQUAL(fb_journal_wait(p.j, a.lsn), 0);
            }
            CU_ASSERT_EQUAL(jt_store_equals_model(p.s, &m_maybe, why,
                                                  sizeof(why)), 0);

            /* An account the failure did not touch reads as before. */
            for (i = 1; i <= m.n; i++) {
                if (have_maybe && (i == maybe.id || i == maybe.to)) {
                    continue;
                }
                CU_ASSERT_EQUAL(fb_store_get(p.s, i, &a), FB_STORE_OK);
                CU_ASSERT_EQUAL(fb_journal_wait(p.j, a.lsn), 0);
            }
        }
    }

    jt_close(&p, 1);

    *fired = fb_fault_fired();
    if (*fired && getenv("FB_TEST_VERBOSE") != NULL) {
        printf("\n    N=%ld%s: %s failed, journal %s", n,
               persist ? " on" : "", fb_fault_what(),
               failed_seen ? "failed" : "went on");
    }
    fb_fault_disarm();

    /* Restart: the durable state, whatever the fault was. */
    s = jt_recover(dir, &rc, NULL);
    if (rc != FB_OK) {
        printf("\nN=%ld persist=%d: recovery failed after %s failed:\n%s", n,
               persist, fb_fault_what(), jt_log_text());
    }
    CU_ASSERT_EQUAL_FATAL(rc, FB_OK);

    if (have_maybe) {
        t->in_flight++;
        m_maybe = m;
        jt_model_apply(&m_maybe, &maybe);
    }

    if (jt_store_equals_model(s, &m, why, sizeof(why)) == 0) {
        CU_ASSERT_EQUAL(jt_store_sum(s), m.deposited - m.withdrawn);
    } else if (persist && have_maybe
               && jt_store_equals_model(s, &m_maybe, why, sizeof(why)) == 0)
    {
        /* The cut failed too: the in-flight op survived, whole. */
        t->survived++;
        CU_ASSERT_EQUAL(jt_store_sum(s),
                        m_maybe.deposited - m_maybe.withdrawn);
    } else {
        printf("\nN=%ld persist=%d (%s failed): the recovered store is not "
               "the acknowledged one: %s\n", n, persist, fb_fault_what(), why);
        CU_FAIL("recovered store differs from the acknowledged operations");
    }

    fb_store_free(s);
    jt_rmdir(dir);
    t->runs++;
}


static void
fault_loop(int persist)
{
    int            fired = 1;
    long           n;
    fault_tally_t  t;

    memset(&t, 0, sizeof(t));

    for (n = 0; fired && n < FAULT_MAX_RUNS; n++) {
        fault_run(n, persist, &t, &fired);
    }

    CU_ASSERT(n < FAULT_MAX_RUNS);
    printf("\n    (%ld runs, the journal failed in %ld, an operation in "
           "flight in %ld, back after restart in %ld) ", t.runs,
           t.journal_failed, t.in_flight, t.survived);

    /* The loop reached the journal's own writes and syncs. */
    CU_ASSERT(t.journal_failed > 0);
    CU_ASSERT(t.in_flight > 0);
    if (!persist) {
        CU_ASSERT_EQUAL(t.survived, 0);
    }
}


/*
 * A notification linked before the journal fails is called when it fails,
 * and sees the failure; afterwards nothing is linked.
 */
static void
test_notify_on_failure(void)
{
    char          *dir;
    int64_t        balance;
    uint64_t       lsn;
    jt_pair_t      p;
    jt_notice_t    n;
    fb_account_t   a;

    dir = jt_mkdir("notify");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    jt_log_clear();
    CU_ASSERT_EQUAL_FATAL(jt_open_noticed(&p, &n, dir, &a), 0);
    CU_ASSERT_EQUAL_FATAL(jt_notice_link(&n, a.lsn + 1), FB_OK);

    /* The disk fails from the next call on: the record is appended in
     * memory, its write fails, and the journal with it. */
    fb_fault_arm(0, 1);
    CU_ASSERT_EQUAL(fb_store_deposit(p.s, a.id, 10, &balance, &lsn),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(jt_notice_wait(&n, 1), 0);
    CU_ASSERT_EQUAL(n.durable, -1);
    CU_ASSERT(fb_journal_failed(p.j));
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, lsn), -1);
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, a.lsn), 1);
    CU_ASSERT_EQUAL(jt_notice_link(&n, lsn), FB_DECLINED);
    fb_fault_disarm();

    jt_close(&p, 0);
    CU_ASSERT_EQUAL(jt_notice_calls(&n), 1);
    jt_notice_free(&n);
    jt_rmdir(dir);
}


/*
 * A gather counts the records that come once the sync before it has
 * ended, not those that came during it: their clients were answered by
 * an earlier sync.  The last batch holds two records; the next batch's
 * sync is held while two more come.  Once it returns, the writer gathers
 * anyway, and only the second record after that ends the gather
 * (--fsync-delay is ten minutes: nothing else can).
 */
static void
test_gather_after_sync(void)
{
    int                  i;
    char                *dir;
    int64_t              balance, sum;
    uint64_t             lsn, g, batches;
    jt_pair_t            p;
    jt_notice_t          n;
    fb_account_t         a;
    fb_journal_stats_t   st;

    fb_fault_disarm();
    dir = jt_mkdir("gather-sync");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(jt_open_gathering(&p, dir, &a), 0);
    CU_ASSERT_EQUAL_FATAL(jt_notice_init(&n, p.j), 0);

    /* Two more as one batch, the writer held in its sync.  A writer not
     * yet idle may take the first alone; it then gathers until the
     * release, by the same count, so the batch is the two either way. */
    fb_fault_hold(1);
    fb_journal_hold(p.j);
    for (i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(fb_store_deposit(p.s, a.id, 10, &balance, &lsn),
                        FB_STORE_OK);
    }
    fb_journal_release(p.j);
    if (fb_fault_wait_held(1, 60) != 0) {
        CU_FAIL("the batch's sync was not held");
        goto done;
    }

    /* Two come during the sync: as many as the last batch held. */
    for (i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(fb_store_deposit(p.s, a.id, 10, &balance, &lsn),
                        FB_STORE_OK);
    }
    fb_journal_stats(p.j, &st);
    g = st.gathers + 1;
    fb_fault_hold(0);

    if (jt_wait_gathers(&p, g) != 0) {
        CU_FAIL("records that came during the sync ended the gather "
                "before it began");
        goto done;
    }
    usleep(20000);
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, lsn), 0);
    fb_journal_stats(p.j, &st);
    batches = st.batches;

    /* One after the sync: one fewer than the count, still gathering. */
    if (fb_store_deposit(p.s, a.id, 10, &balance, &lsn) != FB_STORE_OK) {
        CU_FAIL("a deposit failed");
        goto done;
    }
    usleep(20000);
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, lsn), 0);
    fb_journal_stats(p.j, &st);
    CU_ASSERT_EQUAL(st.gathers_cut, g - 1);

    /* The second ends it: the four records in one batch. */
    CU_ASSERT_EQUAL(jt_notice_link(&n, lsn + 1), FB_OK);
    if (fb_store_deposit(p.s, a.id, 10, &balance, &lsn) != FB_STORE_OK
        || jt_notice_wait(&n, 1) != 0)
    {
        CU_FAIL("the second record after the sync did not end the gather");
        goto done;
    }
    CU_ASSERT_EQUAL(n.durable, 1);
    fb_journal_stats(p.j, &st);
    CU_ASSERT_EQUAL(st.gathers, g);
    CU_ASSERT_EQUAL(st.gathers_cut, g);
    CU_ASSERT_EQUAL(st.batches, batches + 1);

done:
    fb_fault_hold(0);
    CU_ASSERT_EQUAL(jt_close_recover(&p, dir, &sum), 0);
    jt_notice_free(&n);
    jt_rmdir(dir);
}


/*
 * A snapshot asks for a new segment after S0 while records up to S0 wait
 * in the buffer: the writer writes them to the old segment, syncs it, and
 * opens the new one.  Whichever of those fails, each record's answer
 * (durable or not) must agree with what recovery finds: a record on disk
 * must not have been answered 503 ("not recorded"), and a record answered
 * 200 must be there.  what/n: the call that fails (fb_fault_arm_only).
 */
static int  split_done;            /* the snapshot returned */

static void *
split_snapshot(void *arg)
{
    (void) fb_journal_snapshot(arg);
    __atomic_store_n(&split_done, 1, __ATOMIC_RELEASE);
    return NULL;
}


/*
 * Starts fb_journal_snapshot on a thread of its own (*t) and waits until
 * it has asked for its rotation: it creates snapshot.tmp in dir just
 * after, or returns at once if it cannot.  1 once snapshot.tmp is there,
 * 0 if the snapshot returned or neither came within the hang bound, -1
 * if the thread did not start (the failure recorded).
 */
static int
split_start(jt_pair_t *p, const char *dir, pthread_t *t)
{
    int   i;
    char  tmp[4096];

    split_done = 0;
    if (pthread_create(t, NULL, split_snapshot, p->j) != 0) {
        CU_FAIL("pthread_create() failed");
        return -1;
    }

    snprintf(tmp, sizeof(tmp), "%s/snapshot.tmp", dir);
    for (i = 0; i < 60000; i++) {
        if (access(tmp, F_OK) == 0) {
            return 1;
        }
        if (__atomic_load_n(&split_done, __ATOMIC_ACQUIRE)) {
            return 0;
        }
        usleep(1000);
    }

    return 0;
}

/*
 * Creates the account owner in p's journal and waits for it, then holds
 * the writer in the sync of a deposit of 10 (*held, its LSN) and appends
 * `more` deposits of 20 behind it (*last, the LSN of the last; NULL for
 * none).  0, or -1 (the test's failure recorded) if the writer's sync was
 * never held.
 */
static int
hold_with_more(jt_pair_t *p, const char *owner, fb_account_t *a, int more,
    uint64_t *held, uint64_t *last)
{
    int       i;
    uint64_t  lsn;

    CU_ASSERT_EQUAL_FATAL(fb_store_create(p->s, owner, strlen(owner), a),
                          FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_journal_wait(p->j, a->lsn), 0);

    fb_fault_hold(1);
    CU_ASSERT_EQUAL_FATAL(fb_store_deposit(p->s, a->id, 10, NULL, held),
                          FB_STORE_OK);
    if (fb_fault_wait_held(1, 60) != 0) {
        CU_FAIL("the writer's sync was not held");
        return -1;
    }

    for (i = 0; i < more; i++) {
        CU_ASSERT_EQUAL(fb_store_deposit(p->s, a->id, 20, NULL, &lsn),
                        FB_STORE_OK);
        if (last != NULL) {
            *last = lsn;
        }
    }

    return 0;
}


/*
 * The writer wakes only the waiters its batch made durable.  A
 * notification linked for a record waiting in the other buffer, while the
 * writer is held in the sync of the record before it, is not called when
 * that sync ends (the writer has gone on to hold the next one, after its
 * walk of the waiters), only when its own record's sync does.  Called
 * early, it finds its record not durable: the worker it wakes has no
 * reply to send and links itself again, and a caller that took the call
 * as the news would answer before the sync.
 */
static void
test_notify_not_early(void)
{
    char          *dir;
    int64_t        sum;
    uint64_t       lsn1, lsn2;
    jt_pair_t      p;
    jt_notice_t    n;
    fb_account_t   a;

    fb_fault_disarm();
    dir = jt_mkdir("notify-early");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, FB_FSYNC_ALWAYS, 0), 0);
    CU_ASSERT_EQUAL_FATAL(jt_notice_init(&n, p.j), 0);

    if (hold_with_more(&p, "Early", &a, 1, &lsn1, &lsn2) != 0) {
        goto done;
    }
    CU_ASSERT_EQUAL(jt_notice_link(&n, lsn2), FB_OK);

    /* The first sync ends; the writer walks the waiters, then holds the
     * second batch's sync. */
    fb_fault_release(1);
    CU_ASSERT_EQUAL(fb_journal_wait(p.j, lsn1), 0);
    if (fb_fault_wait_held(1, 60) != 0) {
        CU_FAIL("the second batch's sync was not held");
        goto done;
    }
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, lsn2), 0);
    CU_ASSERT_EQUAL(jt_notice_calls(&n), 0);

    /* Its own sync ends: called once, durable. */
    fb_fault_hold(0);
    CU_ASSERT_EQUAL_FATAL(jt_notice_wait(&n, 1), 0);
    CU_ASSERT_EQUAL(n.durable, 1);
    CU_ASSERT_EQUAL(jt_notice_calls(&n), 1);

done:
    fb_fault_hold(0);
    CU_ASSERT_EQUAL(jt_close_recover(&p, dir, &sum), 0);
    CU_ASSERT_EQUAL(sum, 30);
    jt_notice_free(&n);
    jt_rmdir(dir);
}


static void
split_rotation_fails(fb_fsync_e policy, const char *what, long n)
{
    int            i, rc, acked = 0, started = 0;
    char          *dir;
    uint64_t       lsn, lsn1;
    pthread_t      t;
    jt_pair_t      p;
    fb_store_t    *s;
    fb_account_t   a;

    fb_fault_disarm();
    dir = jt_mkdir("split-rotate");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    jt_log_clear();
    CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, policy, 0), 0);

    /* The writer held in a sync, two more records wait in the buffer. */
    if (hold_with_more(&p, "Split", &a, 2, &lsn1, &lsn) != 0) {
        goto done;
    }

    /* The held sync is the first fdatasync counted, the seal of the old
     * segment the second; an open fails the snapshot's own file too. */
    fb_fault_arm_only(what, n, strcmp(what, "fdatasync") != 0);
    if (split_start(&p, dir, &t) < 0) {
        goto done;
    }
    started = 1;
    fb_fault_hold(0);

    CU_ASSERT_EQUAL(fb_journal_wait(p.j, lsn1), 0);
    acked = fb_journal_wait(p.j, lsn) == 0;

    /* Records the seal synced are answered before the open fails. */
    for (i = 0; i < 60000 && !fb_journal_failed(p.j); i++) {
        usleep(1000);
    }
    if (!fb_journal_failed(p.j)) {
        printf("\n    %s, %s #%ld: the journal went on (%s failed) ",
               policy == FB_FSYNC_ALWAYS ? "always" : "batch", what, n,
               fb_fault_what());
    }
    CU_ASSERT(fb_journal_failed(p.j));

done:
    fb_fault_hold(0);
    if (started) {
        pthread_join(t, NULL);
    }
    jt_close(&p, 0);
    fb_fault_disarm();

    s = jt_recover(dir, &rc, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, FB_OK);
    CU_ASSERT_EQUAL(fb_store_get(s, a.id, &a), FB_STORE_OK);
    if (acked) {
        CU_ASSERT_EQUAL(a.balance, 50);
    } else {
        /* Answered "not recorded": it must not come back. */
        if (a.balance != 10) {
            printf("\n    answered 503, yet recovered: balance %" PRId64
                   " (10 acknowledged) ", a.balance);
        }
        CU_ASSERT_EQUAL(a.balance, 10);
    }
    fb_store_free(s);
    jt_rmdir(dir);
}


static void
test_split_rotation(void)
{
    static const fb_fsync_e  policies[] = { FB_FSYNC_ALWAYS, FB_FSYNC_BATCH };
    size_t  i;

    for (i = 0; i < 2; i++) {
        split_rotation_fails(policies[i], "open", 0);       /* the new one */
        split_rotation_fails(policies[i], "fsync", 0);      /* its dir */
        split_rotation_fails(policies[i], "fdatasync", 1);  /* the seal */
    }
}


/*
 * A snapshot's rotation seals the old segment with an fdatasync before
 * the records written to it just before the split count as synced: under
 * always they are answered once synced_lsn says so.  The writer is held
 * in the sync of one deposit while two more wait in the buffer and a
 * snapshot asks for a new segment after them; once that sync is let go,
 * the next fdatasync must be the seal (those two not yet durable), not
 * the new segment's, with the two already published.
 */
static void
test_split_sealed(void)
{
    int            rc, started = 0;
    char          *dir;
    int64_t        sum;
    uint64_t       lsn, lsn1;
    pthread_t      t;
    jt_pair_t      p;
    fb_account_t   a;

    fb_fault_disarm();
    dir = jt_mkdir("split-sealed");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, FB_FSYNC_ALWAYS, 0), 0);

    if (hold_with_more(&p, "Seal", &a, 2, &lsn1, &lsn) != 0) {
        goto done;
    }

    /* The snapshot then waits for the records it may hold to be
     * synced. */
    rc = split_start(&p, dir, &t);
    if (rc < 0) {
        goto done;
    }
    started = 1;
    CU_ASSERT_FATAL(rc == 1);

    /* The first sync ends; the writer writes the two, then seals. */
    fb_fault_release(1);
    CU_ASSERT_EQUAL(fb_journal_wait(p.j, lsn1), 0);
    if (fb_fault_wait_held(1, 60) != 0) {
        CU_FAIL("no fdatasync after the split");
        goto done;
    }
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, lsn), 0);

    fb_fault_hold(0);
    CU_ASSERT_EQUAL(fb_journal_wait(p.j, lsn), 0);

done:
    fb_fault_hold(0);
    if (started) {
        pthread_join(t, NULL);
    }
    CU_ASSERT_EQUAL(jt_close_recover(&p, dir, &sum), 0);
    CU_ASSERT_EQUAL(sum, 50);
    jt_rmdir(dir);
}


/*
 * A snapshot's image may hold changes made after S0; it counts (is renamed
 * into place) only once they are synced, or a power cut could leave it
 * holding money the journal lost.  The writer is held in a sync while a
 * deposit waits and a snapshot asks for a new segment after it; when the
 * snapshot opens its file, after the writer has taken that batch, a
 * deposit comes that its scan reads.  The writer's syncs are then let go
 * one at a time: when the snapshot is renamed, that deposit is durable.
 */
typedef struct {
    jt_pair_t     *p;
    int64_t        id;
    uint64_t       lsn;              /* the deposit the image holds */
    int            durable;          /* at the rename */
} image_t;

static void
image_deposit(void *arg)
{
    int       i;
    image_t  *im = arg;

    /* The writer has taken the batch up to S0: seal held.  On this
     * thread no CU_ASSERT: the test's thread checks im->lsn. */
    for (i = 0; i < 60000 && fb_fault_held_total() < 2; i++) {
        usleep(1000);
    }
    if (i == 60000
        || fb_store_deposit(im->p->s, im->id, 30, NULL, &im->lsn)
           != FB_STORE_OK)
    {
        im->lsn = 0;
    }
}

static void
image_renamed(void *arg)
{
    image_t  *im = arg;

    im->durable = fb_journal_durable(im->p->j, im->lsn);
}

static void
test_snapshot_image_synced(void)
{
    int            i, started = 0;
    long           held;
    char          *dir;
    int64_t        sum;
    uint64_t       lsn;
    pthread_t      t;
    jt_pair_t      p;
    image_t        im;
    fb_account_t   a;

    fb_fault_disarm();
    dir = jt_mkdir("image");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, FB_FSYNC_ALWAYS, 0), 0);

    if (hold_with_more(&p, "Image", &a, 1, &lsn, NULL) != 0) {
        goto done;
    }

    memset(&im, 0, sizeof(im));
    im.p = &p;
    im.id = a.id;
    im.durable = -2;

    fb_fault_before("open", "/snapshot.tmp", image_deposit, &im);
    fb_fault_before("rename", "/snapshot.tmp", image_renamed, &im);
    split_done = 0;
    if (pthread_create(&t, NULL, split_snapshot, p.j) != 0) {
        CU_FAIL("pthread_create() failed");
        goto done;
    }
    started = 1;

    /* One sync at a time, each let go once the one before was held. */
    held = 1;
    for (i = 0; i < 60000 && !__atomic_load_n(&split_done, __ATOMIC_ACQUIRE);
         i++)
    {
        if (fb_fault_held_total() >= held) {
            fb_fault_release(1);
            held++;
        }
        usleep(1000);
    }
    CU_ASSERT(i < 60000);
    CU_ASSERT(im.lsn > lsn);
    CU_ASSERT_EQUAL(im.durable, 1);

done:
    fb_fault_hold(0);
    if (started) {
        pthread_join(t, NULL);
    }
    fb_fault_before("open", "", NULL, NULL);
    fb_fault_before("rename", "", NULL, NULL);
    CU_ASSERT_EQUAL(jt_close_recover(&p, dir, &sum), 0);
    CU_ASSERT_EQUAL(sum, 60);
    jt_rmdir(dir);
}


/*
 * Records waiting in the other buffer when the journal fails are never
 * written: the failed sync's records were cut off, and a write after
 * them, and its sync, would publish an LSN past theirs, answering them
 * 200 as durable.  The writer is held in one deposit's sync while a
 * second waits; that sync fails once (the next would succeed).
 */
static void
test_no_write_after_failure(void)
{
    int            rc;
    char          *dir;
    uint64_t       lsn1, lsn2;
    jt_pair_t      p;
    fb_account_t   a;
    fb_store_t    *s;

    fb_fault_disarm();
    dir = jt_mkdir("after-fail");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, FB_FSYNC_ALWAYS, 0), 0);
    CU_ASSERT_EQUAL_FATAL(hold_with_more(&p, "Ada", &a, 1, &lsn1, &lsn2), 0);

    fb_fault_arm_only("fdatasync", 0, 0);
    fb_fault_hold(0);
    CU_ASSERT_EQUAL(fb_journal_wait(p.j, lsn1), -1);

    /* Whatever the writer was to do, done. */
    fb_journal_stop(p.j, 0);
    fb_fault_disarm();
    CU_ASSERT(fb_journal_failed(p.j));
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, lsn1), -1);
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, lsn2), -1);
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, a.lsn), 1);
    jt_close(&p, 0);

    s = jt_recover(dir, &rc, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, FB_OK);
    CU_ASSERT_EQUAL(fb_store_get(s, a.id, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 0);
    fb_store_free(s);
    jt_rmdir(dir);
}


/*
 * Start-up syncs the last segment before it takes its records as
 * durable: a process killed between a batch's write() and its sync left
 * that batch in the page cache only.  A failed sync there fails the
 * start-up, naming that segment; the next start-up, with the disk well
 * again, recovers everything.
 */
static void
test_startup_sync(void)
{
    int            rc, fired;
    char          *dir, seg[4096], line[4200];
    uint64_t       lsn;
    jt_pair_t      p;
    fb_account_t   a;
    fb_store_t    *s;

    dir = jt_mkdir("startsync");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, FB_FSYNC_ALWAYS, 0), 0);
    CU_ASSERT_EQUAL_FATAL(fb_store_create(p.s, "Ada", 3, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_store_deposit(p.s, a.id, 500, NULL, &lsn),
                          FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_journal_wait(p.j, lsn), 0);
    jt_close(&p, 0);
    snprintf(seg, sizeof(seg), "%s", jt_last_segment(dir));

    jt_log_clear();
    fb_fault_arm_only("fdatasync", 0, 0);
    s = jt_recover(dir, &rc, NULL);
    fired = fb_fault_fired();
    fb_fault_disarm();

    CU_ASSERT(fired);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_EQUAL(rc, FB_ERROR);
    snprintf(line, sizeof(line), "fdatasync() \"%s\" failed", seg);
    CU_ASSERT(jt_log_has(line));
    if (s != NULL) {
        fb_store_free(s);
    }

    s = jt_recover(dir, &rc, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, FB_OK);
    CU_ASSERT_EQUAL(fb_store_get(s, a.id, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 500);
    fb_store_free(s);
    jt_rmdir(dir);
}


typedef struct {
    fb_journal_t  *j;
    uint64_t       lsn;
    int            durable;
} late_ask_t;


static void *
late_ask(void *arg)
{
    late_ask_t  *a = arg;

    fb_jpeek_pause_acked(a->j);
    a->durable = fb_journal_durable(a->j, a->lsn);

    return NULL;
}


/*
 * A record made durable is durable, whenever the journal fails after it.
 * A worker asks about its record (fb_journal_durable) while the sync that
 * covers it runs, and is preempted right after it read the acknowledged
 * LSN; meanwhile that sync ends and is published, and the next batch's
 * write fails.  The worker then finds the journal failed: it must not
 * answer 503 ("not recorded") for a record that a restart brings back.
 */
static void
test_durable_then_failed(void)
{
    int            rc;
    char          *dir;
    uint64_t       lsn, lsn2;
    pthread_t      t;
    jt_pair_t      p;
    late_ask_t     ask;
    fb_account_t   a;
    fb_store_t    *s;

    dir = jt_mkdir("late");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, FB_FSYNC_ALWAYS, 0), 0);
    CU_ASSERT_EQUAL_FATAL(fb_store_create(p.s, "Ada", 3, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_journal_wait(p.j, a.lsn), 0);

    /* The deposit's sync is held; the worker asks and is preempted. */
    fb_fault_hold(1);
    CU_ASSERT_EQUAL_FATAL(fb_store_deposit(p.s, a.id, 10, NULL, &lsn),
                          FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_fault_wait_held(1, 60), 0);

    ask.j = p.j;
    ask.lsn = lsn;
    ask.durable = 0;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, late_ask, &ask), 0);
    CU_ASSERT_EQUAL(fb_jpeek_wait_paused(60), 0);

    /* The sync ends: the deposit is durable. */
    fb_fault_release(1);
    CU_ASSERT_EQUAL(fb_journal_wait(p.j, lsn), 0);
    fb_fault_hold(0);

    /* The next batch's write fails, and the journal with it. */
    fb_fault_arm_only("write", 0, 1);
    CU_ASSERT_EQUAL(fb_store_deposit(p.s, a.id, 20, NULL, &lsn2),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(fb_journal_wait(p.j, lsn2), -1);
    CU_ASSERT(fb_journal_failed(p.j));

    fb_jpeek_go();
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(ask.durable, 1);
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, lsn), 1);
    fb_fault_disarm();
    jt_close(&p, 0);

    /* What a restart brings back: the deposit the worker asked about. */
    s = jt_recover(dir, &rc, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, FB_OK);
    CU_ASSERT_EQUAL(fb_store_get(s, a.id, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 10);
    fb_store_free(s);
    jt_rmdir(dir);
}


static void
test_fail_once(void)
{
    fault_loop(0);
}


static void
test_fail_from_then_on(void)
{
    fault_loop(1);
}


static const fb_ctest_t  tests[] = {
    { "the N-th call fails once", test_fail_once },
    { "start-up syncs the last segment", test_startup_sync },
    { "every call from the N-th fails", test_fail_from_then_on },
    { "a notification sees the failure", test_notify_on_failure },
    { "a notification is not called before its record is synced",
      test_notify_not_early },
    { "a gather counts from the end of a sync", test_gather_after_sync },
    { "a snapshot's rotation fails after the split",
      test_split_rotation },
    { "a split's records are durable once the seal is synced",
      test_split_sealed },
    { "a snapshot counts once the changes it holds are synced",
      test_snapshot_image_synced },
    { "nothing is written once the journal failed",
      test_no_write_after_failure },
    { "durable before the journal failed: durable",
      test_durable_then_failed },
};


int
main(void)
{
    /*
     * Thousands of files are created and removed, and no sync reaches the
     * disk (fb_io_fault.c): a memory file system, when there is one, keeps
     * that churn off the disk that other tests fsync to.
     */
    if (getenv("TMPDIR") == NULL && access("/dev/shm", W_OK | X_OK) == 0) {
        jt_tmpdir = "/dev/shm";
    }

    return fb_cunit_run("test-journal-fault", "journal I/O errors", NULL,
                        NULL, tests, sizeof(tests) / sizeof(tests[0]));
}
