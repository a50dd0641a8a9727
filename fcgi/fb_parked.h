/*
 * fb_parked.h: the replies a worker holds back until the journal has made
 * their records durable, kept in LSN order.  Durability comes in LSN
 * order too, so after each notification the worker takes replies from the
 * front and stops at the first one still waiting, instead of walking every
 * parked reply (hundreds per worker at 500 connections under --fsync
 * always).  Intrusive: the node lives in the parked thing.
 */

#ifndef FB_PARKED_H_INCLUDED
#define FB_PARKED_H_INCLUDED

#include "fb_core.h"

typedef struct fb_parked_s  fb_parked_t;

struct fb_parked_s {
    fb_parked_t  *next;
    fb_parked_t  *prev;
    uint64_t      lsn;      /* what it waits for */
};

typedef struct {
    fb_parked_t  *head;     /* the earliest LSN */
    fb_parked_t  *tail;     /* the latest */
} fb_parked_list_t;

#define fb_parked_init(l)   ((l)->head = NULL, (l)->tail = NULL)
#define fb_parked_first(l)  ((l)->head)

/*
 * Adds p, whose lsn is set, after every node of an LSN no greater: in
 * O(1) when it is the latest (a worker's own records come in order),
 * otherwise (a read waiting for an earlier change) after a walk back from
 * the tail, short since that change is usually recent.
 */
void fb_parked_add(fb_parked_list_t *l, fb_parked_t *p);

/* Removes and returns the earliest, or NULL. */
fb_parked_t *fb_parked_take(fb_parked_list_t *l);

#endif /* FB_PARKED_H_INCLUDED */
