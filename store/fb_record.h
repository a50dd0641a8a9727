/*
 * fb_record.h: the journal's on-disk format (doc/journal.txt, "Format").
 *
 * A segment is a 16-byte header followed by records.  A record is
 * self-delimiting and checksummed:
 *
 *     u32 len     bytes after this 8-byte head: 9 + payload
 *     u32 crc     masked CRC-32C of those len bytes
 *     u64 seq     the LSN
 *     u8  type    fb_op_type_e, | FB_RECORD_WRITE on the first record of
 *                 each write() of the journal's writer but a segment's
 *                 first record (version 2)
 *         payload
 *
 * Every integer is little-endian.  Payloads carry the balances the
 * operation produced, so that replay sets balances rather than adding to
 * them: replaying a record twice, or over a snapshot that already holds
 * its effect, gives the same result.
 *
 *     create    i64 id, i64 created, u16 owner_len, owner bytes
 *     deposit   i64 id, i64 amount, i64 balance
 *     withdraw  i64 id, i64 amount, i64 balance
 *     transfer  i64 from, i64 to, i64 amount, i64 from_balance,
 *               i64 to_balance
 */

#ifndef FB_RECORD_H_INCLUDED
#define FB_RECORD_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "fb_store.h"

#define FB_RECORD_HEAD        8          /* len and crc */
#define FB_RECORD_FIXED       9          /* seq and type */
#define FB_RECORD_MAX         (FB_RECORD_HEAD + FB_RECORD_FIXED + 18     \
                               + FB_OWNER_MAX_BYTES)

/*
 * The type's top bit: this record begins one write() of the writer, so
 * every record before it in the segment was written (and under --fsync
 * always, synced) before it.  Recovery tells a write torn by a power cut
 * from damage to earlier records by it (doc/journal.txt, section 9).
 */
#define FB_RECORD_WRITE       0x80

#define FB_SEGMENT_MAGIC      "FBJOURNL"
#define FB_SEGMENT_VERSION    2          /* 1: no FB_RECORD_WRITE marks */
#define FB_SEGMENT_HEADER     16         /* magic, u32 version, u32 zero */

/* File names in the data directory: the number is 20 decimal digits, so
 * that names sort in sequence order. */
#define FB_SEGMENT_PREFIX     "journal-"
#define FB_SEGMENT_SUFFIX     ".log"
#define FB_SNAPSHOT_PREFIX    "snapshot-"
#define FB_SNAPSHOT_SUFFIX    ".dat"
#define FB_SNAPSHOT_TMP       "snapshot.tmp"
#define FB_FILE_NAME_MAX      40

typedef enum {
    FB_RECORD_OK = 0,
    FB_RECORD_SHORT,      /* fewer bytes than the record needs */
    FB_RECORD_BAD,        /* impossible length, CRC mismatch */
    FB_RECORD_INVALID     /* CRC matches, payload impossible: never torn */
} fb_record_rc_e;

/* A decoded record.  op.owner points into the buffer decoded from. */
typedef struct {
    uint64_t   seq;
    size_t     size;      /* bytes the record takes, head included */
    unsigned   write_start:1;  /* FB_RECORD_WRITE: it begins a write() */
    fb_op_t    op;
} fb_record_t;

/* Encodes op as record seq into dst (FB_RECORD_MAX bytes); returns the
 * record's size. */
size_t fb_record_encode(const fb_op_t *op, uint64_t seq, unsigned char *dst);

/* Sets FB_RECORD_WRITE on the encoded record at p, and its CRC again. */
void fb_record_mark_write(unsigned char *p);

/* Decodes the record at p, of which avail bytes are there. */
fb_record_rc_e fb_record_decode(const unsigned char *p, size_t avail,
    fb_record_t *r);

/* The 16-byte segment header; its version (1 or 2) if hdr is one, or
 * -1. */
void fb_segment_header(unsigned char *hdr);
int fb_segment_header_check(const unsigned char *hdr);

/* "journal-00000000000000000001.log" and back; parse returns -1 unless
 * name is exactly such a name. */
void fb_segment_name(char *buf, uint64_t first_seq);
void fb_snapshot_name(char *buf, uint64_t seq);
int fb_segment_name_parse(const char *name, uint64_t *first_seq);
int fb_snapshot_name_parse(const char *name, uint64_t *seq);

/* Little-endian loads and stores. */
static inline void
fb_put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char) v;
    p[1] = (unsigned char) (v >> 8);
}

static inline void
fb_put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) v;
    p[1] = (unsigned char) (v >> 8);
    p[2] = (unsigned char) (v >> 16);
    p[3] = (unsigned char) (v >> 24);
}

static inline void
fb_put_u64(unsigned char *p, uint64_t v)
{
    fb_put_u32(p, (uint32_t) v);
    fb_put_u32(p + 4, (uint32_t) (v >> 32));
}

static inline uint16_t
fb_get_u16(const unsigned char *p)
{
    return (uint16_t) (p[0] | (p[1] << 8));
}

static inline uint32_t
fb_get_u32(const unsigned char *p)
{
    return (uint32_t) p[0] | ((uint32_t) p[1] << 8)
           | ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

static inline uint64_t
fb_get_u64(const unsigned char *p)
{
    return (uint64_t) fb_get_u32(p) | ((uint64_t) fb_get_u32(p + 4) << 32);
}

#endif /* FB_RECORD_H_INCLUDED */
