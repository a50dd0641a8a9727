/*
 * fb_journal_peek.h: a test-only door into the journal, for a window the
 * public API cannot hold open: a thread paused between two of its loads
 * of the published state, as a preemption would pause it.
 * tests/fb_journal_peek.c compiles store/fb_journal.c itself with the
 * door added; nothing here exists in libfbstore.a.
 */

#ifndef FB_JOURNAL_PEEK_H_INCLUDED
#define FB_JOURNAL_PEEK_H_INCLUDED

#include "fb_journal.h"

/*
 * The next load of j's acknowledged LSN (synced_lsn under always,
 * written_lsn under batch) made by the calling thread is followed by a
 * pause, until fb_jpeek_go.  fb_jpeek_wait_paused waits until that load
 * has been made: 0, or -1 after seconds.
 */
void fb_jpeek_pause_acked(fb_journal_t *j);
int fb_jpeek_wait_paused(int seconds);
void fb_jpeek_go(void);

#endif /* FB_JOURNAL_PEEK_H_INCLUDED */
