/*
 * test-journal.c: unit tests of the journal, snapshots and recovery:
 * CRC-32C check values on both implementations, record round trips, a
 * torn tail cut at every length, corruption in the middle, replay over a
 * snapshot that already holds the changes (idempotence), snapshot files,
 * recovery equal to the store it came from, snapshots taken while threads
 * keep changing balances, group commit, the batch policy, --check.
 *
 * Runs in scratch directories under $TMPDIR; prints its seed, and
 * FB_TEST_SEED=<seed> replays a run.  Nothing here measures time.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "fb_crc32c.h"
#include "fb_cunit.h"
#include "fb_jtest.h"
#include "fb_journal.h"
#include "fb_record.h"
#include "fb_snapshot.h"
#include "fb_store.h"


static uint64_t  seed;


/* ---- helpers ---- */


static int
copy_file(const char *from, const char *to)
{
    int      in, out;
    char     buf[65536];
    ssize_t  n;

    in = open(from, O_RDONLY);
    if (in < 0) {
        return -1;
    }

    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0) {
        close(in);
        return -1;
    }

    while ((n = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t) n) != n) {
            n = -1;
            break;
        }
    }

    close(in);
    close(out);
    return n < 0 ? -1 : 0;
}


/* Reads up to cap bytes of path into buf: how many, or -1. */
static ssize_t
read_file(const char *path, unsigned char *buf, size_t cap)
{
    int      fd;
    ssize_t  n;

    fd = open(path, O_RDONLY);
    if (fd < 0) {
        return -1;
    }
    n = read(fd, buf, cap);
    close(fd);
    return n;
}


#define SEG_RECORDS_MAX  4096

/*
 * Reads a segment's records; each pointer may be NULL.  Their offsets go
 * to off (up to SEG_RECORDS_MAX), how many begin a write()
 * (FB_RECORD_WRITE) to *marked, where the last one begins (0: none) to
 * *last and where they end to *end.  Returns the number of records, or
 * -1.
 */
static long
seg_scan(const char *path, long *off, long *marked, long *last, long *end)
{
    long            n = 0, o = FB_SEGMENT_HEADER, m = 0, l = 0;
    ssize_t         len;
    fb_record_t     r;
    static unsigned char  buf[4 << 20];

    len = read_file(path, buf, sizeof(buf));
    if (len < FB_SEGMENT_HEADER) {
        return -1;
    }

    while (fb_record_decode(buf + o, (size_t) (len - o), &r)
           == FB_RECORD_OK)
    {
        if (off != NULL && n < SEG_RECORDS_MAX) {
            off[n] = o;
        }
        m += r.write_start;
        l = o;
        n++;
        o += (long) r.size;
    }

    if (marked != NULL) {
        *marked = m;
    }
    if (last != NULL) {
        *last = l;
    }
    if (end != NULL) {
        *end = o;
    }
    return n;
}


/* Where the last valid record of a segment begins (0: none), and where
 * the records end (*end); -1 if it cannot be read. */
static long
last_record_at(const char *path, long *end)
{
    long  last;

    return seg_scan(path, NULL, NULL, &last, end) < 0 ? -1 : last;
}


/* A segment's records: their offsets, how many are marked. */
static long
seg_records(const char *path, long *off, long *marked)
{
    return seg_scan(path, off, marked, NULL, NULL);
}


/* 1 if the two files hold the same bytes (and both can be read). */
static int
same_bytes(const char *a, const char *b)
{
    ssize_t  n;
    static unsigned char  x[4 << 20], y[4 << 20];

    n = read_file(a, x, sizeof(x));
    return n >= 0 && n < (ssize_t) sizeof(x) && read_file(b, y, sizeof(y)) == n
           && memcmp(x, y, (size_t) n) == 0;
}


/* Appends len bytes of value c to a file. */
static int
append_bytes(const char *path, int c, size_t len)
{
    int            fd, rc = 0;
    unsigned char  buf[4096];
    size_t         k;

    memset(buf, c, sizeof(buf));
    fd = open(path, O_WRONLY | O_APPEND);
    if (fd < 0) {
        return -1;
    }
    for (k = 0; k < len && rc == 0; k += sizeof(buf)) {
        size_t  n = len - k < sizeof(buf) ? len - k : sizeof(buf);
        if (write(fd, buf, n) != (ssize_t) n) {
            rc = -1;
        }
    }
    close(fd);
    return rc;
}


static int
flip_byte(const char *path, long off)
{
    int            fd;
    unsigned char  c;

    fd = open(path, O_RDWR);
    if (fd < 0) {
        return -1;
    }

    if (pread(fd, &c, 1, off) != 1) {
        close(fd);
        return -1;
    }

    c ^= 0x5a;

    if (pwrite(fd, &c, 1, off) != 1) {
        close(fd);
        return -1;
    }

    close(fd);
    return 0;
}


static int
check_dir(const char *dir, int repair)
{
    int    rc;
    FILE  *out;

    out = fopen("/dev/null", "w");
    if (out == NULL) {
        return -1;
    }

    rc = fb_journal_check(dir, repair, out);
    fclose(out);
    return rc;
}




/*
 * Rewrites the record at off as not beginning a write(), its CRC again,
 * as if the writer had written it in one write() with the one before.
 */
static int
unmark_record(const char *path, long off)
{
    int            fd, rc = -1;
    size_t         len;
    unsigned char  rec[FB_RECORD_MAX];

    fd = open(path, O_RDWR);
    if (fd < 0) {
        return -1;
    }

    if (pread(fd, rec, sizeof(rec), off) >= FB_RECORD_HEAD + FB_RECORD_FIXED) {
        len = fb_get_u32(rec);
        if (len <= FB_RECORD_MAX - FB_RECORD_HEAD) {
            rec[FB_RECORD_HEAD + 8] &= (unsigned char) ~FB_RECORD_WRITE;
            fb_put_u32(rec + 4, fb_crc32c_mask(fb_crc32c(0, rec
                                                         + FB_RECORD_HEAD,
                                                         len)));
            if (pwrite(fd, rec, FB_RECORD_HEAD + len, off)
                == (ssize_t) (FB_RECORD_HEAD + len))
            {
                rc = 0;
            }
        }
    }

    close(fd);
    return rc;
}


/* Writes len bytes of value c at off, in place. */
static int
write_bytes_at(const char *path, long off, int c, size_t len)
{
    int            fd;
    ssize_t        n;
    unsigned char  b[4096];

    if (len > sizeof(b)) {
        return -1;
    }
    memset(b, c, len);

    fd = open(path, O_RDWR);
    if (fd < 0) {
        return -1;
    }
    n = pwrite(fd, b, len, off);
    close(fd);
    return n == (ssize_t) len ? 0 : -1;
}


/* Runs n operations, every one of them acknowledged (the journal works). */
static void
run_ops(jt_pair_t *p, jt_model_t *m, jt_rng_t *r, int n)
{
    int      i;
    jt_op_t  op;

    for (i = 0; i < n; i++) {
        op = jt_run_op(p, m, r);
        if (op.rc == FB_STORE_OK) {
            CU_ASSERT_FATAL(op.durable);
        }
    }
}


/* A scratch directory named for tag, r seeded with seed + k, an empty
 * model: the directory, or NULL. */
static char *
start_dir(const char *tag, uint64_t k, jt_rng_t *r, jt_model_t *m)
{
    jt_rng_seed(r, seed + k);
    jt_model_init(m);
    return jt_mkdir(tag);
}


/* Opens dir under policy and runs n acknowledged operations: 0, or -1
 * if it would not open (nothing run). */
static int
open_run(jt_pair_t *p, const char *dir, fb_fsync_e policy, jt_model_t *m,
    jt_rng_t *r, int n)
{
    if (jt_open(p, dir, policy, 0) != 0) {
        return -1;
    }

    run_ops(p, m, r, n);
    return 0;
}


/* One start of dir under always: n acknowledged operations, then an
 * orderly stop with no last snapshot.  0, or -1 if it would not open. */
static int
session(const char *dir, jt_model_t *m, jt_rng_t *r, int n)
{
    jt_pair_t  p;
    int        rc;

    rc = open_run(&p, dir, FB_FSYNC_ALWAYS, m, r, n);
    jt_close(&p, 0);
    return rc;
}


/* A session, and the path of the segment it wrote (the newest) in seg:
 * 0, or -1. */
static int
session_seg(const char *dir, jt_model_t *m, jt_rng_t *r, int n, char *seg,
    size_t len)
{
    const char  *last;

    if (session(dir, m, r, n) != 0) {
        return -1;
    }

    last = jt_last_segment(dir);
    if (last == NULL) {
        return -1;
    }

    snprintf(seg, len, "%s", last);
    return 0;
}


/*
 * The recovery checks below assert on their caller's line (at), passed
 * by the macros of the same names, the way CU_ASSERT reports its own.
 */
#define check_at(at, cond, fatal)                                           \
    CU_assertImplementation((cond) ? CU_TRUE : CU_FALSE, (unsigned) (at),   \
                            #cond, __FILE__, "", (fatal) ? CU_TRUE : CU_FALSE)

#define TORN_ANY  (-1)      /* recovers_to: torn bytes not checked */

#define recover_ok(dir, rec)  recover_ok_at(__LINE__, dir, rec)
#define recovers_to(dir, m, torn)  recovers_to_at(__LINE__, dir, m, torn)
#define recovery_refused(dir, needle)                                       \
    recovery_refused_at(__LINE__, dir, needle)
#define recovers_as_ran(p, dir, snap)                                        \
    recovers_as_ran_at(__LINE__, p, dir, snap)


/* Recovers dir with no journal running, the log cleared first (it then
 * holds what recovery said): recovery must work (fatal). */
static fb_store_t *
recover_ok_at(int at, const char *dir, fb_recovery_t *rec)
{
    int          rc;
    fb_store_t  *s;

    jt_log_clear();
    s = jt_recover(dir, &rc, rec);
    check_at(at, rc == FB_OK, 1);
    check_at(at, s != NULL, 1);
    return s;
}


/* Recovery of dir works (fatal), cut torn bytes off (TORN_ANY: not
 * checked) and gave the store model m holds.  Returns what it did. */
static fb_recovery_t
recovers_to_at(int at, const char *dir, const jt_model_t *m, long torn)
{
    char           why[160];
    fb_store_t    *s;
    fb_recovery_t  rec;

    s = recover_ok_at(at, dir, &rec);
    if (torn != TORN_ANY) {
        check_at(at, rec.torn_bytes == (uint64_t) torn, 0);
    }
    if (!check_at(at, jt_store_equals_model(s, m, why, sizeof(why)) == 0, 0))
    {
        printf("\n    line %d: %s ", at, why);
    }
    fb_store_free(s);
    return rec;
}


/* Recovery of dir is refused, and the log (cleared first) says so with
 * needle. */
static void
recovery_refused_at(int at, const char *dir, const char *needle)
{
    int          rc;
    fb_store_t  *s;

    jt_log_clear();
    s = jt_recover(dir, &rc, NULL);
    check_at(at, s == NULL, 0);
    check_at(at, rc == FB_ERROR, 0);
    check_at(at, jt_log_has(needle), 0);
    if (s != NULL) {
        fb_store_free(s);
    }
}


/* Stops p's journal as a crash would (no last snapshot) and recovers
 * dir: recovery works (fatal), starts from a snapshot if snap, and gives
 * exactly the store that ran, which is freed.  Returns the recovered
 * store. */
static fb_store_t *
recovers_as_ran_at(int at, jt_pair_t *p, const char *dir, int snap)
{
    char           why[160];
    fb_store_t    *s;
    fb_recovery_t  rec;

    fb_journal_stop(p->j, 0);
    fb_journal_free(p->j);
    p->j = NULL;

    s = recover_ok_at(at, dir, &rec);
    if (snap) {
        check_at(at, rec.snapshot_seq > 0, 0);
    }
    if (!check_at(at, jt_stores_equal(p->s, s, why, sizeof(why)) == 0, 0)) {
        printf("\n    line %d: %s ", at, why);
    }
    jt_close(p, 0);
    return s;
}


/* ---- CRC-32C ---- */


/* CPUID's own answer (leaf 1, ECX): 1 or 0, or -1 where there is none. */
static int
cpu_has_sse42(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned int  a, b, c, d;

    if (__get_cpuid(1, &a, &b, &c, &d) == 0) {
        return -1;
    }

    return (c & bit_SSE4_2) != 0;
#else
    return -1;
#endif
}


static void
test_crc32c_check_values(void)
{
    int             i;
    unsigned char   zeros[32], ones[32], inc[32];

    memset(zeros, 0, sizeof(zeros));
    memset(ones, 0xff, sizeof(ones));
    for (i = 0; i < 32; i++) {
        inc[i] = (unsigned char) i;
    }

    /* The standard check value, and RFC 3720's iSCSI vectors (B.4).  The
     * table path first, before anything else here: it sets its table up
     * itself. */
    CU_ASSERT_EQUAL(fb_crc32c_table(0, "123456789", 9), 0xe3069283u);
    CU_ASSERT_EQUAL(fb_crc32c(0, "123456789", 9), 0xe3069283u);
    CU_ASSERT_EQUAL(fb_crc32c(0, zeros, 32), 0x8a9136aau);
    CU_ASSERT_EQUAL(fb_crc32c(0, ones, 32), 0x62a8ab43u);
    CU_ASSERT_EQUAL(fb_crc32c(0, inc, 32), 0x46dd794eu);
    CU_ASSERT_EQUAL(fb_crc32c(0, "", 0), 0);

    printf("\n    (SSE4.2 crc32: %s) ", fb_crc32c_have_sse42() ? "yes" : "no");

    /* The instruction is used where the CPU has it, and only there. */
    if (cpu_has_sse42() >= 0) {
        CU_ASSERT_EQUAL(fb_crc32c_have_sse42(), cpu_has_sse42());
    }

    if (fb_crc32c_have_sse42()) {
        CU_ASSERT_EQUAL(fb_crc32c_sse42(0, "123456789", 9), 0xe3069283u);
        CU_ASSERT_EQUAL(fb_crc32c_sse42(0, zeros, 32), 0x8a9136aau);
    }
}


static void
test_crc32c_paths_agree(void)
{
    size_t          len, off, cut;
    jt_rng_t        r;
    unsigned char   buf[512];

    jt_rng_seed(&r, seed);
    for (off = 0; off < sizeof(buf); off++) {
        buf[off] = (unsigned char) jt_rng_next(&r);
    }

    /* Every length and alignment: the 8-byte loop and the byte tail. */
    for (off = 0; off < 8; off++) {
        for (len = 0; len + off <= 300; len++) {
            uint32_t  t = fb_crc32c_table(0, buf + off, len);

            if (fb_crc32c_have_sse42()) {
                CU_ASSERT_EQUAL(fb_crc32c_sse42(0, buf + off, len), t);
            }
            CU_ASSERT_EQUAL(fb_crc32c(0, buf + off, len), t);

            /* Extending a CRC is the CRC of the whole. */
            cut = len / 3;
            CU_ASSERT_EQUAL(fb_crc32c(fb_crc32c(0, buf + off, cut),
                                      buf + off + cut, len - cut), t);
        }
    }

    CU_ASSERT_EQUAL(fb_crc32c_unmask(fb_crc32c_mask(0xe3069283u)),
                    0xe3069283u);
    CU_ASSERT_NOT_EQUAL(fb_crc32c_mask(0xe3069283u), 0xe3069283u);
}


/* ---- records ---- */


static void
sample_ops(fb_op_t *ops, char *owner400)
{
    memset(owner400, 'x', FB_OWNER_MAX_BYTES);
    memset(ops, 0, 5 * sizeof(fb_op_t));

    ops[0].type = FB_OP_CREATE;
    ops[0].id = 1;
    ops[0].created = 1700000000;
    ops[0].owner = "A";
    ops[0].owner_len = 1;

    ops[1].type = FB_OP_CREATE;
    ops[1].id = (int64_t) 1 << 40;
    ops[1].created = 4000000000ll;
    ops[1].owner = owner400;
    ops[1].owner_len = FB_OWNER_MAX_BYTES;

    ops[2].type = FB_OP_DEPOSIT;
    ops[2].id = 7;
    ops[2].amount = FB_AMOUNT_MAX;
    ops[2].balance = INT64_MAX;

    ops[3].type = FB_OP_WITHDRAW;
    ops[3].id = 7;
    ops[3].amount = 1;
    ops[3].balance = 0;

    ops[4].type = FB_OP_TRANSFER;
    ops[4].id = 3;
    ops[4].to_id = 4;
    ops[4].amount = 5000;
    ops[4].balance = 15000;
    ops[4].to_balance = 5000;
}


static void
test_record_round_trip(void)
{
    int             i;
    char            owner[FB_OWNER_MAX_BYTES];
    size_t          n;
    fb_op_t         ops[5];
    fb_record_t     r;
    unsigned char   buf[FB_RECORD_MAX];

    sample_ops(ops, owner);

    for (i = 0; i < 5; i++) {
        n = fb_record_encode(&ops[i], 1000 + (uint64_t) i, buf);
        CU_ASSERT(n <= FB_RECORD_MAX);
        CU_ASSERT_EQUAL(fb_get_u32(buf) + FB_RECORD_HEAD, n);

        CU_ASSERT_EQUAL_FATAL(fb_record_decode(buf, n, &r), FB_RECORD_OK);
        CU_ASSERT_EQUAL(r.seq, 1000 + (uint64_t) i);
        CU_ASSERT_EQUAL(r.size, n);
        CU_ASSERT_EQUAL(r.op.type, ops[i].type);
        CU_ASSERT_EQUAL(r.op.id, ops[i].id);
        CU_ASSERT_EQUAL(r.op.to_id, ops[i].to_id);
        CU_ASSERT_EQUAL(r.op.amount, ops[i].amount);
        CU_ASSERT_EQUAL(r.op.balance, ops[i].balance);
        CU_ASSERT_EQUAL(r.op.to_balance, ops[i].to_balance);
        CU_ASSERT_EQUAL(r.op.created, ops[i].created);
        CU_ASSERT_EQUAL(r.op.owner_len, ops[i].owner_len);
        if (ops[i].owner_len > 0) {
            CU_ASSERT(memcmp(r.op.owner, ops[i].owner, ops[i].owner_len)
                      == 0);
        }

        /* More bytes after it change nothing. */
        CU_ASSERT_EQUAL(fb_record_decode(buf, sizeof(buf), &r), FB_RECORD_OK);
        CU_ASSERT_EQUAL(r.size, n);
    }
}


static void
test_record_short_and_damaged(void)
{
    int             i;
    char            owner[FB_OWNER_MAX_BYTES];
    size_t          n, k;
    fb_op_t         ops[5];
    fb_record_t     r;
    unsigned char   buf[FB_RECORD_MAX], bad[FB_RECORD_MAX];

    sample_ops(ops, owner);

    for (i = 0; i < 5; i++) {
        n = fb_record_encode(&ops[i], 42, buf);

        /* Every truncation is short: a torn write, not damage. */
        for (k = 0; k < n; k++) {
            CU_ASSERT_EQUAL(fb_record_decode(buf, k, &r), FB_RECORD_SHORT);
        }

        /* Any changed byte is caught: by the CRC, or the length no longer
         * fits what is there. */
        for (k = 0; k < n; k++) {
            memcpy(bad, buf, n);
            bad[k] ^= 0x01;
            CU_ASSERT_NOT_EQUAL(fb_record_decode(bad, n, &r), FB_RECORD_OK);
        }
    }

    /* Zeros (a file extended but never written) are not a record. */
    memset(bad, 0, sizeof(bad));
    CU_ASSERT_EQUAL(fb_record_decode(bad, sizeof(bad), &r), FB_RECORD_BAD);

    /* A valid CRC over an impossible payload is still refused, as
     * invalid: not a torn record. */
    ops[2].amount = FB_AMOUNT_MAX + 1;
    n = fb_record_encode(&ops[2], 42, buf);
    CU_ASSERT_EQUAL(fb_record_decode(buf, n, &r), FB_RECORD_INVALID);
    ops[4].to_id = ops[4].id;
    n = fb_record_encode(&ops[4], 42, buf);
    CU_ASSERT_EQUAL(fb_record_decode(buf, n, &r), FB_RECORD_INVALID);

    /* So is each field the store never writes: a transfer leaving either
     * account below zero, a create before 1970 or with no owner. */
    sample_ops(ops, owner);
    ops[4].balance = -1;
    n = fb_record_encode(&ops[4], 42, buf);
    CU_ASSERT_EQUAL(fb_record_decode(buf, n, &r), FB_RECORD_INVALID);
    ops[4].balance = 15000;
    ops[4].to_balance = -1;
    n = fb_record_encode(&ops[4], 42, buf);
    CU_ASSERT_EQUAL(fb_record_decode(buf, n, &r), FB_RECORD_INVALID);
    ops[0].created = -1;
    n = fb_record_encode(&ops[0], 42, buf);
    CU_ASSERT_EQUAL(fb_record_decode(buf, n, &r), FB_RECORD_INVALID);
    ops[0].created = 1700000000;
    ops[0].owner_len = 0;
    n = fb_record_encode(&ops[0], 42, buf);
    CU_ASSERT_EQUAL(fb_record_decode(buf, n, &r), FB_RECORD_INVALID);
}


static void
test_file_names(void)
{
    char      name[FB_FILE_NAME_MAX];
    uint64_t  v;

    fb_segment_name(name, 1);
    CU_ASSERT_STRING_EQUAL(name, "journal-00000000000000000001.log");
    CU_ASSERT_EQUAL(fb_segment_name_parse(name, &v), 0);
    CU_ASSERT_EQUAL(v, 1);

    fb_snapshot_name(name, UINT64_MAX);
    CU_ASSERT_STRING_EQUAL(name, "snapshot-18446744073709551615.dat");
    CU_ASSERT_EQUAL(fb_snapshot_name_parse(name, &v), 0);
    CU_ASSERT_EQUAL(v, UINT64_MAX);

    CU_ASSERT_EQUAL(fb_segment_name_parse("journal-1.log", &v), -1);
    CU_ASSERT_EQUAL(fb_segment_name_parse(
        "journal-00000000000000000001.log~", &v), -1);
    CU_ASSERT_EQUAL(fb_segment_name_parse(
        "journal-0000000000000000000x.log", &v), -1);
    CU_ASSERT_EQUAL(fb_snapshot_name_parse(
        "snapshot-99999999999999999999.dat", &v), -1);
    CU_ASSERT_EQUAL(fb_snapshot_name_parse("snapshot.tmp", &v), -1);
}


/* ---- torn tails and corruption ---- */


/*
 * Cuts the last record at every length: each time, recovery cuts the torn
 * bytes off, logs it, and yields the store as it was before that record.
 */
static void
test_torn_tail_every_length(void)
{
    char          *dir, *scratch, path[4096], seg_name[64];
    long           before, after, end, k;
    jt_rng_t       r;
    jt_pair_t      p;
    jt_model_t     m, m_prev;
    const char    *seg;

    dir = start_dir("torn", 0, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(open_run(&p, dir, FB_FSYNC_ALWAYS, &m, &r, 40), 0);

    /* The random operations may have emptied account 1: a deposit first,
     * so that the transfer below is never refused whatever the seed. */
    CU_ASSERT_EQUAL_FATAL(fb_store_deposit(p.s, 1, 1, NULL, NULL),
                          FB_STORE_OK);
    m.balance[1] += 1;

    /* The last record: a transfer, the longest of the money records.
     * (While the journal runs, its segment ends in zeros written ahead;
     * the orderly stop cuts them.) */
    m_prev = m;
    CU_ASSERT_EQUAL_FATAL(fb_store_transfer(p.s, 1, 2, 1, NULL, NULL, NULL),
                          FB_STORE_OK);
    jt_close(&p, 0);
    m.balance[1] -= 1;
    m.balance[2] += 1;

    seg = jt_last_segment(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(seg);
    after = jt_file_size(seg);
    before = last_record_at(seg, &end);
    CU_ASSERT_EQUAL_FATAL(end, after);
    CU_ASSERT_FATAL(before > FB_SEGMENT_HEADER && after > before);
    snprintf(seg_name, sizeof(seg_name), "%s", strrchr(seg, '/') + 1);

    for (k = 0; k <= after - before; k++) {
        scratch = jt_mkdir("torn-cut");
        CU_ASSERT_PTR_NOT_NULL_FATAL(scratch);
        snprintf(path, sizeof(path), "%s/%s", scratch, seg_name);
        CU_ASSERT_EQUAL_FATAL(copy_file(seg, path), 0);
        CU_ASSERT_EQUAL_FATAL(truncate(path, before + k), 0);

        if (k > 0 && k < after - before) {
            CU_ASSERT_EQUAL(check_dir(scratch, 0), FB_CHECK_TORN);
        }

        if (k < after - before) {
            recovers_to(scratch, &m_prev, k);
            /* Cut off on disk too. */
            CU_ASSERT_EQUAL(jt_file_size(path), before);
            if (k > 0) {
                CU_ASSERT(jt_log_has("torn record"));
                CU_ASSERT(jt_log_has(seg_name));
            }
        } else {
            recovers_to(scratch, &m, 0);
        }

        CU_ASSERT_EQUAL(check_dir(scratch, 0), FB_CHECK_OK);
        jt_rmdir(scratch);
    }

    jt_rmdir(dir);
}


static void
test_corruption_in_the_middle(void)
{
    char          *dir, seg_path[4096];
    long           size;
    jt_rng_t       r;
    jt_model_t     m;

    /* (Not "corrupt": the log names the directory, and the check below
     * must find the word in what recovery says.) */
    dir = start_dir("middle", 1, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(session_seg(dir, &m, &r, 60, seg_path,
                                      sizeof(seg_path)), 0);
    size = jt_file_size(seg_path);
    CU_ASSERT_FATAL(size > 1000);

    /* A byte in the middle: records after it are valid, so it is damage,
     * not a torn write.  Start-up refuses, naming file and offset. */
    CU_ASSERT_EQUAL_FATAL(flip_byte(seg_path, size / 2), 0);

    recovery_refused(dir, "followed by a valid one at offset");
    CU_ASSERT(jt_log_has(strrchr(seg_path, '/') + 1));
    CU_ASSERT(jt_log_has("corrupt"));

    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_CORRUPT);
    /* --repair does not throw good records away. */
    CU_ASSERT_EQUAL(check_dir(dir, 1), FB_CHECK_CORRUPT);
    CU_ASSERT_EQUAL(jt_file_size(seg_path), size);

    jt_rmdir(dir);
}


/*
 * A power cut during one write() of several records: a sector of it lost
 * (reading as the zeros written ahead) and a later one kept.  Only the
 * first record of a write() is marked (FB_RECORD_WRITE), so valid records
 * after damage that is sectors of zeros, with no mark among them, are that
 * same write: a torn write, cut off like a torn tail.  A marked one after
 * the damage means a later write() came after the damaged one was done,
 * and damage that is not zeroed sectors (a flipped byte) is not what a
 * power cut does: corruption, both.  A version 1 segment has no marks:
 * corruption, as before them.
 *
 * The session's operations are each acknowledged before the next, so
 * each record is a write() of its own; the last TW_LAST are then made
 * into one write() by clearing the marks of all but their first.
 */
#define TW_LAST  32

/*
 * The first record that zeros from from to to change (off: n offsets, the
 * last record ending at size): a balance's high bytes are zeros already,
 * so the record holding from may come out whole.  -1 if none.
 */
static long
record_changed(const char *path, const long *off, long n, long size,
    long from, long to)
{
    long            k, i, end;
    ssize_t         len;
    static unsigned char  buf[1 << 20];

    len = read_file(path, buf, sizeof(buf));
    if (len != size) {
        return -1;
    }

    for (k = 0; k < n; k++) {
        end = k + 1 < n ? off[k + 1] : size;
        for (i = off[k] > from ? off[k] : from; i < end && i < to; i++) {
            if (buf[i] != 0) {
                return k;
            }
        }
    }

    return -1;
}


/* A copy of segment seg (name) in a new scratch directory, cut at cut
 * bytes if cut >= 0: the directory, whose copy's path goes to path. */
static char *
tw_copy(const char *seg, const char *name, long cut, char *path, size_t len)
{
    char  *scratch;

    scratch = jt_mkdir("tornw");
    if (scratch == NULL) {
        return NULL;
    }

    snprintf(path, len, "%s/%s", scratch, name);
    if (copy_file(seg, path) != 0 || (cut >= 0 && truncate(path, cut) != 0))
    {
        jt_rmdir(scratch);
        return NULL;
    }

    return scratch;
}


/* A copy of segment seg with bytes from to to zeroed, as tw_copy. */
static char *
tw_lose(const char *seg, const char *name, long from, long to, char *path,
    size_t len)
{
    char  *scratch;

    scratch = tw_copy(seg, name, -1, path, len);
    if (scratch != NULL
        && write_bytes_at(path, from, 0, (size_t) (to - from)) != 0)
    {
        jt_rmdir(scratch);
        return NULL;
    }

    return scratch;
}


/*
 * Loses bytes from to to of the last write (zeros): a torn write at
 * record k.  --check says so and changes nothing; start-up cuts at k and
 * gives the store the records before k give; --repair cuts the same.
 */
static void
tw_torn(const char *seg, const char *name, const long *off, long k,
    long size, long from, long to)
{
    int             rc;
    char           *scratch, path[4096], why[160];
    fb_store_t     *want, *s;
    fb_recovery_t   rec;

    scratch = tw_copy(seg, name, off[k], path, sizeof(path));
    CU_ASSERT_PTR_NOT_NULL_FATAL(scratch);
    want = recover_ok(scratch, NULL);
    jt_rmdir(scratch);

    scratch = tw_lose(seg, name, from, to, path, sizeof(path));
    CU_ASSERT_PTR_NOT_NULL_FATAL(scratch);
    CU_ASSERT_EQUAL(check_dir(scratch, 0), FB_CHECK_TORN);
    CU_ASSERT_EQUAL(jt_file_size(path), size);

    s = recover_ok(scratch, &rec);
    CU_ASSERT(jt_log_has("torn write"));
    CU_ASSERT(jt_log_has(name));
    CU_ASSERT_EQUAL(rec.torn_bytes, (uint64_t) (size - off[k]));
    CU_ASSERT_EQUAL(jt_file_size(path), off[k]);
    rc = jt_stores_equal(want, s, why, sizeof(why));
    CU_ASSERT_EQUAL(rc, 0);
    if (rc != 0) {
        printf("\n    bytes %ld..%ld lost: %s ", from, to, why);
    }
    fb_store_free(s);
    fb_store_free(want);
    CU_ASSERT_EQUAL(check_dir(scratch, 0), FB_CHECK_OK);
    jt_rmdir(scratch);

    /* (A fresh copy: the start-up above began a segment of its own.) */
    scratch = tw_lose(seg, name, from, to, path, sizeof(path));
    CU_ASSERT_PTR_NOT_NULL_FATAL(scratch);
    CU_ASSERT_EQUAL(check_dir(scratch, 1), FB_CHECK_OK);
    CU_ASSERT_EQUAL(jt_file_size(path), off[k]);
    jt_rmdir(scratch);
}


/*
 * The damaged copy at path, in scratch, is corruption: --check and
 * --repair say so, start-up refuses saying needle, nothing is cut.  The
 * directory is removed.
 */
static void
tw_corrupt(char *scratch, const char *path, long size, const char *needle)
{
    CU_ASSERT_EQUAL(check_dir(scratch, 0), FB_CHECK_CORRUPT);
    CU_ASSERT_EQUAL(check_dir(scratch, 1), FB_CHECK_CORRUPT);
    recovery_refused(scratch, needle);
    CU_ASSERT_EQUAL(jt_file_size(path), size);
    jt_rmdir(scratch);
}


static void
test_torn_write(void)
{
    int             fd;
    char           *dir, *scratch, seg[4096], path[4096];
    const char     *name;
    long            n, k, w, b, marked, off[SEG_RECORDS_MAX], size;
    jt_rng_t        r;
    jt_model_t      m;
    unsigned char   v1[4] = { 1, 0, 0, 0 };

    dir = start_dir("tornw", 6, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(session_seg(dir, &m, &r, 160, seg, sizeof(seg)),
                          0);
    name = strrchr(seg, '/') + 1;

    n = seg_records(seg, off, &marked);
    CU_ASSERT_FATAL(n >= 2 * TW_LAST && n <= SEG_RECORDS_MAX);
    /* One write() per acknowledged operation: every record marked but
     * the segment's first (test_first_record_unmarked). */
    CU_ASSERT_EQUAL(marked, n - 1);

    w = n - TW_LAST;
    for (k = w + 1; k < n; k++) {
        CU_ASSERT_EQUAL_FATAL(unmark_record(seg, off[k]), 0);
    }
    CU_ASSERT_EQUAL_FATAL(seg_records(seg, NULL, &marked), n);
    CU_ASSERT_EQUAL_FATAL(marked, n - TW_LAST);
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_OK);
    size = jt_file_size(seg);

    /* The last write spans two sector boundaries at least (32 records of
     * 41 bytes or more), with records after the second. */
    b = (off[w] / 512 + 1) * 512;
    CU_ASSERT_FATAL(b + 512 + 57 < size);

    /* Lost: from the write's first record to the sector's end. */
    CU_ASSERT_EQUAL(record_changed(seg, off, n, size, off[w], b), w);
    tw_torn(seg, name, off, w, size, off[w], b);

    /* Lost: the write's next whole sector; the records before it in the
     * write are kept (none, when the first spans the boundary). */
    k = record_changed(seg, off, n, size, b, b + 512);
    CU_ASSERT_FATAL(k >= w);
    tw_torn(seg, name, off, k, size, b, b + 512);

    /* A flipped byte within the last write: not what a power cut does. */
    scratch = tw_copy(seg, name, -1, path, sizeof(path));
    CU_ASSERT_PTR_NOT_NULL_FATAL(scratch);
    CU_ASSERT_EQUAL_FATAL(flip_byte(path, off[w + 3] + 20), 0);
    tw_corrupt(scratch, path, size, "no sector between them is zeros");

    /* A sector lost before the last write: its marked first record says
     * the damaged write was done (under always, synced) before it. */
    scratch = tw_copy(seg, name, -1, path, sizeof(path));
    CU_ASSERT_PTR_NOT_NULL_FATAL(scratch);
    CU_ASSERT_FATAL(b - 1024 >= FB_SEGMENT_HEADER);
    CU_ASSERT_EQUAL_FATAL(write_bytes_at(path, b - 1024, 0, 512), 0);
    tw_corrupt(scratch, path, size, "which a later write() began");

    /* A version 1 segment has no marks to go by: the torn write above is
     * corruption there. */
    scratch = tw_copy(seg, name, -1, path, sizeof(path));
    CU_ASSERT_PTR_NOT_NULL_FATAL(scratch);
    CU_ASSERT_EQUAL_FATAL(write_bytes_at(path, b, 0, 512), 0);
    fd = open(path, O_RDWR);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(pwrite(fd, v1, sizeof(v1), 8), (ssize_t) sizeof(v1));
    close(fd);
    tw_corrupt(scratch, path, size, "followed by a valid one at offset");

    jt_rmdir(dir);
}


/*
 * What a reader that knows only version 1 segments finds in path: a
 * header it does not know, so it reads the file as bad from offset 0 and
 * looks for a valid record after that, numbered first or later, one it
 * can decode (its decoder refuses a marked type).  Found, it calls the
 * directory corrupt and refuses it; not found, it cuts the segment off
 * as a torn tail.  1 if found, 0 if not, -1 if path cannot be read.
 */
static int
v1_reader_finds_record(const char *path, uint64_t first)
{
    long            o;
    ssize_t         len;
    fb_record_t     r;
    static unsigned char  buf[4 << 20];

    len = read_file(path, buf, sizeof(buf));
    if (len < 0) {
        return -1;
    }

    for (o = 1; o < len; o++) {
        if (fb_record_decode(buf + o, (size_t) (len - o), &r) == FB_RECORD_OK
            && !r.write_start && r.seq >= first)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The first record of a segment carries no write() mark: nothing comes
 * before it in its segment, so recovery never asks about it.  Marked, a
 * version 1 reader (the previous release, after a downgrade) would find
 * no record it can read in a segment whose every write() is one record,
 * the common case under light load, and cut the whole segment off as a
 * torn tail after a crash: every acknowledged operation in it gone, and
 * the service up with the rest.  Unmarked, it refuses the directory.
 * Segments opened at start-up and by a snapshot's rotation, each of one
 * record per write() (operations acknowledged one after the other).
 */
static void
test_first_record_unmarked(void)
{
    int              segs = 0, fd;
    char            *dir, path[4096];
    long             n, marked, off[SEG_RECORDS_MAX];
    DIR             *d;
    uint64_t         first;
    jt_rng_t         r;
    jt_pair_t        p;
    jt_model_t       m;
    fb_record_t      rec;
    struct dirent   *de;
    unsigned char    head[FB_SEGMENT_HEADER + FB_RECORD_MAX];

    dir = start_dir("firstrec", 11, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);

    CU_ASSERT_EQUAL_FATAL(open_run(&p, dir, FB_FSYNC_ALWAYS, &m, &r, 15), 0);
    CU_ASSERT_EQUAL(fb_journal_snapshot(p.j), FB_OK);
    run_ops(&p, &m, &r, 15);
    jt_close(&p, 0);
    CU_ASSERT_EQUAL_FATAL(session(dir, &m, &r, 15), 0);

    d = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);

    while ((de = readdir(d)) != NULL) {
        if (fb_segment_name_parse(de->d_name, &first) != 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);

        n = seg_records(path, off, &marked);
        if (n <= 0) {
            continue;
        }
        segs++;

        CU_ASSERT_EQUAL(marked, n - 1);
        CU_ASSERT_EQUAL(off[0], FB_SEGMENT_HEADER);
        CU_ASSERT_EQUAL(v1_reader_finds_record(path, first), 1);

        fd = open(path, O_RDONLY);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT(read(fd, head, sizeof(head)) > FB_SEGMENT_HEADER);
        close(fd);
        CU_ASSERT_EQUAL(fb_record_decode(head + FB_SEGMENT_HEADER,
                                         sizeof(head) - FB_SEGMENT_HEADER,
                                         &rec), FB_RECORD_OK);
        CU_ASSERT_EQUAL(rec.write_start, 0);
        CU_ASSERT_EQUAL(rec.seq, first);
    }

    closedir(d);

    /* The one the snapshot began (those before it are deleted) and the
     * second start's. */
    CU_ASSERT_EQUAL(segs, 2);
    recovers_to(dir, &m, 0);

    jt_rmdir(dir);
}


/*
 * The torn-write rule at its edges, on a segment built here so that a
 * record begins on a sector boundary (the session's records fall where
 * their sizes put them): a create whose 276-byte owner puts record 19 at
 * offset 1024, record 2 a write() of its own, and records 3 to 40 the
 * last write (3 marked); with mark, records 3 to mark - 1 a write and
 * mark to 40 the last.  Record 6 spans offset 512.
 */
#define EDGE_RECORDS  40
#define EDGE_OWNER    276

static char *
edge_dir(char *path, size_t len, long mark)
{
    int             fd;
    long            i;
    char           *dir, name[FB_FILE_NAME_MAX], owner[EDGE_OWNER];
    size_t          off, n;
    ssize_t         w;
    fb_op_t         op;
    unsigned char   buf[4096];

    memset(owner, 'o', sizeof(owner));
    memset(&op, 0, sizeof(op));
    op.type = FB_OP_CREATE;
    op.id = 1;
    op.created = 1700000000;
    op.owner = owner;
    op.owner_len = sizeof(owner);

    fb_segment_header(buf);
    off = FB_SEGMENT_HEADER;
    off += fb_record_encode(&op, 1, buf + off);

    for (i = 2; i <= EDGE_RECORDS; i++) {
        if (i == 19 && off != 1024) {
            return NULL;
        }
        memset(&op, 0, sizeof(op));
        op.type = FB_OP_DEPOSIT;
        op.id = 1;
        op.amount = 1;
        op.balance = i - 1;
        n = fb_record_encode(&op, (uint64_t) i, buf + off);
        if (i <= 3 || i == mark) {
            fb_record_mark_write(buf + off);
        }
        off += n;
    }

    dir = jt_mkdir("edge");
    if (dir == NULL) {
        return NULL;
    }

    fb_segment_name(name, 1);
    snprintf(path, len, "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    w = fd >= 0 ? write(fd, buf, off) : -1;
    if (fd >= 0) {
        close(fd);
    }

    if (w != (ssize_t) off) {
        jt_rmdir(dir);
        return NULL;
    }

    return dir;
}


static void
test_torn_write_edges(void)
{
    char           *dir, path[4096];
    long            size;
    fb_store_t     *s;
    fb_account_t    a;
    fb_recovery_t   rec;

    /* As built: consistent, 40 records. */
    dir = edge_dir(path, sizeof(path), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    size = jt_file_size(path);
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_OK);
    s = recover_ok(dir, &rec);
    CU_ASSERT_EQUAL(rec.records, EDGE_RECORDS);
    fb_store_free(s);
    jt_rmdir(dir);

    /* The sector that ends where record 19 begins lost: a torn write,
     * cut at record 6, the one the sector's start falls in. */
    dir = edge_dir(path, sizeof(path), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(write_bytes_at(path, 512, 0, 512), 0);
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_TORN);
    s = recover_ok(dir, &rec);
    CU_ASSERT(jt_log_has("torn write"));
    CU_ASSERT_EQUAL(rec.torn_bytes, (uint64_t) (size - 491));
    CU_ASSERT_EQUAL(jt_file_size(path), 491);
    CU_ASSERT_EQUAL(fb_store_get(s, 1, &a), FB_STORE_OK);
    CU_ASSERT_EQUAL(a.balance, 4);
    fb_store_free(s);
    jt_rmdir(dir);

    /* The same sector lost, and record 20 begins a later write(): the
     * damaged write was done (under always, synced) before it, though
     * only record 19 of it follows the damage.  Corruption. */
    dir = edge_dir(path, sizeof(path), 20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_OK);
    CU_ASSERT_EQUAL_FATAL(write_bytes_at(path, 512, 0, 512), 0);
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_CORRUPT);
    recovery_refused(dir, "which a later write() began");
    CU_ASSERT_EQUAL(jt_file_size(path), size);
    jt_rmdir(dir);

    /* The same zeros but for the sector's last byte: not a whole sector
     * lost, corruption. */
    dir = edge_dir(path, sizeof(path), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(write_bytes_at(path, 512, 0, 511), 0);
    CU_ASSERT_EQUAL_FATAL(write_bytes_at(path, 1023, 1, 1), 0);
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_CORRUPT);
    recovery_refused(dir, "no sector between them is zeros");
    CU_ASSERT_EQUAL(jt_file_size(path), size);
    jt_rmdir(dir);

    /* Zeros from the second byte of record 6 to the boundary: a lost
     * sector would have taken its first byte too (the zeros ahead of the
     * last write were there before it), so this is corruption. */
    dir = edge_dir(path, sizeof(path), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(write_bytes_at(path, 492, 0, 20), 0);
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_CORRUPT);
    recovery_refused(dir, "no sector between them is zeros");
    CU_ASSERT_EQUAL(jt_file_size(path), size);
    jt_rmdir(dir);
}


/* Appends n bytes from buf to a file. */
static int
append_raw(const char *path, const unsigned char *buf, size_t n)
{
    int      fd;
    ssize_t  w;

    fd = open(path, O_WRONLY | O_APPEND);
    if (fd < 0) {
        return -1;
    }
    w = write(fd, buf, n);
    close(fd);
    return w == (ssize_t) n ? 0 : -1;
}


/*
 * A record whose CRC matches over an impossible payload, after the last
 * good one: a writer bug, a newer release's record or a changed file.
 * A torn write cannot make one, so it is corruption, not a tail to cut,
 * and --repair keeps it.  Also behind garbage, where the scan for valid
 * records after the damage must count it.
 */
static void
test_corruption_valid_crc(void)
{
    int             v;
    char           *dir, *scratch, seg[4096], path[4096], name[64];
    long            n, size;
    size_t          len, k;
    uint64_t        first;
    fb_op_t         op;
    jt_rng_t        r;
    jt_model_t      m;
    unsigned char   rec[FB_RECORD_MAX + 20];

    dir = start_dir("validcrc", 2, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(session_seg(dir, &m, &r, 40, seg, sizeof(seg)), 0);
    snprintf(name, sizeof(name), "%s", strrchr(seg, '/') + 1);
    CU_ASSERT_EQUAL_FATAL(fb_segment_name_parse(name, &first), 0);
    n = seg_records(seg, NULL, NULL);
    CU_ASSERT_FATAL(n > 0);

    for (v = 0; v < 5; v++) {
        memset(&op, 0, sizeof(op));
        op.type = FB_OP_DEPOSIT;
        op.id = 1;
        op.amount = 1;
        op.balance = 1;
        k = v == 4 ? 20 : 0;
        memset(rec, 0x5a, k);

        switch (v) {
        case 0:                     /* a negative balance */
            op.balance = -1;
            break;
        case 1:                     /* an amount out of range */
            op.amount = FB_AMOUNT_MAX + 1;
            break;
        }

        len = fb_record_encode(&op, v == 3 ? 0 : first + (uint64_t) n,
                               rec + k);
        if (v == 2 || v == 4) {     /* a type this release does not know */
            rec[k + FB_RECORD_HEAD + 8] = 0x3f;
            fb_put_u32(rec + k + 4,
                       fb_crc32c_mask(fb_crc32c(0, rec + k + FB_RECORD_HEAD,
                                                len - FB_RECORD_HEAD)));
        }

        scratch = tw_copy(seg, name, -1, path, sizeof(path));
        CU_ASSERT_PTR_NOT_NULL_FATAL(scratch);
        CU_ASSERT_EQUAL_FATAL(append_raw(path, rec, k + len), 0);
        size = jt_file_size(path);

        recovery_refused(scratch, v == 4 ? "followed by a valid one"
                                         : "an impossible payload");
        CU_ASSERT(jt_log_has("corrupt"));
        CU_ASSERT_EQUAL(check_dir(scratch, 0), FB_CHECK_CORRUPT);
        CU_ASSERT_EQUAL(check_dir(scratch, 1), FB_CHECK_CORRUPT);
        CU_ASSERT_EQUAL(jt_file_size(path), size);
        jt_rmdir(scratch);
    }

    jt_rmdir(dir);
}


/* A bad record in a segment that is not the last: corruption, whatever
 * follows it, and the segment is left as it is (it holds acknowledged
 * records up to the damage, and the next segment the ones after it);
 * so is a missing segment. */
static void
test_corruption_earlier_segment(void)
{
    char          *dir, *keep, first[4096], saved[4096];
    jt_rng_t       r;
    jt_model_t     m;

    dir = start_dir("corrupt2", 2, &r, &m);
    keep = jt_mkdir("corrupt2-keep");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(keep);
    CU_ASSERT_EQUAL_FATAL(session_seg(dir, &m, &r, 20, first, sizeof(first)),
                          0);

    /* Each start opens a new segment after the last record. */
    CU_ASSERT_EQUAL_FATAL(session(dir, &m, &r, 20), 0);
    CU_ASSERT_EQUAL(jt_count_files(dir, "journal-"), 2);
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_OK);

    /* The last byte of the first segment: at its tail, but not the
     * journal's tail.  Read as a torn tail, it would be cut off. */
    CU_ASSERT_EQUAL_FATAL(flip_byte(first, jt_file_size(first) - 1), 0);
    snprintf(saved, sizeof(saved), "%s/first", keep);
    CU_ASSERT_EQUAL_FATAL(copy_file(first, saved), 0);
    recovery_refused(dir, "later segments exist");
    CU_ASSERT(same_bytes(first, saved));
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_CORRUPT);
    CU_ASSERT_EQUAL(check_dir(dir, 1), FB_CHECK_CORRUPT);
    CU_ASSERT(same_bytes(first, saved));
    jt_rmdir(keep);

    /* Without the first segment, records 1.. are missing. */
    CU_ASSERT_EQUAL_FATAL(unlink(first), 0);
    recovery_refused(dir, "records are missing");

    jt_rmdir(dir);
}


/*
 * Writes path's bytes before from and from to on as to (path itself, or
 * a new file, path then removed): records taken out whole, every CRC
 * still valid.  0, or -1.
 */
static int
drop_bytes(const char *path, const char *to_path, long from, long to)
{
    int      fd;
    ssize_t  len;
    static unsigned char  buf[4 << 20];

    len = read_file(path, buf, sizeof(buf));
    if (len < to || from > to || unlink(path) != 0) {
        return -1;
    }

    fd = open(to_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        return -1;
    }

    if (write(fd, buf, (size_t) from) != (ssize_t) from
        || write(fd, buf + to, (size_t) (len - to)) != (ssize_t) (len - to))
    {
        close(fd);
        return -1;
    }

    close(fd);
    return 0;
}


/*
 * A record missing, every byte left valid: in the middle of a segment,
 * or the first after the snapshot, its segment named for the record
 * after it.  Corruption both: replaying around the gap would drop an
 * acknowledged operation without a word.
 */
static void
test_corruption_gap(void)
{
    char          *dir, seg[4096], path[4096], name[FB_FILE_NAME_MAX];
    long           n, size, off[SEG_RECORDS_MAX];
    uint64_t       first;
    jt_rng_t       r;
    jt_pair_t      p;
    jt_model_t     m;

    dir = start_dir("gap", 13, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(session_seg(dir, &m, &r, 30, seg, sizeof(seg)), 0);
    n = seg_records(seg, off, NULL);
    CU_ASSERT_FATAL(n >= 4 && n <= SEG_RECORDS_MAX);
    CU_ASSERT_EQUAL_FATAL(drop_bytes(seg, seg, off[n / 2], off[n / 2 + 1]),
                          0);
    CU_ASSERT_EQUAL(seg_records(seg, NULL, NULL), n - 1);
    size = jt_file_size(seg);

    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_CORRUPT);
    CU_ASSERT_EQUAL(check_dir(dir, 1), FB_CHECK_CORRUPT);
    recovery_refused(dir, "was expected: the journal is corrupt");
    CU_ASSERT_EQUAL(jt_file_size(seg), size);
    jt_rmdir(dir);

    dir = start_dir("gap", 14, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(open_run(&p, dir, FB_FSYNC_ALWAYS, &m, &r, 20), 0);
    CU_ASSERT_EQUAL_FATAL(fb_journal_snapshot(p.j), FB_OK);
    run_ops(&p, &m, &r, 10);
    jt_close(&p, 0);
    CU_ASSERT_EQUAL_FATAL(jt_count_files(dir, "snapshot-"), 1);
    CU_ASSERT_EQUAL_FATAL(jt_count_files(dir, "journal-"), 1);
    snprintf(seg, sizeof(seg), "%s", jt_last_segment(dir));
    CU_ASSERT_EQUAL_FATAL(fb_segment_name_parse(strrchr(seg, '/') + 1,
                                                &first), 0);
    n = seg_records(seg, off, NULL);
    CU_ASSERT_FATAL(n >= 2 && n <= SEG_RECORDS_MAX);
    recovers_to(dir, &m, 0);

    fb_segment_name(name, first + 1);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    CU_ASSERT_EQUAL_FATAL(drop_bytes(seg, path, FB_SEGMENT_HEADER, off[1]),
                          0);

    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_CORRUPT);
    CU_ASSERT_EQUAL(check_dir(dir, 1), FB_CHECK_CORRUPT);
    recovery_refused(dir, "records are missing");
    jt_rmdir(dir);
}


/*
 * A segment header with a version other than 1 or 2 (a newer release's
 * format, or a damaged header): this release cannot say what its records
 * mean, so it reads the header as bad and the valid records after it make
 * that corruption, as the previous release does with version 2.  Read as
 * a version it knows, a newer format would be replayed on a guess.
 */
static void
test_segment_version(void)
{
    int             k, rc;
    char           *dir, seg[4096];
    long            size;
    uint32_t        v, bad[2] = { 0, FB_SEGMENT_VERSION + 1 };
    jt_rng_t        r;
    jt_model_t      m;
    unsigned char   hdr[FB_SEGMENT_HEADER];

    fb_segment_header(hdr);
    CU_ASSERT_EQUAL(fb_segment_header_check(hdr), FB_SEGMENT_VERSION);
    for (v = 0; v <= FB_SEGMENT_VERSION + 1; v++) {
        fb_put_u32(hdr + 8, v);
        rc = fb_segment_header_check(hdr);
        CU_ASSERT_EQUAL(rc, v >= 1 && v <= FB_SEGMENT_VERSION ? (int) v : -1);
    }

    dir = start_dir("segver", 12, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(session_seg(dir, &m, &r, 20, seg, sizeof(seg)), 0);
    size = jt_file_size(seg);

    for (k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL_FATAL(write_bytes_at(seg, 8, 0, 4), 0);
        CU_ASSERT_EQUAL_FATAL(write_bytes_at(seg, 8, (int) bad[k], 1), 0);
        CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_CORRUPT);
        CU_ASSERT_EQUAL(check_dir(dir, 1), FB_CHECK_CORRUPT);
        recovery_refused(dir, "has format version");
        CU_ASSERT_EQUAL(jt_file_size(seg), size);
    }

    /*
     * A newer release's segment whose records this release cannot decode
     * either (0xEE here): refused, not cut off as a header that never
     * made it.
     */
    CU_ASSERT_EQUAL_FATAL(truncate(seg, size) == 0
                          && write_bytes_at(seg, FB_SEGMENT_HEADER, 0xEE,
                                            (size_t) (size
                                                - FB_SEGMENT_HEADER)) == 0,
                          1);
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_CORRUPT);
    CU_ASSERT_EQUAL(check_dir(dir, 1), FB_CHECK_CORRUPT);
    recovery_refused(dir, "has format version");
    CU_ASSERT_EQUAL(jt_file_size(seg), size);

    jt_rmdir(dir);
    dir = start_dir("segver", 12, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(session_seg(dir, &m, &r, 20, seg, sizeof(seg)), 0);

    /* A header whose magic is damaged is still one that never made it:
     * with valid records after it, corruption as before. */
    CU_ASSERT_EQUAL_FATAL(write_bytes_at(seg, 0, 'X', 1), 0);
    recovery_refused(dir, "bad record at offset 0 followed by a valid");
    CU_ASSERT_EQUAL_FATAL(write_bytes_at(seg, 0, 'F', 1), 0);

    /* Version 2 again: as it was. */
    recovers_to(dir, &m, 0);

    jt_rmdir(dir);
}


/*
 * The journal writes zeros ahead of its records (fb_journal_prealloc): a
 * running segment is longer than its records, and a process killed then
 * leaves zeros after the last one.  They end the segment: not a torn
 * tail, not damage; start-up cuts them off the last segment, a check
 * changes nothing, and an older segment may keep them.  A bad record
 * before zeros is still torn, and zeros standing for an older segment's
 * records leave the next segment a record short: corruption.
 */
static void
test_zeros_after_records(void)
{
    char          *dir, first[4096], last[4096];
    long           size, first_size, end, at;
    jt_rng_t       r;
    jt_pair_t      p;
    jt_model_t     m;

    dir = start_dir("zeros", 3, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(open_run(&p, dir, FB_FSYNC_ALWAYS, &m, &r, 20), 0);

    /* Running: zeros written ahead, a whole chunk of them. */
    snprintf(first, sizeof(first), "%s", jt_last_segment(dir));
    CU_ASSERT(jt_file_size(first) >= (long) FB_JOURNAL_PREALLOC_BYTES);
    jt_close(&p, 0);

    /* Stopped in order: cut back to the records. */
    first_size = jt_file_size(first);
    CU_ASSERT(last_record_at(first, &end) > 0);
    CU_ASSERT_EQUAL(end, first_size);

    CU_ASSERT_EQUAL_FATAL(session_seg(dir, &m, &r, 20, last, sizeof(last)),
                          0);
    size = jt_file_size(last);

    /* As a kill leaves them: zeros after both segments' records. */
    CU_ASSERT_EQUAL_FATAL(append_bytes(first, 0, 4096), 0);
    CU_ASSERT_EQUAL_FATAL(append_bytes(last, 0, 100000), 0);

    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_OK);
    CU_ASSERT_EQUAL(jt_file_size(last), size + 100000);

    recovers_to(dir, &m, 0);
    CU_ASSERT(jt_log_has("bytes of zeros after the last record"));
    CU_ASSERT(!jt_log_has("torn"));

    /* The last segment cut back; the older one left as it was. */
    CU_ASSERT_EQUAL(jt_file_size(last), size);
    CU_ASSERT_EQUAL(jt_file_size(first), first_size + 4096);

    /* Half a record and then zeros: a torn write, cut.  (The start-up
     * above began a segment of its own, now the last one.) */
    snprintf(last, sizeof(last), "%s", jt_last_segment(dir));
    size = jt_file_size(last);
    CU_ASSERT_EQUAL_FATAL(append_bytes(last, 0x5a, 7), 0);
    CU_ASSERT_EQUAL_FATAL(append_bytes(last, 0, 5000), 0);
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_TORN);
    recovers_to(dir, &m, 5007);
    CU_ASSERT_EQUAL(jt_file_size(last), size);

    /* Zeros in place of the first segment's last record: they read as
     * its end, and the next segment then shows a record missing. */
    at = last_record_at(first, &end);
    CU_ASSERT_FATAL(at > FB_SEGMENT_HEADER);
    CU_ASSERT_EQUAL_FATAL(truncate(first, at), 0);
    CU_ASSERT_EQUAL_FATAL(append_bytes(first, 0, (size_t) (first_size - at)),
                          0);
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_CORRUPT);
    recovery_refused(dir, "records are missing");

    jt_rmdir(dir);
}


/*
 * Small chunks of zeros (4 KiB): the segment's end moves ahead of the
 * records chunk by chunk while it runs, always a whole number of chunks
 * and beyond the records; stopped, it ends at its last record; and
 * everything comes back.
 */
static void
test_zeros_chunk_by_chunk(void)
{
    int            i, grew = 0;
    char          *dir, seg[4096];
    long           size, prev = 0, end;
    jt_rng_t       r;
    jt_pair_t      p;
    jt_model_t     m;

    dir = start_dir("chunks", 4, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(jt_open_tuned(&p, dir, FB_FSYNC_ALWAYS, 0, 0,
                                        4096), 0);
    snprintf(seg, sizeof(seg), "%s", jt_last_segment(dir));

    for (i = 0; i < 10; i++) {
        run_ops(&p, &m, &r, 60);
        size = jt_file_size(seg);
        CU_ASSERT(size % 4096 == 0);
        CU_ASSERT(last_record_at(seg, &end) > 0 && end < size);
        grew += size > prev;
        prev = size;
    }
    CU_ASSERT(grew >= 3);
    jt_close(&p, 0);

    CU_ASSERT(last_record_at(seg, &end) > 0);
    CU_ASSERT_EQUAL(end, jt_file_size(seg));

    recovers_to(dir, &m, TORN_ANY);

    jt_rmdir(dir);
}


/* ---- snapshots and replay ---- */


/* fb_snapshot_write's end for the tests: *arg. */
static uint64_t  snap_end;

static uint64_t
snap_end_fn(void *arg)
{
    return *(uint64_t *) arg;
}


static void
test_snapshot_write_load(void)
{
    int                  i, k, rc;
    char                *dir, path[4096], owner[FB_OWNER_MAX_BYTES];
    mode_t               mask;
    int64_t              id;
    jt_rng_t             r;
    struct stat          st;
    fb_store_t          *a, *b;
    fb_snapshot_info_t   info;
    char                 why[160];

    dir = jt_mkdir("snap");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof(path), "%s/%s", dir,
             "snapshot-00000000000000000099.dat");

    a = fb_store_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    jt_rng_seed(&r, seed + 3);

    /* Past one chunk of 65,536 slots; owners of 1 to 400 bytes. */
    for (i = 0; i < 70000; i++) {
        size_t  len = 1 + jt_rng_next(&r) % FB_OWNER_MAX_BYTES;

        memset(owner, 'a' + i % 26, len);
        CU_ASSERT_EQUAL_FATAL(fb_store_restore_account(a, i + 1, owner, len,
                                  1700000000 + i,
                                  (int64_t) (jt_rng_next(&r) % 1000000000),
                                  (uint64_t) i), FB_STORE_OK);
    }

    /* More than 2^32 records during the scan do not fit its header. */
    snap_end = 99 + (uint64_t) UINT32_MAX + 1;
    CU_ASSERT_EQUAL(fb_snapshot_write(path, a, 99, snap_end_fn, &snap_end,
                                      &info, jt_log), FB_ERROR);
    CU_ASSERT(jt_log_has("more than its header holds"));
    CU_ASSERT_EQUAL(jt_file_size(path), -1);

    /* Owner only (0600), whatever the umask lets through. */
    snap_end = 99 + 7;
    mask = umask(0);
    rc = fb_snapshot_write(path, a, 99, snap_end_fn, &snap_end, &info,
                           jt_log);
    umask(mask);
    CU_ASSERT_EQUAL_FATAL(rc, FB_OK);
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL(info.accounts, 70000);
    CU_ASSERT_EQUAL(info.seq, 99);
    CU_ASSERT_EQUAL(info.exact, 106);
    CU_ASSERT_EQUAL((long) info.bytes, jt_file_size(path));

    b = fb_store_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    memset(&info, 0, sizeof(info));
    CU_ASSERT_EQUAL(fb_snapshot_load(path, b, &info, jt_log), FB_OK);
    CU_ASSERT_EQUAL(info.seq, 99);
    CU_ASSERT_EQUAL(info.exact, 106);
    CU_ASSERT_EQUAL(jt_stores_equal(a, b, why, sizeof(why)), 0);
    for (id = 1; id <= 70000; id += 9999) {
        fb_account_t  x;

        CU_ASSERT_EQUAL(fb_store_get(b, id, &x), FB_STORE_OK);
        CU_ASSERT_EQUAL(x.lsn, (uint64_t) id - 1);
    }
    fb_store_free(b);

    /* Any byte of the header changed: refused.  The magic and the version
     * lie outside the header's CRC, and the count of records after S0
     * (offset 44) inside it. */
    for (k = 0; k < FB_SNAPSHOT_HEADER; k++) {
        CU_ASSERT_EQUAL_FATAL(flip_byte(path, k), 0);
        b = fb_store_new(NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        rc = fb_snapshot_load(path, b, NULL, jt_log);
        CU_ASSERT_EQUAL(rc, FB_DECLINED);
        if (rc != FB_DECLINED) {
            printf("\n    header byte %d changed: loaded ", k);
        }
        fb_store_free(b);
        CU_ASSERT_EQUAL_FATAL(flip_byte(path, k), 0);
    }

    /* One byte changed in the body, or the tail cut: refused.  The first
     * account's owner has nothing but the body's CRC to check it; a byte
     * in the middle falls in an owner or in the fields before it,
     * depending on the seed. */
    CU_ASSERT_EQUAL_FATAL(flip_byte(path, FB_SNAPSHOT_HEADER + 22), 0);
    b = fb_store_new(NULL);
    CU_ASSERT_EQUAL(fb_snapshot_load(path, b, NULL, jt_log), FB_DECLINED);
    fb_store_free(b);
    CU_ASSERT_EQUAL_FATAL(flip_byte(path, FB_SNAPSHOT_HEADER + 22), 0);

    CU_ASSERT_EQUAL_FATAL(flip_byte(path, jt_file_size(path) / 2), 0);
    b = fb_store_new(NULL);
    CU_ASSERT_EQUAL(fb_snapshot_load(path, b, NULL, jt_log), FB_DECLINED);
    fb_store_free(b);

    CU_ASSERT_EQUAL_FATAL(flip_byte(path, jt_file_size(path) / 2), 0);
    CU_ASSERT_EQUAL_FATAL(truncate(path, jt_file_size(path) - 1), 0);
    b = fb_store_new(NULL);
    CU_ASSERT_EQUAL(fb_snapshot_load(path, b, NULL, jt_log), FB_DECLINED);
    fb_store_free(b);

    /* A damaged newest snapshot stops start-up. */
    jt_log_clear();
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_CORRUPT);

    fb_store_free(a);
    jt_rmdir(dir);
}


/*
 * Replay sets balances: replaying records over a snapshot that already
 * holds their effects (a fuzzy snapshot) gives the same store, and so does
 * recovering twice.
 */
static void
test_replay_idempotent(void)
{
    char          *dir, path[4096], name[FB_FILE_NAME_MAX], why[160];
    jt_rng_t       r;
    jt_pair_t      p;
    jt_model_t     m;
    fb_store_t    *s, *s2;
    fb_recovery_t  rec;

    dir = start_dir("idem", 4, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(open_run(&p, dir, FB_FSYNC_ALWAYS, &m, &r, 200),
                          0);

    /* The final state, labelled as of record 5: every record after 5 is
     * already in it, and replay applies them again. */
    fb_snapshot_name(name, 5);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    CU_ASSERT_EQUAL_FATAL(fb_snapshot_write(path, p.s, 5, NULL, NULL, NULL, jt_log),
                          FB_OK);
    jt_close(&p, 0);

    s = recover_ok(dir, &rec);
    CU_ASSERT_EQUAL(rec.snapshot_seq, 5);
    CU_ASSERT(rec.replayed > 0);
    CU_ASSERT_EQUAL(jt_store_equals_model(s, &m, why, sizeof(why)), 0);

    s2 = recover_ok(dir, NULL);
    CU_ASSERT_EQUAL(jt_stores_equal(s, s2, why, sizeof(why)), 0);

    fb_store_free(s);
    fb_store_free(s2);
    jt_rmdir(dir);
}


/*
 * Many operations with snapshots taken as they go (every 300 records);
 * the recovered store equals the one that ran, account for account; and
 * a stop with a last snapshot leaves one snapshot and one empty segment.
 */
static void
test_recovery_equals_original(void)
{
    char                *dir, why[160];
    jt_rng_t             r;
    jt_pair_t            p;
    jt_model_t           m;
    fb_store_t          *s;
    fb_recovery_t        rec;
    fb_journal_stats_t   st;

    dir = start_dir("equal", 5, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, FB_FSYNC_ALWAYS, 300), 0);
    run_ops(&p, &m, &r, 2000);

    /* Snapshots run on their own thread; take one more by hand so that
     * at least one exists whatever that thread got to. */
    CU_ASSERT_EQUAL(fb_journal_snapshot(p.j), FB_OK);
    run_ops(&p, &m, &r, 100);
    fb_journal_stats(p.j, &st);
    CU_ASSERT(st.snapshots >= 1);

    /* Stop as a crash would leave it: no last snapshot. */
    s = recovers_as_ran(&p, dir, 1);
    CU_ASSERT_EQUAL(jt_store_equals_model(s, &m, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(jt_store_sum(s), m.deposited - m.withdrawn);
    fb_store_free(s);

    /* An orderly stop: a last snapshot, and the segments it covers go. */
    CU_ASSERT_EQUAL_FATAL(open_run(&p, dir, FB_FSYNC_ALWAYS, &m, &r, 50), 0);
    jt_close(&p, 1);
    CU_ASSERT_EQUAL(jt_count_files(dir, "snapshot-"), 1);
    CU_ASSERT_EQUAL(jt_count_files(dir, "journal-"), 1);

    rec = recovers_to(dir, &m, TORN_ANY);
    CU_ASSERT_EQUAL(rec.replayed, 0);

    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_OK);
    jt_rmdir(dir);
}


/*
 * A stop while deleting the segments a snapshot covers leaves any subset
 * of them behind: start-up and --check skip them.
 */
static void
test_leftover_segments(void)
{
    int            i;
    char          *dir, *keep, names[3][4096], saved[3][4096];
    jt_rng_t       r;
    jt_pair_t      p;
    jt_model_t     m;

    dir = start_dir("leftover", 9, &r, &m);
    keep = jt_mkdir("leftover-keep");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(keep);

    /* Three segments: each start opens one. */
    for (i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(session_seg(dir, &m, &r, 20, names[i],
                                          sizeof(names[i])), 0);
        snprintf(saved[i], sizeof(saved[i]), "%s/%d", keep, i);
        CU_ASSERT_EQUAL_FATAL(copy_file(names[i], saved[i]), 0);
    }

    CU_ASSERT_EQUAL_FATAL(open_run(&p, dir, FB_FSYNC_ALWAYS, &m, &r, 10), 0);
    CU_ASSERT_EQUAL(fb_journal_snapshot(p.j), FB_OK);
    run_ops(&p, &m, &r, 10);
    jt_close(&p, 0);
    CU_ASSERT_EQUAL(jt_count_files(dir, "journal-"), 1);

    /* The first and the third come back; the second stays deleted. */
    CU_ASSERT_EQUAL_FATAL(copy_file(saved[0], names[0]), 0);
    CU_ASSERT_EQUAL_FATAL(copy_file(saved[2], names[2]), 0);

    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_OK);
    recovers_to(dir, &m, TORN_ANY);

    jt_rmdir(keep);
    jt_rmdir(dir);
}


/*
 * A snapshot read while money moves may hold changes made after its S0 (a
 * transfer's credit without its debit); its header says up to which record
 * it must be replayed to be exact.  Without those records (the snapshot
 * copied alone, segments deleted) start-up refuses, and --repair leaves
 * it; with them, or from a snapshot nothing changed during (an orderly
 * stop's), it starts.  A snapshot whose header says nothing (more = 0, as
 * before it did) replays what there is, as before.
 */
static void
test_snapshot_exact(void)
{
    int            i;
    char          *dir, *scratch, seg[4096], name[64], path[4096], sn[64];
    long           n, off[64];
    uint64_t       first;
    jt_rng_t       r;
    jt_model_t     m;
    fb_store_t    *s;

    struct {
        long  seq, exact, keep;   /* keep: records left; -1 no segment */
        int   ok;
    } c[5];

    dir = start_dir("exact", 11, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(session_seg(dir, &m, &r, 40, seg, sizeof(seg)), 0);
    snprintf(name, sizeof(name), "%s", strrchr(seg, '/') + 1);
    CU_ASSERT_EQUAL_FATAL(fb_segment_name_parse(name, &first), 0);
    CU_ASSERT_EQUAL_FATAL(first, 1);
    n = seg_records(seg, off, NULL);
    CU_ASSERT_FATAL(n > 10 && n <= 64);

    /* The store as of the last record: an image fuzzy up to it. */
    s = recover_ok(dir, NULL);

    c[0].seq = n - 10; c[0].exact = n;      c[0].keep = n;      c[0].ok = 1;
    c[1].seq = n - 10; c[1].exact = n;      c[1].keep = n - 1;  c[1].ok = 0;
    c[2].seq = n - 10; c[2].exact = n;      c[2].keep = -1;     c[2].ok = 0;
    c[3].seq = n;      c[3].exact = n;      c[3].keep = -1;     c[3].ok = 1;
    c[4].seq = n - 10; c[4].exact = n - 10; c[4].keep = n - 5;  c[4].ok = 1;

    for (i = 0; i < 5; i++) {
        scratch = jt_mkdir("exact-copy");
        CU_ASSERT_PTR_NOT_NULL_FATAL(scratch);

        if (c[i].keep >= 0) {
            snprintf(path, sizeof(path), "%s/%s", scratch, name);
            CU_ASSERT_EQUAL_FATAL(copy_file(seg, path), 0);
            if (c[i].keep < n) {
                CU_ASSERT_EQUAL_FATAL(truncate(path, off[c[i].keep]), 0);
            }
        }

        fb_snapshot_name(sn, (uint64_t) c[i].seq);
        snprintf(path, sizeof(path), "%s/%s", scratch, sn);
        snap_end = (uint64_t) c[i].exact;
        CU_ASSERT_EQUAL_FATAL(fb_snapshot_write(path, s, (uint64_t) c[i].seq,
                                                snap_end_fn, &snap_end, NULL,
                                                jt_log), FB_OK);

        if (c[i].ok) {
            CU_ASSERT_EQUAL(check_dir(scratch, 0), FB_CHECK_OK);
            if (c[i].keep == n || c[i].keep < 0) {
                recovers_to(scratch, &m, 0);
            } else {
                fb_store_free(recover_ok(scratch, NULL));
            }
        } else {
            recovery_refused(scratch, "is exact only with the records up to");
            CU_ASSERT(jt_log_has(sn));
            CU_ASSERT_EQUAL(check_dir(scratch, 0), FB_CHECK_CORRUPT);
            CU_ASSERT_EQUAL(check_dir(scratch, 1), FB_CHECK_CORRUPT);
        }

        jt_rmdir(scratch);
    }

    fb_store_free(s);
    jt_rmdir(dir);
}


/* The S0 of the newest snapshot in dir (its name), or 0. */
static uint64_t
newest_snapshot(const char *dir, char *path, size_t len)
{
    uint64_t     seq;
    const char  *last;

    last = jt_last_file(dir, "snapshot-");
    if (last == NULL
        || fb_snapshot_name_parse(strrchr(last, '/') + 1, &seq) != 0)
    {
        return 0;
    }

    snprintf(path, len, "%s", last);
    return seq;
}


/*
 * Two snapshots, as a stop while the second one deleted what it covers
 * leaves them: the older one back, and with it none of the segments
 * between the two.  Start-up loads the newer one; from the older, records
 * are missing.
 */
static void
test_snapshot_newest(void)
{
    char           *dir, *keep, path[4096], saved[4096];
    uint64_t        s1, s2;
    jt_rng_t        r;
    jt_pair_t       p;
    jt_model_t      m;
    fb_recovery_t   rec;

    dir = start_dir("newest", 15, &r, &m);
    keep = jt_mkdir("newest-keep");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(keep);
    CU_ASSERT_EQUAL_FATAL(open_run(&p, dir, FB_FSYNC_ALWAYS, &m, &r, 20), 0);

    CU_ASSERT_EQUAL_FATAL(fb_journal_snapshot(p.j), FB_OK);
    s1 = newest_snapshot(dir, path, sizeof(path));
    CU_ASSERT_FATAL(s1 > 0);
    snprintf(saved, sizeof(saved), "%s/old", keep);
    CU_ASSERT_EQUAL_FATAL(copy_file(path, saved), 0);

    run_ops(&p, &m, &r, 20);
    CU_ASSERT_EQUAL_FATAL(fb_journal_snapshot(p.j), FB_OK);
    s2 = newest_snapshot(dir, path, sizeof(path));
    CU_ASSERT_FATAL(s2 > s1);
    CU_ASSERT_EQUAL(jt_count_files(dir, "snapshot-"), 1);
    run_ops(&p, &m, &r, 10);
    jt_close(&p, 0);

    snprintf(path, sizeof(path), "%s/", dir);
    fb_snapshot_name(path + strlen(path), s1);
    CU_ASSERT_EQUAL_FATAL(copy_file(saved, path), 0);
    CU_ASSERT_EQUAL(jt_count_files(dir, "snapshot-"), 2);

    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_OK);
    rec = recovers_to(dir, &m, 0);
    CU_ASSERT_EQUAL(rec.snapshot_seq, s2);
    CU_ASSERT(jt_log_has("1 older snapshot(s), ignored"));

    jt_rmdir(keep);
    jt_rmdir(dir);
}


/*
 * A snapshot's name says which is the newest; its header's CRC covers the
 * S0 it holds, so only a renamed file can make the two disagree (a copy
 * put back under another name, an operator's rename).  Start-up refuses
 * it, naming the file, and --repair leaves it.
 */
static void
test_snapshot_renamed(void)
{
    int           i;
    char         *dir, seg[4096], path[4096], to[4096];
    uint64_t      k, as[2];
    jt_rng_t      r;
    jt_model_t    m;
    fb_store_t   *s;

    dir = start_dir("renamed", 16, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(session_seg(dir, &m, &r, 30, seg, sizeof(seg)), 0);
    k = (uint64_t) seg_records(seg, NULL, NULL);
    CU_ASSERT_FATAL(k > 2);

    /* The store as of the last record, labelled so: exact alone. */
    s = recover_ok(dir, NULL);
    snprintf(path, sizeof(path), "%s/", dir);
    fb_snapshot_name(path + strlen(path), k);
    CU_ASSERT_EQUAL_FATAL(fb_snapshot_write(path, s, k, NULL, NULL, NULL,
                                            jt_log), FB_OK);
    fb_store_free(s);
    CU_ASSERT_EQUAL(recovers_to(dir, &m, 0).snapshot_seq, k);

    /* Named one after, and one before, the S0 its header holds. */
    as[0] = k + 1;
    as[1] = k - 1;

    for (i = 0; i < 2; i++) {
        snprintf(to, sizeof(to), "%s/", dir);
        fb_snapshot_name(to + strlen(to), as[i]);
        CU_ASSERT_EQUAL_FATAL(rename(path, to), 0);

        recovery_refused(dir, "not the one its name says");
        CU_ASSERT(jt_log_has(to));
        CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_CORRUPT);
        CU_ASSERT_EQUAL(check_dir(dir, 1), FB_CHECK_CORRUPT);
        CU_ASSERT_EQUAL(jt_count_files(dir, "snapshot-"), 1);

        CU_ASSERT_EQUAL_FATAL(rename(to, path), 0);
    }

    recovers_to(dir, &m, 0);
    jt_rmdir(dir);
}


/*
 * A journal that ends before the snapshot's S0 (its later segments lost),
 * under a snapshot exact alone: the snapshot holds every change the
 * missing records made, so start-up warns and goes on from it, and the
 * next record is S0 + 1.  Going on from the journal's end would number
 * new records the snapshot already holds, and the next start-up would
 * skip them.
 */
static void
test_snapshot_past_journal(void)
{
    char           *dir, *scratch, seg[4096], path[4096];
    long            n, off[64];
    jt_rng_t        r;
    jt_pair_t       p;
    jt_model_t      m;
    fb_store_t     *s;
    fb_recovery_t   rec;

    dir = start_dir("past", 17, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(session_seg(dir, &m, &r, 40, seg, sizeof(seg)), 0);
    n = seg_records(seg, off, NULL);
    CU_ASSERT_FATAL(n > 10 && n <= 64);

    /* The store as of record n, exact alone, beside a copy of the
     * journal cut to n - 5. */
    s = recover_ok(dir, NULL);
    scratch = tw_copy(seg, strrchr(seg, '/') + 1, off[n - 5], path,
                      sizeof(path));
    CU_ASSERT_PTR_NOT_NULL_FATAL(scratch);
    jt_rmdir(dir);
    dir = scratch;
    snprintf(path, sizeof(path), "%s/", dir);
    fb_snapshot_name(path + strlen(path), (uint64_t) n);
    CU_ASSERT_EQUAL_FATAL(fb_snapshot_write(path, s, (uint64_t) n, NULL, NULL,
                                            NULL, jt_log), FB_OK);
    fb_store_free(s);

    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_OK);
    rec = recovers_to(dir, &m, 0);
    CU_ASSERT(jt_log_has("before the snapshot's"));
    CU_ASSERT(jt_log_has("going on from the snapshot"));
    CU_ASSERT_EQUAL(rec.snapshot_seq, (uint64_t) n);
    CU_ASSERT_EQUAL(rec.last_seq, (uint64_t) n);
    CU_ASSERT_EQUAL(rec.replayed, 0);

    /* Started again, it numbers on from the snapshot (the start above
     * opened a segment at n + 1), and what it then acknowledges comes
     * back. */
    CU_ASSERT_EQUAL_FATAL(open_run(&p, dir, FB_FSYNC_ALWAYS, &m, &r, 10), 0);
    CU_ASSERT_EQUAL(p.rec.last_seq, (uint64_t) n);
    jt_close(&p, 0);
    rec = recovers_to(dir, &m, 0);
    CU_ASSERT(rec.last_seq > (uint64_t) n);

    jt_rmdir(dir);
}


/* ---- threads ---- */


#define MT_THREADS   4
#define MT_ACCOUNTS  64

typedef struct {
    jt_pair_t        *p;
    pthread_t         tid;
    jt_rng_t          rng;
    int               ops;
    int               transfers_only;
    long              ok, refused, errors;
    int64_t           deposited, withdrawn;
} mt_worker_t;


static void *
mt_worker(void *arg)
{
    int             i;
    int64_t         a, b, amount;
    uint64_t        x, lsn;
    mt_worker_t    *w = arg;
    fb_store_rc_e   rc;

    for (i = 0; i < w->ops; i++) {
        x = jt_rng_next(&w->rng);
        a = 1 + (int64_t) (jt_rng_next(&w->rng) % MT_ACCOUNTS);
        b = a % MT_ACCOUNTS + 1;
        amount = 1 + (int64_t) (jt_rng_next(&w->rng) % 1000);

        switch (w->transfers_only ? 3 : x % 4) {
        case 0:
            rc = fb_store_deposit(w->p->s, a, amount, NULL, &lsn);
            if (rc == FB_STORE_OK) {
                w->deposited += amount;
            }
            break;
        case 1:
            rc = fb_store_withdraw(w->p->s, a, amount, NULL, &lsn);
            if (rc == FB_STORE_OK) {
                w->withdrawn += amount;
            }
            break;
        default:
            rc = fb_store_transfer(w->p->s, a, b, amount, NULL, NULL, &lsn);
            break;
        }

        if (rc == FB_STORE_OK) {
            /* Back from the wait only once the record is synced. */
            if (fb_journal_wait(w->p->j, lsn) == 0
                && fb_journal_durable(w->p->j, lsn) == 1)
            {
                w->ok++;
            } else {
                w->errors++;
            }
        } else if (rc == FB_STORE_INSUFFICIENT_FUNDS) {
            w->refused++;
        } else {
            w->errors++;
        }
    }

    return NULL;
}


static void
mt_setup(jt_pair_t *p)
{
    int       i;
    char      owner[32];
    uint64_t  lsn;

    for (i = 1; i <= MT_ACCOUNTS; i++) {
        snprintf(owner, sizeof(owner), "mt %d", i);
        CU_ASSERT_EQUAL_FATAL(fb_store_create(p->s, owner, strlen(owner),
                                              NULL), FB_STORE_OK);
        CU_ASSERT_EQUAL_FATAL(fb_store_deposit(p->s, i, 100000, NULL, &lsn),
                              FB_STORE_OK);
    }

    CU_ASSERT_EQUAL(fb_journal_wait(p->j, lsn), 0);
}


/*
 * The newest snapshot in dir: every change its image holds (an account's
 * LSN) is among the records its header says make it exact.  1 if the
 * image holds a change made after its S0, else 0.
 */
static int
snap_check_exact(const char *dir)
{
    int                  fuzzy;
    int64_t              id;
    uint64_t             max = 0;
    const char          *path;
    fb_store_t          *s;
    fb_account_t         a;
    fb_snapshot_info_t   info;

    path = jt_last_file(dir, FB_SNAPSHOT_PREFIX);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    s = fb_store_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(fb_snapshot_load(path, s, &info, jt_log), FB_OK);

    for (id = 1; (uint64_t) id <= info.accounts; id++) {
        CU_ASSERT_EQUAL_FATAL(fb_store_get(s, id, &a), FB_STORE_OK);
        if (a.lsn > max) {
            max = a.lsn;
        }
    }

    CU_ASSERT(info.exact >= info.seq);
    CU_ASSERT(max <= info.exact);
    fuzzy = max > info.seq;

    fb_store_free(s);
    return fuzzy;
}


static void
mt_run(jt_pair_t *p, mt_worker_t *w, int ops, const char *snap_dir,
    int transfers_only, int *taken, int *fuzzy)
{
    int  i, done;

    for (i = 0; i < MT_THREADS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].p = p;
        w[i].ops = ops;
        w[i].transfers_only = transfers_only;
        jt_rng_seed(&w[i].rng, seed + 100 + (uint64_t) i);
        CU_ASSERT_EQUAL_FATAL(pthread_create(&w[i].tid, NULL, mt_worker,
                                             &w[i]), 0);
    }

    /* Snapshots while the workers go on: as many as fit, up to a bound.
     * How many is up to the scheduler; each one must be sound. */
    *taken = 0;
    *fuzzy = 0;
    for (i = 0; snap_dir != NULL && i < 200; i++) {
        if (fb_journal_snapshot(p->j) == FB_OK) {
            (*taken)++;
            *fuzzy += snap_check_exact(snap_dir);
        }
        done = fb_journal_failed(p->j);
        if (done) {
            break;
        }
    }

    for (i = 0; i < MT_THREADS; i++) {
        pthread_join(w[i].tid, NULL);
    }
}


/* The first LSNs of dir's segments, ascending, up to max: how many. */
static int
seg_firsts(const char *dir, uint64_t *first, int max)
{
    int             n = 0, i, k;
    DIR            *d;
    uint64_t        v;
    struct dirent  *de;

    d = opendir(dir);
    if (d == NULL) {
        return -1;
    }

    while ((de = readdir(d)) != NULL && n < max) {
        if (fb_segment_name_parse(de->d_name, &v) != 0) {
            continue;
        }
        for (i = 0; i < n && first[i] < v; i++) {
            /* void */
        }
        for (k = n; k > i; k--) {
            first[k] = first[k - 1];
        }
        first[i] = v;
        n++;
    }

    closedir(d);
    return n;
}


/*
 * Segments rotated by size (64 MiB in the service; 4 KiB here).  Four
 * threads move money under always, so batches of several records meet
 * the limit.  Without snapshots: many segments, each but the last holding
 * at least the limit, each beginning at the LSN after the last record of
 * the one before; the directory recovers to exactly the store that ran.
 * With snapshots on the way too, so that size rotations and snapshot
 * splits meet: the same recovery.
 */
#define SZ_SEGMENT  4096
#define SZ_MAX      512

static void
test_segments_by_size(void)
{
    int            i, n, taken, fuzzy, pass;
    long           recs, end;
    char          *dir, path[4096], name[FB_FILE_NAME_MAX];
    uint64_t      *first;
    jt_pair_t      p;
    fb_store_t    *s;
    mt_worker_t    w[MT_THREADS];

    first = calloc(SZ_MAX, sizeof(uint64_t));
    CU_ASSERT_PTR_NOT_NULL_FATAL(first);

    for (pass = 0; pass < 2; pass++) {
        dir = jt_mkdir("bysize");
        CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
        jt_segment_bytes = SZ_SEGMENT;
        CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, FB_FSYNC_ALWAYS, 0), 0);
        mt_setup(&p);
        mt_run(&p, w, 400, pass ? dir : NULL, 0, &taken, &fuzzy);
        for (i = 0; i < MT_THREADS; i++) {
            CU_ASSERT_EQUAL(w[i].errors, 0);
        }

        if (pass == 0) {
            n = seg_firsts(dir, first, SZ_MAX);
            printf("\n    (%d segments of %d bytes) ", n, SZ_SEGMENT);
            CU_ASSERT(n >= 10 && n < SZ_MAX);
            CU_ASSERT_EQUAL(first[0], 1);

            for (i = 0; i < n; i++) {
                fb_segment_name(name, first[i]);
                snprintf(path, sizeof(path), "%s/%s", dir, name);
                recs = seg_scan(path, NULL, NULL, NULL, &end);
                CU_ASSERT(recs > 0);
                if (i + 1 < n) {
                    CU_ASSERT_EQUAL(first[i + 1], first[i] + (uint64_t) recs);
                    CU_ASSERT(end >= SZ_SEGMENT);
                }
            }
        } else {
            printf("(and %d snapshots) ", taken);
            CU_ASSERT(taken >= 1);
        }

        s = recovers_as_ran(&p, dir, pass);
        fb_store_free(s);
        jt_rmdir(dir);
    }

    free(first);
}


/*
 * Snapshots taken while four threads keep moving money.  Stopped without
 * a last snapshot (as a crash would), the directory recovers to exactly
 * the store that ran, and the money adds up.
 */
static void
test_snapshot_under_load(void)
{
    int            i, taken, fuzzy;
    char          *dir;
    int64_t        dep = 0, wd = 0;
    uint64_t       lsn = 0;
    jt_pair_t      p;
    fb_store_t    *s;
    mt_worker_t    w[MT_THREADS];

    dir = jt_mkdir("snapload");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);

    CU_ASSERT_EQUAL_FATAL(jt_open(&p, dir, FB_FSYNC_BATCH, 0), 0);
    mt_setup(&p);
    mt_run(&p, w, 3000, dir, 0, &taken, &fuzzy);

    for (i = 0; i < MT_THREADS; i++) {
        CU_ASSERT_EQUAL(w[i].errors, 0);
        dep += w[i].deposited;
        wd += w[i].withdrawn;
    }
    printf("\n    (%d snapshots during the run, %d of them holding later "
           "changes) ", taken, fuzzy);
    CU_ASSERT(taken >= 1);

    /* The last snapshot may have come after the workers' last operation:
     * a few transfers after all of them leave recovery records to replay
     * over it (after a deposit each, so that they cannot be refused). */
    for (i = 1; i <= 2; i++) {
        CU_ASSERT_EQUAL_FATAL(fb_store_deposit(p.s, i, 1000, NULL, &lsn),
                              FB_STORE_OK);
        dep += 1000;
    }
    for (i = 0; i < 20; i++) {
        CU_ASSERT_EQUAL_FATAL(fb_store_transfer(p.s, 1 + i % 2, 2 - i % 2,
                                                1 + i, NULL, NULL, &lsn),
                              FB_STORE_OK);
    }
    CU_ASSERT_EQUAL(fb_journal_wait(p.j, lsn), 0);

    s = recovers_as_ran(&p, dir, 1);
    CU_ASSERT_EQUAL(jt_store_sum(s), MT_ACCOUNTS * 100000 + dep - wd);

    fb_store_free(s);
    jt_rmdir(dir);
}


/*
 * Group commit: threads that wait for their own LSN share fdatasyncs.
 * Every operation is durable when acknowledged, and recovery gives back
 * exactly the store that ran, account by account (transfers alone never
 * change the sum, so the sum says nothing about them).
 */
static void
group_commit(unsigned delay_us)
{
    int                  i, taken, fuzzy;
    long                 marked;
    char                *dir;
    jt_pair_t            p;
    fb_store_t          *s;
    mt_worker_t          w[MT_THREADS];
    fb_journal_stats_t   st;

    dir = jt_mkdir("group");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);

    CU_ASSERT_EQUAL_FATAL(jt_open_tuned(&p, dir, FB_FSYNC_ALWAYS, 0,
                                        delay_us, 0), 0);
    mt_setup(&p);
    mt_run(&p, w, 300, NULL, 1, &taken, &fuzzy);

    for (i = 0; i < MT_THREADS; i++) {
        CU_ASSERT_EQUAL(w[i].errors, 0);
    }

    fb_journal_stats(p.j, &st);
    printf("\n    (%" PRIu64 " records, %" PRIu64 " fdatasyncs) ", st.last_lsn,
           st.syncs);
    CU_ASSERT_EQUAL(st.synced_lsn, st.last_lsn);
    CU_ASSERT(st.syncs < st.last_lsn);

    /* The one segment holds every record, synced, and one mark per
     * write() but its first (read while the journal runs: its zeros end
     * the records). */
    CU_ASSERT_EQUAL(jt_count_files(dir, "journal-"), 1);
    CU_ASSERT_EQUAL(seg_records(jt_last_segment(dir), NULL, &marked),
                    (long) st.last_lsn);
    CU_ASSERT_EQUAL(marked, (long) st.batches - 1);
    CU_ASSERT(marked < (long) st.last_lsn);

    s = recovers_as_ran(&p, dir, 0);
    CU_ASSERT_EQUAL(jt_store_sum(s), MT_ACCOUNTS * 100000);
    fb_store_free(s);
    jt_rmdir(dir);
}


static void
test_group_commit(void)
{
    group_commit(0);
}


/*
 * --fsync-delay: batches that gather before their sync.  Every wait still
 * ends only once its own record is synced (mt_worker checks each against
 * fb_journal_durable), and recovery finds every acknowledged operation.
 */
static void
test_group_commit_delay(void)
{
    group_commit(2000);
}


static void *
gather_snapshot(void *arg)
{
    return (void *) (intptr_t) fb_journal_snapshot(arg);
}


/*
 * A gather ends once as many records have come since the sync before
 * ended as that sync's batch held,
 * long before --fsync-delay (here ten minutes, so that nothing but the
 * count, a snapshot or a stop can end it).  The record that completes the
 * count wakes the writer, appended alone or, under a hold, at the
 * release; one record fewer keeps waiting.  A snapshot ends a gather at
 * once, and so does a stop; recovery finds every record.  A failure
 * (a hang bound of a minute) stops the journal, which ends any gather.
 */
static void
test_gather_cut(void)
{
    int                  held = 0;
    char                *dir;
    void                *snap_rc;
    int64_t              balance, sum;
    uint64_t             lsn, g = 0;
    pthread_t            snapper;
    jt_pair_t            p;
    jt_notice_t          n;
    fb_account_t         a;
    fb_journal_stats_t   st;

    dir = jt_mkdir("gather");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    /* A batch of two: the next one gathers until it holds two. */
    CU_ASSERT_EQUAL_FATAL(jt_open_gathering(&p, dir, &a), 0);
    CU_ASSERT_EQUAL_FATAL(jt_notice_init(&n, p.j), 0);
    fb_journal_stats(p.j, &st);
    CU_ASSERT_EQUAL(st.gathers, 0);

    /* One record: the writer gathers, and the record waits. */
    if (jt_gather_one(&p, a.id, ++g, &lsn) != 0) {
        CU_FAIL("no gather began");
        goto done;
    }
    usleep(20000);
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, lsn), 0);

    /* The second, appended alone, ends the gather. */
    CU_ASSERT_EQUAL(jt_notice_link(&n, lsn + 1), FB_OK);
    CU_ASSERT_EQUAL_FATAL(fb_store_deposit(p.s, a.id, 10, &balance, &lsn),
                          FB_STORE_OK);
    if (jt_notice_wait(&n, 1) != 0) {
        CU_FAIL("the record that completed the count did not end the "
                "gather");
        goto done;
    }
    CU_ASSERT_EQUAL(n.durable, 1);
    fb_journal_stats(p.j, &st);
    CU_ASSERT_EQUAL(st.gathers, g);
    CU_ASSERT_EQUAL(st.gathers_cut, g);

    /* Again, the second one under a hold: its release ends it. */
    if (jt_gather_one(&p, a.id, ++g, &lsn) != 0) {
        CU_FAIL("no second gather began");
        goto done;
    }
    fb_journal_hold(p.j);
    held = 1;
    CU_ASSERT_EQUAL_FATAL(fb_store_deposit(p.s, a.id, 10, &balance, &lsn),
                          FB_STORE_OK);
    CU_ASSERT_EQUAL(jt_notice_link(&n, lsn), FB_OK);
    usleep(20000);
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, lsn), 0);
    fb_journal_release(p.j);
    held = 0;
    if (jt_notice_wait(&n, 2) != 0) {
        CU_FAIL("the release that completed the count did not end the "
                "gather");
        goto done;
    }
    fb_journal_stats(p.j, &st);
    CU_ASSERT_EQUAL(st.gathers_cut, g);

    /* A snapshot ends a gather at once; it is not a cut. */
    if (jt_gather_one(&p, a.id, ++g, &lsn) != 0) {
        CU_FAIL("no third gather began");
        goto done;
    }
    CU_ASSERT_EQUAL(jt_notice_link(&n, lsn), FB_OK);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&snapper, NULL, gather_snapshot,
                                         p.j), 0);
    if (jt_notice_wait(&n, 3) != 0) {
        CU_FAIL("a snapshot did not end the gather");
        fb_journal_stop(p.j, 0);    /* ends it, and so the snapshot */
        pthread_join(snapper, NULL);
        goto done;
    }
    pthread_join(snapper, &snap_rc);
    CU_ASSERT_EQUAL((int) (intptr_t) snap_rc, FB_OK);
    fb_journal_stats(p.j, &st);
    CU_ASSERT_EQUAL(st.gathers_cut, g - 1);

    /* The snapshot's batch held one record: gather with a pair again,
     * then stop during the gather. */
    if (jt_gather_pair(&p, a.id) != 0) {
        CU_FAIL("no second batch of exactly two records");
        goto done;
    }
    CU_ASSERT_EQUAL(jt_gather_one(&p, a.id, ++g, &lsn), 0);

done:
    if (held) {
        fb_journal_release(p.j);
    }

    /* Recovery finds the store as it is now. */
    CU_ASSERT_EQUAL(jt_close_recover(&p, dir, &sum), 0);
    CU_ASSERT(sum >= 100);
    jt_notice_free(&n);
    jt_rmdir(dir);
}


/* The batch policy: a reply after write; fdatasync later, and at stop. */
static void
test_policy_batch(void)
{
    int                  i;
    char                *dir;
    jt_rng_t             r;
    jt_pair_t            p;
    jt_model_t           m;
    fb_journal_stats_t   st;

    dir = start_dir("batch", 6, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(open_run(&p, dir, FB_FSYNC_BATCH, &m, &r, 300), 0);

    fb_journal_stats(p.j, &st);
    CU_ASSERT_EQUAL(st.written_lsn, st.last_lsn);
    CU_ASSERT(st.synced_lsn <= st.written_lsn);

    /* Later (the interval is 2 ms here), the writer syncs what it wrote
     * without being asked: wait for it, for up to a minute. */
    for (i = 0; i < 60000 && st.synced_lsn < st.last_lsn; i++) {
        usleep(1000);
        fb_journal_stats(p.j, &st);
    }
    CU_ASSERT_EQUAL(st.synced_lsn, st.last_lsn);
    CU_ASSERT(st.syncs >= 1);
    jt_close(&p, 0);

    recovers_to(dir, &m, TORN_ANY);
    jt_rmdir(dir);
}


/*
 * fb_journal_notify: declined for a durable LSN; once linked, called once,
 * by the writer, after the LSN is durable, and never again until linked
 * again.
 */
/*
 * Under batch the writer syncs at most every --fsync-interval, not after
 * each write: with an interval of ten minutes (nothing else can end it),
 * 300 operations, each acknowledged once written, make no fdatasync, and
 * their records wait for the stop's.
 */
static void
test_policy_batch_interval(void)
{
    char                *dir;
    jt_rng_t             r;
    jt_pair_t            p;
    jt_model_t           m;
    fb_journal_stats_t   st;

    dir = start_dir("batch-interval", 12, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    jt_interval_ms = 600000;
    CU_ASSERT_EQUAL_FATAL(open_run(&p, dir, FB_FSYNC_BATCH, &m, &r, 300), 0);

    fb_journal_stats(p.j, &st);
    CU_ASSERT_EQUAL(st.written_lsn, st.last_lsn);
    CU_ASSERT(st.batches >= 1);
    CU_ASSERT_EQUAL(st.syncs, 0);
    CU_ASSERT(st.synced_lsn < st.written_lsn);
    jt_close(&p, 0);

    recovers_to(dir, &m, TORN_ANY);
    jt_rmdir(dir);
}


static void
test_notify(void)
{
    char          *dir;
    int64_t        balance;
    uint64_t       lsn;
    jt_pair_t      p;
    jt_notice_t    n;
    fb_account_t   a;

    dir = jt_mkdir("notify");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(jt_open_noticed(&p, &n, dir, &a), 0);
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, a.lsn), 1);
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, 0), 1);

    /* Durable already: nothing is linked, nothing will be called. */
    CU_ASSERT_EQUAL(jt_notice_link(&n, a.lsn), FB_DECLINED);

    /* The next record, not yet appended: linked. */
    CU_ASSERT_EQUAL_FATAL(jt_notice_link(&n, a.lsn + 1), FB_OK);
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, a.lsn + 1), 0);
    CU_ASSERT_EQUAL(jt_notice_calls(&n), 0);

    CU_ASSERT_EQUAL_FATAL(fb_store_deposit(p.s, a.id, 10, &balance, &lsn),
                          FB_STORE_OK);
    CU_ASSERT_EQUAL(lsn, a.lsn + 1);
    CU_ASSERT_EQUAL_FATAL(jt_notice_wait(&n, 1), 0);
    CU_ASSERT_EQUAL(n.durable, 1);

    /* Unlinked by that call: a later batch does not call it again. */
    CU_ASSERT_EQUAL_FATAL(fb_store_deposit(p.s, a.id, 10, &balance, &lsn),
                          FB_STORE_OK);
    CU_ASSERT_EQUAL(fb_journal_wait(p.j, lsn), 0);
    CU_ASSERT_EQUAL(jt_notice_calls(&n), 1);

    /* And it can be linked again. */
    CU_ASSERT_EQUAL_FATAL(jt_notice_link(&n, lsn + 1), FB_OK);
    CU_ASSERT_EQUAL_FATAL(fb_store_deposit(p.s, a.id, 10, &balance, &lsn),
                          FB_STORE_OK);
    CU_ASSERT_EQUAL_FATAL(jt_notice_wait(&n, 2), 0);
    CU_ASSERT_EQUAL(n.durable, 1);
    CU_ASSERT_EQUAL(fb_journal_durable(p.j, lsn), 1);

    /* Held appends wake the writer only at the release: the record gets
     * synced (and n called) all the same, once released.  The pause lets
     * the writer finish its last batch and go idle, so that only the
     * release can wake it; should it still have been busy and taken the
     * record by itself, the record is simply durable already. */
    usleep(100000);
    fb_journal_hold(p.j);
    CU_ASSERT_EQUAL_FATAL(fb_store_deposit(p.s, a.id, 10, &balance, &lsn),
                          FB_STORE_OK);
    if (jt_notice_link(&n, lsn) == FB_OK) {
        fb_journal_release(p.j);
        CU_ASSERT_EQUAL_FATAL(jt_notice_wait(&n, 3), 0);
        CU_ASSERT_EQUAL(n.durable, 1);
    } else {
        fb_journal_release(p.j);
        CU_ASSERT_EQUAL(fb_journal_durable(p.j, lsn), 1);
    }

    jt_close(&p, 0);
    jt_notice_free(&n);
    jt_rmdir(dir);
}


/* ---- the directory ---- */


static void
test_directory_rules(void)
{
    int            fd;
    char          *dir, path[4096];
    jt_rng_t       r;
    jt_pair_t      p, q;
    jt_model_t     m;

    dir = start_dir("dir", 7, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(open_run(&p, dir, FB_FSYNC_ALWAYS, &m, &r, 30), 0);

    /* One process per directory; --check keeps off a live one. */
    jt_log_clear();
    CU_ASSERT_NOT_EQUAL(jt_open(&q, dir, FB_FSYNC_ALWAYS, 0), 0);
    CU_ASSERT(jt_log_has("in use"));
    jt_close(&q, 0);
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_IO);

    jt_close(&p, 1);

    /* An unfinished snapshot is ignored, and removed at start-up. */
    snprintf(path, sizeof(path), "%s/snapshot.tmp", dir);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, "FBSNAP", 6), 6);
    close(fd);

    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_OK);
    recovers_to(dir, &m, TORN_ANY);
    CU_ASSERT_EQUAL(jt_file_size(path), -1);

    CU_ASSERT_EQUAL(check_dir("/nonexistent/fastbank", 0), FB_CHECK_IO);

    jt_rmdir(dir);
}


/* --check reports a torn tail (1); --repair cuts it (then 0). */
static void
test_check_and_repair(void)
{
    char          *dir;
    long           size;
    jt_rng_t       r;
    jt_model_t     m;
    const char    *seg;

    dir = start_dir("check", 8, &r, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(session(dir, &m, &r, 30), 0);

    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_OK);

    seg = jt_last_segment(dir);
    size = jt_file_size(seg);
    CU_ASSERT_EQUAL_FATAL(truncate(seg, size - 3), 0);

    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_TORN);
    CU_ASSERT_EQUAL(jt_file_size(seg), size - 3);
    CU_ASSERT_EQUAL(check_dir(dir, 1), FB_CHECK_OK);
    CU_ASSERT(jt_file_size(seg) < size - 3);
    CU_ASSERT_EQUAL(check_dir(dir, 0), FB_CHECK_OK);

    jt_rmdir(dir);
}


static const fb_ctest_t  tests[] = {
    { "crc32c: check values", test_crc32c_check_values },
    { "crc32c: hardware and table agree", test_crc32c_paths_agree },
    { "record: round trip", test_record_round_trip },
    { "record: short and damaged", test_record_short_and_damaged },
    { "file names", test_file_names },
    { "torn tail: every length", test_torn_tail_every_length },
    { "corruption: in the middle", test_corruption_in_the_middle },
    { "corruption: a valid CRC, an impossible payload",
      test_corruption_valid_crc },
    { "torn write: a power cut within one write()", test_torn_write },
    { "torn write: a segment's first record unmarked",
      test_first_record_unmarked },
    { "torn write: the sector rule at its edges", test_torn_write_edges },
    { "corruption: earlier segment, missing one",
      test_corruption_earlier_segment },
    { "corruption: a record missing", test_corruption_gap },
    { "corruption: a segment version this release does not know",
      test_segment_version },
    { "zeros after the records", test_zeros_after_records },
    { "zeros: chunk by chunk", test_zeros_chunk_by_chunk },
    { "snapshot: write and load", test_snapshot_write_load },
    { "replay: idempotent", test_replay_idempotent },
    { "recovery: equals the original", test_recovery_equals_original },
    { "recovery: segments left before the snapshot",
      test_leftover_segments },
    { "snapshot: exact only with the records after it",
      test_snapshot_exact },
    { "snapshot: the newest of two", test_snapshot_newest },
    { "snapshot: renamed", test_snapshot_renamed },
    { "snapshot: the journal ends before it", test_snapshot_past_journal },
    { "snapshot: under load", test_snapshot_under_load },
    { "segments: rotated by size", test_segments_by_size },
    { "group commit", test_group_commit },
    { "group commit: --fsync-delay", test_group_commit_delay },
    { "group commit: a gather cut short", test_gather_cut },
    { "policy: batch", test_policy_batch },
    { "policy: batch, one sync an interval", test_policy_batch_interval },
    { "notify: once, when durable", test_notify },
    { "directory: lock, tmp, missing", test_directory_rules },
    { "check and repair", test_check_and_repair },
};


int
main(void)
{
    seed = jt_seed();
    printf("test-journal: seed %" PRIu64 " (replay with FB_TEST_SEED=%"
           PRIu64 ")\n", seed, seed);

    return fb_cunit_run("test-journal", "journal", NULL, NULL, tests,
                        sizeof(tests) / sizeof(tests[0]));
}
