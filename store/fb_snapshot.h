/*
 * fb_snapshot.h: snapshot files: an image of every account as of an LSN.
 *
 *     header, 48 bytes:
 *       0  "FBSNAPSH"
 *       8  u32 version (1)
 *      12  u32 masked CRC-32C of bytes 16..47
 *      16  u64 seq        S0: every record up to it is in the image
 *      24  u64 count      accounts: ids 1..count, in order
 *      32  u64 body_len   bytes after the header
 *      40  u32 masked CRC-32C of the body
 *      44  u32 more       the image is exact once the records up to
 *                         seq + more are replayed (0 in files of
 *                         releases before it, read as 0)
 *     body, one entry per account:
 *       i64 balance, u64 lsn, u32 created, u16 owner_len, owner bytes
 *
 * The image is fuzzy: it is read while workers keep changing balances, so
 * an account may show a change made after S0 (a transfer's credit without
 * its debit).  Replaying every record after S0 (each sets absolute
 * balances) up to the last one appended by the end of the scan, seq +
 * more, makes it exact: see doc/journal.txt, "Snapshots".  Without those
 * records the image is not a state the service was ever in.
 */

#ifndef FB_SNAPSHOT_H_INCLUDED
#define FB_SNAPSHOT_H_INCLUDED

#include <stdint.h>

#include "fb_journal.h"
#include "fb_store.h"

#define FB_SNAPSHOT_MAGIC     "FBSNAPSH"
#define FB_SNAPSHOT_VERSION   1
#define FB_SNAPSHOT_HEADER    48

typedef struct {
    uint64_t   seq;
    uint64_t   exact;       /* exact once replayed up to it: >= seq */
    uint64_t   accounts;
    uint64_t   bytes;       /* the whole file */
} fb_snapshot_info_t;

/* The last LSN handed out, asked right after the scan (snapshot's arg). */
typedef uint64_t (*fb_snapshot_end_pt)(void *arg);

/*
 * Writes every account of s to path (created or truncated) as of seq, and
 * fsyncs it.  The caller must have made sure that every change logged up
 * to seq is applied (fb_store_barrier).  end (NULL: nothing changes during
 * the scan) gives the last record the scan could have seen, recorded as
 * info->exact.  FB_OK, or FB_ERROR with the failing call logged (the file
 * is then removed).
 */
int fb_snapshot_write(const char *path, fb_store_t *s, uint64_t seq,
    fb_snapshot_end_pt end, void *arg, fb_snapshot_info_t *info,
    fb_jlog_pt log);

/*
 * Loads path into s (fb_store_restore_account for each account).
 * FB_OK; FB_DECLINED if the file is damaged (logged, naming the file and
 * the offset); FB_ERROR if it could not be read.
 */
int fb_snapshot_load(const char *path, fb_store_t *s,
    fb_snapshot_info_t *info, fb_jlog_pt log);

#endif /* FB_SNAPSHOT_H_INCLUDED */
