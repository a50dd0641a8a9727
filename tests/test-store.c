/*
 * test-store.c: unit tests of the account store: every operation and every
 * result code at its boundaries, the log hook, the audit, configuration
 * and allocation failures.
 *
 * Balances near INT64_MAX cannot be reached through 1,000,000-centavo
 * deposits in test time, and allocation failures cannot be caused from
 * outside, so the store under test is store/fb_store.c compiled by
 * tests/fb_store_peek.c, which adds fb_peek_set_balance() and failing
 * allocations and nothing else.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "fb_cunit.h"
#include "fb_store.h"
#include "fb_store_peek.h"
#include "fb_stest.h"


#define CHUNK_SLOTS   65536
#define SLOT_BYTES    32
#define MAX_LOG       64


/* What the log hook saw: each call, and the store as it was then. */
typedef struct {
    fb_op_t        op;
    char           owner[FB_OWNER_MAX_BYTES + 1];
    int            refused;         /* the hook returned non-zero */
    uint64_t       count_then;      /* fb_store_count() during the call */
    int            get_rc_then;     /* fb_store_get(op.id) during the call */
    int64_t        balance_then;
    int64_t        to_balance_then;
} log_entry_t;

typedef struct {
    fb_store_t    *store;           /* set after fb_store_new */
    int            fail_next;       /* refuse the next call */
    int            fail_always;
    size_t         n;
    log_entry_t    e[MAX_LOG];
} log_rec_t;


static int log_hook(void *ctx, const fb_op_t *op, uint64_t *lsn);
static fb_store_t *new_store(size_t stripes, uint64_t max, log_rec_t *rec);
static fb_store_t *new_logged(size_t stripes, uint64_t max, log_rec_t **rec);
static fb_store_t *store_with(int n);
static int64_t make_account(fb_store_t *s, const char *owner);
static void fund(fb_store_t *s, int64_t id, int64_t total);
static int64_t balance_of(fb_store_t *s, int64_t id);


/*
 * The hook records each call.  fb_store_count takes no lock, nor does
 * fb_store_get unless it meets another thread's transfer between its two
 * stores, which never happens while a hook of these tests runs; so
 * calling them here is safe, and shows what readers could see while the
 * hook ran: the state before the operation (write-ahead).  The
 * LSN it hands out is 1000 + the call's index, so that tests can tell
 * which call an LSN came from.
 */
static int
log_hook(void *ctx, const fb_op_t *op, uint64_t *lsn)
{
    log_rec_t     *rec = ctx;
    log_entry_t   *e;
    fb_account_t   a;

    if (rec->n == MAX_LOG) {
        return 1;
    }

    e = &rec->e[rec->n++];
    memset(e, 0, sizeof(*e));
    e->op = *op;

    if (op->owner != NULL) {
        memcpy(e->owner, op->owner, op->owner_len);
        e->op.owner = e->owner;
    }

    e->count_then = fb_store_count(rec->store);
    e->get_rc_then = fb_store_get(rec->store, op->id, &a);
    e->balance_then = e->get_rc_then == FB_STORE_OK ? a.balance : -1;

    if (op->type == FB_OP_TRANSFER
        && fb_store_get(rec->store, op->to_id, &a) == FB_STORE_OK)
    {
        e->to_balance_then = a.balance;
    }

    if (rec->fail_always || rec->fail_next) {
        rec->fail_next = 0;
        e->refused = 1;
        return -1;
    }

    *lsn = 1000 + rec->n - 1;
    return 0;
}


static fb_store_t *
new_store(size_t stripes, uint64_t max, log_rec_t *rec)
{
    fb_store_t       *s;
    fb_store_conf_t   conf;

    memset(&conf, 0, sizeof(conf));
    conf.stripes = stripes;
    conf.max_accounts = max;

    if (rec != NULL) {
        memset(rec, 0, sizeof(*rec));
        conf.log = log_hook;
        conf.log_ctx = rec;
    }

    s = fb_store_new(&conf);

    if (rec != NULL) {
        rec->store = s;
    }

    return s;
}


/* A store logging to *rec, which it allocates: the caller frees both. */
static fb_store_t *
new_logged(size_t stripes, uint64_t max, log_rec_t **rec)
{
    fb_store_t  *s;

    *rec = malloc(sizeof(**rec));
    CU_ASSERT_PTR_NOT_NULL_FATAL(*rec);
    s = new_store(stripes, max, *rec);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    return s;
}


/* A store with the defaults holding n (1 or 2) empty accounts: Alice,
 * id 1, and Bob, id 2. */
static fb_store_t *
store_with(int n)
{
    fb_store_t  *s;

    s = new_store(0, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(make_account(s, "Alice"), 1);
    if (n == 2) {
        CU_ASSERT_EQUAL(make_account(s, "Bob"), 2);
    }

    return s;
}


static int64_t
make_account(fb_store_t *s, const char *owner)
{
    fb_account_t  a;

    if (fb_store_create(s, owner, strlen(owner), &a) != FB_STORE_OK) {
        return -1;
    }

    return a.id;
}


/* Deposits total into id, more than FB_AMOUNT_MAX if need be. */
static void
fund(fb_store_t *s, int64_t id, int64_t total)
{
    CU_ASSERT_EQUAL_FATAL(st_fund(s, id, total), FB_STORE_OK);
}


static int64_t
balance_of(fb_store_t *s, int64_t id)
{
    fb_account_t  a;

    if (fb_store_get(s, id, &a) != FB_STORE_OK) {
        return -1;
    }

    return a.balance;
}


/* ---- configuration ---- */


static void
test_config_defaults(void)
{
    fb_store_t       *s;
    fb_store_conf_t   conf;

    s = fb_store_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(fb_store_count(s), 0);
    CU_ASSERT(fb_store_memory(s) >= FB_STORE_STRIPES_DEFAULT * 40);
    CU_ASSERT_EQUAL(make_account(s, "Alice"), 1);
    fb_store_free(s);

    memset(&conf, 0, sizeof(conf));
    s = fb_store_new(&conf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(make_account(s, "Bob"), 1);
    fb_store_free(s);

    fb_store_free(NULL);
}


static void
test_config_stripes(void)
{
    size_t       i;
    fb_store_t  *s;

    static const size_t  bad[] = {
        3, 5, 6, 7, 1000, 1023, 1025, (size_t) 1 << 17, ((size_t) 1 << 16) + 1,
        SIZE_MAX, SIZE_MAX / 2 + 1
    };
    static const size_t  good[] = { 1, 2, 4, 1024, (size_t) 1 << 16 };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        s = new_store(bad[i], 0, NULL);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_EQUAL(errno, EINVAL);
        fb_store_free(s);
    }

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        s = new_store(good[i], 0, NULL);
        CU_ASSERT_PTR_NOT_NULL(s);
        if (s != NULL) {
            CU_ASSERT_EQUAL(make_account(s, "Alice"), 1);
            CU_ASSERT_EQUAL(fb_store_deposit(s, 1, 5, NULL, NULL), FB_STORE_OK);
        }
        fb_store_free(s);
    }
}


static void
test_config_max_accounts(void)
{
    fb_store_t  *s;

    errno = 0;
    s = new_store(0, ((uint64_t) 1 << 32) + 1, NULL);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_EQUAL(errno, EINVAL);
    fb_store_free(s);

    errno = 0;
    s = new_store(0, UINT64_MAX, NULL);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_EQUAL(errno, EINVAL);
    fb_store_free(s);

    s = new_store(0, (uint64_t) 1 << 32, NULL);
    CU_ASSERT_PTR_NOT_NULL(s);
    fb_store_free(s);

    s = new_store(0, 1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(make_account(s, "Alice"), 1);
    fb_store_free(s);
}


/* ---- create ---- */


static void
test_create_dense_ids(void)
{
    int64_t        i;
    fb_store_t    *s;
    fb_account_t   a;

    s = new_store(4, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    for (i = 1; i <= 100; i++) {
        memset(&a, 0xff, sizeof(a));
        CU_ASSERT_EQUAL_FATAL(fb_store_create(s, "Ana", 3, &a), FB_STORE_OK);
        CU_ASSERT_EQUAL(a.id, i);
        CU_ASSERT_EQUAL(a.balance, 0);
        CU_ASSERT_EQUAL(fb_store_count(s), (uint64_t) i);
    }

    /* out may be NULL. */
    CU_ASSERT_EQUAL(fb_store_create(s, "Ana", 3, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(fb_store_count(s), 101);
    CU_ASSERT_EQUAL(fb_store_get(s, 101, NULL), FB_STORE_OK);

    fb_store_free(s);
}


static void
test_create_owner_bytes(void)
{
    size_t         i;
    char           buf[FB_OWNER_MAX_BYTES];
    char           big[FB_OWNER_MAX_BYTES];
    fb_store_t    *s;
    fb_account_t   a, g;

    static const struct {
        const char  *p;
        size_t       len;
    } owners[] = {
        { "Alice", 5 },
        { "N\xc3\xad" "colas", 8 },
        { "Zo\xc3\xab O'Brien", 12 },
        { "\xe6\x9d\x8e\xe5\xb0\x8f\xe9\xbe\x99", 9 },
        { "007", 3 },
        { "x", 1 },
        { "a\0b", 3 },               /* counted, not NUL-terminated */
        { "trailing  ", 10 },
    };

    s = new_store(0, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    for (i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
        memcpy(buf, owners[i].p, owners[i].len);
        CU_ASSERT_EQUAL_FATAL(fb_store_create(s, buf, owners[i].len, &a),
                              FB_STORE_OK);

        /* The store keeps its own copy. */
        memset(buf, '#', sizeof(buf));

        CU_ASSERT_EQUAL_FATAL(fb_store_get(s, a.id, &g), FB_STORE_OK);
        CU_ASSERT_EQUAL(g.owner_len, owners[i].len);
        CU_ASSERT(memcmp(g.owner, owners[i].p, owners[i].len) == 0);
        CU_ASSERT_EQUAL(g.owner[g.owner_len], '\0');
        CU_ASSERT_PTR_EQUAL(g.owner, a.owner);
        CU_ASSERT_EQUAL(a.owner_len, owners[i].len);
    }

    /* The longest owner, every byte value but NUL. */
    for (i = 0; i < sizeof(big); i++) {
        big[i] = (char) (1 + i % 255);
    }
    CU_ASSERT_EQUAL_FATAL(fb_store_create(s, big, sizeof(big), &a),
                          FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_store_get(s, a.id, &g), FB_STORE_OK);
    CU_ASSERT_EQUAL(g.owner_len, FB_OWNER_MAX_BYTES);
    CU_ASSERT(memcmp(g.owner, big, sizeof(big)) == 0);
    CU_ASSERT_EQUAL(g.owner[FB_OWNER_MAX_BYTES], '\0');

    fb_store_free(s);
}


static void
test_create_bad_owner(void)
{
    char         big[FB_OWNER_MAX_BYTES + 1];
    fb_store_t  *s;

    memset(big, 'a', sizeof(big));

    s = new_store(0, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    /* A caller's bug, told from a real shortage by errno (fb_store.h). */
    errno = 0;
    CU_ASSERT_EQUAL(fb_store_create(s, NULL, 5, NULL), FB_STORE_NOMEM);
    CU_ASSERT_EQUAL(errno, EINVAL);
    errno = 0;
    CU_ASSERT_EQUAL(fb_store_create(s, "Alice", 0, NULL), FB_STORE_NOMEM);
    CU_ASSERT_EQUAL(errno, EINVAL);
    errno = 0;
    CU_ASSERT_EQUAL(fb_store_create(s, big, sizeof(big), NULL),
                    FB_STORE_NOMEM);
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_EQUAL(fb_store_count(s), 0);
    CU_ASSERT_EQUAL(make_account(s, "Alice"), 1);

    fb_store_free(s);
}


static void
test_create_time(void)
{
    time_t         t0, t1;
    fb_store_t    *s;
    fb_account_t   a, g;

    s = new_store(0, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    t0 = time(NULL);
    CU_ASSERT_EQUAL_FATAL(fb_store_create(s, "Alice", 5, &a), FB_STORE_OK);
    t1 = time(NULL);

    CU_ASSERT(a.created >= t0 && a.created <= t1);
    CU_ASSERT_EQUAL_FATAL(fb_store_get(s, 1, &g), FB_STORE_OK);
    CU_ASSERT_EQUAL(g.created, a.created);

    fb_store_free(s);
}


static void
test_create_full(void)
{
    fb_store_t  *s;
    log_rec_t   *rec;

    s = new_logged(0, 3, &rec);

    CU_ASSERT_EQUAL(make_account(s, "A1"), 1);
    CU_ASSERT_EQUAL(make_account(s, "A2"), 2);
    CU_ASSERT_EQUAL(make_account(s, "A3"), 3);
    CU_ASSERT_EQUAL(fb_store_create(s, "A4", 2, NULL), FB_STORE_FULL);
    CU_ASSERT_EQUAL(fb_store_create(s, "A4", 2, NULL), FB_STORE_FULL);
    CU_ASSERT_EQUAL(fb_store_count(s), 3);
    CU_ASSERT_EQUAL(fb_store_get(s, 4, NULL), FB_STORE_NOT_FOUND);
    CU_ASSERT_EQUAL(rec->n, 3);

    /* A full store still serves the accounts it has. */
    CU_ASSERT_EQUAL(fb_store_deposit(s, 3, 10, NULL, NULL), FB_STORE_OK);

    fb_store_free(s);
    free(rec);
}


/* Ids 65,536 and 65,537 sit on either side of the first chunk boundary. */
static void
test_create_chunk_boundary(void)
{
    char           owner[32];
    size_t         m0, m1;
    int64_t        i;
    fb_store_t    *s;
    fb_account_t   a;

    s = new_store(0, CHUNK_SLOTS + 2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    m0 = fb_store_memory(s);
    CU_ASSERT_EQUAL(make_account(s, "o1"), 1);
    m1 = fb_store_memory(s);
    CU_ASSERT(m1 - m0 >= (size_t) CHUNK_SLOTS * SLOT_BYTES);

    for (i = 2; i <= CHUNK_SLOTS; i++) {
        snprintf(owner, sizeof(owner), "o%" PRId64, i);
        CU_ASSERT_EQUAL_FATAL(make_account(s, owner), i);
    }

    /* Short owners: the first arena block holds them all. */
    CU_ASSERT_EQUAL(fb_store_memory(s), m1);

    CU_ASSERT_EQUAL(make_account(s, "o65537"), CHUNK_SLOTS + 1);
    CU_ASSERT_EQUAL(fb_store_memory(s) - m1,
                    (size_t) CHUNK_SLOTS * SLOT_BYTES);
    CU_ASSERT_EQUAL(make_account(s, "o65538"), CHUNK_SLOTS + 2);
    CU_ASSERT_EQUAL(fb_store_create(s, "o65539", 6, NULL), FB_STORE_FULL);

    for (i = CHUNK_SLOTS - 2; i <= CHUNK_SLOTS + 2; i++) {
        CU_ASSERT_EQUAL(fb_store_deposit(s, i, i, NULL, NULL), FB_STORE_OK);
    }

    for (i = 1; i <= CHUNK_SLOTS + 2; i++) {
        snprintf(owner, sizeof(owner), "o%" PRId64, i);
        if (fb_store_get(s, i, &a) != FB_STORE_OK
            || a.owner_len != strlen(owner)
            || memcmp(a.owner, owner, a.owner_len) != 0
            || a.balance != (i >= CHUNK_SLOTS - 2 ? i : 0))
        {
            CU_FAIL("account across the chunk boundary is wrong");
            break;
        }
    }

    fb_store_free(s);
}


/* Owners of the largest size cross arena blocks; none is damaged. */
static void
test_create_arena_blocks(void)
{
    char           owner[FB_OWNER_MAX_BYTES];
    size_t         m0;
    int64_t        i, n;
    fb_store_t    *s;
    fb_account_t   a;

    s = new_store(0, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    n = 3 * ((1 << 20) / (FB_OWNER_MAX_BYTES + 1)) + 7;
    m0 = fb_store_memory(s);

    for (i = 1; i <= n; i++) {
        memset(owner, 'a' + (int) (i % 26), sizeof(owner));
        snprintf(owner, 16, "%" PRId64, i);
        CU_ASSERT_EQUAL_FATAL(fb_store_create(s, owner, sizeof(owner), NULL),
                              FB_STORE_OK);
    }

    /* Four 1 MiB blocks and one chunk. */
    CU_ASSERT_EQUAL(fb_store_memory(s) - m0,
                    4 * ((size_t) 1 << 20) + (size_t) CHUNK_SLOTS * SLOT_BYTES);

    for (i = 1; i <= n; i++) {
        memset(owner, 'a' + (int) (i % 26), sizeof(owner));
        snprintf(owner, 16, "%" PRId64, i);
        if (fb_store_get(s, i, &a) != FB_STORE_OK
            || a.owner_len != sizeof(owner)
            || memcmp(a.owner, owner, sizeof(owner)) != 0
            || a.owner[sizeof(owner)] != '\0')
        {
            CU_FAIL("owner damaged across arena blocks");
            break;
        }
    }

    fb_store_free(s);
}


/* ---- get, and ids that name no account ---- */


static void
test_get_missing_ids(void)
{
    size_t         i;
    int64_t        b1, b2;
    fb_store_t    *s;
    fb_account_t   a;

    static const int64_t  ids[] = {
        0, -1, -2, INT64_MIN, INT64_MIN + 1, 3, 4, 1000, INT64_MAX,
        INT64_MAX - 1,
        ((int64_t) 1 << 32) + 1,     /* 1 if truncated to 32 bits */
        ((int64_t) 1 << 32) + 2,
        -((int64_t) 1 << 32) + 1,
        ((int64_t) 1 << 16) + 1      /* a chunk that does not exist */
    };

    s = new_store(0, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(fb_store_get(s, 1, &a), FB_STORE_NOT_FOUND);
    CU_ASSERT_EQUAL(make_account(s, "Alice"), 1);
    CU_ASSERT_EQUAL(make_account(s, "Bob"), 2);
    fund(s, 1, 100);
    fund(s, 2, 100);

    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        CU_ASSERT_EQUAL(fb_store_get(s, ids[i], &a), FB_STORE_NOT_FOUND);
        CU_ASSERT_EQUAL(fb_store_get(s, ids[i], NULL), FB_STORE_NOT_FOUND);
        CU_ASSERT_EQUAL(fb_store_deposit(s, ids[i], 5, &b1, NULL),
                        FB_STORE_NOT_FOUND);
        CU_ASSERT_EQUAL(fb_store_withdraw(s, ids[i], 5, &b1, NULL),
                        FB_STORE_NOT_FOUND);
        CU_ASSERT_EQUAL(fb_store_transfer(s, 1, ids[i], 5, &b1, &b2, NULL),
                        FB_STORE_NOT_FOUND);
        CU_ASSERT_EQUAL(fb_store_transfer(s, ids[i], 1, 5, &b1, &b2, NULL),
                        FB_STORE_NOT_FOUND);
    }

    CU_ASSERT_EQUAL(balance_of(s, 1), 100);
    CU_ASSERT_EQUAL(balance_of(s, 2), 100);
    CU_ASSERT_EQUAL(fb_store_count(s), 2);

    CU_ASSERT_EQUAL_FATAL(fb_store_get(s, 2, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.id, 2);
    CU_ASSERT_EQUAL(a.balance, 100);
    CU_ASSERT_EQUAL(a.owner_len, 3);
    CU_ASSERT(memcmp(a.owner, "Bob", 3) == 0);

    fb_store_free(s);
}


/* ---- amounts, for all three operations ---- */


static const int64_t  bad_amounts[] = {
    0, -1, -1000000, FB_AMOUNT_MAX + 1, INT64_MIN, INT64_MIN + 1,
    INT64_MAX, (int64_t) 1 << 32, -((int64_t) 1 << 32) + 1
};


static void
test_amount_bounds(void)
{
    size_t       i;
    int64_t      b, b2;
    fb_store_t  *s;

    s = store_with(2);
    fund(s, 1, 5000000);

    for (i = 0; i < sizeof(bad_amounts) / sizeof(bad_amounts[0]); i++) {
        b = b2 = 42;
        CU_ASSERT_EQUAL(fb_store_deposit(s, 1, bad_amounts[i], &b, NULL),
                        FB_STORE_INVALID_AMOUNT);
        CU_ASSERT_EQUAL(fb_store_withdraw(s, 1, bad_amounts[i], &b, NULL),
                        FB_STORE_INVALID_AMOUNT);
        CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, bad_amounts[i], &b,
                                          &b2, NULL),
                        FB_STORE_INVALID_AMOUNT);

        /* The amount is checked first: before self transfer and ids. */
        CU_ASSERT_EQUAL(fb_store_deposit(s, 99, bad_amounts[i], &b, NULL),
                        FB_STORE_INVALID_AMOUNT);
        CU_ASSERT_EQUAL(fb_store_withdraw(s, 0, bad_amounts[i], &b, NULL),
                        FB_STORE_INVALID_AMOUNT);
        CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 1, bad_amounts[i], &b,
                                          &b2, NULL),
                        FB_STORE_INVALID_AMOUNT);
        CU_ASSERT_EQUAL(fb_store_transfer(s, 98, 99, bad_amounts[i], &b,
                                          &b2, NULL),
                        FB_STORE_INVALID_AMOUNT);

        /* Out-parameters are written only on success. */
        CU_ASSERT_EQUAL(b, 42);
        CU_ASSERT_EQUAL(b2, 42);
    }

    CU_ASSERT_EQUAL(balance_of(s, 1), 5000000);
    CU_ASSERT_EQUAL(balance_of(s, 2), 0);

    /* 1 and 1,000,000 are accepted by all three. */
    CU_ASSERT_EQUAL(fb_store_deposit(s, 2, 1, &b, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(b, 1);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 2, FB_AMOUNT_MAX, &b, NULL),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(b, 1000001);
    CU_ASSERT_EQUAL(fb_store_withdraw(s, 2, 1, &b, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(b, 1000000);
    CU_ASSERT_EQUAL(fb_store_withdraw(s, 2, FB_AMOUNT_MAX, &b, NULL),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(b, 0);
    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, 1, &b, &b2, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(b, 4999999);
    CU_ASSERT_EQUAL(b2, 1);
    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, FB_AMOUNT_MAX, &b, &b2, NULL),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(b, 3999999);
    CU_ASSERT_EQUAL(b2, 1000001);
    CU_ASSERT_EQUAL(balance_of(s, 1), 3999999);
    CU_ASSERT_EQUAL(balance_of(s, 2), 1000001);

    fb_store_free(s);
}


/* ---- deposit ---- */


static void
test_deposit(void)
{
    int64_t      b;
    fb_store_t  *s;

    s = store_with(2);

    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, 10000, &b, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(b, 10000);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, 15000, &b, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(b, 25000);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, 5, NULL, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(balance_of(s, 1), 25005);
    CU_ASSERT_EQUAL(balance_of(s, 2), 0);

    fb_store_free(s);
}


static void
test_deposit_overflow(void)
{
    int64_t      b;
    fb_store_t  *s;

    s = store_with(1);

    /* Up to INT64_MAX exactly. */
    CU_ASSERT_EQUAL(fb_peek_set_balance(s, 1, INT64_MAX - FB_AMOUNT_MAX), 0);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, FB_AMOUNT_MAX, &b, NULL),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(b, INT64_MAX);

    /* One more centavo would pass it; the check must not wrap either. */
    b = 42;
    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, 1, &b, NULL), FB_STORE_OVERFLOW);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, FB_AMOUNT_MAX, &b, NULL),
                    FB_STORE_OVERFLOW);
    CU_ASSERT_EQUAL(b, 42);
    CU_ASSERT_EQUAL(balance_of(s, 1), INT64_MAX);

    CU_ASSERT_EQUAL(fb_peek_set_balance(s, 1, INT64_MAX - 1), 0);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, 2, &b, NULL), FB_STORE_OVERFLOW);
    CU_ASSERT_EQUAL(balance_of(s, 1), INT64_MAX - 1);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, 1, &b, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(b, INT64_MAX);

    CU_ASSERT_EQUAL(fb_peek_set_balance(s, 1, INT64_MAX - FB_AMOUNT_MAX + 1),
                    0);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, FB_AMOUNT_MAX, &b, NULL),
                    FB_STORE_OVERFLOW);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, FB_AMOUNT_MAX - 1, &b, NULL),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(b, INT64_MAX);

    /* A withdraw from there works normally. */
    CU_ASSERT_EQUAL(fb_store_withdraw(s, 1, FB_AMOUNT_MAX, &b, NULL),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(b, INT64_MAX - FB_AMOUNT_MAX);

    fb_store_free(s);
}


/* ---- withdraw ---- */


static void
test_withdraw(void)
{
    int64_t      b;
    fb_store_t  *s;

    s = store_with(1);

    /* From an empty account. */
    b = 42;
    CU_ASSERT_EQUAL(fb_store_withdraw(s, 1, 1, &b, NULL),
                    FB_STORE_INSUFFICIENT_FUNDS);
    CU_ASSERT_EQUAL(b, 42);
    CU_ASSERT_EQUAL(balance_of(s, 1), 0);

    fund(s, 1, 1500000);

    /* One centavo more than the balance. */
    CU_ASSERT_EQUAL(fb_store_withdraw(s, 1, 1000000, &b, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(b, 500000);
    CU_ASSERT_EQUAL(fb_store_withdraw(s, 1, 500001, &b, NULL),
                    FB_STORE_INSUFFICIENT_FUNDS);
    CU_ASSERT_EQUAL(balance_of(s, 1), 500000);

    /* Exactly the balance. */
    CU_ASSERT_EQUAL(fb_store_withdraw(s, 1, 500000, &b, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(b, 0);
    CU_ASSERT_EQUAL(fb_store_withdraw(s, 1, 1, &b, NULL),
                    FB_STORE_INSUFFICIENT_FUNDS);
    CU_ASSERT_EQUAL(balance_of(s, 1), 0);

    fb_store_free(s);
}


/* ---- transfer ---- */


static void
test_transfer(void)
{
    int64_t      fb, tb;
    fb_store_t  *s;

    s = store_with(2);
    fund(s, 1, 20000);

    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, 5000, &fb, &tb, NULL),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(fb, 15000);
    CU_ASSERT_EQUAL(tb, 5000);

    /* Insufficient funds: one centavo more than the payer has. */
    fb = tb = 42;
    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, 15001, &fb, &tb, NULL),
                    FB_STORE_INSUFFICIENT_FUNDS);
    CU_ASSERT_EQUAL(fb, 42);
    CU_ASSERT_EQUAL(tb, 42);
    CU_ASSERT_EQUAL(balance_of(s, 1), 15000);
    CU_ASSERT_EQUAL(balance_of(s, 2), 5000);

    /* Exactly the payer's balance. */
    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, 15000, &fb, &tb, NULL),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(fb, 0);
    CU_ASSERT_EQUAL(tb, 20000);
    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, 1, NULL, NULL, NULL),
                    FB_STORE_INSUFFICIENT_FUNDS);

    /* And back, with NULL out-parameters. */
    CU_ASSERT_EQUAL(fb_store_transfer(s, 2, 1, 7, NULL, NULL, NULL),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(balance_of(s, 1), 7);
    CU_ASSERT_EQUAL(balance_of(s, 2), 19993);

    fb_store_free(s);
}


static void
test_transfer_self(void)
{
    int64_t      fb, tb;
    fb_store_t  *s;

    s = store_with(1);
    fund(s, 1, 100);

    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 1, 5, &fb, &tb, NULL),
                    FB_STORE_SELF_TRANSFER);
    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 1, 1000, &fb, &tb, NULL),
                    FB_STORE_SELF_TRANSFER);

    /* Self transfer is reported before existence. */
    CU_ASSERT_EQUAL(fb_store_transfer(s, 99, 99, 5, &fb, &tb, NULL),
                    FB_STORE_SELF_TRANSFER);
    CU_ASSERT_EQUAL(fb_store_transfer(s, 0, 0, 5, &fb, &tb, NULL),
                    FB_STORE_SELF_TRANSFER);
    CU_ASSERT_EQUAL(fb_store_transfer(s, -1, -1, 5, &fb, &tb, NULL),
                    FB_STORE_SELF_TRANSFER);

    CU_ASSERT_EQUAL(balance_of(s, 1), 100);

    fb_store_free(s);
}


static void
test_transfer_overflow(void)
{
    int64_t      fb, tb;
    fb_store_t  *s;

    s = store_with(2);
    fund(s, 1, 100);

    CU_ASSERT_EQUAL(fb_peek_set_balance(s, 2, INT64_MAX - 5), 0);
    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, 6, &fb, &tb, NULL),
                    FB_STORE_OVERFLOW);
    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, FB_AMOUNT_MAX, &fb, &tb, NULL),
                    FB_STORE_INSUFFICIENT_FUNDS);
    CU_ASSERT_EQUAL(balance_of(s, 1), 100);
    CU_ASSERT_EQUAL(balance_of(s, 2), INT64_MAX - 5);

    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, 5, &fb, &tb, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(fb, 95);
    CU_ASSERT_EQUAL(tb, INT64_MAX);

    /* Funds are checked before the payee's overflow. */
    CU_ASSERT_EQUAL(fb_peek_set_balance(s, 1, 0), 0);
    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, 1, &fb, &tb, NULL),
                    FB_STORE_INSUFFICIENT_FUNDS);

    /* The payer at INT64_MAX can still pay out. */
    CU_ASSERT_EQUAL(fb_store_transfer(s, 2, 1, FB_AMOUNT_MAX, &fb, &tb, NULL),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(fb, INT64_MAX - FB_AMOUNT_MAX);
    CU_ASSERT_EQUAL(tb, FB_AMOUNT_MAX);

    fb_store_free(s);
}


/* Accounts sharing a stripe, and stripe order against id order. */
static void
test_transfer_stripes(void)
{
    size_t       k;
    int64_t      i, fb, tb;
    fb_store_t  *s;

    static const size_t  stripes[] = { 1, 2, 4 };

    for (k = 0; k < sizeof(stripes) / sizeof(stripes[0]); k++) {
        s = new_store(stripes[k], 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);

        for (i = 1; i <= 8; i++) {
            CU_ASSERT_EQUAL_FATAL(make_account(s, "Ana"), i);
            fund(s, i, 1000);
        }

        /* 1 and 5 share a stripe here; with 4 stripes, 4's stripe (0)
         * comes before 3's (3). */
        CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 5, 10, &fb, &tb, NULL),
                        FB_STORE_OK);
        CU_ASSERT_EQUAL(fb, 990);
        CU_ASSERT_EQUAL(tb, 1010);
        CU_ASSERT_EQUAL(fb_store_transfer(s, 5, 1, 10, &fb, &tb, NULL),
                        FB_STORE_OK);
        CU_ASSERT_EQUAL(fb_store_transfer(s, 3, 4, 10, &fb, &tb, NULL),
                        FB_STORE_OK);
        CU_ASSERT_EQUAL(fb_store_transfer(s, 4, 3, 20, &fb, &tb, NULL),
                        FB_STORE_OK);
        CU_ASSERT_EQUAL(fb, 990);
        CU_ASSERT_EQUAL(tb, 1010);
        CU_ASSERT_EQUAL(fb_store_transfer(s, 8, 1, 1000, &fb, &tb, NULL),
                        FB_STORE_OK);

        CU_ASSERT_EQUAL(balance_of(s, 1), 2000);
        CU_ASSERT_EQUAL(balance_of(s, 3), 1010);
        CU_ASSERT_EQUAL(balance_of(s, 4), 990);
        CU_ASSERT_EQUAL(balance_of(s, 5), 1000);
        CU_ASSERT_EQUAL(balance_of(s, 8), 0);

        fb_store_free(s);
    }
}


/*
 * A transfer stores the payer's balance, then the payee's.  Held between
 * the two stores (a test door pauses it there, its stripes held), a
 * reader that has seen the payer debited must then see the payee
 * credited, and the LSN of the transfer with the debit: no reader ever
 * sees the money in neither account.
 */
static void *
transfer_5(void *arg)
{
    fb_store_t  *s = arg;

    return fb_store_transfer(s, 1, 2, 5, NULL, NULL, NULL) == FB_STORE_OK
           ? s : NULL;
}


static void
test_transfer_seen_whole(void)
{
    size_t           k;
    void            *ok;
    pthread_t        t;
    fb_store_t      *s;
    log_rec_t       *rec;
    fb_account_t     a, b;
    struct timespec  tick = { 0, 1000 * 1000 };

    static const size_t  stripes[] = { 1, 1024 };

    for (k = 0; k < sizeof(stripes) / sizeof(stripes[0]); k++) {
        s = new_logged(stripes[k], 0, &rec);
        CU_ASSERT_EQUAL_FATAL(make_account(s, "Payer"), 1);
        CU_ASSERT_EQUAL_FATAL(make_account(s, "Payee"), 2);
        fund(s, 1, 100);
        CU_ASSERT_EQUAL_FATAL(fb_peek_pause_after_balance(s, 1, 200), 0);

        CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, transfer_5, s), 0);
        while (!fb_peek_paused()) {
            nanosleep(&tick, NULL);
        }

        CU_ASSERT_EQUAL(fb_store_get(s, 1, &a), FB_STORE_OK);
        CU_ASSERT_EQUAL(fb_store_get(s, 2, &b), FB_STORE_OK);
        CU_ASSERT_EQUAL(pthread_join(t, &ok), 0);
        CU_ASSERT_PTR_EQUAL(ok, s);

        CU_ASSERT_EQUAL(a.balance, 95);
        CU_ASSERT_EQUAL(b.balance, 5);
        CU_ASSERT_EQUAL(rec->n, 4);
        CU_ASSERT_EQUAL(a.lsn, 1003);
        CU_ASSERT_EQUAL(b.lsn, 1003);

        fb_store_free(s);
        free(rec);
    }
}


/*
 * The other half of the same promise, from the reader's side.
 * fb_store_get loads the balance before the lsn, so that a read finding
 * the debit finds FB_LSN_APPLYING too (or the lsn stored after the
 * credit), and the transfer stores the debit before the credit, so that a
 * read finding the credit finds the debit.  A test door holds a read of
 * the payer between its two loads while the transfer moves on: to between
 * its debit and its credit, then, with the payee read credited, to its
 * end.  Either way the two reads, one after the other, find the money in
 * exactly one account.
 */
typedef struct {
    fb_store_t  *s;
    pthread_t    t;
    int          started;
    int          joined;
} held_t;


static void
transfer_until_paused(void *arg)
{
    held_t           *h = arg;
    struct timespec   tick = { 0, 1000 * 1000 };

    if (pthread_create(&h->t, NULL, transfer_5, h->s) != 0) {
        return;
    }

    h->started = 1;
    while (!fb_peek_paused()) {
        nanosleep(&tick, NULL);
    }
}


static void
transfer_to_its_end(void *arg)
{
    held_t  *h = arg;
    void    *ok;

    h->joined = pthread_join(h->t, &ok) == 0 && ok == h->s;
}


static void
test_transfer_seen_whole_between_loads(void)
{
    size_t          k;
    held_t          h;
    fb_store_t     *s;
    fb_account_t    a, b;

    static const size_t  stripes[] = { 1, 1024 };

    for (k = 0; k < sizeof(stripes) / sizeof(stripes[0]); k++) {
        s = new_store(stripes[k], 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL_FATAL(make_account(s, "Payer"), 1);
        CU_ASSERT_EQUAL_FATAL(make_account(s, "Payee"), 2);
        fund(s, 1, 100);

        /* The payer read first: the debit lands between its loads. */
        memset(&h, 0, sizeof(h));
        h.s = s;
        CU_ASSERT_EQUAL_FATAL(fb_peek_pause_after_balance(s, 1, 200), 0);
        CU_ASSERT_EQUAL_FATAL(fb_peek_after_first_load(s, 1,
                              transfer_until_paused, &h), 0);
        CU_ASSERT_EQUAL(fb_store_get(s, 1, &a), FB_STORE_OK);
        CU_ASSERT_EQUAL(fb_store_get(s, 2, &b), FB_STORE_OK);
        CU_ASSERT_EQUAL_FATAL(h.started, 1);
        transfer_to_its_end(&h);
        CU_ASSERT(h.joined);
        CU_ASSERT_EQUAL(a.balance, 95);
        CU_ASSERT_EQUAL(b.balance, 5);

        /* The payee read first, credited; the transfer ends between the
         * two loads of the payer read that follows. */
        memset(&h, 0, sizeof(h));
        h.s = s;
        CU_ASSERT_EQUAL_FATAL(fb_peek_pause_after_balance(s, 2, 200), 0);
        transfer_until_paused(&h);
        CU_ASSERT_EQUAL_FATAL(h.started, 1);
        CU_ASSERT_EQUAL(fb_store_get(s, 2, &b), FB_STORE_OK);
        CU_ASSERT_EQUAL_FATAL(fb_peek_after_first_load(s, 1,
                              transfer_to_its_end, &h), 0);
        CU_ASSERT_EQUAL(fb_store_get(s, 1, &a), FB_STORE_OK);
        CU_ASSERT(h.joined);
        CU_ASSERT_EQUAL(b.balance, 10);
        CU_ASSERT_EQUAL(a.balance, 90);

        fb_store_free(s);
    }
}


/* ---- the log hook ---- */


static void
test_log_order(void)
{
    int64_t        b, b2;
    fb_store_t    *s;
    log_rec_t     *rec;
    log_entry_t   *e;
    fb_account_t   a;

    s = new_logged(0, 0, &rec);

    CU_ASSERT_EQUAL_FATAL(fb_store_create(s, "Alice", 5, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(make_account(s, "Bob"), 2);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, 100, &b, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(fb_store_withdraw(s, 1, 30, &b, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, 20, &b, &b2, NULL), FB_STORE_OK);

    /* Refused operations reach no log. */
    CU_ASSERT_EQUAL(fb_store_withdraw(s, 2, 21, &b, NULL),
                    FB_STORE_INSUFFICIENT_FUNDS);
    CU_ASSERT_EQUAL(fb_store_transfer(s, 2, 1, 21, &b, &b2, NULL),
                    FB_STORE_INSUFFICIENT_FUNDS);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, 0, &b, NULL),
                    FB_STORE_INVALID_AMOUNT);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 3, 1, &b, NULL), FB_STORE_NOT_FOUND);
    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 1, 1, &b, &b2, NULL),
                    FB_STORE_SELF_TRANSFER);
    CU_ASSERT_EQUAL(fb_peek_set_balance(s, 2, INT64_MAX), 0);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 2, 1, &b, NULL), FB_STORE_OVERFLOW);
    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, 1, &b, &b2, NULL),
                    FB_STORE_OVERFLOW);

    CU_ASSERT_EQUAL_FATAL(rec->n, 5);

    e = &rec->e[0];
    CU_ASSERT_EQUAL(e->op.type, FB_OP_CREATE);
    CU_ASSERT_EQUAL(e->op.id, 1);
    CU_ASSERT_EQUAL(e->op.created, a.created);
    CU_ASSERT_EQUAL(e->op.owner_len, 5);
    CU_ASSERT(memcmp(e->owner, "Alice", 5) == 0);
    CU_ASSERT_EQUAL(e->op.balance, 0);
    CU_ASSERT_EQUAL(e->count_then, 0);              /* not yet visible */
    CU_ASSERT_EQUAL(e->get_rc_then, FB_STORE_NOT_FOUND);

    e = &rec->e[1];
    CU_ASSERT_EQUAL(e->op.type, FB_OP_CREATE);
    CU_ASSERT_EQUAL(e->op.id, 2);
    CU_ASSERT_EQUAL(e->op.owner_len, 3);
    CU_ASSERT(memcmp(e->owner, "Bob", 3) == 0);
    CU_ASSERT_EQUAL(e->count_then, 1);
    CU_ASSERT_EQUAL(e->get_rc_then, FB_STORE_NOT_FOUND);

    e = &rec->e[2];
    CU_ASSERT_EQUAL(e->op.type, FB_OP_DEPOSIT);
    CU_ASSERT_EQUAL(e->op.id, 1);
    CU_ASSERT_EQUAL(e->op.amount, 100);
    CU_ASSERT_EQUAL(e->op.balance, 100);
    CU_ASSERT_PTR_NULL(e->op.owner);
    CU_ASSERT_EQUAL(e->balance_then, 0);            /* write-ahead */

    e = &rec->e[3];
    CU_ASSERT_EQUAL(e->op.type, FB_OP_WITHDRAW);
    CU_ASSERT_EQUAL(e->op.id, 1);
    CU_ASSERT_EQUAL(e->op.amount, 30);
    CU_ASSERT_EQUAL(e->op.balance, 70);
    CU_ASSERT_EQUAL(e->balance_then, 100);

    e = &rec->e[4];
    CU_ASSERT_EQUAL(e->op.type, FB_OP_TRANSFER);
    CU_ASSERT_EQUAL(e->op.id, 1);
    CU_ASSERT_EQUAL(e->op.to_id, 2);
    CU_ASSERT_EQUAL(e->op.amount, 20);
    CU_ASSERT_EQUAL(e->op.balance, 50);
    CU_ASSERT_EQUAL(e->op.to_balance, 20);
    CU_ASSERT_EQUAL(e->balance_then, 70);
    CU_ASSERT_EQUAL(e->to_balance_then, 0);

    fb_store_free(s);
    free(rec);
}


static void
test_log_failure_changes_nothing(void)
{
    size_t              m;
    int64_t             b, b2;
    fb_store_t         *s;
    log_rec_t          *rec;
    fb_account_t        a;
    fb_store_audit_t    au;

    s = new_logged(0, 0, &rec);

    /* A refused create: no account, no id consumed, no arena bytes. */
    CU_ASSERT_EQUAL(make_account(s, "Alice"), 1);
    m = fb_store_memory(s);
    rec->fail_next = 1;
    CU_ASSERT_EQUAL(fb_store_create(s, "Mallory", 7, &a),
                    FB_STORE_LOG_FAILED);
    CU_ASSERT_EQUAL(rec->n, 2);
    CU_ASSERT(rec->e[1].refused);
    CU_ASSERT_EQUAL(rec->e[1].op.id, 2);
    CU_ASSERT_EQUAL_FATAL(fb_store_count(s), 1);
    CU_ASSERT_EQUAL(fb_store_get(s, 2, NULL), FB_STORE_NOT_FOUND);
    CU_ASSERT_EQUAL(fb_store_memory(s), m);

    CU_ASSERT_EQUAL_FATAL(fb_store_create(s, "Bob", 3, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.id, 2);
    CU_ASSERT_EQUAL(rec->e[2].op.id, 2);
    CU_ASSERT_EQUAL_FATAL(fb_store_get(s, 2, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.owner_len, 3);
    CU_ASSERT(memcmp(a.owner, "Bob", 4) == 0);
    /* Alice's bytes, just before Bob's in the arena, are intact. */
    CU_ASSERT_EQUAL_FATAL(fb_store_get(s, 1, &a), FB_STORE_OK);
    CU_ASSERT(memcmp(a.owner, "Alice", 6) == 0);

    fund(s, 1, 1000);
    fund(s, 2, 500);

    rec->fail_next = 1;
    b = 42;
    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, 10, &b, NULL), FB_STORE_LOG_FAILED);
    CU_ASSERT_EQUAL(b, 42);
    CU_ASSERT_EQUAL(balance_of(s, 1), 1000);

    rec->fail_next = 1;
    CU_ASSERT_EQUAL(fb_store_withdraw(s, 1, 10, &b, NULL), FB_STORE_LOG_FAILED);
    CU_ASSERT_EQUAL(b, 42);
    CU_ASSERT_EQUAL(balance_of(s, 1), 1000);

    rec->fail_next = 1;
    b2 = 42;
    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, 10, &b, &b2, NULL),
                    FB_STORE_LOG_FAILED);
    CU_ASSERT_EQUAL(b, 42);
    CU_ASSERT_EQUAL(b2, 42);
    CU_ASSERT_EQUAL(balance_of(s, 1), 1000);
    CU_ASSERT_EQUAL(balance_of(s, 2), 500);

    /* A log that refuses everything leaves the store as it was. */
    rec->fail_always = 1;
    CU_ASSERT_EQUAL(fb_store_create(s, "Carol", 5, NULL),
                    FB_STORE_LOG_FAILED);
    CU_ASSERT_EQUAL(fb_store_create(s, "Carol", 5, NULL),
                    FB_STORE_LOG_FAILED);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 2, 1, NULL, NULL), FB_STORE_LOG_FAILED);
    CU_ASSERT_EQUAL(fb_store_transfer(s, 2, 1, 1, NULL, NULL, NULL),
                    FB_STORE_LOG_FAILED);

    fb_store_audit(s, &au);
    CU_ASSERT_EQUAL(au.accounts, 2);
    CU_ASSERT_EQUAL(au.sum, 1500);
    CU_ASSERT_EQUAL(fb_store_count(s), 2);

    rec->fail_always = 0;
    CU_ASSERT_EQUAL(make_account(s, "Carol"), 3);
    CU_ASSERT_EQUAL(fb_store_deposit(s, 2, 1, &b, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(b, 501);

    fb_store_free(s);
    free(rec);
}


/* Each refused create gives its owner's arena bytes back: more of them
 * than one arena block holds leave the memory where it was. */
static void
test_log_failure_gives_bytes_back(void)
{
    int           k;
    char          owner[FB_OWNER_MAX_BYTES];
    size_t        m;
    fb_store_t   *s;
    log_rec_t    *rec;

    s = new_logged(0, 0, &rec);
    CU_ASSERT_EQUAL_FATAL(make_account(s, "Alice"), 1);
    m = fb_store_memory(s);

    rec->fail_always = 1;
    memset(owner, 'm', sizeof(owner));

    for (k = 0; k < 3 * ((1 << 20) / (FB_OWNER_MAX_BYTES + 1)); k++) {
        if (fb_store_create(s, owner, sizeof(owner), NULL)
            != FB_STORE_LOG_FAILED)
        {
            CU_FAIL("a refused create did not fail");
            break;
        }
    }

    CU_ASSERT_EQUAL(fb_store_memory(s), m);
    CU_ASSERT_EQUAL(fb_store_count(s), 1);

    fb_store_free(s);
    free(rec);
}


/* ---- LSNs, restore, barrier ---- */


static void
test_lsn(void)
{
    int64_t        b, b2;
    uint64_t       lsn;
    fb_store_t    *s;
    log_rec_t     *rec;
    fb_account_t   a;

    s = new_logged(4, 0, &rec);

    /* The hook's LSN comes back to the caller and stays with the account. */
    CU_ASSERT_EQUAL_FATAL(fb_store_create(s, "Alice", 5, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.lsn, 1000);
    CU_ASSERT_EQUAL_FATAL(fb_store_create(s, "Bob", 3, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.lsn, 1001);
    CU_ASSERT_EQUAL_FATAL(fb_store_get(s, 1, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.lsn, 1000);

    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, 100, &b, &lsn), FB_STORE_OK);
    CU_ASSERT_EQUAL(lsn, 1002);
    CU_ASSERT_EQUAL(fb_store_withdraw(s, 1, 10, &b, &lsn), FB_STORE_OK);
    CU_ASSERT_EQUAL(lsn, 1003);
    CU_ASSERT_EQUAL(fb_store_get(s, 1, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.lsn, 1003);
    CU_ASSERT_EQUAL(fb_store_get(s, 2, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.lsn, 1001);

    /* A transfer's LSN is both accounts'. */
    CU_ASSERT_EQUAL(fb_store_transfer(s, 1, 2, 5, &b, &b2, &lsn),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(lsn, 1004);
    CU_ASSERT_EQUAL(fb_store_get(s, 1, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.lsn, 1004);
    CU_ASSERT_EQUAL(fb_store_get(s, 2, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.lsn, 1004);

    /* A refused or failed operation leaves the LSN as it was. */
    lsn = 7;
    CU_ASSERT_EQUAL(fb_store_withdraw(s, 2, 6, &b, &lsn),
                    FB_STORE_INSUFFICIENT_FUNDS);
    rec->fail_next = 1;
    CU_ASSERT_EQUAL(fb_store_deposit(s, 2, 6, &b, &lsn), FB_STORE_LOG_FAILED);
    CU_ASSERT_EQUAL(lsn, 7);
    CU_ASSERT_EQUAL(fb_store_get(s, 2, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.lsn, 1004);

    fb_store_free(s);
    free(rec);

    /* Without a log every LSN is 0. */
    s = new_store(0, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(fb_store_create(s, "Carol", 5, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.lsn, 0);
    lsn = 7;
    CU_ASSERT_EQUAL(fb_store_deposit(s, 1, 1, &b, &lsn), FB_STORE_OK);
    CU_ASSERT_EQUAL(lsn, 0);
    fb_store_free(s);
}


/*
 * A writer stores an account's lsn before its balance, so that a
 * lock-free reader that finds the new balance finds its LSN too (the
 * HTTP layer holds the reply until that LSN is durable).  Each operation
 * is held just after its balance store, its stripes held, while the
 * account is read.
 */
static void *
deposit_7(void *arg)
{
    fb_store_t  *s = arg;

    return fb_store_deposit(s, 1, 7, NULL, NULL) == FB_STORE_OK ? s : NULL;
}


static void *
withdraw_7(void *arg)
{
    fb_store_t  *s = arg;

    return fb_store_withdraw(s, 1, 7, NULL, NULL) == FB_STORE_OK ? s : NULL;
}


static void
test_lsn_with_balance(void)
{
    size_t           k;
    void            *ok;
    pthread_t        t;
    fb_store_t      *s;
    log_rec_t       *rec;
    fb_account_t     a;
    struct timespec  tick = { 0, 1000 * 1000 };

    static const struct {
        void      *(*op)(void *);
        int64_t     id;             /* the account read while held */
        int64_t     balance;
        uint64_t    lsn;
    } steps[] = {
        { deposit_7, 1, 107, 1003 },
        { withdraw_7, 1, 100, 1004 },
        { transfer_5, 2, 5, 1005 },     /* the payee */
    };

    s = new_logged(4, 0, &rec);
    CU_ASSERT_EQUAL_FATAL(make_account(s, "Alice"), 1);
    CU_ASSERT_EQUAL_FATAL(make_account(s, "Bob"), 2);
    fund(s, 1, 100);

    for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        CU_ASSERT_EQUAL_FATAL(fb_peek_pause_after_balance(s, steps[k].id,
                                                          200), 0);
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, steps[k].op, s), 0);
        while (!fb_peek_paused()) {
            nanosleep(&tick, NULL);
        }

        CU_ASSERT_EQUAL(fb_store_get(s, steps[k].id, &a), FB_STORE_OK);
        CU_ASSERT_EQUAL(pthread_join(t, &ok), 0);
        CU_ASSERT_PTR_EQUAL(ok, s);
        CU_ASSERT_EQUAL(a.balance, steps[k].balance);
        CU_ASSERT_EQUAL(a.lsn, steps[k].lsn);
    }

    fb_store_free(s);
    free(rec);
}


static void
test_restore(void)
{
    fb_store_t    *s;
    log_rec_t     *rec;
    fb_account_t   a;

    s = new_logged(0, 3, &rec);

    /* Only the next id may be created, and nothing is logged. */
    CU_ASSERT_EQUAL(fb_store_restore_account(s, 2, "Bob", 3, 7, 5, 9),
                    FB_STORE_NOT_FOUND);
    CU_ASSERT_EQUAL(fb_store_restore_account(s, 0, "Bob", 3, 7, 5, 9),
                    FB_STORE_NOT_FOUND);
    CU_ASSERT_EQUAL(fb_store_restore_account(s, 1, "Alice", 5, 1700000000,
                                             250, 11), FB_STORE_OK);
    CU_ASSERT_EQUAL(fb_store_restore_account(s, 2, "Bob", 3, 7, 5, 12),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(rec->n, 0);
    CU_ASSERT_EQUAL(fb_store_count(s), 2);

    CU_ASSERT_EQUAL_FATAL(fb_store_get(s, 1, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 250);
    CU_ASSERT_EQUAL(a.created, 1700000000);
    CU_ASSERT_EQUAL(a.lsn, 11);
    CU_ASSERT_EQUAL(a.owner_len, 5);
    CU_ASSERT(memcmp(a.owner, "Alice", 6) == 0);

    /* Overwriting an existing account: a replayed create. */
    CU_ASSERT_EQUAL(fb_store_restore_account(s, 1, "Alice", 5, 1700000000,
                                             0, 13), FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_store_get(s, 1, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 0);
    CU_ASSERT_EQUAL(a.lsn, 13);
    CU_ASSERT_EQUAL(fb_store_count(s), 2);

    CU_ASSERT_EQUAL(fb_store_restore_balance(s, 2, 77, 14), FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(fb_store_get(s, 2, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 77);
    CU_ASSERT_EQUAL(a.lsn, 14);
    CU_ASSERT(memcmp(a.owner, "Bob", 4) == 0);

    CU_ASSERT_EQUAL(fb_store_restore_balance(s, 3, 1, 15),
                    FB_STORE_NOT_FOUND);
    CU_ASSERT_EQUAL(fb_store_restore_balance(s, 2, -1, 15),
                    FB_STORE_INVALID_AMOUNT);
    CU_ASSERT_EQUAL(fb_store_restore_account(s, 3, "Carol", 5, 0, -1, 15),
                    FB_STORE_INVALID_AMOUNT);
    CU_ASSERT_EQUAL(fb_store_restore_account(s, 3, "Carol", 0, 0, 1, 15),
                    FB_STORE_INVALID_AMOUNT);
    CU_ASSERT_EQUAL(fb_store_restore_account(s, 3, "Carol", 5, 0, 1, 15),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(fb_store_restore_account(s, 4, "Dave", 4, 0, 1, 16),
                    FB_STORE_FULL);

    /* After restore, the store works as usual and the log sees it. */
    CU_ASSERT_EQUAL(fb_store_deposit(s, 2, 3, NULL, NULL), FB_STORE_OK);
    CU_ASSERT_EQUAL(rec->n, 1);
    CU_ASSERT_EQUAL(rec->e[0].op.balance, 80);

    fb_store_free(s);
    free(rec);
}


static void
test_barrier(void)
{
    fb_store_t        *s;
    fb_store_audit_t   au;

    /* Single-threaded, the barrier only has to return and leave every
     * lock free: an audit after it takes every stripe. */
    s = new_store(8, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(make_account(s, "Alice"), 1);
    fb_store_barrier(s);
    fb_store_audit(s, &au);
    CU_ASSERT_EQUAL(au.accounts, 1);
    CU_ASSERT_EQUAL(make_account(s, "Bob"), 2);
    fb_store_free(s);
}


/*
 * The barrier's promise rests on the locks: an operation keeps its stripe
 * (a create, the create lock) from its hook until its change is applied,
 * and the barrier takes each lock in turn.  A hook held shut here keeps an
 * operation in that window: a barrier started meanwhile must still be
 * waiting a moment later, and once the hook is let go and the barrier has
 * returned, the change must be there.  (A broken barrier that returns at
 * once is caught by the first check; a correct one can never fail it.)
 */
typedef struct {
    pthread_mutex_t   mutex;
    pthread_cond_t    cond;
    int               in_hook;      /* the operation reached its hook */
    int               open;         /* the hook may return */
    int               barrier_done;
    fb_store_t       *s;
    int64_t           id;           /* 0: create an account; else deposit */
    int64_t           got;          /* what the operation returned */
} gate_t;


static int
gate_hook(void *ctx, const fb_op_t *op, uint64_t *lsn)
{
    gate_t  *g = ctx;

    (void) op;
    pthread_mutex_lock(&g->mutex);
    g->in_hook = 1;
    pthread_cond_broadcast(&g->cond);
    while (!g->open) {
        pthread_cond_wait(&g->cond, &g->mutex);
    }
    pthread_mutex_unlock(&g->mutex);

    *lsn = 1;
    return 0;
}


static void *
gate_operation(void *arg)
{
    gate_t        *g = arg;
    int64_t        balance;
    fb_account_t   a;

    if (g->id == 0) {
        g->got = fb_store_create(g->s, "Carol", 5, &a) == FB_STORE_OK
                 ? a.id : -1;
    } else {
        g->got = fb_store_deposit(g->s, g->id, 7, &balance, NULL)
                 == FB_STORE_OK ? balance : -1;
    }
    return NULL;
}


static void *
gate_barrier(void *arg)
{
    gate_t  *g = arg;

    fb_store_barrier(g->s);
    pthread_mutex_lock(&g->mutex);
    g->barrier_done = 1;
    pthread_mutex_unlock(&g->mutex);
    return NULL;
}


/*
 * Runs one gated operation (id 0: a create) against a barrier; check(s)
 * runs once the barrier has returned, while the operation's thread may
 * not yet have: what it sees, the barrier guaranteed.
 */
static void
barrier_waits_for(fb_store_t *s, gate_t *g, int64_t id,
    void (*check)(fb_store_t *s))
{
    pthread_t        op, bar;
    int              done;
    struct timespec  pause = { 0, 100 * 1000 * 1000 };

    pthread_mutex_lock(&g->mutex);
    g->in_hook = 0;
    g->open = 0;
    g->barrier_done = 0;
    g->s = s;
    g->id = id;
    pthread_mutex_unlock(&g->mutex);

    CU_ASSERT_EQUAL_FATAL(pthread_create(&op, NULL, gate_operation, g), 0);
    pthread_mutex_lock(&g->mutex);
    while (!g->in_hook) {
        pthread_cond_wait(&g->cond, &g->mutex);
    }
    pthread_mutex_unlock(&g->mutex);

    CU_ASSERT_EQUAL_FATAL(pthread_create(&bar, NULL, gate_barrier, g), 0);
    nanosleep(&pause, NULL);
    pthread_mutex_lock(&g->mutex);
    done = g->barrier_done;
    g->open = 1;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->mutex);
    CU_ASSERT_EQUAL(done, 0);

    pthread_join(bar, NULL);
    check(s);
    pthread_join(op, NULL);
}


static void
created_one(fb_store_t *s)
{
    CU_ASSERT_EQUAL(fb_store_count(s), 1);
}


static void
deposited_seven(fb_store_t *s)
{
    fb_account_t  a;

    CU_ASSERT_EQUAL_FATAL(fb_store_get(s, 1, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 7);
}


static void
test_barrier_waits(void)
{
    fb_store_t       *s;
    fb_store_conf_t   conf;
    gate_t            g;

    memset(&g, 0, sizeof(g));
    pthread_mutex_init(&g.mutex, NULL);
    pthread_cond_init(&g.cond, NULL);

    memset(&conf, 0, sizeof(conf));
    conf.stripes = 8;
    conf.log = gate_hook;
    conf.log_ctx = &g;
    s = fb_store_new(&conf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    /* A create, under the create lock: id 1 is there after the barrier. */
    barrier_waits_for(s, &g, 0, created_one);
    CU_ASSERT_EQUAL(g.got, 1);

    /* A deposit, under its stripe. */
    barrier_waits_for(s, &g, 1, deposited_seven);
    CU_ASSERT_EQUAL(g.got, 7);

    fb_store_free(s);
    pthread_cond_destroy(&g.cond);
    pthread_mutex_destroy(&g.mutex);
}


/* ---- audit ---- */


static void
test_audit(void)
{
    fb_store_t         *s;
    fb_store_audit_t    au;

    s = new_store(4, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    memset(&au, 0xff, sizeof(au));
    fb_store_audit(s, &au);
    CU_ASSERT_EQUAL(au.accounts, 0);
    CU_ASSERT_EQUAL(au.sum, 0);
    CU_ASSERT_EQUAL(au.min_balance, 0);
    CU_ASSERT_EQUAL(au.overflow, 0);

    CU_ASSERT_EQUAL(make_account(s, "A"), 1);
    CU_ASSERT_EQUAL(make_account(s, "B"), 2);
    CU_ASSERT_EQUAL(make_account(s, "C"), 3);
    fund(s, 1, 7);
    fund(s, 2, 5);
    fund(s, 3, 2000000);

    fb_store_audit(s, &au);
    CU_ASSERT_EQUAL(au.accounts, 3);
    CU_ASSERT_EQUAL(au.sum, 2000012);
    CU_ASSERT_EQUAL(au.min_balance, 5);
    CU_ASSERT_EQUAL(au.overflow, 0);

    CU_ASSERT_EQUAL(fb_store_transfer(s, 2, 1, 5, NULL, NULL, NULL),
                    FB_STORE_OK);
    CU_ASSERT_EQUAL(make_account(s, "D"), 4);
    fb_store_audit(s, &au);
    CU_ASSERT_EQUAL(au.accounts, 4);
    CU_ASSERT_EQUAL(au.sum, 2000012);
    CU_ASSERT_EQUAL(au.min_balance, 0);

    /* A sum of exactly INT64_MAX fits; one more does not. */
    CU_ASSERT_EQUAL(fb_peek_set_balance(s, 1, INT64_MAX - 2000000), 0);
    fb_store_audit(s, &au);
    CU_ASSERT_EQUAL(au.overflow, 0);
    CU_ASSERT_EQUAL(au.sum, INT64_MAX);

    /* Past it, the sum saturates: balances are never negative, so it is
     * INT64_MAX, never a wrapped or negative value. */
    CU_ASSERT_EQUAL(fb_store_deposit(s, 4, 1, NULL, NULL), FB_STORE_OK);
    fb_store_audit(s, &au);
    CU_ASSERT_EQUAL(au.overflow, 1);
    CU_ASSERT_EQUAL(au.sum, INT64_MAX);
    CU_ASSERT_EQUAL(au.accounts, 4);
    CU_ASSERT_EQUAL(au.min_balance, 0);

    CU_ASSERT_EQUAL(fb_peek_set_balance(s, 2, INT64_MAX), 0);
    CU_ASSERT_EQUAL(fb_peek_set_balance(s, 3, INT64_MAX), 0);
    fb_store_audit(s, &au);
    CU_ASSERT_EQUAL(au.overflow, 1);
    CU_ASSERT_EQUAL(au.sum, INT64_MAX);

    fb_store_free(s);
}


/* ---- allocation failures ---- */


/* Every allocation fb_store_new makes may fail: NULL, ENOMEM, no leak. */
static void
test_oom_new(void)
{
    long         k, before;
    fb_store_t  *s;

    for (k = 0; k < 100; k++) {
        before = fb_peek_allocs();
        fb_peek_fail_alloc(k, 0);
        errno = 0;
        s = new_store(8, 0, NULL);
        fb_peek_fail_alloc(-1, 0);

        if (s != NULL) {
            /* k passed the last allocation: every one was tried. */
            CU_ASSERT_EQUAL(fb_peek_allocs() - before, k);
            CU_ASSERT_EQUAL(make_account(s, "Alice"), 1);
            fb_store_free(s);
            break;
        }

        CU_ASSERT_EQUAL(errno, ENOMEM);
    }

    /* The struct, the directory, the stripes, 8 + 1 mutexes. */
    CU_ASSERT_EQUAL(k, 12);
}


static void
test_oom_create(void)
{
    long         k;
    int64_t      id;
    size_t       m;
    fb_store_t  *s;
    log_rec_t   *rec;

    rec = malloc(sizeof(*rec));
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec);

    /* The first create allocates the chunk and then an arena block. */
    for (k = 0; k < 2; k++) {
        s = new_store(0, 0, rec);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);

        fb_peek_fail_alloc(k, 1);
        CU_ASSERT_EQUAL(fb_store_create(s, "Alice", 5, NULL),
                        FB_STORE_NOMEM);
        CU_ASSERT_EQUAL(fb_store_create(s, "Alice", 5, NULL),
                        FB_STORE_NOMEM);
        fb_peek_fail_alloc(-1, 0);

        CU_ASSERT_EQUAL(rec->n, 0);
        CU_ASSERT_EQUAL(fb_store_count(s), 0);
        CU_ASSERT_EQUAL(fb_store_get(s, 1, NULL), FB_STORE_NOT_FOUND);
        CU_ASSERT_EQUAL(make_account(s, "Alice"), 1);
        CU_ASSERT_EQUAL(make_account(s, "Bob"), 2);
        CU_ASSERT_EQUAL(fb_store_deposit(s, 2, 3, NULL, NULL), FB_STORE_OK);

        fb_store_free(s);
    }

    /* A new arena block when the first is full. */
    s = new_store(0, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    {
        char  owner[FB_OWNER_MAX_BYTES];

        memset(owner, 'z', sizeof(owner));
        CU_ASSERT_EQUAL_FATAL(fb_store_create(s, owner, sizeof(owner), NULL),
                              FB_STORE_OK);
        id = 1;
        do {
            m = fb_store_memory(s);
            fb_peek_fail_alloc(0, 0);
            if (fb_store_create(s, owner, sizeof(owner), NULL)
                != FB_STORE_OK)
            {
                break;
            }
            id++;
        } while (id < 10000);
        fb_peek_fail_alloc(-1, 0);

        /* The create that needed a new block failed, and only that. */
        CU_ASSERT_EQUAL(id, ((1 << 20) - 16) / (FB_OWNER_MAX_BYTES + 1));
        CU_ASSERT_EQUAL(fb_store_count(s), (uint64_t) id);
        CU_ASSERT_EQUAL(fb_store_memory(s), m);

        CU_ASSERT_EQUAL(make_account(s, "Bob"), id + 1);
    }

    fb_store_free(s);
    free(rec);
}


static void
test_strerror(void)
{
    int          i, j;
    const char  *msg[FB_STORE_LOG_FAILED + 1];

    for (i = FB_STORE_OK; i <= FB_STORE_LOG_FAILED; i++) {
        msg[i] = fb_store_strerror((fb_store_rc_e) i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(msg[i]);
        CU_ASSERT(strlen(msg[i]) > 0);

        for (j = 0; j < i; j++) {
            CU_ASSERT(strcmp(msg[i], msg[j]) != 0);
        }
    }

    CU_ASSERT_PTR_NOT_NULL(fb_store_strerror((fb_store_rc_e) 1000));
}


static const fb_ctest_t  tests[] = {
    { "config: defaults", test_config_defaults },
    { "config: stripes", test_config_stripes },
    { "config: max_accounts", test_config_max_accounts },
    { "create: dense ids", test_create_dense_ids },
    { "create: owner bytes", test_create_owner_bytes },
    { "create: bad owner", test_create_bad_owner },
    { "create: time", test_create_time },
    { "create: full", test_create_full },
    { "create: chunk boundary", test_create_chunk_boundary },
    { "create: arena blocks", test_create_arena_blocks },
    { "get: missing ids", test_get_missing_ids },
    { "amounts: bounds", test_amount_bounds },
    { "deposit", test_deposit },
    { "deposit: overflow", test_deposit_overflow },
    { "withdraw", test_withdraw },
    { "transfer", test_transfer },
    { "transfer: self", test_transfer_self },
    { "transfer: overflow", test_transfer_overflow },
    { "transfer: stripes", test_transfer_stripes },
    { "transfer: seen whole by readers", test_transfer_seen_whole },
    { "transfer: seen whole between a read's loads",
      test_transfer_seen_whole_between_loads },
    { "log: order", test_log_order },
    { "log: failure changes nothing", test_log_failure_changes_nothing },
    { "log: a refused create gives its bytes back",
      test_log_failure_gives_bytes_back },
    { "lsn: handed back and kept", test_lsn },
    { "lsn: never older than the balance read", test_lsn_with_balance },
    { "restore: accounts and balances", test_restore },
    { "barrier", test_barrier },
    { "barrier: waits for an operation in its hook", test_barrier_waits },
    { "audit", test_audit },
    { "oom: new", test_oom_new },
    { "oom: create", test_oom_create },
    { "strerror", test_strerror },
};


int
main(void)
{
    return fb_cunit_run("test-store", "store", NULL, NULL, tests,
                        sizeof(tests) / sizeof(tests[0]));
}
