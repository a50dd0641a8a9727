/*
 * fb-journalbench.c: in-process measurements of the journal (no HTTP).
 *
 *   fb-journalbench fsync [-d DIR] [-n N] [-b BYTES]
 *       write BYTES and fdatasync, N times, in a file in DIR: mean, p50,
 *       p99 and max of one write + fdatasync
 *   fb-journalbench append [-n N] [-t THREADS]
 *       the log hook alone: deposits through a store whose journal is
 *       not waited for (--fsync batch), ns per operation, and the records
 *       per write and per fdatasync the writer made
 *   fb-journalbench commit [-d DIR] [-n N] [-t THREADS]
 *       group commit under --fsync always, as the workers meet it:
 *       THREADS threads each make a deposit and wait until it is durable,
 *       N in all; operations per second, per fdatasync, and the process's
 *       CPU time (workers, writer, kernel) per operation
 *   fb-journalbench recover [-d DIR] [-a ACCOUNTS] [-r RECORDS]
 *       builds a data directory of ACCOUNTS creates and RECORDS deposits,
 *       withdrawals and transfers, drops its files from the page cache,
 *       and times start-up recovery: the whole journal replayed; then a
 *       snapshot (timed), and recovery from the snapshot alone
 *
 * DIR defaults to $TMPDIR or /tmp; recover removes what it made.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "fb_journal.h"
#include "fb_store.h"

#define BENCH_MAX_THREADS  64


static const char  *bench_dir;


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


static void bench_log(int level, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
bench_log(int level, int err, const char *fmt, ...)
{
    va_list  ap;

    if (level > FB_JLOG_WARN && getenv("FB_BENCH_VERBOSE") == NULL) {
        return;
    }

    va_start(ap, fmt);
    fprintf(stderr, "  journal: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (err != 0) {
        fprintf(stderr, " (%s)", strerror(err));
    }
    fputc('\n', stderr);
}


static int
bench_cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


static int
bench_fsync(long n, size_t bytes)
{
    int      fd;
    long     i;
    char     path[4096], *buf;
    double   t, total = 0, *v;

    snprintf(path, sizeof(path), "%s/fb-journalbench-fsync.%ld", bench_dir,
             (long) getpid());

    buf = calloc(1, bytes);
    v = calloc((size_t) n, sizeof(double));
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (buf == NULL || v == NULL || fd < 0) {
        fprintf(stderr, "fb-journalbench: setting up \"%s\" failed: %s\n",
                path, strerror(errno));
        return 1;
    }

    for (i = 0; i < n; i++) {
        t = bench_now();
        if (write(fd, buf, bytes) != (ssize_t) bytes || fdatasync(fd) != 0) {
            fprintf(stderr, "fb-journalbench: write/fdatasync failed: %s\n",
                    strerror(errno));
            close(fd);
            unlink(path);
            return 1;
        }
        v[i] = bench_now() - t;
        total += v[i];
    }

    close(fd);
    unlink(path);
    qsort(v, (size_t) n, sizeof(double), bench_cmp);

    printf("write %zu bytes + fdatasync, %ld times in %s:\n"
           "  mean %.3f ms  p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
           bytes, n, bench_dir, total / (double) n * 1e3,
           v[n / 2] * 1e3, v[(n * 99) / 100] * 1e3, v[n - 1] * 1e3);

    free(v);
    free(buf);
    return 0;
}


/* Drops every file of dir from the page cache: a cold start. */
static void
bench_evict(const char *dir)
{
    int             fd;
    DIR            *d;
    char            path[4096];
    struct dirent  *de;

    d = opendir(dir);
    if (d == NULL) {
        return;
    }

    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        fd = open(path, O_RDONLY);
        if (fd >= 0) {
            (void) fdatasync(fd);
            (void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            close(fd);
        }
    }

    closedir(d);
}


static void
bench_rmdir(const char *dir)
{
    DIR            *d;
    char            path[4096];
    struct dirent  *de;

    d = opendir(dir);
    if (d == NULL) {
        return;
    }

    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }

    closedir(d);
    rmdir(dir);
}


typedef struct {
    fb_journal_t  *j;
    fb_store_t    *s;
} bench_pair_t;


static int
bench_open(bench_pair_t *p, const char *dir, fb_fsync_e policy, int start,
    fb_recovery_t *rec)
{
    fb_store_conf_t     sc;
    fb_journal_conf_t   jc;

    memset(&jc, 0, sizeof(jc));
    jc.dir = dir;
    jc.fsync = policy;
    jc.interval_ms = 10;
    jc.log = bench_log;

    p->j = fb_journal_new(&jc);
    if (p->j == NULL) {
        return -1;
    }

    memset(&sc, 0, sizeof(sc));
    sc.log = fb_journal_log;
    sc.log_ctx = p->j;

    p->s = fb_store_new(&sc);
    if (p->s == NULL || fb_journal_recover(p->j, p->s, rec) != FB_OK) {
        return -1;
    }

    if (start && fb_journal_start(p->j, p->s) != FB_OK) {
        return -1;
    }

    return 0;
}


static void
bench_close(bench_pair_t *p)
{
    fb_journal_stop(p->j, 0);
    fb_journal_free(p->j);
    fb_store_free(p->s);
}


static uint64_t
bench_rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}


static int
bench_recover(int64_t accounts, int64_t records)
{
    int             i;
    char            dir[4096], owner[32];
    double          t;
    int64_t         id, a, b, n;
    uint64_t        rng = 88172645463325252ull, lsn = 0;
    bench_pair_t    p;
    fb_recovery_t   rec;

    snprintf(dir, sizeof(dir), "%s/fb-journalbench.%ld", bench_dir,
             (long) getpid());

    printf("building %s: %" PRId64 " accounts, then %" PRId64 " deposits, "
           "withdrawals and transfers (--fsync batch)\n", dir, accounts,
           records);

    if (bench_open(&p, dir, FB_FSYNC_BATCH, 1, NULL) != 0) {
        return 1;
    }

    t = bench_now();

    for (id = 1; id <= accounts; id++) {
        n = snprintf(owner, sizeof(owner), "OOO%07" PRId64, id);
        if (fb_store_create(p.s, owner, (size_t) n, NULL) != FB_STORE_OK) {
            fprintf(stderr, "fb-journalbench: create failed\n");
            return 1;
        }
    }

    for (n = 0; n < records; n++) {
        a = 1 + (int64_t) (bench_rng(&rng) % (uint64_t) accounts);
        b = a % accounts + 1;

        switch (n % 4) {
        case 0:
        case 1:
            (void) fb_store_deposit(p.s, a, 1 + (int64_t) (n % 10000), NULL,
                                    &lsn);
            break;
        case 2:
            if (fb_store_withdraw(p.s, a, 1, NULL, &lsn) == FB_STORE_OK) {
                break;
            }
            /* an account too poor for it gets a deposit instead */
            (void) fb_store_deposit(p.s, a, 100, NULL, &lsn);
            break;
        default:
            if (fb_store_transfer(p.s, a, b, 1, NULL, NULL, &lsn)
                != FB_STORE_OK)
            {
                (void) fb_store_deposit(p.s, a, 100, NULL, &lsn);
            }
            break;
        }
    }

    (void) fb_journal_wait(p.j, lsn);
    bench_close(&p);
    printf("  built in %.2f s\n", bench_now() - t);

    for (i = 0; i < 2; i++) {
        bench_evict(dir);
        if (bench_open(&p, dir, FB_FSYNC_ALWAYS, i == 1, &rec) != 0) {
            return 1;
        }
        printf("recovery, %s page cache: %" PRIu64 " accounts, %" PRIu64
               " records replayed from %" PRIu64 " segments, no snapshot: "
               "%.3f s (%.1f million records/s)\n",
               i == 0 ? "cold" : "cold, second run", rec.accounts, rec.replayed,
               rec.segments, rec.seconds,
               (double) rec.replayed / rec.seconds / 1e6);
        if (i == 0) {
            bench_close(&p);
        }
    }

    t = bench_now();
    if (fb_journal_snapshot(p.j) != FB_OK) {
        fprintf(stderr, "fb-journalbench: the snapshot failed\n");
        return 1;
    }
    printf("snapshot of %" PRId64 " accounts (written, synced, renamed, "
           "segments deleted): %.3f s\n", accounts, bench_now() - t);
    bench_close(&p);

    bench_evict(dir);
    if (bench_open(&p, dir, FB_FSYNC_ALWAYS, 0, &rec) != 0) {
        return 1;
    }
    printf("recovery, cold page cache: %" PRIu64 " accounts from the "
           "snapshot, %" PRIu64 " records replayed: %.3f s\n", rec.accounts,
           rec.replayed, rec.seconds);
    bench_close(&p);

    bench_rmdir(dir);
    return 0;
}


typedef struct {
    fb_store_t    *s;
    fb_journal_t  *j;
    pthread_t      tid;
    long           n;
    long           failed;
    int64_t        first;
} bench_worker_t;


static void *
bench_append_worker(void *arg)
{
    long             i;
    bench_worker_t  *w = arg;

    for (i = 0; i < w->n; i++) {
        (void) fb_store_deposit(w->s, w->first + i % 1000, 1, NULL, NULL);
    }

    return NULL;
}


/*
 * A fresh directory for this run, its journal and store started under
 * policy, and 1,000 accounts per thread: thread i deposits into accounts
 * 1 + 1000 i onwards, so threads do not share accounts.
 */
static int
bench_setup(bench_pair_t *p, char *dir, size_t size, fb_fsync_e policy,
    int threads)
{
    int  i;

    snprintf(dir, size, "%s/fb-journalbench.%ld", bench_dir, (long) getpid());

    if (bench_open(p, dir, policy, 1, NULL) != 0) {
        return -1;
    }

    for (i = 0; i < threads * 1000; i++) {
        (void) fb_store_create(p->s, "OOO", 3, NULL);
    }

    return 0;
}


/* Runs fn on threads threads, n / threads operations each; returns the
 * operations that failed, or -1 if a thread could not be started. */
static long
bench_run(bench_pair_t *p, bench_worker_t *w, int threads, long n,
    void *(*fn)(void *))
{
    int   i, err, started;
    long  failed = 0;

    for (started = 0; started < threads; started++) {
        w[started].s = p->s;
        w[started].j = p->j;
        w[started].n = n / threads;
        w[started].first = 1 + started * 1000;
        w[started].failed = 0;
        err = pthread_create(&w[started].tid, NULL, fn, &w[started]);
        if (err != 0) {
            fprintf(stderr, "fb-journalbench: pthread_create() failed: %s\n",
                    strerror(err));
            break;
        }
    }

    for (i = 0; i < started; i++) {
        pthread_join(w[i].tid, NULL);
        failed += w[i].failed;
    }

    return started == threads ? failed : -1;
}


static int
bench_append(long n, int threads)
{
    char                 dir[4096];
    double               t;
    bench_pair_t         p;
    bench_worker_t       w[BENCH_MAX_THREADS];
    fb_journal_stats_t   st;

    if (bench_setup(&p, dir, sizeof(dir), FB_FSYNC_BATCH, threads) != 0) {
        return 1;
    }

    t = bench_now();
    if (bench_run(&p, w, threads, n, bench_append_worker) != 0) {
        bench_close(&p);
        bench_rmdir(dir);
        return 1;
    }
    t = bench_now() - t;
    fb_journal_stats(p.j, &st);
    n = n / threads * threads;

    printf("%ld deposits through the log hook from %d thread(s): %.0f ns "
           "each (%.2f million/s); the writer made %" PRIu64 " writes, %"
           PRIu64 " fdatasyncs meanwhile\n", n, threads,
           t / (double) n * 1e9, (double) n / t / 1e6, st.batches,
           st.syncs);

    bench_close(&p);
    bench_rmdir(dir);
    return 0;
}


static double
bench_cpu(void)
{
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
           + (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}


static void *
bench_commit_worker(void *arg)
{
    long             i;
    uint64_t         lsn;
    bench_worker_t  *w = arg;

    for (i = 0; i < w->n; i++) {
        if (fb_store_deposit(w->s, w->first + i % 1000, 1, NULL, &lsn)
                != FB_STORE_OK
            || fb_journal_wait(w->j, lsn) != 0)
        {
            w->failed++;
        }
    }

    return NULL;
}


static int
bench_commit(long n, int threads)
{
    char                 dir[4096];
    long                 failed;
    double               t, cpu;
    bench_pair_t         p;
    bench_worker_t       w[BENCH_MAX_THREADS];
    fb_journal_stats_t   st0, st;

    if (bench_setup(&p, dir, sizeof(dir), FB_FSYNC_ALWAYS, threads) != 0) {
        return 1;
    }

    fb_journal_stats(p.j, &st0);
    t = bench_now();
    cpu = bench_cpu();
    failed = bench_run(&p, w, threads, n, bench_commit_worker);
    t = bench_now() - t;
    cpu = bench_cpu() - cpu;
    fb_journal_stats(p.j, &st);
    n = n / threads * threads;

    if (failed >= 0) {
        printf("%ld durable deposits from %d thread(s): %.0f/s, %.1f per "
               "fdatasync (%" PRIu64 "), %.1f us of CPU each%s\n", n,
               threads, (double) n / t,
               (double) n / (double) (st.syncs - st0.syncs),
               st.syncs - st0.syncs, cpu / (double) n * 1e6,
               failed ? " (SOME FAILED)" : "");
    }

    bench_close(&p);
    bench_rmdir(dir);
    return failed != 0;
}


static void
bench_usage(void)
{
    fprintf(stderr,
        "usage: fb-journalbench fsync [-d DIR] [-n N] [-b BYTES]\n"
        "       fb-journalbench append [-d DIR] [-n N] [-t THREADS]\n"
        "       fb-journalbench commit [-d DIR] [-n N] [-t THREADS]\n"
        "       fb-journalbench recover [-d DIR] [-a ACCOUNTS] "
        "[-r RECORDS]\n");
}


int
main(int argc, char **argv)
{
    int          opt, threads = 1;
    long         n = 2000;
    size_t       bytes = 41;
    int64_t      accounts = 1000000, records = 10000000;
    const char  *cmd;

    if (argc < 2) {
        bench_usage();
        return 2;
    }

    cmd = argv[1];
    bench_dir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";

    optind = 2;
    while ((opt = getopt(argc, argv, "d:n:b:t:a:r:")) != -1) {
        switch (opt) {
        case 'd': bench_dir = optarg; break;
        case 'n': n = atol(optarg); break;
        case 'b': bytes = (size_t) atol(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'a': accounts = atoll(optarg); break;
        case 'r': records = atoll(optarg); break;
        default: bench_usage(); return 2;
        }
    }

    if (n < 1 || bytes < 1 || threads < 1 || threads > BENCH_MAX_THREADS
        || accounts < 2 || records < 0)
    {
        bench_usage();
        return 2;
    }

    if (strcmp(cmd, "fsync") == 0) {
        return bench_fsync(n, bytes);
    }

    if (strcmp(cmd, "append") == 0) {
        return bench_append(n == 2000 ? 2000000 : n, threads);
    }

    if (strcmp(cmd, "commit") == 0) {
        return bench_commit(n == 2000 ? 50000 : n, threads);
    }

    if (strcmp(cmd, "recover") == 0) {
        return bench_recover(accounts, records);
    }

    bench_usage();
    return 2;
}
