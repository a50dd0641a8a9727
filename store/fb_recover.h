/*
 * fb_recover.h: reading a data directory back: the newest snapshot, then
 * every later record, into a store.  Used at start-up and by
 * fastbank --check.  The rules (doc/journal.txt, "Recovery"):
 *
 *   - a record that is short, or fails its CRC, at the tail of the last
 *     segment, with nothing valid after it, is a torn tail: the process
 *     died while writing.  With valid records after it of which none
 *     begins a write() (FB_RECORD_WRITE), it is a torn write: a power cut
 *     kept some pages of the last write() and not others.  Either is cut
 *     off (start-up, --repair) and logged.
 *   - any other bad record, a gap in the sequence, or a damaged snapshot
 *     is corruption: start-up stops, naming the file and the offset.
 */

#ifndef FB_RECOVER_H_INCLUDED
#define FB_RECOVER_H_INCLUDED

#include "fb_journal.h"
#include "fb_store.h"

typedef enum {
    FB_RECOVER_STARTUP = 0,   /* cut a torn tail or write; remove
                                 snapshot.tmp; sync the last segment */
    FB_RECOVER_CHECK,         /* change nothing; report each file */
    FB_RECOVER_REPAIR         /* cut a torn tail or write; sync the last
                                 segment; report each file */
} fb_recover_mode_e;

/* Returns an FB_CHECK_ code; s must be empty. */
int fb_recover(const char *dir, fb_store_t *s, fb_recover_mode_e mode,
    fb_jlog_pt log, fb_recovery_t *out);

#endif /* FB_RECOVER_H_INCLUDED */
