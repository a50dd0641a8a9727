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
 */
typedef int (*fb_store_log_pt)(void *ctx, const fb_op_t *op);

typedef struct {
    size_t           stripes;       /* power of two; 0 means the default */
    uint64_t         max_accounts;  /* 0 means the default */
    fb_store_log_pt  log;           /* NULL: no log */
    void            *log_ctx;
} fb_store_conf_t;

/* A consistent view of one account.  owner stays valid for the store's life. */
typedef struct {
    int64_t       id;
    int64_t       balance;
    int64_t       created;       /* unix seconds */
    const char   *owner;         /* NUL-terminated as well as counted */
    size_t        owner_len;
} fb_account_t;

typedef struct {
    uint64_t      accounts;      /* accounts that exist */
    int64_t       sum;           /* sum of all balances */
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
 * may be NULL and are written only on FB_STORE_OK.
 */
fb_store_rc_e fb_store_create(fb_store_t *s, const char *owner,
    size_t owner_len, fb_account_t *out);

/* Lock-free.  FB_STORE_NOT_FOUND for any id that names no account,
 * including 0, negative ids and ids never handed out. */
fb_store_rc_e fb_store_get(fb_store_t *s, int64_t id, fb_account_t *out);

fb_store_rc_e fb_store_deposit(fb_store_t *s, int64_t id, int64_t amount,
    int64_t *balance);
fb_store_rc_e fb_store_withdraw(fb_store_t *s, int64_t id, int64_t amount,
    int64_t *balance);

/* Checks in this order: amount, self transfer, existence, funds,
 * overflow of the payee. */
fb_store_rc_e fb_store_transfer(fb_store_t *s, int64_t from, int64_t to,
    int64_t amount, int64_t *from_balance, int64_t *to_balance);

/* Accounts created so far (the highest id handed out).  Lock-free. */
uint64_t fb_store_count(fb_store_t *s);

/* A consistent snapshot: takes every stripe lock in ascending order. */
void fb_store_audit(fb_store_t *s, fb_store_audit_t *out);

/* Bytes the store has allocated (chunks, owner arena, stripes). */
size_t fb_store_memory(fb_store_t *s);

const char *fb_store_strerror(fb_store_rc_e rc);

#endif /* FB_STORE_H_INCLUDED */
