/*
 * test-parked.c: a worker's parked replies (fcgi/fb_parked.c) stay in LSN
 * order whatever order they are parked in, equal LSNs first come first
 * out, and each comes out exactly once.
 */

#include "fb_core.h"

#include <stdint.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "fb_cunit.h"
#include "fb_jtest.h"
#include "fb_parked.h"

#define NODES  4096

typedef struct {
    fb_parked_t  park;      /* not first: taken back with the offset */
    int          seq;       /* order of parking */
    int          out;       /* times taken */
} node_t;

static node_t  nodes[NODES];
static int     nseq;


static node_t *
node_of(fb_parked_t *p)
{
    return (node_t *) (void *) ((char *) p - offsetof(node_t, park));
}


static void
add(fb_parked_list_t *l, int i, uint64_t lsn)
{
    nodes[i].park.lsn = lsn;
    nodes[i].seq = nseq++;
    nodes[i].out = 0;
    fb_parked_add(l, &nodes[i].park);
}


/*
 * The list is sorted, stable among equal LSNs, n long, linked both ways,
 * tail its last.
 */
static void
check_list(fb_parked_list_t *l, int n)
{
    int           k = 0;
    fb_parked_t  *p, *last = NULL;

    for (p = l->head; p != NULL; p = p->next) {
        CU_ASSERT_PTR_EQUAL_FATAL(p->prev, last);
        if (last != NULL) {
            CU_ASSERT_FATAL(last->lsn <= p->lsn);
            if (last->lsn == p->lsn) {
                CU_ASSERT_FATAL(node_of(last)->seq < node_of(p)->seq);
            }
        }
        last = p;
        k++;
    }

    CU_ASSERT_EQUAL_FATAL(k, n);
    CU_ASSERT_PTR_EQUAL_FATAL(l->tail, last);
}


static void
test_in_order(void)
{
    int                i;
    fb_parked_t       *p;
    fb_parked_list_t   l;

    fb_parked_init(&l);
    CU_ASSERT_PTR_NULL(fb_parked_first(&l));
    CU_ASSERT_PTR_NULL(fb_parked_take(&l));

    for (i = 0; i < 100; i++) {
        add(&l, i, (uint64_t) i / 3 + 1);
    }
    check_list(&l, 100);

    for (i = 0; i < 100; i++) {
        p = fb_parked_take(&l);
        CU_ASSERT_PTR_EQUAL_FATAL(p, &nodes[i].park);
        CU_ASSERT_PTR_NULL(p->next);
    }
    CU_ASSERT_PTR_NULL(fb_parked_take(&l));

    /* empty again, and used again */
    check_list(&l, 0);
    add(&l, 0, 5);
    add(&l, 1, 4);
    check_list(&l, 2);
    CU_ASSERT_PTR_EQUAL(fb_parked_take(&l), &nodes[1].park);
    CU_ASSERT_PTR_EQUAL(fb_parked_take(&l), &nodes[0].park);
    CU_ASSERT_PTR_NULL(fb_parked_take(&l));
}


/*
 * As a worker parks: mostly its own appends in order, now and then a read
 * of an earlier LSN, and replies taken from the front in between.
 */
static void
test_as_a_worker(void)
{
    int                i, n = 0, taken = 0;
    uint64_t           lsn = 1000, x, r;
    jt_rng_t           rng;
    fb_parked_t       *p;
    fb_parked_list_t   l;

    fb_parked_init(&l);
    jt_rng_seed(&rng, 1);
    nseq = 0;

    for (i = 0; i < NODES; i++) {
        x = jt_rng_next(&rng);
        r = x % 100;

        if (r < 70) {
            add(&l, i, ++lsn);                      /* an append */
        } else if (r < 90) {
            add(&l, i, lsn - x % 64);               /* an earlier read */
        } else {
            add(&l, i, lsn);                        /* an equal one */
        }
        n++;

        /* now and then, a sync makes a prefix durable */
        if (x % 7 == 0) {
            while ((p = fb_parked_first(&l)) != NULL && p->lsn + 20 <= lsn) {
                CU_ASSERT_PTR_EQUAL_FATAL(fb_parked_take(&l), p);
                node_of(p)->out++;
                n--;
                taken++;
            }
        }

        check_list(&l, n);
    }

    while ((p = fb_parked_take(&l)) != NULL) {
        node_of(p)->out++;
        taken++;
    }

    CU_ASSERT_EQUAL(taken, NODES);
    for (i = 0; i < NODES; i++) {
        CU_ASSERT_EQUAL_FATAL(nodes[i].out, 1);
    }
}


/* Any order at all: out sorted, each once, equal LSNs in parking order. */
static void
test_any_order(void)
{
    int                i, k = 0;
    uint64_t           last = 0;
    int                last_seq = -1;
    jt_rng_t           rng;
    fb_parked_t       *p;
    fb_parked_list_t   l;

    fb_parked_init(&l);
    jt_rng_seed(&rng, 2);
    nseq = 0;

    for (i = 0; i < 512; i++) {
        add(&l, i, jt_rng_next(&rng) % 50);
    }
    check_list(&l, 512);

    while ((p = fb_parked_take(&l)) != NULL) {
        CU_ASSERT_FATAL(p->lsn >= last);
        if (p->lsn == last) {
            CU_ASSERT_FATAL(node_of(p)->seq > last_seq);
        }
        last = p->lsn;
        last_seq = node_of(p)->seq;
        k++;
    }

    CU_ASSERT_EQUAL(k, 512);
}


static const fb_ctest_t  tests[] = {
    { "appends in order", test_in_order },
    { "parked as a worker parks", test_as_a_worker },
    { "parked in any order", test_any_order },
};


int
main(void)
{
    return fb_cunit_run("test-parked", "parked", NULL, NULL, tests,
                        fb_nelems(tests));
}
