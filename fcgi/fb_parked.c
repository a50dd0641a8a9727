/*
 * fb_parked.c: a worker's parked replies in LSN order.
 */

#include "fb_core.h"

#include "fb_parked.h"


void
fb_parked_add(fb_parked_list_t *l, fb_parked_t *p)
{
    fb_parked_t  **pp;

    p->next = NULL;

    if (l->head == NULL) {
        l->head = p;
        l->tail = p;
        return;
    }

    if (l->tail->lsn <= p->lsn) {
        l->tail->next = p;
        l->tail = p;
        return;
    }

    /* Stops before the tail at the latest: its LSN is greater. */
    for (pp = &l->head; (*pp)->lsn <= p->lsn; pp = &(*pp)->next) {
        /* void */
    }

    p->next = *pp;
    *pp = p;
}


fb_parked_t *
fb_parked_take(fb_parked_list_t *l)
{
    fb_parked_t  *p = l->head;

    if (p != NULL) {
        l->head = p->next;
        p->next = NULL;
    }

    return p;
}
