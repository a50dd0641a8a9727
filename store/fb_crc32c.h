/*
 * fb_crc32c.h: CRC-32C (Castagnoli), as iSCSI, ext4, LevelDB and
 * PostgreSQL's WAL use it: reflected polynomial 0x82F63B78, initial value
 * and final XOR 0xFFFFFFFF.  crc32c("123456789") is 0xE3069283.
 *
 * The SSE4.2 crc32 instruction is used when the CPU has it (checked once,
 * at run time); otherwise a table, one byte at a time.
 */

#ifndef FB_CRC32C_H_INCLUDED
#define FB_CRC32C_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

/*
 * Extends crc, the CRC of what came before (0 for nothing), by len bytes:
 * fb_crc32c(fb_crc32c(0, a, n), b, m) is the CRC of a followed by b.
 */
uint32_t fb_crc32c(uint32_t crc, const void *data, size_t len);

/* The two implementations, for the tests to compare. */
uint32_t fb_crc32c_table(uint32_t crc, const void *data, size_t len);
uint32_t fb_crc32c_sse42(uint32_t crc, const void *data, size_t len);
int fb_crc32c_have_sse42(void);

/*
 * A CRC stored next to the data it covers is masked, as LevelDB does: the
 * CRC of data that itself holds CRCs is otherwise prone to collide.
 */
static inline uint32_t
fb_crc32c_mask(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static inline uint32_t
fb_crc32c_unmask(uint32_t masked)
{
    uint32_t  rot = masked - 0xa282ead8u;

    return (rot >> 17) | (rot << 15);
}

#endif /* FB_CRC32C_H_INCLUDED */
