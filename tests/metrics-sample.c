/*
 * metrics-sample.c: prints the exposition after recording, on three
 * per-thread stats, at least one of everything the backend records: every
 * route, method and status, a duration in every bucket and beyond the last,
 * every operation and outcome, a transfer amount in every bucket.  The
 * output is the widest the backend can produce; tests/test-promtool.sh
 * feeds it to promtool.
 *
 * With --names, prints instead every sample name the backend defines, one
 * a line (a histogram's with _bucket, _sum and _count), whether or not
 * this build records them: tests/test-contrib.py checks the dashboard and
 * the alerting rules against that list.
 */

#include "fb_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fb_metrics.h"

#define FB_SAMPLE_THREADS  3

static const int  fb_sample_statuses[] = {
    200, 201, 400, 404, 405, 413, 500, 503, 502
};

static const uint64_t  fb_sample_durations[] = {
    1, 10000, 10001, 30000, 60000, 200000, 300000, 700000, 2000000, 3000000,
    7000000, 20000000, 30000000, 70000000, 200000000, 300000000, 700000000,
    2000000000, 3000000000, 7000000000, 10000000000
};

static const int64_t  fb_sample_amounts[] = {
    1, 100, 101, 1000, 5000, 10001, 99999, 400000, 1000000
};


static int
fb_sample_names(void)
{
    size_t                  k;
    const fb_metric_def_t  *d;

    for (k = 0; k < FB_METRIC_COUNT; k++) {
        d = &fb_metric_defs[k];

        if (d->type == FB_METRIC_HISTOGRAM) {
            printf("%s_bucket\n%s_sum\n%s_count\n", d->name, d->name,
                   d->name);
        } else {
            printf("%s\n", d->name);
        }
    }

    return fflush(stdout) == 0 ? 0 : 1;
}


int
main(int argc, char **argv)
{
    int            s, d, i;
    size_t         r, m, n = 0;
    fb_buf_t       b;
    fb_stats_t    *st;
    fb_metrics_t   metrics;

    if (argc == 2 && strcmp(argv[1], "--names") == 0) {
        return fb_sample_names();
    }

    if (argc != 1) {
        fprintf(stderr, "usage: metrics-sample [--names]\n");
        return 2;
    }

    st = fb_stats_alloc(FB_SAMPLE_THREADS);
    if (st == NULL || fb_buf_init(&b, 4096) != FB_OK) {
        fprintf(stderr, "metrics-sample: out of memory\n");
        return 1;
    }

    /* No journal: its metrics are declared without samples. */
    memset(&metrics, 0, sizeof(metrics));
    metrics.threads = st;
    metrics.nthreads = FB_SAMPLE_THREADS;
    metrics.start_time = 1700000000.25;

    for (r = 0; r < FB_ROUTE_COUNT; r++) {
        for (m = 0; m < FB_METHOD_COUNT; m++) {
            for (s = 0; s < (int) fb_nelems(fb_sample_statuses); s++) {
                d = (int) (n % fb_nelems(fb_sample_durations));
                fb_stats_request(&st[n % FB_SAMPLE_THREADS], (fb_route_e) r,
                                 (fb_method_e) m, fb_sample_statuses[s],
                                 fb_sample_durations[d]);
                n++;
            }
        }
    }

    for (i = 0; i < FB_STAT_OP_COUNT * 2; i++) {
        fb_stats_operation(&st[i % FB_SAMPLE_THREADS], (fb_stat_op_e) (i / 2),
                           i % 2 == 0, 500);
    }

    for (i = 0; i < (int) fb_nelems(fb_sample_amounts); i++) {
        fb_stats_operation(&st[i % FB_SAMPLE_THREADS], FB_STAT_OP_TRANSFER, 1,
                           fb_sample_amounts[i]);
    }

    fb_stats_account_created(&st[0]);
    fb_stats_account_created(&st[2]);
    fb_stats_set_busy(&st[1], 1);

    if (fb_metrics_format(&metrics, 2, &b) != FB_OK) {
        fprintf(stderr, "metrics-sample: fb_metrics_format() failed\n");
        return 1;
    }

    if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0) {
        perror("metrics-sample: write");
        return 1;
    }

    fb_buf_free(&b);
    free(st);
    return 0;
}
