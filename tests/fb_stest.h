/*
 * fb_stest.h: what the store tests (test-store, test-stress) share: the
 * ThreadSanitizer options that fb_store_audit needs (fb_stest.c defines
 * them, so linking it is enough), and funding an account with more than
 * one deposit may carry.
 */

#ifndef FB_STEST_H_INCLUDED
#define FB_STEST_H_INCLUDED

#include <stdint.h>

#include "fb_store.h"

/* Deposits total centavos into account id in steps of at most
 * FB_AMOUNT_MAX: FB_STORE_OK, or the answer of the first step that
 * failed (the steps before it stay deposited). */
fb_store_rc_e st_fund(fb_store_t *s, int64_t id, int64_t total);

#endif /* FB_STEST_H_INCLUDED */
