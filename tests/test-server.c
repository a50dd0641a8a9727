/*
 * test-server.c: the worker event loops (fcgi/fb_server.c) in process,
 * over a journal under --fsync always, through a real unix socket and raw
 * FastCGI records, with tests/fb_io_fault.c in place of the journal's
 * file-system calls:
 *
 *   - many requests in flight on many connections, each reply parked
 *     until its record is synced, reads among them: every one answered,
 *     every deposit in the balances, no read behind an acknowledged one;
 *   - parked replies leave in LSN order: reads parked after later
 *     deposits are answered as soon as what they wait for is durable;
 *   - connections the peer closes while their reply is parked: the
 *     deposits still count and the server goes on serving;
 *   - peers that stall half-way through a request hold their worker only
 *     until the receive timeout, peers that stop reading replies only
 *     until the send timeout;
 *   - a reply carries its request's id; a connection without
 *     FCGI_KEEP_CONN is closed after its reply;
 *   - the journal failing while replies are parked: they become 503, as
 *     do later mutations and reads of balances not durable; durable
 *     balances are still served; /healthz says read-only;
 *   - SIGTERM: fb_server_run returns FB_OK; idle connections are closed
 *     at once, parked replies sent once durable, then their connections
 *     closed.
 *
 * Every read has a receive timeout: a hang bound, not a timing check.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <CUnit/Basic.h>

#include "fb_cunit.h"
#include "fb_fcgiclient.h"
#include "fb_fcgx.h"
#include "fb_io_fault.h"
#include "fb_jtest.h"
#include "fb_listen.h"
#include "fb_server.h"

#define HANG_BOUND_S  60
#define CONNS         16
#define ROUNDS        40
#define ACCOUNTS      4

static char          *dir;
static char           sock_path[512];
static jt_pair_t      pair;
static fb_listen_t    ls;
static fb_server_t   *srv;
static pthread_t      runner;
static int            run_rc = -1;

static int            status;
static char           body[65536];   /* /metrics too */


/* ---- the client side ---- */


static int
fc_connect(void)
{
    return fbt_fcgi_connect(sock_path, HANG_BOUND_S);
}


/* Sends one request with FCGI_KEEP_CONN; 0 or -1. */
static int
fc_send(int fd, const char *method, const char *uri, const char *b)
{
    return fbt_fcgi_send(fd, 1, method, uri, b != NULL ? b : "");
}


/* Reads one reply into status and body; 0 or -1. */
static int
fc_reply(int fd)
{
    char         *p;
    static char   out[65536];

    if (fbt_fcgi_reply(fd, out, sizeof(out)) < 0) {
        return -1;
    }

    status = strncmp(out, "Status: ", 8) == 0 ? atoi(out + 8) : 200;
    p = strstr(out, "\r\n\r\n");
    snprintf(body, sizeof(body), "%s", p != NULL ? p + 4 : "");

    return 0;
}


static int
call(const char *method, const char *uri, const char *b)
{
    int  fd, rc;

    fd = fc_connect();
    if (fd < 0) {
        return -1;
    }
    rc = fc_send(fd, method, uri, b) == 0 ? fc_reply(fd) : -1;
    close(fd);

    return rc;
}


/* The "balance" of the last reply's body, or -1 if it has none. */
static int64_t
body_balance(void)
{
    const char  *p = strstr(body, "\"balance\":");

    return p != NULL ? strtoll(p + 10, NULL, 10) : -1;
}


static int64_t
balance_of(int64_t id)
{
    char  uri[64];

    snprintf(uri, sizeof(uri), "/accounts/%" PRId64, id);
    if (call("GET", uri, NULL) != 0 || status != 200) {
        return -1;
    }

    return body_balance();
}


/* ---- the server ---- */


static void *
run(void *arg)
{
    (void) arg;
    run_rc = fb_server_run(srv);
    return NULL;
}


static int
start(void)
{
    char              addr[600];
    fb_server_conf_t  conf;

    dir = jt_mkdir("server");
    if (dir == NULL || jt_open(&pair, dir, FB_FSYNC_ALWAYS, 0) != 0) {
        return -1;
    }

    snprintf(sock_path, sizeof(sock_path), "%s/s.sock", dir);
    snprintf(addr, sizeof(addr), "unix:%s", sock_path);
    ls.fd = -1;
    if (fb_listen_open(&ls, addr, 0600, 128) != FB_OK) {
        return -1;
    }

    memset(&conf, 0, sizeof(conf));
    conf.threads = 2;
    conf.events = FB_EVENTS_DEFAULT;
    conf.max_body = 4096;
    conf.journal = pair.j;
    conf.cpu_scheduling = SCHED_BATCH;      /* fastbank's default */

    srv = fb_server_new(&conf, &ls, pair.s);
    if (srv == NULL) {
        return -1;
    }

    return pthread_create(&runner, NULL, run, NULL) == 0 ? 0 : -1;
}


static int
stop(void)
{
    if (srv != NULL) {
        kill(getpid(), SIGTERM);        /* blocked everywhere: sigwait */
        pthread_join(runner, NULL);
        fb_server_free(srv);
        srv = NULL;
    }
    jt_close(&pair, 0);
    fb_listen_close(&ls);
    jt_rmdir(dir);

    return 0;
}


/* ---- tests ---- */


static void
test_parked_many(void)
{
    int          i, k, a, fd[CONNS], ok = 0, reads = 0;
    char         uri[64];
    int64_t      want[ACCOUNTS + 1] = { 0 }, seen[ACCOUNTS + 1], bal;

    for (i = 1; i <= ACCOUNTS; i++) {
        CU_ASSERT_EQUAL_FATAL(call("POST", "/accounts", "{\"owner\":\"Ana\"}"),
                              0);
        CU_ASSERT_EQUAL_FATAL(status, 201);
    }

    for (i = 0; i < CONNS; i++) {
        fd[i] = fc_connect();
        CU_ASSERT_FATAL(fd[i] >= 0);
    }

    /*
     * Every connection has a request in flight before any reply is read:
     * both workers hold many parked replies at once.  One in four is a
     * read, which waits for the account's last change and so may be
     * parked among later deposits (test_parked_order checks the order).
     */
    for (k = 0; k < ROUNDS; k++) {
        memcpy(seen, want, sizeof(seen));

        for (i = 0; i < CONNS; i++) {
            a = i % ACCOUNTS + 1;
            if ((i + k) % 4 == 0) {
                snprintf(uri, sizeof(uri), "/accounts/%d", a % ACCOUNTS + 1);
                CU_ASSERT_EQUAL(fc_send(fd[i], "GET", uri, NULL), 0);
            } else {
                snprintf(uri, sizeof(uri), "/accounts/%d/deposit", a);
                CU_ASSERT_EQUAL(fc_send(fd[i], "POST", uri, "{\"amount\":7}"),
                                0);
            }
        }

        for (i = 0; i < CONNS; i++) {
            a = i % ACCOUNTS + 1;
            /* a connection that lost a reply would read the wrong ones */
            CU_ASSERT_EQUAL_FATAL(fc_reply(fd[i]), 0);
            if (status != 200) {
                continue;
            }
            ok++;
            if ((i + k) % 4 != 0) {
                want[a] += 7;
                continue;
            }
            /* its own reply, not another's: never less than what was
             * acknowledged before it was sent */
            bal = body_balance();
            CU_ASSERT_FATAL(bal >= 0);
            CU_ASSERT(bal >= seen[a % ACCOUNTS + 1]);
            reads++;
        }
    }

    CU_ASSERT_EQUAL(ok, CONNS * ROUNDS);
    CU_ASSERT_EQUAL(reads, CONNS * ROUNDS / 4);

    for (i = 0; i < CONNS; i++) {
        close(fd[i]);
    }

    for (i = 1; i <= ACCOUNTS; i++) {
        CU_ASSERT_EQUAL(balance_of(i), want[i]);
    }
}


/*
 * Parked replies leave in LSN order, not in the order they were parked.
 * With the journal's syncs held: a deposit to account 1 is in the sync
 * being held; deposits to account 2 come after it (later LSNs, parked at
 * their workers' tails); then reads of account 1, which wait for the
 * first deposit only and so are parked ahead of the deposits to 2.  One
 * sync let go makes the first deposit durable: it and every read must be
 * answered while the deposits to 2 still wait for the next sync.  A
 * worker that kept its parked replies in arrival order would stop at a
 * deposit to 2 and hold the reads back (until HANG_BOUND_S).
 */
static void
test_parked_order(void)
{
    int              i, fd_a = -1, n = CONNS / 2;
    int              fd_b[CONNS / 2], fd_r[CONNS / 2];
    int64_t          b1, b2;
    struct pollfd    pfd;

    for (i = 0; i < n; i++) {
        fd_b[i] = -1;
        fd_r[i] = -1;
    }

    b1 = balance_of(1);
    b2 = balance_of(2);
    CU_ASSERT_FATAL(b1 >= 0 && b2 >= 0);

    fb_fault_hold(1);

    fd_a = fc_connect();
    if (fd_a < 0 || fc_send(fd_a, "POST", "/accounts/1/deposit",
                            "{\"amount\":5}") != 0)
    {
        CU_FAIL("deposit to account 1 not sent");
        goto done;
    }

    /* The writer has that record alone, in the sync it is held in. */
    if (fb_fault_wait_held(1, HANG_BOUND_S) != 0) {
        CU_FAIL("no sync was held");
        goto done;
    }

    for (i = 0; i < n; i++) {
        fd_b[i] = fc_connect();
        CU_ASSERT(fd_b[i] >= 0
                  && fc_send(fd_b[i], "POST", "/accounts/2/deposit",
                             "{\"amount\":3}") == 0);
    }

    /* Parked by now unless a worker was slower than this: the check
     * below can then miss a disorder, never report one falsely. */
    usleep(100000);

    for (i = 0; i < n; i++) {
        fd_r[i] = fc_connect();
        CU_ASSERT(fd_r[i] >= 0
                  && fc_send(fd_r[i], "GET", "/accounts/1", NULL) == 0);
    }

    usleep(100000);

    /* Nothing durable yet: nothing answered. */
    pfd.fd = fd_a;
    pfd.events = POLLIN;
    CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 0);

    /* The deposit to 1 becomes durable; the deposits to 2 are then the
     * next batch, held again. */
    fb_fault_release(1);

    CU_ASSERT(fc_reply(fd_a) == 0 && status == 200);

    for (i = 0; i < n; i++) {
        if (fd_r[i] < 0 || fc_reply(fd_r[i]) != 0) {
            CU_FAIL("a read of account 1 was not answered");
            continue;
        }
        CU_ASSERT_EQUAL(status, 200);
        CU_ASSERT_EQUAL(body_balance(), b1 + 5);
    }

    CU_ASSERT_EQUAL(fb_fault_wait_held(1, HANG_BOUND_S), 0);
    for (i = 0; i < n; i++) {
        pfd.fd = fd_b[i];
        CU_ASSERT(fd_b[i] >= 0 && poll(&pfd, 1, 0) == 0);
    }

done:
    fb_fault_hold(0);

    for (i = 0; i < n; i++) {
        if (fd_b[i] >= 0) {
            CU_ASSERT(fc_reply(fd_b[i]) == 0 && status == 200);
            close(fd_b[i]);
        }
        if (fd_r[i] >= 0) {
            close(fd_r[i]);
        }
    }
    if (fd_a >= 0) {
        close(fd_a);
    }

    CU_ASSERT_EQUAL(balance_of(1), b1 + 5);
    CU_ASSERT_EQUAL(balance_of(2), b2 + 3 * n);
}


/*
 * The scheduling policy of this process's thread named name (its comm in
 * /proc/self/task/TID), or -1 if there is no such thread.
 */
static int
thread_policy(const char *name)
{
    int             policy = -1;
    char            path[300], comm[64];
    FILE           *f;
    DIR            *d;
    struct dirent  *e;

    d = opendir("/proc/self/task");
    if (d == NULL) {
        return -1;
    }

    while (policy < 0 && (e = readdir(d)) != NULL) {
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        f = e->d_name[0] != '.' ? fopen(path, "r") : NULL;
        if (f == NULL) {
            continue;
        }
        if (fgets(comm, sizeof(comm), f) != NULL
            && strcspn(comm, "\n") == strlen(name)
            && strncmp(comm, name, strlen(name)) == 0)
        {
            /* Linux: a thread id names that thread alone. */
            policy = sched_getscheduler((pid_t) atoi(e->d_name));
        }
        fclose(f);
    }

    closedir(d);
    return policy;
}


/*
 * --cpu-scheduling batch: the workers take SCHED_BATCH themselves, the
 * journal's writer keeps SCHED_OTHER.  Each worker names itself and sets
 * its policy before its first epoll_wait(); the requests above went
 * through both workers, so both have done so.
 */
static void
test_worker_policy(void)
{
    CU_ASSERT_EQUAL(thread_policy("fb-worker-0"), SCHED_BATCH);
    CU_ASSERT_EQUAL(thread_policy("fb-worker-1"), SCHED_BATCH);
    CU_ASSERT_EQUAL(thread_policy("fb-journal"), SCHED_OTHER);
    /* The main thread (the test's) is untouched. */
    CU_ASSERT_EQUAL(sched_getscheduler(0), SCHED_OTHER);
}


static void
test_peer_closes_parked(void)
{
    int      i, fd, tries;
    int64_t  before, now = -1;

    before = balance_of(1);
    CU_ASSERT_FATAL(before >= 0);

    /* The server reads each deposit (the bytes precede the close), applies
     * it, parks the reply and finds the peer gone. */
    for (i = 0; i < 50; i++) {
        fd = fc_connect();
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(fc_send(fd, "POST", "/accounts/1/deposit",
                                "{\"amount\":1}"), 0);
        close(fd);
    }

    /* Other connections' requests may be served first: poll, bounded. */
    for (tries = 0; tries < HANG_BOUND_S * 10; tries++) {
        now = balance_of(1);
        if (now == before + 50) {
            break;
        }
        usleep(100000);
    }

    CU_ASSERT_EQUAL(now, before + 50);
    CU_ASSERT_EQUAL(call("GET", "/healthz", NULL), 0);
    CU_ASSERT_EQUAL(status, 200);
}


/*
 * The reply carries its request's id.  nginx uses id 1, as fc_send does,
 * which would hide a server that always answered with 1: 258 uses both
 * bytes of the id.  The deposit's reply is parked, so the id is the one
 * kept with the connection.
 */
static void
test_request_id(void)
{
    int          fd;
    static char  out[4096];

    fd = fc_connect();
    CU_ASSERT_FATAL(fd >= 0);

    CU_ASSERT_EQUAL(fbt_fcgi_send_id(fd, 258, 1, "POST",
                                     "/accounts/1/deposit",
                                     "{\"amount\":1}"), 0);
    CU_ASSERT(fbt_fcgi_records(fd, 258, out, sizeof(out)) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"balance\":"));

    CU_ASSERT_EQUAL(fbt_fcgi_send_id(fd, 258, 1, "GET", "/healthz", ""), 0);
    CU_ASSERT(fbt_fcgi_records(fd, 258, out, sizeof(out)) > 0);

    close(fd);
}


/*
 * Without FCGI_KEEP_CONN the server closes the connection after the
 * reply (the FastCGI specification, 3.5), a parked one as well as one
 * answered at once.  A server that kept it leaves the read after the
 * reply waiting until the client's receive timeout (HANG_BOUND_S).
 */
static void
test_not_kept(void)
{
    int          fd;
    char         c;
    size_t       i;
    static const char  *req[][3] = {
        { "GET", "/healthz", NULL },
        { "POST", "/accounts/1/deposit", "{\"amount\":1}" },
    };

    for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
        fd = fc_connect();
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(fbt_fcgi_send(fd, 0, req[i][0], req[i][1],
                                      req[i][2] != NULL ? req[i][2] : ""),
                        0);
        CU_ASSERT(fc_reply(fd) == 0 && status == 200);
        CU_ASSERT_EQUAL(read(fd, &c, 1), 0);
        close(fd);
    }
}


/*
 * A request whose body ends before its CONTENT_LENGTH (the empty STDIN
 * record after 12 bytes of 30) is not served: it moves no money, gets no
 * reply, and its connection is closed.  nginx never sends one.
 */
static void
test_short_body(void)
{
    int      fd;
    char     c;
    int64_t  before;

    before = balance_of(1);
    CU_ASSERT_FATAL(before >= 0);

    fd = fc_connect();
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(fbt_fcgi_send_clen(fd, 1, 1, "POST", "/accounts/1/deposit",
                                       "{\"amount\":1}", 30), 0);
    CU_ASSERT_EQUAL(read(fd, &c, 1), 0);
    close(fd);

    CU_ASSERT_EQUAL(balance_of(1), before);
}


/*
 * Peers that send half a request and stall hold their workers only until
 * the receive timeout (FB_IO_TIMEOUT_S): both workers are held, and a
 * request on a new connection is answered all the same once they are
 * dropped.  Without the timeout it would wait for ever (the client's own
 * receive timeout, HANG_BOUND_S, ends the test then).  The half requests
 * get no answer (libfcgi would have passed their parameters on cut
 * short): their connections are closed.
 */
static void
test_stalled_peers(void)
{
    int            a1, a2;
    char           c;
    /* BEGIN_REQUEST whole, then 5 bytes of a PARAMS record's header. */
    static const unsigned char  half[] = {
        1, 1, 0, 1, 0, 8, 0, 0,   0, 1, 1, 0, 0, 0, 0, 0,
        1, 4, 0, 1, 0
    };

    a1 = fc_connect();
    a2 = fc_connect();
    CU_ASSERT_FATAL(a1 >= 0 && a2 >= 0);

    /* Consecutive connections go to the two workers in turn. */
    CU_ASSERT_EQUAL(write(a1, half, sizeof(half)), (ssize_t) sizeof(half));
    CU_ASSERT_EQUAL(write(a2, half, sizeof(half)), (ssize_t) sizeof(half));

    CU_ASSERT_EQUAL(call("GET", "/healthz", NULL), 0);
    CU_ASSERT_EQUAL(status, 200);

    /* The stalled peers were dropped: their connections are at EOF. */
    CU_ASSERT_EQUAL(read(a1, &c, 1), 0);
    CU_ASSERT_EQUAL(read(a2, &c, 1), 0);
    close(a1);
    close(a2);
}


/*
 * Sends requests on fd, each once the server has read the one before
 * (nothing of it left queued: libfcgi reads ahead, and nginx never sends
 * a request before the reply to the last), and reads no reply, until the
 * server closes the connection: 0 then.  Its replies fill the socket and
 * its write of the next one blocks, until its send timeout.  -1 if the
 * server still holds the connection after HANG_BOUND_S.
 */
static int
stall_reader(int fd)
{
    int            i, waits = 0, queued;
    struct pollfd  pfd;

    for (i = 0; i < 100000; i++) {
        if (fc_send(fd, "GET", "/healthz", NULL) != 0) {
            return 0;
        }

        for ( ;; ) {
            if (ioctl(fd, SIOCOUTQ, &queued) != 0) {
                return -1;
            }
            if (queued == 0) {
                break;
            }

            /* Only the close wakes this: the replies are not read. */
            pfd.fd = fd;
            pfd.events = POLLRDHUP;
            if (poll(&pfd, 1, 1) != 0) {
                return (pfd.revents & (POLLRDHUP | POLLHUP)) ? 0 : -1;
            }
            if (++waits > HANG_BOUND_S * 1000) {
                return -1;
            }
        }
    }

    return -1;
}


/*
 * Reads fd to its end: 0 if the server closed it (ECONNRESET: it did so
 * with a request of ours unread), -1 if the read fails otherwise (the
 * receive timeout: the server holds the connection).
 */
static int
read_to_end(int fd)
{
    ssize_t      n;
    static char  buf[65536];

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        /* void */
    }

    return n == 0 || errno == ECONNRESET ? 0 : -1;
}


/*
 * A peer that stops reading replies holds its worker only until the send
 * timeout (FB_IO_TIMEOUT_S): the server closes the connection, with the
 * replies it wrote before, and goes on serving.  Without the timeout the
 * worker would wait in its write for ever (stall_reader's bound ends the
 * test then).
 */
static void
test_stalled_reader(void)
{
    int  fd;

    fd = fc_connect();
    CU_ASSERT_FATAL(fd >= 0);

    CU_ASSERT_EQUAL(stall_reader(fd), 0);
    CU_ASSERT_EQUAL(read_to_end(fd), 0);
    close(fd);

    CU_ASSERT_EQUAL(call("GET", "/healthz", NULL), 0);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(call("GET", "/healthz", NULL), 0);
    CU_ASSERT_EQUAL(status, 200);
}

static void
expect_503(const char *what)
{
    CU_ASSERT_EQUAL(status, 503);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"SERVICE_UNAVAILABLE\""));
    if (status != 503 || strstr(body, what) == NULL) {
        fprintf(stderr, "\n  expected 503 (%s)\n  got      %d %s\n", what,
                status, body);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(body, what));
}


static void
test_journal_fails(void)
{
    int64_t  b2;

    b2 = balance_of(2);
    CU_ASSERT_FATAL(b2 >= 0);

    CU_ASSERT_EQUAL(call("GET", "/metrics", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\nfastbank_journal_failed 0\n"));

    /* Every file-system call fails from now on: the deposit's record is
     * appended, parked, and its write fails. */
    fb_fault_arm(0, 1);

    CU_ASSERT_EQUAL_FATAL(call("POST", "/accounts/1/deposit",
                               "{\"amount\":5}"), 0);
    expect_503("not recorded");

    /* Its balance never became durable; account 2's did. */
    CU_ASSERT_EQUAL(call("GET", "/accounts/1", NULL), 0);
    expect_503("not durable");
    CU_ASSERT_EQUAL(balance_of(2), b2);

    CU_ASSERT_EQUAL(call("POST", "/accounts/2/deposit", "{\"amount\":5}"), 0);
    expect_503("cannot be recorded");
    CU_ASSERT_EQUAL(balance_of(2), b2);

    CU_ASSERT_EQUAL(call("GET", "/healthz", NULL), 0);
    expect_503("read-only");

    /* What an operator's alert reads. */
    CU_ASSERT_EQUAL(call("GET", "/metrics", NULL), 0);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\nfastbank_journal_failed 1\n"));

    fb_fault_disarm();
}


static void
test_sigterm(void)
{
    kill(getpid(), SIGTERM);
    pthread_join(runner, NULL);
    CU_ASSERT_EQUAL(run_rc, FB_OK);
    fb_server_free(srv);
    srv = NULL;
}


/*
 * 1 if every worker thread (fb-worker-N) has ended or is blocked in
 * epoll_wait(): the first field of /proc/self/task/TID/syscall is the
 * number of the system call a blocked thread is in ("running" for one
 * that is not).  With report, says where each worker is, for a failure.
 */
static int
workers_waiting(FILE *report)
{
    int             ok = 1;
    long            nr;
    char            path[300], line[64];
    FILE           *f;
    DIR            *d;
    struct dirent  *e;

    d = opendir("/proc/self/task");
    if (d == NULL) {
        return 0;
    }

    while ((ok || report != NULL) && (e = readdir(d)) != NULL) {
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        f = e->d_name[0] != '.' ? fopen(path, "r") : NULL;
        if (f == NULL) {
            continue;
        }
        if (fgets(line, sizeof(line), f) == NULL
            || strncmp(line, "fb-worker-", 10) != 0)
        {
            fclose(f);
            continue;
        }
        fclose(f);

        snprintf(path, sizeof(path), "/proc/self/task/%s/syscall",
                 e->d_name);
        f = fopen(path, "r");
        if (f == NULL) {
            continue;                   /* it has ended */
        }
        if (fgets(line, sizeof(line), f) == NULL) {
            line[0] = '\0';
        }
        fclose(f);
        nr = isdigit((unsigned char) line[0]) ? strtol(line, NULL, 10) : -1;
        if (report != NULL) {
            fprintf(report, "    worker thread %s: syscall %.*s\n",
                    e->d_name, (int) strcspn(line, " \n"), line);
        }

#ifdef SYS_epoll_wait
        if (nr != SYS_epoll_wait && nr != SYS_epoll_pwait) {
            ok = 0;
        }
#else
        if (nr != SYS_epoll_pwait) {
            ok = 0;
        }
#endif
    }

    closedir(d);
    return ok;
}


/*
 * SIGTERM with a reply parked and kept connections idle, on a server of
 * its own (the one above has stopped, its journal failed).  The deposit's
 * sync is held: the idle connections are closed, and the workers are let
 * finish the pass that saw the stop (each then waits, or has ended);
 * only then does the record become durable, lest the reply leave in that
 * pass and hide a worker that ends with it still parked.  The reply is
 * sent, its connection then closed too (stopping: FCGI_KEEP_CONN no
 * longer counts), and fb_server_run returns FB_OK.
 */
static void
test_sigterm_parked(void)
{
    int   idle, other, fd, tries, waiting;
    char  c;

    CU_ASSERT_FATAL(stop() == 0 && start() == 0);
    CU_ASSERT_EQUAL_FATAL(call("POST", "/accounts", "{\"owner\":\"Ana\"}"),
                          0);
    CU_ASSERT_EQUAL_FATAL(status, 201);

    /* Connections go to the two workers in turn: idle and fd to one. */
    idle = fc_connect();
    other = fc_connect();
    fd = fc_connect();
    CU_ASSERT_FATAL(idle >= 0 && other >= 0 && fd >= 0);
    CU_ASSERT(fc_send(idle, "GET", "/healthz", NULL) == 0
              && fc_reply(idle) == 0 && status == 200);

    fb_fault_hold(1);
    CU_ASSERT_EQUAL(fc_send(fd, "POST", "/accounts/1/deposit",
                            "{\"amount\":5}"), 0);
    /* Held: the worker has parked the reply (its pass ended). */
    CU_ASSERT_EQUAL(fb_fault_wait_held(1, HANG_BOUND_S), 0);

    kill(getpid(), SIGTERM);

    CU_ASSERT_EQUAL(read(idle, &c, 1), 0);
    CU_ASSERT_EQUAL(read(other, &c, 1), 0);

    /* One look decides: a second could catch a worker between passes. */
    for (tries = 0; !(waiting = workers_waiting(NULL))
                    && tries < HANG_BOUND_S * 100; tries++)
    {
        usleep(10000);
    }
    if (!waiting) {
        fprintf(stderr, "\n  workers not all in epoll_wait() after %d s:\n",
                HANG_BOUND_S);
        (void) workers_waiting(stderr);
    }
    CU_ASSERT(waiting);

    fb_fault_hold(0);

    CU_ASSERT(fc_reply(fd) == 0 && status == 200);
    CU_ASSERT_EQUAL(body_balance(), 5);
    CU_ASSERT_EQUAL(read(fd, &c, 1), 0);

    pthread_join(runner, NULL);
    CU_ASSERT_EQUAL(run_rc, FB_OK);
    fb_server_free(srv);
    srv = NULL;

    close(idle);
    close(other);
    close(fd);
}

static const fb_ctest_t  tests[] = {
    { "replies parked on many connections", test_parked_many },
    { "parked replies leave in LSN order", test_parked_order },
    { "workers under SCHED_BATCH, the writer not", test_worker_policy },
    { "peers that close while parked", test_peer_closes_parked },
    { "a reply carries its request's id", test_request_id },
    { "a connection not kept is closed after its reply", test_not_kept },
    { "a body shorter than its CONTENT_LENGTH is not served",
      test_short_body },
    { "peers that stall half-way are dropped", test_stalled_peers },
    { "a peer that stops reading replies is dropped",
      test_stalled_reader },
    { "the journal fails under parked replies", test_journal_fails },
    { "SIGTERM", test_sigterm },
    { "SIGTERM with a reply parked", test_sigterm_parked },
};


int
main(void)
{
    /* Before any thread, as fb_main does: every thread inherits it. */
    if (fb_server_block_signals() != FB_OK || fb_fcgx_init() != FB_OK) {
        return 1;
    }

    return fb_cunit_run("test-server", "worker event loops over a journal",
                        start, stop, tests, sizeof(tests) / sizeof(tests[0]));
}
