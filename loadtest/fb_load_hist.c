/*
 * fb_load_hist.c: the latency histogram and the merging of per-thread
 * results.
 *
 * Buckets are log-linear, as in HdrHistogram: values below 256 ns have a
 * bucket each; above, every power of two is split into 128 equal buckets,
 * so a bucket is never wider than 1/128 (0.78%) of the values in it.
 * Recording is a bit scan and an increment; the whole histogram is 35 KB.
 */

#include "fb_load.h"

#include <string.h>

#define FB_LOAD_HIST_SUB    (1U << FB_LOAD_HIST_SUB_BITS)

static unsigned fb_load_hist_index(uint64_t v);
static uint64_t fb_load_hist_high(unsigned i);


static unsigned
fb_load_hist_index(uint64_t v)
{
    unsigned  msb, shift;

    if (v < 2 * FB_LOAD_HIST_SUB) {
        return (unsigned) v;
    }

    if (v >= (1ULL << FB_LOAD_HIST_MAX_BITS)) {
        v = (1ULL << FB_LOAD_HIST_MAX_BITS) - 1;
    }

    msb = 63 - (unsigned) __builtin_clzll(v);
    shift = msb - FB_LOAD_HIST_SUB_BITS;

    /* v >> shift is in [SUB, 2 * SUB): the power's first bucket is
     * (shift + 1) * SUB, contiguous with the exact ones below 2 * SUB. */
    return shift * FB_LOAD_HIST_SUB + (unsigned) (v >> shift);
}


/* The highest value that falls into bucket i. */
static uint64_t
fb_load_hist_high(unsigned i)
{
    unsigned  shift;
    uint64_t  m;

    if (i < 2 * FB_LOAD_HIST_SUB) {
        return i;
    }

    shift = i / FB_LOAD_HIST_SUB - 1;
    m = i - shift * FB_LOAD_HIST_SUB;

    return ((m + 1) << shift) - 1;
}


void
fb_load_hist_record(fb_load_hist_t *h, uint64_t ns)
{
    h->bucket[fb_load_hist_index(ns)]++;

    if (h->count == 0 || ns < h->min) {
        h->min = ns;
    }

    if (ns > h->max) {
        h->max = ns;
    }

    h->count++;
    h->sum += ns;
}


void
fb_load_hist_merge(fb_load_hist_t *dst, const fb_load_hist_t *src)
{
    size_t  i;

    if (src->count == 0) {
        return;
    }

    if (dst->count == 0 || src->min < dst->min) {
        dst->min = src->min;
    }

    if (src->max > dst->max) {
        dst->max = src->max;
    }

    dst->count += src->count;
    dst->sum += src->sum;

    for (i = 0; i < FB_LOAD_HIST_BUCKETS; i++) {
        dst->bucket[i] += src->bucket[i];
    }
}


uint64_t
fb_load_hist_percentile(const fb_load_hist_t *h, double p)
{
    unsigned  i;
    uint64_t  ppm, target, seen, v;

    if (h->count == 0) {
        return 0;
    }

    /*
     * The smallest value that at least p% of the samples do not exceed:
     * the sample of rank ceil(p% of count), worked out in parts per
     * million and whole numbers (0.999 * 1000 is a hair above 999 in
     * binary floating point, and rounding that up took rank 1000).
     */
    ppm = (uint64_t) (p * 10000.0 + 0.5);
    target = (ppm * h->count + 999999) / 1000000;

    if (target < 1) {
        target = 1;
    }

    if (target > h->count) {
        target = h->count;
    }

    seen = 0;

    for (i = 0; i < FB_LOAD_HIST_BUCKETS; i++) {
        seen += h->bucket[i];

        if (seen >= target) {
            v = fb_load_hist_high(i);
            return v > h->max ? h->max : (v < h->min ? h->min : v);
        }
    }

    return h->max;
}


void
fb_load_codes_add(fb_load_codes_t *codes, const char *name, size_t len,
    uint64_t n)
{
    int  i;

    if (len >= FB_LOAD_CODE_LEN) {
        codes->other += n;
        return;
    }

    for (i = 0; i < codes->n; i++) {
        if (strncmp(codes->name[i], name, len) == 0
            && codes->name[i][len] == '\0')
        {
            codes->count[i] += n;
            return;
        }
    }

    if (codes->n == FB_LOAD_MAX_CODES) {
        codes->other += n;
        return;
    }

    memcpy(codes->name[codes->n], name, len);
    codes->name[codes->n][len] = '\0';
    codes->count[codes->n] = n;
    codes->n++;
}


void
fb_load_stats_merge(fb_load_stats_t *dst, const fb_load_stats_t *src)
{
    int  i;

    for (i = 0; i <= FB_LOAD_NOPS; i++) {
        fb_load_hist_merge(&dst->hist[i], &src->hist[i]);
    }

    for (i = 0; i < FB_LOAD_NOPS; i++) {
        dst->ok[i] += src->ok[i];
        dst->failed[i] += src->failed[i];
    }

    for (i = 0; i < 600; i++) {
        dst->status[i] += src->status[i];
    }

    for (i = 0; i < src->codes.n; i++) {
        fb_load_codes_add(&dst->codes, src->codes.name[i],
                          strlen(src->codes.name[i]), src->codes.count[i]);
    }

    dst->codes.other += src->codes.other;
    dst->codes.none += src->codes.none;

    dst->timeouts += src->timeouts;
    dst->lost += src->lost;
    dst->protocol_errors += src->protocol_errors;
    dst->connect_errors += src->connect_errors;
    dst->reconnects += src->reconnects;
    dst->late += src->late;
    dst->unsent += src->unsent;

    if (src->last_ns > dst->last_ns) {
        dst->last_ns = src->last_ns;
    }

    dst->deposited += src->deposited;
    dst->withdrawn += src->withdrawn;
    dst->uncertain_in += src->uncertain_in;
    dst->uncertain_out += src->uncertain_out;
    dst->uncertain_ops += src->uncertain_ops;
}
