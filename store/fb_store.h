/*
 * fb_store.h: the account map.
 *
 * Accounts live in fixed-size chunks indexed by id (ids are dense: 1, 2,
 * 3, ... never reused), so finding an account is two loads and no lock,
 * and growth adds a chunk without moving anything.  Mutations take the
 * account's stripe lock (two, in ascending stripe order, for a transfer);
 * balances are atomic so that reads take no lock.  doc/store.txt has the
 * design, what each lock protects and the lock order.
 *
 * The store knows nothing of FastCGI or JSON.  Owners arrive validated.
 */

#ifndef FB_STORE_H_INCLUDED
#define FB_STORE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

/* The contract's amount limits (doc/api.md), in centavos. */
#define FB_AMOUNT_MIN            1
#define FB_AMOUNT_MAX            1000000

/* An owner is at most 100 code points of UTF-8: at most 400 bytes. */
#define FB_OWNER_MAX_BYTES       400

#define FB_STORE_STRIPES_DEFAULT 1024
#define FB_STORE_MAX_ACCOUNTS_DEFAULT  100000000

/* The largest stripes and max_accounts fb_store_new() takes: 65,536
 * stripes are 4 MiB of locks; 2^32 accounts are a 512 KiB directory and
 * over 100 GiB of slots and owners.  The command line checks against
 * these, so that a value it lets through never fails at start-up. */
#define FB_STORE_STRIPES_MAX     ((size_t) 1 << 16)
#define FB_STORE_MAX_ACCOUNTS_MAX  ((uint64_t) 1 << 32)

/* Result codes.  The HTTP layer maps them to statuses in one table. */
typedef enum {
    FB_STORE_OK = 0,
    FB_STORE_NOT_FOUND,           /* an id names no account */
    FB_STORE_INSUFFICIENT_FUNDS,  /* would make a balance negative */
    FB_STORE_INVALID_AMOUNT,      /* outside FB_AMOUNT_MIN..FB_AMOUNT_MAX */
    FB_STORE_SELF_TRANSFER,       /* from == to */
    FB_STORE_OVERFLOW,            /* a balance would pass INT64_MAX */
    FB_STORE_FULL,                /* max_accounts reached */
    FB_STORE_NOMEM,               /* an allocation failed; nothing changed */
    FB_STORE_LOG_FAILED           /* the log hook refused; nothing changed */
} fb_store_rc_e;

typedef enum {
    FB_OP_CREATE = 1,
    FB_OP_DEPOSIT,
    FB_OP_WITHDRAW,
    FB_OP_TRANSFER
} fb_op_type_e;

/*
 * One mutation, as handed to the log hook: what it is and the balances it
 * produces.  For FB_OP_TRANSFER, id is the payer and to_id the payee.
 */
typedef struct {
    fb_op_type_e  type;
    int64_t       id;
    int64_t       to_id;
    int64_t       amount;
    int64_t       balance;       /* id's balance after the operation */
    int64_t       to_balance;    /* to_id's balance after a transfer */
    int64_t       created;       /* FB_OP_CREATE: unix seconds */
    const char   *owner;         /* FB_OP_CREATE: not NUL-terminated */
    size_t        owner_len;
} fb_op_t;

/*
 * The write-ahead hook.  Called with the lock(s) of every account the
 * operation touches held, after all checks passed and before the change
 * is applied, so records of one account reach the log in exactly the
 * order the account saw them.  Creates are also serialised, so creates
 * reach the log in id order.  It must not block for long and must not
 * call back into the store.  A non-zero return aborts the operation:
 * nothing changes and the caller gets FB_STORE_LOG_FAILED.
 *
 * On success it sets *lsn to the record's log sequence number (LSN):
 * non-zero, and increasing from one call to the next.  The store keeps,
 * for each account, the LSN of the last record that changed it, and hands
 * every mutation's LSN back to its caller, who may then wait for that
 * record to be durable before replying.
 */
typedef int (*fb_store_log_pt)(void *ctx, const fb_op_t *op, uint64_t *lsn);

typedef struct {
    size_t           stripes;       /* power of two; 0 means the default */
    uint64_t         max_accounts;  /* 0 means the default */
    fb_store_log_pt  log;           /* NULL: no log */
    void            *log_ctx;
} fb_store_conf_t;

/*
 * A consistent view of one account.  owner stays valid for the store's
 * life.  lsn is the LSN of the last logged change the balance reflects, or
 * a later one (0 without a log): a reader that must not report what is not
 * yet durable waits for lsn.
 */
typedef struct {
    int64_t       id;
    int64_t       balance;
    int64_t       created;       /* unix seconds */
    const char   *owner;         /* NUL-terminated as well as counted */
    size_t        owner_len;
    uint64_t      lsn;
} fb_account_t;

typedef struct {
    uint64_t      accounts;      /* accounts that exist */
    int64_t       sum;           /* sum of all balances; INT64_MAX if
                                    it does not fit (overflow) */
    int64_t       min_balance;   /* smallest balance (0 when no accounts) */
    int           overflow;      /* sum does not fit in int64 */
} fb_store_audit_t;

typedef struct fb_store_s  fb_store_t;

/* Returns NULL (errno set) on bad configuration or allocation failure. */
fb_store_t *fb_store_new(const fb_store_conf_t *conf);
void fb_store_free(fb_store_t *s);

/*
 * owner: 1..FB_OWNER_MAX_BYTES bytes, already validated by the caller; a
 * NULL or out-of-range owner is a caller bug, refused as FB_STORE_NOMEM
 * (errno EINVAL) with nothing stored.  Here and below, the out-parameters
 * may be NULL and are written only on FB_STORE_OK.  out->lsn and *lsn are
 * the LSN the log hook gave this operation's record (0 without a log).
 */
fb_store_rc_e fb_store_create(fb_store_t *s, const char *owner,
    size_t owner_len, fb_account_t *out);

/* Lock-free, but for one case: a transfer from id caught between its
 * debit and its credit is waited for on id's stripe, so that no read
 * after this one can find the money in neither account.
 * FB_STORE_NOT_FOUND for any id that names no account, including 0,
 * negative ids and ids never handed out. */
fb_store_rc_e fb_store_get(fb_store_t *s, int64_t id, fb_account_t *out);

fb_store_rc_e fb_store_deposit(fb_store_t *s, int64_t id, int64_t amount,
    int64_t *balance, uint64_t *lsn);
fb_store_rc_e fb_store_withdraw(fb_store_t *s, int64_t id, int64_t amount,
    int64_t *balance, uint64_t *lsn);

/* Checks in this order: amount, self transfer, existence, funds,
 * overflow of the payee. */
fb_store_rc_e fb_store_transfer(fb_store_t *s, int64_t from, int64_t to,
    int64_t amount, int64_t *from_balance, int64_t *to_balance,
    uint64_t *lsn);

/* Accounts created so far (the highest id handed out).  Lock-free. */
uint64_t fb_store_count(fb_store_t *s);

/* A consistent snapshot: takes every stripe lock in ascending order. */
void fb_store_audit(fb_store_t *s, fb_store_audit_t *out);

/*
 * Locks and unlocks the create mutex and then every stripe, one at a time
 * (never two at once, so no worker waits for more than one operation).
 * On return, every operation whose log hook had returned before the call
 * has been applied: a snapshot that records the last LSN, calls this, and
 * then reads the accounts sees every change up to that LSN.
 */
void fb_store_barrier(fb_store_t *s);

/*
 * Recovery, at start-up only: before any other thread uses the store.  No
 * lock is taken and the log hook is not called.
 *
 * fb_store_restore_account sets account id's owner, created, balance and
 * LSN.  id may name an existing account (it is overwritten) or be the next
 * id (count + 1: the account is created).  fb_store_restore_balance sets
 * an existing account's balance and LSN.  FB_STORE_NOT_FOUND for an id
 * that is neither; FB_STORE_INVALID_AMOUNT for a negative balance or an
 * owner outside 1..FB_OWNER_MAX_BYTES; FB_STORE_FULL past max_accounts;
 * FB_STORE_NOMEM.
 */
fb_store_rc_e fb_store_restore_account(fb_store_t *s, int64_t id,
    const char *owner, size_t owner_len, int64_t created, int64_t balance,
    uint64_t lsn);
fb_store_rc_e fb_store_restore_balance(fb_store_t *s, int64_t id,
    int64_t balance, uint64_t lsn);

/* Bytes the store has allocated (chunks, owner arena, stripes). */
size_t fb_store_memory(fb_store_t *s);

const char *fb_store_strerror(fb_store_rc_e rc);

#endif /* FB_STORE_H_INCLUDED */
