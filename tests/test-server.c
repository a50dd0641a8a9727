/*
 * test-server.c: the worker event loops (fcgi/fb_server.c) in process,
 * over a journal under --fsync always, through a real unix socket and raw
 * FastCGI records, with tests/fb_io_fault.c in place of the journal's
 * file-system calls:
 *
 *   - many requests in flight on many connections, each reply parked
 *     until its record is synced: every one answered, every deposit in
 *     the balances;
 *   - connections the peer closes while their reply is parked: the
 *     deposits still count and the server goes on serving;
 *   - the journal failing while replies are parked: they become 503, as
 *     do later mutations and reads of balances not durable; durable
 *     balances are still served; /healthz says read-only;
 *   - SIGTERM: fb_server_run returns FB_OK, parked replies sent.
 *
 * Every read has a receive timeout: a hang bound, not a timing check.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <CUnit/Basic.h>

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
static char           body[4096];


/* ---- a FastCGI client, as nginx speaks it ---- */


static size_t
fc_record(unsigned char *p, int type, const void *content, size_t len)
{
    p[0] = 1;
    p[1] = (unsigned char) type;
    p[2] = 0;
    p[3] = 1;                               /* request id 1 */
    p[4] = (unsigned char) (len >> 8);
    p[5] = (unsigned char) len;
    p[6] = 0;
    p[7] = 0;
    memcpy(p + 8, content, len);

    return 8 + len;
}


static size_t
fc_param(unsigned char *p, const char *name, const char *value)
{
    size_t  n = strlen(name), v = strlen(value);

    /* Every name and value here is shorter than 128 bytes. */
    p[0] = (unsigned char) n;
    p[1] = (unsigned char) v;
    memcpy(p + 2, name, n);
    memcpy(p + 2 + n, value, v);

    return 2 + n + v;
}


static int
fc_connect(void)
{
    int                 fd;
    struct timeval      tv = { HANG_BOUND_S, 0 };
    struct sockaddr_un  sun;

    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, sock_path);

    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0
        || connect(fd, (struct sockaddr *) &sun, sizeof(sun)) != 0)
    {
        close(fd);
        return -1;
    }

    return fd;
}


/* Sends one request with FCGI_KEEP_CONN; 0 or -1. */
static int
fc_send(int fd, const char *method, const char *uri, const char *b)
{
    char            clen[32];
    size_t          n = 0, pn = 0, blen = b != NULL ? strlen(b) : 0;
    unsigned char   out[4096], params[1024];
    static const unsigned char  begin[8] = { 0, 1, 1, 0, 0, 0, 0, 0 };

    snprintf(clen, sizeof(clen), "%zu", blen);
    pn += fc_param(params + pn, "REQUEST_METHOD", method);
    pn += fc_param(params + pn, "REQUEST_URI", uri);
    pn += fc_param(params + pn, "CONTENT_LENGTH", blen ? clen : "");
    pn += fc_param(params + pn, "CONTENT_TYPE", blen ? "application/json" : "");

    n += fc_record(out + n, 1, begin, sizeof(begin));      /* BEGIN */
    n += fc_record(out + n, 4, params, pn);                /* PARAMS */
    n += fc_record(out + n, 4, "", 0);
    if (blen) {
        n += fc_record(out + n, 5, b, blen);               /* STDIN */
    }
    n += fc_record(out + n, 5, "", 0);

    return write(fd, out, n) == (ssize_t) n ? 0 : -1;
}


static int
fc_read(int fd, void *buf, size_t n)
{
    ssize_t  r;
    size_t   got = 0;

    while (got < n) {
        r = read(fd, (char *) buf + got, n - got);
        if (r <= 0) {
            return -1;
        }
        got += (size_t) r;
    }

    return 0;
}


/* Reads one reply into status and body; 0 or -1. */
static int
fc_reply(int fd)
{
    char            out[8192], *p;
    size_t          len = 0, clen;
    unsigned char   h[8];

    for ( ;; ) {
        if (fc_read(fd, h, 8) != 0) {
            return -1;
        }
        clen = ((size_t) h[4] << 8) | h[5];
        if (len + clen + h[6] > sizeof(out)
            || fc_read(fd, out + len, clen + h[6]) != 0)
        {
            return -1;
        }
        if (h[1] == 6) {                                   /* STDOUT */
            len += clen;
        } else if (h[1] == 3) {                            /* END */
            break;
        }
    }

    out[len] = '\0';
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


static int64_t
balance_of(int64_t id)
{
    char        uri[64];
    const char *p;

    snprintf(uri, sizeof(uri), "/accounts/%" PRId64, id);
    if (call("GET", uri, NULL) != 0 || status != 200) {
        return -1;
    }
    p = strstr(body, "\"balance\":");

    return p != NULL ? strtoll(p + 10, NULL, 10) : -1;
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
    int      i, k, fd[CONNS], ok = 0;
    char     uri[64];
    int64_t  want[ACCOUNTS + 1] = { 0 };

    for (i = 1; i <= ACCOUNTS; i++) {
        CU_ASSERT_EQUAL_FATAL(call("POST", "/accounts", "{\"owner\":\"Ana\"}"),
                              0);
        CU_ASSERT_EQUAL_FATAL(status, 201);
    }

    for (i = 0; i < CONNS; i++) {
        fd[i] = fc_connect();
        CU_ASSERT_FATAL(fd[i] >= 0);
    }

    /* Every connection has a deposit in flight before any reply is read:
     * both workers hold many parked replies at once. */
    for (k = 0; k < ROUNDS; k++) {
        for (i = 0; i < CONNS; i++) {
            snprintf(uri, sizeof(uri), "/accounts/%d/deposit",
                     i % ACCOUNTS + 1);
            CU_ASSERT_EQUAL(fc_send(fd[i], "POST", uri, "{\"amount\":7}"), 0);
        }
        for (i = 0; i < CONNS; i++) {
            if (fc_reply(fd[i]) == 0 && status == 200) {
                ok++;
                want[i % ACCOUNTS + 1] += 7;
            }
        }
    }

    CU_ASSERT_EQUAL(ok, CONNS * ROUNDS);

    for (i = 0; i < CONNS; i++) {
        close(fd[i]);
    }

    for (i = 1; i <= ACCOUNTS; i++) {
        CU_ASSERT_EQUAL(balance_of(i), want[i]);
    }
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


int
main(void)
{
    unsigned    failed;
    CU_pSuite   suite;

    /* Before any thread, as fb_main does: every thread inherits it. */
    if (fb_server_block_signals() != FB_OK || fb_fcgx_init() != FB_OK) {
        return 1;
    }

    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "test-server: %s\n", CU_get_error_msg());
        return 1;
    }

    suite = CU_add_suite("worker event loops over a journal", start, stop);
    if (suite == NULL
        || CU_add_test(suite, "replies parked on many connections",
                       test_parked_many) == NULL
        || CU_add_test(suite, "peers that close while parked",
                       test_peer_closes_parked) == NULL
        || CU_add_test(suite, "the journal fails under parked replies",
                       test_journal_fails) == NULL
        || CU_add_test(suite, "SIGTERM", test_sigterm) == NULL)
    {
        fprintf(stderr, "test-server: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }

    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();

    failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures()
             + CU_get_number_of_suites_failed();
    if (CU_get_number_of_tests_run() == 0) {
        failed++;
    }

    CU_cleanup_registry();

    return failed == 0 ? 0 : 1;
}
