/*
 * fb_io_powercut.h: the fb_io_* calls (store/fb_io.h) over a model of
 * what the disk would hold after a power cut, for tests/test-powercut.c.
 * Linked instead of store/fb_io.c.
 *
 * The model, kept for one directory (fb_powercut_arm) and the files in it:
 *
 *   - data: a file's durable content is its whole content as of the last
 *     fdatasync or fsync of any descriptor on it (files are told apart by
 *     st_dev and st_ino); a file never synced is durable as empty.  A sync
 *     makes the whole file durable; writes not synced are lost whole, not
 *     torn (the torn-write rules are tested on files built for them,
 *     tests/test-journal.c);
 *   - names: the directory's durable names are its listing as of the last
 *     fsync of a descriptor on the directory itself, or, before the first,
 *     the listing when the model was armed (whose files count as durable
 *     as they were then).  A rename or an unlink is lost until then.
 *
 * Every fb_io_* call holds one mutex around the real call and the
 * bookkeeping, so a save is atomic against them: it sees each call wholly
 * done or not begun.  Syncs do not reach the disk; each waits about
 * fb_powercut_latency microseconds first (outside the mutex), as a disk
 * would, so that whatever a sync's caller does before it returns has time
 * to be seen.
 */

#ifndef FB_IO_POWERCUT_H_INCLUDED
#define FB_IO_POWERCUT_H_INCLUDED

/* Starts the model on dir (and forgets any before): 0, or -1. */
int fb_powercut_arm(const char *dir);
/* Stops the model and frees it. */
void fb_powercut_disarm(void);
/* What each sync waits first, on average, in microseconds (0 by
 * default): between none and twice as long, at random. */
void fb_powercut_latency(unsigned us);

/*
 * Writes into dest, an existing empty directory, each durable name with
 * its file's durable content: what the disk holds after a power cut now.
 * With keep_unsynced, every name and file as they are now (what a kill -9
 * leaves: the page cache survives).  0, or -1 (logged to stderr).
 */
int fb_powercut_save(const char *dest, int keep_unsynced);

/*
 * The same at a chosen moment: the n-th call (1-based, counted from now)
 * named what ("open", "write", "pwrite", "fdatasync", "fsync",
 * "ftruncate", "rename", "unlink"; NULL: any) on the model's directory or
 * its files, before its effect or, with after, once it had it.  Under the
 * mutex, take(arg) is called first (the test notes what it has
 * acknowledged so far: a power cut at this instant must keep all of it),
 * then the save is made.  fb_powercut_wait waits for it: 0 once it was
 * made, -1 if it failed or had not come after seconds (a hang bound).
 */
void fb_powercut_at(const char *what, long n, int after, int keep_unsynced,
    const char *dest, void (*take)(void *arg), void *arg);
int fb_powercut_wait(int seconds);
/* Abandons a save fb_powercut_at set and that has not come. */
void fb_powercut_cancel(void);

#endif /* FB_IO_POWERCUT_H_INCLUDED */
