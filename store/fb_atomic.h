/*
 * fb_atomic.h: the only door to atomic 64-bit integers in fastbank.
 *
 * C11 <stdatomic.h> by default; libatomic_ops with
 * ./configure --with-atomics=libatomic_ops.  Both compile to the same
 * instructions on x86-64 (mov for acquire loads and release stores,
 * lock xadd, lock cmpxchg); C11 is the default because ThreadSanitizer
 * understands it and cannot see libatomic_ops' inline assembly.
 *
 * Every access to a fb_atomic_i64_t goes through these functions: mixing
 * plain and atomic accesses to one variable is a data race.
 */

#ifndef FB_ATOMIC_H_INCLUDED
#define FB_ATOMIC_H_INCLUDED

#include <stdint.h>

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#ifdef FB_ATOMICS_AO

#include <atomic_ops.h>

/* AO_t is a machine word: on a 32-bit target balances and LSNs would be
 * cut to 32 bits.  C11's atomics take 64 bits there. */
_Static_assert(sizeof(AO_t) == sizeof(int64_t),
               "libatomic_ops' AO_t is narrower than 64 bits on this target:"
               " configure --with-atomics=c11");

/* AO_t is an unsigned word; the signed value travels through casts. */
typedef struct {
    volatile AO_t  v;
} fb_atomic_i64_t;

static inline int64_t
fb_atomic_load_acquire(const fb_atomic_i64_t *a)
{
    return (int64_t) AO_load_acquire((volatile AO_t *) &a->v);
}

static inline int64_t
fb_atomic_load_relaxed(const fb_atomic_i64_t *a)
{
    return (int64_t) AO_load((volatile AO_t *) &a->v);
}

static inline void
fb_atomic_store_release(fb_atomic_i64_t *a, int64_t v)
{
    AO_store_release(&a->v, (AO_t) v);
}

static inline void
fb_atomic_store_relaxed(fb_atomic_i64_t *a, int64_t v)
{
    AO_store(&a->v, (AO_t) v);
}

static inline int64_t
fb_atomic_fetch_add(fb_atomic_i64_t *a, int64_t d)
{
    return (int64_t) AO_fetch_and_add_full(&a->v, (AO_t) d);
}

/* Counters with one writer (metrics): no lock prefix on the write path;
 * fb_atomic_u64_cas for a word that several threads claim. */
typedef struct {
    volatile AO_t  v;
} fb_atomic_u64_t;

static inline uint64_t
fb_atomic_u64_load(const fb_atomic_u64_t *a)
{
    return (uint64_t) AO_load((volatile AO_t *) &a->v);
}

static inline void
fb_atomic_u64_add_single_writer(fb_atomic_u64_t *a, uint64_t d)
{
    AO_store(&a->v, AO_load(&a->v) + (AO_t) d);
}

static inline void
fb_atomic_u64_store(fb_atomic_u64_t *a, uint64_t v)
{
    AO_store(&a->v, (AO_t) v);
}

#ifndef AO_HAVE_compare_and_swap_full
#error "libatomic_ops has no AO_compare_and_swap_full on this target"
#endif

/* 1 if *a held old and now holds v; 0, and *a unchanged, if not. */
static inline int
fb_atomic_u64_cas(fb_atomic_u64_t *a, uint64_t old, uint64_t v)
{
    return AO_compare_and_swap_full(&a->v, (AO_t) old, (AO_t) v) != 0;
}

#else

#include <stdatomic.h>

typedef struct {
    _Atomic int64_t  v;
} fb_atomic_i64_t;

static inline int64_t
fb_atomic_load_acquire(const fb_atomic_i64_t *a)
{
    return atomic_load_explicit((_Atomic int64_t *) &a->v,
                                memory_order_acquire);
}

static inline int64_t
fb_atomic_load_relaxed(const fb_atomic_i64_t *a)
{
    return atomic_load_explicit((_Atomic int64_t *) &a->v,
                                memory_order_relaxed);
}

static inline void
fb_atomic_store_release(fb_atomic_i64_t *a, int64_t v)
{
    atomic_store_explicit(&a->v, v, memory_order_release);
}

static inline void
fb_atomic_store_relaxed(fb_atomic_i64_t *a, int64_t v)
{
    atomic_store_explicit(&a->v, v, memory_order_relaxed);
}

static inline int64_t
fb_atomic_fetch_add(fb_atomic_i64_t *a, int64_t d)
{
    return atomic_fetch_add_explicit(&a->v, d, memory_order_seq_cst);
}

/* Counters with one writer (metrics): relaxed load and store, so the write
 * path has no lock prefix; readers on other threads see some recent value.
 * fb_atomic_u64_cas for a word that several threads claim. */
typedef struct {
    _Atomic uint64_t  v;
} fb_atomic_u64_t;

static inline uint64_t
fb_atomic_u64_load(const fb_atomic_u64_t *a)
{
    return atomic_load_explicit((_Atomic uint64_t *) &a->v,
                                memory_order_relaxed);
}

static inline void
fb_atomic_u64_add_single_writer(fb_atomic_u64_t *a, uint64_t d)
{
    atomic_store_explicit(&a->v,
        atomic_load_explicit(&a->v, memory_order_relaxed) + d,
        memory_order_relaxed);
}

static inline void
fb_atomic_u64_store(fb_atomic_u64_t *a, uint64_t v)
{
    atomic_store_explicit(&a->v, v, memory_order_relaxed);
}

/* 1 if *a held old and now holds v; 0, and *a unchanged, if not. */
static inline int
fb_atomic_u64_cas(fb_atomic_u64_t *a, uint64_t old, uint64_t v)
{
    return atomic_compare_exchange_strong_explicit(&a->v, &old, v,
                                                   memory_order_seq_cst,
                                                   memory_order_relaxed);
}

#endif

#endif /* FB_ATOMIC_H_INCLUDED */
