/*
 * fb_parked.c: a worker's parked replies in LSN order.
 */

#include "fb_core.h"

#include "fb_parked.h"


void
fb_parked_add(fb_parked_list_t *l, fb_parked_t *p)
{
    fb_parked_t  *q;

    /* The last node of an LSN no greater than p's, or NULL. */
    for (q = l->tail; q != NULL && q->lsn > p->lsn; q = q->prev) {
        /* void */
    }

    p->prev = q;

    if (q == NULL) {
        p->next = l->head;
        l->head = p;
    } else {
        p->next = q->next;
        q->next = p;
    }

    if (p->next == NULL) {
        l->tail = p;
    } else {
        p->next->prev = p;
    }
}


fb_parked_t *
fb_parked_take(fb_parked_list_t *l)
{
    fb_parked_t  *p = l->head;

    if (p == NULL) {
        return NULL;
    }

    l->head = p->next;

    if (l->head == NULL) {
        l->tail = NULL;
    } else {
        l->head->prev = NULL;
    }

    p->next = NULL;
    return p;
}
