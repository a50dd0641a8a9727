/*
 * fb_store_peek.h: test-only doors into the store, for what the public
 * API cannot reach in test time: balances near INT64_MAX, failing
 * allocations, a mutation held between two of its stores, and a read
 * held between two of its loads.  tests/fb_store_peek.c compiles
 * store/fb_store.c itself with these doors added; nothing here exists in
 * libfbstore.a.
 */

#ifndef FB_STORE_PEEK_H_INCLUDED
#define FB_STORE_PEEK_H_INCLUDED

#include "fb_store.h"

/* Sets an existing account's balance under its stripe lock, bypassing
 * every check and the log hook.  Returns -1 if id names no account. */
int fb_peek_set_balance(fb_store_t *s, int64_t id, int64_t balance);

/* The next store of account id's balance (a release store, as every
 * mutation makes) is followed by a pause of ms milliseconds, with whatever
 * locks the mutation holds; fb_peek_paused() is true from that store on.
 * Call it before starting the thread that is to store.  Returns -1 if id
 * names no account. */
int fb_peek_pause_after_balance(fb_store_t *s, int64_t id, long ms);
int fb_peek_paused(void);

/* The next acquire load of account id's balance or lsn (fb_store_get
 * loads both, in its own order) is followed by fn(arg), in the loading
 * thread and with whatever locks it holds (fb_store_get holds none then):
 * fn can move another thread's operation on between a read's two loads.
 * Call it from the thread that will read, while no other thread is
 * inside the store or one is only held by fb_peek_pause_after_balance;
 * no other thread may read account id until fn has run.  Returns -1 if
 * id names no account. */
int fb_peek_after_first_load(fb_store_t *s, int64_t id,
    void (*fn)(void *arg), void *arg);

/* The n-th allocation (or mutex init) from now fails, counting from 0;
 * with persist set, every later one fails too.  n < 0 disarms. */
void fb_peek_fail_alloc(long n, int persist);

/* Allocations (and mutex inits) the store has attempted so far. */
long fb_peek_allocs(void);

#endif /* FB_STORE_PEEK_H_INCLUDED */
