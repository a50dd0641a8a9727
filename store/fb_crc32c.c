/*
 * fb_crc32c.c: CRC-32C with the SSE4.2 instruction, or a table.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <string.h>

#include "fb_crc32c.h"

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define FB_CRC32C_X86  1
#endif

#define FB_CRC32C_POLY  0x82f63b78u


static uint32_t           fb_crc32c_tab[256];
static int                fb_crc32c_hw;
static pthread_once_t     fb_crc32c_once = PTHREAD_ONCE_INIT;


static void
fb_crc32c_init(void)
{
    int        k;
    uint32_t   i, c;

    for (i = 0; i < 256; i++) {
        c = i;
        for (k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ FB_CRC32C_POLY : c >> 1;
        }
        fb_crc32c_tab[i] = c;
    }

#ifdef FB_CRC32C_X86
    __builtin_cpu_init();
    fb_crc32c_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
}


int
fb_crc32c_have_sse42(void)
{
    pthread_once(&fb_crc32c_once, fb_crc32c_init);
    return fb_crc32c_hw;
}


uint32_t
fb_crc32c_table(uint32_t crc, const void *data, size_t len)
{
    const unsigned char  *p = data;

    pthread_once(&fb_crc32c_once, fb_crc32c_init);

    crc = ~crc;
    while (len-- > 0) {
        crc = fb_crc32c_tab[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }

    return ~crc;
}


#ifdef FB_CRC32C_X86

__attribute__((target("sse4.2")))
uint32_t
fb_crc32c_sse42(uint32_t crc, const void *data, size_t len)
{
    uint64_t              c, w;
    const unsigned char  *p = data;

    c = ~crc;

    /* Eight bytes at a time; memcpy keeps unaligned loads well defined. */
    while (len >= 8) {
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        len -= 8;
    }

    while (len-- > 0) {
        c = _mm_crc32_u8((uint32_t) c, *p++);
    }

    return ~(uint32_t) c;
}

#else

uint32_t
fb_crc32c_sse42(uint32_t crc, const void *data, size_t len)
{
    return fb_crc32c_table(crc, data, len);
}

#endif


uint32_t
fb_crc32c(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&fb_crc32c_once, fb_crc32c_init);

    if (fb_crc32c_hw) {
        return fb_crc32c_sse42(crc, data, len);
    }

    return fb_crc32c_table(crc, data, len);
}
