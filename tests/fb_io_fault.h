/*
 * fb_io_fault.h: the fb_io_* calls (store/fb_io.h) with faults on demand,
 * for the I/O-error tests.  Linked instead of store/fb_io.c.
 *
 * Counted calls: open, write, pwrite, fdatasync, fsync, ftruncate, rename,
 * unlink.  Armed with n, the n-th counted call from then on (0-based)
 * fails: a write of more than one byte first writes half of it (a short
 * write, as when the disk fills mid-batch) and the next write fails; any
 * other call fails with EIO and does nothing.  With persist, every later
 * counted call fails too.  Syncs succeed without syncing: these tests
 * are about errors, not power cuts, and run many thousands of them.
 */

#ifndef FB_IO_FAULT_H_INCLUDED
#define FB_IO_FAULT_H_INCLUDED

void fb_fault_arm(long n, int persist);
void fb_fault_disarm(void);
/* The same, counting only the calls named what ("open", "fdatasync",
 * ...): the others neither fail nor count. */
void fb_fault_arm_only(const char *what, long n, int persist);
int fb_fault_fired(void);                /* since the last arm */
const char *fb_fault_what(void);         /* the call that failed first */

/*
 * Holding syncs, to see what waits for durability: while held, every
 * fdatasync waits before it returns until fb_fault_release lets it go
 * (one per count); fb_fault_hold(0) lets every one go and stops holding.
 * fb_fault_wait_held waits until at least n calls are held, 0, or -1
 * after seconds.
 */
void fb_fault_hold(int on);
void fb_fault_release(int n);
int fb_fault_wait_held(int n, int seconds);
/* The fdatasyncs held since fb_fault_hold(1), let go or not. */
long fb_fault_held_total(void);

/*
 * fn(arg), called on the calling thread before each open ("open") or
 * rename ("rename", of its first path) of a path ending in suffix: the
 * test runs what it needs at that point of the journal's work.  One
 * function for each of the two; fn NULL removes it.
 */
void fb_fault_before(const char *what, const char *suffix,
    void (*fn)(void *arg), void *arg);

#endif /* FB_IO_FAULT_H_INCLUDED */
