/*
 * fb-storebench.c: in-process benchmark of the account store (no HTTP).
 *
 *   fb-storebench [-s seconds] [-t threads,...]      operations per second
 *   fb-storebench -m [-n accounts,...] [-l bytes]    memory per account
 *
 * Throughput: get, deposit, withdraw and transfer, each for every thread
 * count, over 2 accounts (every thread on the same stripes: the worst
 * contention) and over 100,000 (spread).  Amounts are 1 centavo and the
 * accounts are funded so that no withdraw or transfer is refused; refusals
 * are counted and printed anyway.
 *
 * Memory: for each count, a child process creates that many accounts with
 * owners of the given length and prints fb_store_memory() per account,
 * the growth of its resident set (/proc/self/statm) per account, and how
 * long one audit (which holds every stripe lock) takes at that size.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fb_atomic.h"
#include "fb_store.h"


#define BENCH_MAX_THREADS   64
#define BENCH_MAX_LIST      16
#define SPREAD_ACCOUNTS     100000


typedef enum {
    BENCH_GET = 0,
    BENCH_DEPOSIT,
    BENCH_WITHDRAW,
    BENCH_TRANSFER
} bench_op_e;

static const char  *bench_op_names[] = {
    "get", "deposit", "withdraw", "transfer"
};

typedef struct {
    fb_store_t       *store;
    bench_op_e        op;
    int64_t           naccounts;
    fb_atomic_i64_t   stop;
    pthread_barrier_t start;
} bench_t;

typedef struct {
    bench_t    *bench;
    pthread_t   tid;
    uint64_t    rng;
    uint64_t    ops;
    uint64_t    failed;
} bench_thread_t;


static int parse_list(const char *s, long *out, int max, long lo, long hi);
static double now_seconds(void);
static uint64_t rng_next(uint64_t *s);
static void *bench_thread(void *arg);
static fb_store_t *bench_store(int64_t naccounts, int64_t funding);
static int bench_run(fb_store_t *s, int64_t naccounts, bench_op_e op,
    int nthreads, double seconds, double *rate, uint64_t *failed);
static int throughput(double seconds, const long *threads, int nthreads);
static long rss_bytes(void);
static int memory_one(long n, long owner_len);
static int memory(const long *counts, int ncounts, long owner_len);
static void usage(void);


static int
parse_list(const char *s, long *out, int max, long lo, long hi)
{
    int    n;
    long   v;
    char  *end;

    for (n = 0; *s != '\0'; n++) {
        if (n == max) {
            return -1;
        }

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || v < lo || v > hi
            || (*end != ',' && *end != '\0'))
        {
            return -1;
        }

        out[n] = v;
        s = *end == ',' ? end + 1 : end;
    }

    return n;
}


static double
now_seconds(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


/* xorshift64* */
static uint64_t
rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dULL;
}


static void *
bench_thread(void *arg)
{
    bench_thread_t  *t = arg;
    bench_t         *b = t->bench;
    int64_t          a, c, n;
    fb_account_t     acct;
    fb_store_rc_e    rc;

    n = b->naccounts;
    pthread_barrier_wait(&b->start);

    while (fb_atomic_load_relaxed(&b->stop) == 0) {
        a = 1 + (int64_t) (rng_next(&t->rng) % (uint64_t) n);

        switch (b->op) {
        case BENCH_GET:
            rc = fb_store_get(b->store, a, &acct);
            break;
        case BENCH_DEPOSIT:
            rc = fb_store_deposit(b->store, a, 1, NULL, NULL);
            break;
        case BENCH_WITHDRAW:
            rc = fb_store_withdraw(b->store, a, 1, NULL, NULL);
            break;
        default:
            c = 1 + (int64_t) (rng_next(&t->rng) % (uint64_t) (n - 1));
            c = c >= a ? c + 1 : c;
            rc = fb_store_transfer(b->store, a, c, 1, NULL, NULL, NULL);
            break;
        }

        t->ops++;
        if (rc != FB_STORE_OK) {
            t->failed++;
        }
    }

    return NULL;
}


static fb_store_t *
bench_store(int64_t naccounts, int64_t funding)
{
    int64_t      i, left, step;
    fb_store_t  *s;

    s = fb_store_new(NULL);
    if (s == NULL) {
        perror("fb_store_new()");
        return NULL;
    }

    for (i = 1; i <= naccounts; i++) {
        if (fb_store_create(s, "Bench Owner", 11, NULL) != FB_STORE_OK) {
            goto failed;
        }

        for (left = funding; left > 0; left -= step) {
            step = left < FB_AMOUNT_MAX ? left : FB_AMOUNT_MAX;
            if (fb_store_deposit(s, i, step, NULL, NULL) != FB_STORE_OK) {
                goto failed;
            }
        }
    }

    return s;

failed:

    fprintf(stderr, "fb-storebench: setting up %" PRId64 " accounts failed\n",
            naccounts);
    fb_store_free(s);
    return NULL;
}


static int
bench_run(fb_store_t *s, int64_t naccounts, bench_op_e op, int nthreads,
    double seconds, double *rate, uint64_t *failed)
{
    int              i;
    double           t0, t1;
    uint64_t         ops;
    bench_t          b;
    bench_thread_t   t[BENCH_MAX_THREADS];
    struct timespec  ts;

    memset(&b, 0, sizeof(b));
    b.store = s;
    b.op = op;
    b.naccounts = naccounts;
    fb_atomic_store_relaxed(&b.stop, 0);

    if (pthread_barrier_init(&b.start, NULL, (unsigned) nthreads + 1) != 0) {
        return -1;
    }

    for (i = 0; i < nthreads; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].bench = &b;
        t[i].rng = 0x9e3779b97f4a7c15ULL * (uint64_t) (i + 1) + 12345;
        if (pthread_create(&t[i].tid, NULL, bench_thread, &t[i]) != 0) {
            fprintf(stderr, "fb-storebench: pthread_create() failed\n");
            exit(1);
        }
    }

    pthread_barrier_wait(&b.start);
    t0 = now_seconds();

    ts.tv_sec = (time_t) seconds;
    ts.tv_nsec = (long) ((seconds - (double) ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        /* the rest of the interval */
    }

    fb_atomic_store_release(&b.stop, 1);

    ops = 0;
    *failed = 0;
    for (i = 0; i < nthreads; i++) {
        pthread_join(t[i].tid, NULL);
        ops += t[i].ops;
        *failed += t[i].failed;
    }

    t1 = now_seconds();
    pthread_barrier_destroy(&b.start);

    *rate = (double) ops / (t1 - t0);
    return 0;
}


static int
throughput(double seconds, const long *threads, int nthreads)
{
    int          k, i, op;
    double       rate;
    int64_t      naccounts, funding;
    uint64_t     failed;
    fb_store_t  *s;

    printf("%-9s %9s %8s %14s %8s\n",
           "op", "accounts", "threads", "ops/s", "refused");

    for (k = 0; k < 2; k++) {
        naccounts = k == 0 ? 2 : SPREAD_ACCOUNTS;

        /* Enough that 1-centavo withdraws and transfers never run dry. */
        funding = k == 0 ? (int64_t) 1000 * 1000 * 1000 * 100
                         : (int64_t) 10 * 1000 * 1000;

        s = bench_store(naccounts, funding);
        if (s == NULL) {
            return -1;
        }

        for (op = BENCH_GET; op <= BENCH_TRANSFER; op++) {
            for (i = 0; i < nthreads; i++) {
                if (bench_run(s, naccounts, (bench_op_e) op, (int) threads[i],
                              seconds, &rate, &failed) != 0)
                {
                    fb_store_free(s);
                    return -1;
                }

                printf("%-9s %9" PRId64 " %8ld %14.0f %8" PRIu64 "\n",
                       bench_op_names[op], naccounts, threads[i], rate,
                       failed);
                fflush(stdout);
            }
        }

        fb_store_free(s);
    }

    return 0;
}


static long
rss_bytes(void)
{
    long   size, resident;
    FILE  *f;

    f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return -1;
    }

    if (fscanf(f, "%ld %ld", &size, &resident) != 2) {
        resident = -1;
    }

    fclose(f);

    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}


/* In a child, so that each count starts from a fresh heap. */
static int
memory_one(long n, long owner_len)
{
    long               i, rss0, rss1;
    char               owner[64];
    double             t0, t1, t2;
    size_t             mem;
    fb_store_t        *s;
    fb_store_audit_t   au;

    s = fb_store_new(NULL);
    if (s == NULL) {
        perror("fb_store_new()");
        return 1;
    }

    rss0 = rss_bytes();
    t0 = now_seconds();

    for (i = 0; i < n; i++) {
        /* "OOO0000042": the same length whatever i is. */
        memset(owner, 'O', sizeof(owner));
        snprintf(owner + owner_len - 7, 8, "%07ld", i % 10000000);

        if (fb_store_create(s, owner, (size_t) owner_len, NULL)
            != FB_STORE_OK)
        {
            fprintf(stderr, "fb-storebench: create %ld failed\n", i);
            return 1;
        }
    }

    t1 = now_seconds();
    rss1 = rss_bytes();
    mem = fb_store_memory(s);

    /* How long an audit holds every stripe at this size. */
    fb_store_audit(s, &au);
    t2 = now_seconds();
    if (au.accounts != (uint64_t) n) {
        fprintf(stderr, "fb-storebench: audit saw %" PRIu64 " accounts\n",
                au.accounts);
        return 1;
    }

    printf("%10ld %6ld %12zu %10.2f %14.2f %12.0f %9.1f\n",
           n, owner_len, mem, (double) mem / (double) n,
           (double) (rss1 - rss0) / (double) n,
           (double) n / (t1 - t0), (t2 - t1) * 1e3);
    fflush(stdout);

    fb_store_free(s);
    return 0;
}


static int
memory(const long *counts, int ncounts, long owner_len)
{
    int    i, status;
    pid_t  pid;

    printf("%10s %6s %12s %10s %14s %12s %9s\n",
           "accounts", "owner", "store bytes", "bytes/acct", "RSS bytes/acct",
           "creates/s", "audit ms");
    fflush(stdout);

    for (i = 0; i < ncounts; i++) {
        pid = fork();
        if (pid < 0) {
            perror("fork()");
            return -1;
        }

        if (pid == 0) {
            _exit(memory_one(counts[i], owner_len));
        }

        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)
            || WEXITSTATUS(status) != 0)
        {
            fprintf(stderr, "fb-storebench: memory run of %ld failed\n",
                    counts[i]);
            return -1;
        }
    }

    return 0;
}


static void
usage(void)
{
    fprintf(stderr,
        "usage: fb-storebench [-s seconds] [-t threads,...]\n"
        "       fb-storebench -m [-n accounts,...] [-l owner_bytes]\n"
        "  -s  seconds per throughput case (default 1)\n"
        "  -t  thread counts (default 1,2)\n"
        "  -m  memory mode instead of throughput\n"
        "  -n  account counts for -m (default 1000000,10000000)\n"
        "  -l  owner length in bytes for -m, 8..12 (default 10)\n");
}


int
main(int argc, char **argv)
{
    int     c, i, mem_mode, nthreads, ncounts;
    long    threads[BENCH_MAX_LIST], counts[BENCH_MAX_LIST], owner_len;
    double  seconds;
    char    cpu[128];
    FILE   *f;

    seconds = 1.0;
    mem_mode = 0;
    owner_len = 10;
    threads[0] = 1;
    threads[1] = 2;
    nthreads = 2;
    counts[0] = 1000000;
    counts[1] = 10000000;
    ncounts = 2;

    while ((c = getopt(argc, argv, "s:t:mn:l:h")) != -1) {
        switch (c) {
        case 's':
            seconds = atof(optarg);
            if (seconds <= 0 || seconds > 600) {
                usage();
                return 2;
            }
            break;
        case 't':
            nthreads = parse_list(optarg, threads, BENCH_MAX_LIST, 1,
                                  BENCH_MAX_THREADS);
            if (nthreads <= 0) {
                usage();
                return 2;
            }
            break;
        case 'm':
            mem_mode = 1;
            break;
        case 'n':
            ncounts = parse_list(optarg, counts, BENCH_MAX_LIST, 1,
                                 FB_STORE_MAX_ACCOUNTS_DEFAULT);
            if (ncounts <= 0) {
                usage();
                return 2;
            }
            break;
        case 'l':
            owner_len = atol(optarg);
            if (owner_len < 8 || owner_len > 12) {
                usage();
                return 2;
            }
            break;
        default:
            usage();
            return 2;
        }
    }

    if (optind != argc) {
        usage();
        return 2;
    }

    printf("command:");
    for (i = 0; i < argc; i++) {
        printf(" %s", argv[i]);
    }
    printf("\n");

    strcpy(cpu, "unknown");
    f = fopen("/proc/cpuinfo", "r");
    if (f != NULL) {
        char  line[256], *p;

        while (fgets(line, sizeof(line), f) != NULL) {
            if (strncmp(line, "model name", 10) == 0
                && (p = strchr(line, ':')) != NULL)
            {
                snprintf(cpu, sizeof(cpu), "%s", p + 2);
                cpu[strcspn(cpu, "\n")] = '\0';
                break;
            }
        }
        fclose(f);
    }

    printf("machine: %ld online cpus, %s\n", sysconf(_SC_NPROCESSORS_ONLN),
           cpu);
#ifdef FB_ATOMICS_AO
    printf("atomics: libatomic_ops; stripes: %d\n", FB_STORE_STRIPES_DEFAULT);
#else
    printf("atomics: c11; stripes: %d\n", FB_STORE_STRIPES_DEFAULT);
#endif
    fflush(stdout);

    if (mem_mode) {
        return memory(counts, ncounts, owner_len) == 0 ? 0 : 1;
    }

    return throughput(seconds, threads, nthreads) == 0 ? 0 : 1;
}
