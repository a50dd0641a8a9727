/*
 * fb_store_peek.h: test-only doors into the store, for what the public
 * API cannot reach in test time: balances near INT64_MAX, and failing
 * allocations.  tests/fb_store_peek.c compiles store/fb_store.c itself
 * with these doors added; nothing here exists in libfbstore.a.
 */

#ifndef FB_STORE_PEEK_H_INCLUDED
#define FB_STORE_PEEK_H_INCLUDED

#include "fb_store.h"

/* Sets an existing account's balance under its stripe lock, bypassing
 * every check and the log hook.  Returns -1 if id names no account. */
int fb_peek_set_balance(fb_store_t *s, int64_t id, int64_t balance);

/* The n-th allocation (or mutex init) from now fails, counting from 0;
 * with persist set, every later one fails too.  n < 0 disarms. */
void fb_peek_fail_alloc(long n, int persist);

/* Allocations (and mutex inits) the store has attempted so far. */
long fb_peek_allocs(void);

#endif /* FB_STORE_PEEK_H_INCLUDED */
