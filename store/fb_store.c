/*
 * fb_store.c: the account map: chunked slots, an owner arena, stripe locks.
 *
 * Layout (doc/store.txt has the whole story):
 *
 *   directory  one pointer per chunk, sized at fb_store_new from
 *              max_accounts; a chunk is calloc'd when its first id is
 *              created and never moves or shrinks
 *   chunk      FB_CHUNK_SLOTS slots; id n lives in slot (n - 1)
 *   arena      owner names, NUL-terminated, bump-allocated from 1 MiB
 *              blocks that live until fb_store_free
 *   stripes    a power-of-two array of mutexes, one per cache line;
 *              account n belongs to stripe n & stripe_mask
 *
 * Lock order: stripe locks in ascending stripe index.  The create mutex is
 * never held together with a stripe lock.  The log hook runs inside
 * whichever of them the operation holds, so a lock the hook takes must be
 * a leaf.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fb_atomic.h"
#include "fb_store.h"


#define FB_CHUNK_SHIFT        16
#define FB_CHUNK_SLOTS        ((uint64_t) 1 << FB_CHUNK_SHIFT)
#define FB_CHUNK_MASK         (FB_CHUNK_SLOTS - 1)

#define FB_ARENA_BLOCK_SIZE   ((size_t) 1 << 20)

#define FB_CACHE_LINE         64



/*
 * lsn is the LSN of the last logged change of balance.  A writer stores
 * lsn before balance (both with release), a reader loads balance
 * (acquire) before lsn, so a reader that sees a balance also sees its
 * change's LSN or a later one, never an earlier one.
 *
 * While a transfer is between its payer's balance store and its payee's,
 * the payer's lsn carries FB_LSN_APPLYING (fb_store_transfer): a reader
 * that finds it waits on the stripe (fb_store_get).  LSNs count records
 * and never reach that bit.
 */
#define FB_LSN_APPLYING       ((int64_t) 1 << 62)

typedef struct {
    fb_atomic_i64_t   balance;
    fb_atomic_i64_t   lsn;
    const char       *owner;        /* in the arena, NUL-terminated */
    uint32_t          created;      /* unix seconds */
    uint16_t          owner_len;
    uint16_t          pad;
} fb_slot_t;

_Static_assert(sizeof(fb_slot_t) == 32, "a slot is 32 bytes");
_Static_assert(FB_OWNER_MAX_BYTES <= UINT16_MAX, "owner_len fits 16 bits");


/* A stripe lock alone on its cache line, so stripes do not false-share. */
typedef union {
    pthread_mutex_t   mutex;
    char              pad[FB_CACHE_LINE];
} fb_stripe_t;

_Static_assert(sizeof(fb_stripe_t) == FB_CACHE_LINE,
               "a stripe is one cache line");


typedef struct fb_arena_block_s  fb_arena_block_t;

struct fb_arena_block_s {
    fb_arena_block_t  *next;        /* the block filled before this one */
    size_t             used;        /* bytes of data[] handed out */
    char               data[];
};

#define FB_ARENA_DATA_SIZE  (FB_ARENA_BLOCK_SIZE - sizeof(fb_arena_block_t))

_Static_assert(FB_OWNER_MAX_BYTES + 1 <= FB_ARENA_DATA_SIZE,
               "an owner fits in an arena block");


struct fb_store_s {
    /* Set at fb_store_new, read-only afterwards. */
    fb_slot_t        **chunks;      /* the directory */
    size_t             nchunks;
    uint64_t           stripe_mask;

    /*
     * stripes[i] protects the balance of every account n with
     * (n & stripe_mask) == i: every write of such a balance, and every
     * read that decides a write (the funds and overflow checks), happens
     * with it held, and the log hook runs inside it, so an account's
     * records reach the log in the order its balance changed.  A
     * transfer holds both accounts' stripes (ascending index) so that no
     * audit sees it half done; the audit holds them all.  Readers of a
     * single balance take no lock (acquire load), unless they find a
     * transfer halfway through its stores (FB_LSN_APPLYING).
     */
    fb_stripe_t       *stripes;
    uint64_t           max_accounts;
    fb_store_log_pt    log;
    void              *log_ctx;

    /*
     * The highest id handed out.  Written only under create_mutex, with a
     * release store after the new slot (and its chunk pointer) is fully
     * written; every lookup loads it with acquire, so a reader that finds
     * id <= count also sees the slot's owner, created and chunk pointer.
     */
    fb_atomic_i64_t    count;

    /* Bytes allocated; written under create_mutex, read without a lock. */
    fb_atomic_i64_t    memory;

    /*
     * create_mutex serialises creates.  It protects: directory entries
     * (NULL to chunk, once), the arena (its block list and bump offset),
     * the write side of count and memory, and the slots of ids above
     * count, which nobody else may touch until count is published.
     */
    pthread_mutex_t    create_mutex;
    fb_arena_block_t  *arena;       /* the block being filled */
};


static int fb_store_amount_ok(int64_t amount);
static fb_slot_t *fb_store_slot(fb_store_t *s, int64_t id);
static pthread_mutex_t *fb_store_stripe(fb_store_t *s, int64_t id);
static fb_store_rc_e fb_store_log(fb_store_t *s, const fb_op_t *op,
    uint64_t *lsn);
static void fb_store_memory_add(fb_store_t *s, size_t bytes);
static fb_slot_t *fb_store_chunk_locked(fb_store_t *s, uint64_t idx);
static char *fb_store_arena_copy_locked(fb_store_t *s, const char *p,
    size_t len);
static void fb_store_arena_undo_locked(fb_store_t *s, size_t len);
static uint32_t fb_store_now(void);


fb_store_t *
fb_store_new(const fb_store_conf_t *conf)
{
    int                  err;
    size_t               i, nstripes;
    uint64_t             max;
    fb_store_t          *s;
    fb_store_conf_t      dflt;

    if (conf == NULL) {
        memset(&dflt, 0, sizeof(dflt));
        conf = &dflt;
    }

    nstripes = conf->stripes ? conf->stripes : FB_STORE_STRIPES_DEFAULT;
    max = conf->max_accounts ? conf->max_accounts
                             : FB_STORE_MAX_ACCOUNTS_DEFAULT;

    if ((nstripes & (nstripes - 1)) != 0 || nstripes > FB_STORE_STRIPES_MAX
        || max > FB_STORE_MAX_ACCOUNTS_MAX)
    {
        errno = EINVAL;
        return NULL;
    }

    s = calloc(1, sizeof(fb_store_t));
    if (s == NULL) {
        return NULL;
    }

    s->max_accounts = max;
    s->stripe_mask = nstripes - 1;
    s->log = conf->log;
    s->log_ctx = conf->log_ctx;
    s->nchunks = (size_t) ((max + FB_CHUNK_SLOTS - 1) >> FB_CHUNK_SHIFT);

    s->chunks = calloc(s->nchunks, sizeof(fb_slot_t *));
    if (s->chunks == NULL) {
        goto failed;
    }

    errno = posix_memalign((void **) &s->stripes, FB_CACHE_LINE,
                           nstripes * sizeof(fb_stripe_t));
    if (errno != 0) {
        s->stripes = NULL;
        goto failed;
    }

    for (i = 0; i < nstripes; i++) {
        errno = pthread_mutex_init(&s->stripes[i].mutex, NULL);
        if (errno != 0) {
            goto failed_stripes;
        }
    }

    errno = pthread_mutex_init(&s->create_mutex, NULL);
    if (errno != 0) {
        goto failed_stripes;
    }

    fb_atomic_store_relaxed(&s->count, 0);
    fb_atomic_store_relaxed(&s->memory, (int64_t) (sizeof(fb_store_t)
                            + s->nchunks * sizeof(fb_slot_t *)
                            + nstripes * sizeof(fb_stripe_t)));
    return s;

failed_stripes:

    while (i-- > 0) {
        pthread_mutex_destroy(&s->stripes[i].mutex);
    }

failed:

    err = errno;
    free(s->stripes);
    free(s->chunks);
    free(s);
    errno = err;
    return NULL;
}


void
fb_store_free(fb_store_t *s)
{
    size_t             i;
    fb_arena_block_t  *b, *next;

    if (s == NULL) {
        return;
    }

    for (b = s->arena; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    for (i = 0; i < s->nchunks; i++) {
        free(s->chunks[i]);
    }

    for (i = 0; i <= s->stripe_mask; i++) {
        pthread_mutex_destroy(&s->stripes[i].mutex);
    }

    pthread_mutex_destroy(&s->create_mutex);
    free(s->stripes);
    free(s->chunks);
    free(s);
}


fb_store_rc_e
fb_store_create(fb_store_t *s, const char *owner, size_t owner_len,
    fb_account_t *out)
{
    char           *copy;
    int64_t         id;
    uint32_t        now;
    fb_op_t         op;
    uint64_t        lsn;
    fb_slot_t      *slot;
    fb_store_rc_e   rc;

    if (owner == NULL || owner_len == 0 || owner_len > FB_OWNER_MAX_BYTES) {
        /* The caller broke its promise: answer as an internal error. */
        errno = EINVAL;
        return FB_STORE_NOMEM;
    }

    now = fb_store_now();

    pthread_mutex_lock(&s->create_mutex);

    id = fb_atomic_load_relaxed(&s->count) + 1;

    if ((uint64_t) id > s->max_accounts) {
        rc = FB_STORE_FULL;
        goto done;
    }

    slot = fb_store_chunk_locked(s, (uint64_t) id - 1);
    if (slot == NULL) {
        rc = FB_STORE_NOMEM;
        goto done;
    }

    copy = fb_store_arena_copy_locked(s, owner, owner_len);
    if (copy == NULL) {
        rc = FB_STORE_NOMEM;
        goto done;
    }

    memset(&op, 0, sizeof(op));
    op.type = FB_OP_CREATE;
    op.id = id;
    op.created = now;
    op.owner = copy;
    op.owner_len = owner_len;

    rc = fb_store_log(s, &op, &lsn);
    if (rc != FB_STORE_OK) {
        /* The id is not consumed: the next create gets it. */
        fb_store_arena_undo_locked(s, owner_len);
        goto done;
    }

    fb_atomic_store_relaxed(&slot->lsn, (int64_t) lsn);
    fb_atomic_store_relaxed(&slot->balance, 0);
    slot->owner = copy;
    slot->owner_len = (uint16_t) owner_len;
    slot->created = now;

    /* Publish: the slot is complete before a reader can see its id. */
    fb_atomic_store_release(&s->count, id);

    if (out != NULL) {
        out->id = id;
        out->balance = 0;
        out->created = now;
        out->owner = copy;
        out->owner_len = owner_len;
        out->lsn = lsn;
    }

done:

    pthread_mutex_unlock(&s->create_mutex);
    return rc;
}


fb_store_rc_e
fb_store_get(fb_store_t *s, int64_t id, fb_account_t *out)
{
    int64_t           balance, lsn;
    fb_slot_t        *slot;
    pthread_mutex_t  *m;

    slot = fb_store_slot(s, id);
    if (slot == NULL) {
        return FB_STORE_NOT_FOUND;
    }

    if (out != NULL) {
        out->id = id;
        /* Balance first: see fb_slot_t. */
        balance = fb_atomic_load_acquire(&slot->balance);
        lsn = fb_atomic_load_acquire(&slot->lsn);

        if (lsn & FB_LSN_APPLYING) {
            /*
             * A transfer from this account has stored its debit and not
             * yet its credit.  Answering with the debit now would let a
             * read that starts after this one find the payee not yet
             * credited: the money in neither account.  The transfer holds
             * the stripe until both are stored, so wait for it there.
             */
            m = fb_store_stripe(s, id);
            pthread_mutex_lock(m);
            balance = fb_atomic_load_relaxed(&slot->balance);
            lsn = fb_atomic_load_relaxed(&slot->lsn);
            pthread_mutex_unlock(m);
        }

        out->balance = balance;
        out->lsn = (uint64_t) lsn;
        out->created = slot->created;
        out->owner = slot->owner;
        out->owner_len = slot->owner_len;
    }

    return FB_STORE_OK;
}


/*
 * Deposit or withdraw: the same locking, logging and publishing, with the
 * check each one needs (no overflow past INT64_MAX, no negative balance).
 */
static fb_store_rc_e
fb_store_move(fb_store_t *s, fb_op_type_e type, int64_t id, int64_t amount,
    int64_t *balance, uint64_t *lsn)
{
    int64_t           old;
    fb_op_t           op;
    uint64_t          seq;
    fb_slot_t        *slot;
    fb_store_rc_e     rc;
    pthread_mutex_t  *m;

    if (!fb_store_amount_ok(amount)) {
        return FB_STORE_INVALID_AMOUNT;
    }

    slot = fb_store_slot(s, id);
    if (slot == NULL) {
        return FB_STORE_NOT_FOUND;
    }

    m = fb_store_stripe(s, id);
    pthread_mutex_lock(m);

    old = fb_atomic_load_relaxed(&slot->balance);

    if (type == FB_OP_DEPOSIT ? old > INT64_MAX - amount : old < amount) {
        rc = type == FB_OP_DEPOSIT ? FB_STORE_OVERFLOW
                                   : FB_STORE_INSUFFICIENT_FUNDS;
        goto done;
    }

    memset(&op, 0, sizeof(op));
    op.type = type;
    op.id = id;
    op.amount = amount;
    op.balance = type == FB_OP_DEPOSIT ? old + amount : old - amount;

    rc = fb_store_log(s, &op, &seq);
    if (rc != FB_STORE_OK) {
        goto done;
    }

    /* Release, not relaxed: see fb_store_transfer. */
    fb_atomic_store_release(&slot->lsn, (int64_t) seq);
    fb_atomic_store_release(&slot->balance, op.balance);

    if (balance != NULL) {
        *balance = op.balance;
    }

    if (lsn != NULL) {
        *lsn = seq;
    }

done:

    pthread_mutex_unlock(m);
    return rc;
}


fb_store_rc_e
fb_store_deposit(fb_store_t *s, int64_t id, int64_t amount,
    int64_t *balance, uint64_t *lsn)
{
    return fb_store_move(s, FB_OP_DEPOSIT, id, amount, balance, lsn);
}


fb_store_rc_e
fb_store_withdraw(fb_store_t *s, int64_t id, int64_t amount,
    int64_t *balance, uint64_t *lsn)
{
    return fb_store_move(s, FB_OP_WITHDRAW, id, amount, balance, lsn);
}


fb_store_rc_e
fb_store_transfer(fb_store_t *s, int64_t from, int64_t to, int64_t amount,
    int64_t *from_balance, int64_t *to_balance, uint64_t *lsn)
{
    int64_t           fb, tb;
    fb_op_t           op;
    uint64_t          seq;
    uint64_t          i, i1, i2;
    fb_slot_t        *fs, *ts;
    fb_store_rc_e     rc;
    pthread_mutex_t  *m1, *m2;

    if (!fb_store_amount_ok(amount)) {
        return FB_STORE_INVALID_AMOUNT;
    }

    if (from == to) {
        return FB_STORE_SELF_TRANSFER;
    }

    fs = fb_store_slot(s, from);
    ts = fb_store_slot(s, to);
    if (fs == NULL || ts == NULL) {
        return FB_STORE_NOT_FOUND;
    }

    /* Ascending stripe index; one lock when both share a stripe. */
    i1 = (uint64_t) from & s->stripe_mask;
    i2 = (uint64_t) to & s->stripe_mask;
    if (i1 > i2) {
        i = i1;
        i1 = i2;
        i2 = i;
    }

    m1 = &s->stripes[i1].mutex;
    m2 = &s->stripes[i2].mutex;

    pthread_mutex_lock(m1);
    if (m2 != m1) {
        pthread_mutex_lock(m2);
    }

    fb = fb_atomic_load_relaxed(&fs->balance);
    tb = fb_atomic_load_relaxed(&ts->balance);

    if (fb < amount) {
        rc = FB_STORE_INSUFFICIENT_FUNDS;
        goto done;
    }

    if (tb > INT64_MAX - amount) {
        rc = FB_STORE_OVERFLOW;
        goto done;
    }

    memset(&op, 0, sizeof(op));
    op.type = FB_OP_TRANSFER;
    op.id = from;
    op.to_id = to;
    op.amount = amount;
    op.balance = fb - amount;
    op.to_balance = tb + amount;

    rc = fb_store_log(s, &op, &seq);
    if (rc != FB_STORE_OK) {
        goto done;
    }

    /*
     * The debit is stored before the credit, and the payer's lsn says
     * FB_LSN_APPLYING until the credit is stored too.  A lock-free reader
     * that sees the credit sees the debit (release and acquire); one that
     * sees the debit sees the flag, or else the lsn stored after the
     * credit, or a later operation's lsn stored after this one unlocked.
     * Those are release stores, so either way the credit is visible to
     * every read that follows, and with the flag fb_store_get waits here.
     */
    fb_atomic_store_release(&fs->lsn, (int64_t) seq | FB_LSN_APPLYING);
    fb_atomic_store_release(&ts->lsn, (int64_t) seq);
    fb_atomic_store_release(&fs->balance, op.balance);
    fb_atomic_store_release(&ts->balance, op.to_balance);
    fb_atomic_store_release(&fs->lsn, (int64_t) seq);

    if (from_balance != NULL) {
        *from_balance = op.balance;
    }

    if (to_balance != NULL) {
        *to_balance = op.to_balance;
    }

    if (lsn != NULL) {
        *lsn = seq;
    }

done:

    if (m2 != m1) {
        pthread_mutex_unlock(m2);
    }
    pthread_mutex_unlock(m1);

    return rc;
}


uint64_t
fb_store_count(fb_store_t *s)
{
    return (uint64_t) fb_atomic_load_acquire(&s->count);
}


void
fb_store_audit(fb_store_t *s, fb_store_audit_t *out)
{
    int64_t     b, sum, min;
    uint64_t    i, n;
    fb_slot_t  *slot;

    for (i = 0; i <= s->stripe_mask; i++) {
        pthread_mutex_lock(&s->stripes[i].mutex);
    }

    /*
     * No balance can change now.  Accounts created meanwhile hold 0 and
     * cannot be touched before we unlock, so any count read here is a
     * consistent cut.
     */
    n = (uint64_t) fb_atomic_load_acquire(&s->count);
    sum = 0;
    min = 0;
    out->overflow = 0;

    for (i = 0; i < n; i++) {
        slot = &s->chunks[i >> FB_CHUNK_SHIFT][i & FB_CHUNK_MASK];
        b = fb_atomic_load_relaxed(&slot->balance);

        if (i == 0 || b < min) {
            min = b;
        }

        if (!out->overflow && __builtin_add_overflow(sum, b, &sum)) {
            /* sum now holds the wrapped value, of the wrong sign: the
             * sum saturates the way b pushed it. */
            out->overflow = 1;
            sum = b < 0 ? INT64_MIN : INT64_MAX;
        }
    }

    i = s->stripe_mask + 1;
    while (i-- > 0) {
        pthread_mutex_unlock(&s->stripes[i].mutex);
    }

    out->accounts = n;
    out->sum = sum;
    out->min_balance = min;
}


void
fb_store_barrier(fb_store_t *s)
{
    uint64_t  i;

    /*
     * An operation whose hook has returned still holds the lock it called
     * the hook under until its change is applied; taking that lock after
     * the hook returned therefore waits for the change.  One lock at a
     * time: no worker ever waits for more than one operation here.
     */
    pthread_mutex_lock(&s->create_mutex);
    pthread_mutex_unlock(&s->create_mutex);

    for (i = 0; i <= s->stripe_mask; i++) {
        pthread_mutex_lock(&s->stripes[i].mutex);
        pthread_mutex_unlock(&s->stripes[i].mutex);
    }
}


fb_store_rc_e
fb_store_restore_account(fb_store_t *s, int64_t id, const char *owner,
    size_t owner_len, int64_t created, int64_t balance, uint64_t lsn)
{
    char        *copy;
    int64_t      count;
    fb_slot_t   *slot;

    if (owner == NULL || owner_len == 0 || owner_len > FB_OWNER_MAX_BYTES
        || balance < 0)
    {
        return FB_STORE_INVALID_AMOUNT;
    }

    count = fb_atomic_load_relaxed(&s->count);

    if (id < 1 || id > count + 1) {
        return FB_STORE_NOT_FOUND;
    }

    if ((uint64_t) id > s->max_accounts) {
        return FB_STORE_FULL;
    }

    slot = fb_store_chunk_locked(s, (uint64_t) id - 1);
    if (slot == NULL) {
        return FB_STORE_NOMEM;
    }

    /* A replayed create of an account the snapshot already holds names the
     * same owner: keep the copy there is. */
    if (id > count || slot->owner_len != owner_len
        || memcmp(slot->owner, owner, owner_len) != 0)
    {
        copy = fb_store_arena_copy_locked(s, owner, owner_len);
        if (copy == NULL) {
            return FB_STORE_NOMEM;
        }

        slot->owner = copy;
        slot->owner_len = (uint16_t) owner_len;
    }

    slot->created = created < 0 ? 0
                    : created > UINT32_MAX ? UINT32_MAX : (uint32_t) created;
    fb_atomic_store_relaxed(&slot->lsn, (int64_t) lsn);
    fb_atomic_store_relaxed(&slot->balance, balance);

    if (id > count) {
        fb_atomic_store_release(&s->count, id);
    }

    return FB_STORE_OK;
}


fb_store_rc_e
fb_store_restore_balance(fb_store_t *s, int64_t id, int64_t balance,
    uint64_t lsn)
{
    fb_slot_t  *slot;

    if (balance < 0) {
        return FB_STORE_INVALID_AMOUNT;
    }

    slot = fb_store_slot(s, id);
    if (slot == NULL) {
        return FB_STORE_NOT_FOUND;
    }

    fb_atomic_store_relaxed(&slot->lsn, (int64_t) lsn);
    fb_atomic_store_relaxed(&slot->balance, balance);

    return FB_STORE_OK;
}


size_t
fb_store_memory(fb_store_t *s)
{
    return (size_t) fb_atomic_load_relaxed(&s->memory);
}


const char *
fb_store_strerror(fb_store_rc_e rc)
{
    switch (rc) {
    case FB_STORE_OK:
        return "ok";
    case FB_STORE_NOT_FOUND:
        return "account not found";
    case FB_STORE_INSUFFICIENT_FUNDS:
        return "insufficient funds";
    case FB_STORE_INVALID_AMOUNT:
        return "amount must be between 1 and 1000000 centavos";
    case FB_STORE_SELF_TRANSFER:
        return "cannot transfer to the same account";
    case FB_STORE_OVERFLOW:
        return "balance would exceed the largest representable amount";
    case FB_STORE_FULL:
        return "account limit reached";
    case FB_STORE_NOMEM:
        return "out of memory";
    case FB_STORE_LOG_FAILED:
        return "journal write failed";
    }

    return "unknown store error";
}


static int
fb_store_amount_ok(int64_t amount)
{
    return amount >= FB_AMOUNT_MIN && amount <= FB_AMOUNT_MAX;
}


/* The slot of an existing account, or NULL.  Takes no lock. */
static fb_slot_t *
fb_store_slot(fb_store_t *s, int64_t id)
{
    uint64_t  idx;

    if (id < 1 || id > fb_atomic_load_acquire(&s->count)) {
        return NULL;
    }

    idx = (uint64_t) id - 1;

    return &s->chunks[idx >> FB_CHUNK_SHIFT][idx & FB_CHUNK_MASK];
}


/* Stripe lock of account id: see stripes in fb_store_s. */
static pthread_mutex_t *
fb_store_stripe(fb_store_t *s, int64_t id)
{
    return &s->stripes[(uint64_t) id & s->stripe_mask].mutex;
}


static fb_store_rc_e
fb_store_log(fb_store_t *s, const fb_op_t *op, uint64_t *lsn)
{
    *lsn = 0;

    if (s->log != NULL && s->log(s->log_ctx, op, lsn) != 0) {
        return FB_STORE_LOG_FAILED;
    }

    return FB_STORE_OK;
}


static void
fb_store_memory_add(fb_store_t *s, size_t bytes)
{
    int64_t  m;

    m = fb_atomic_load_relaxed(&s->memory);
    fb_atomic_store_relaxed(&s->memory, m + (int64_t) bytes);
}


/* The slot for index idx, allocating its chunk first if need be. */
static fb_slot_t *
fb_store_chunk_locked(fb_store_t *s, uint64_t idx)
{
    size_t      c;
    fb_slot_t  *chunk;

    c = (size_t) (idx >> FB_CHUNK_SHIFT);
    chunk = s->chunks[c];

    if (chunk == NULL) {
        chunk = calloc(FB_CHUNK_SLOTS, sizeof(fb_slot_t));
        if (chunk == NULL) {
            return NULL;
        }

        /* Readers reach it only through an id published after this. */
        s->chunks[c] = chunk;
        fb_store_memory_add(s, FB_CHUNK_SLOTS * sizeof(fb_slot_t));
    }

    return &chunk[idx & FB_CHUNK_MASK];
}


static char *
fb_store_arena_copy_locked(fb_store_t *s, const char *p, size_t len)
{
    char              *copy;
    fb_arena_block_t  *b;

    b = s->arena;

    if (b == NULL || FB_ARENA_DATA_SIZE - b->used < len + 1) {
        b = malloc(FB_ARENA_BLOCK_SIZE);
        if (b == NULL) {
            return NULL;
        }

        b->next = s->arena;
        b->used = 0;
        s->arena = b;
        fb_store_memory_add(s, FB_ARENA_BLOCK_SIZE);
    }

    copy = b->data + b->used;
    memcpy(copy, p, len);
    copy[len] = '\0';
    b->used += len + 1;

    return copy;
}


/* Gives back the last copy, of len bytes, when its create failed. */
static void
fb_store_arena_undo_locked(fb_store_t *s, size_t len)
{
    s->arena->used -= len + 1;
}


static uint32_t
fb_store_now(void)
{
    time_t  t;

    t = time(NULL);

    if (t < 0) {
        return 0;
    }

    if ((uint64_t) t > UINT32_MAX) {
        return UINT32_MAX;
    }

    return (uint32_t) t;
}
