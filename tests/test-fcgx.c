/*
 * test-fcgx.c: what fcgi/fb_fcgx.c relies on in libfcgi, checked against
 * the installed libfcgi over a socketpair with hand-made FastCGI records:
 * a handed-in connection is read, not accepted; FCGI_KEEP_CONN is
 * reported; the connection comes back open whether or not nginx asked to
 * keep it; and a closed or broken connection is closed by libfcgi and
 * reported, without blocking in accept().  And the records fb_fcgx_reply
 * writes in libfcgi's place, small and split over several STDOUT records,
 * and written whole when a signal cuts a write short.
 */

#include "fb_core.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "fb_cunit.h"
#include "fb_fcgiclient.h"
#include "fb_fcgx.h"

/* Writes one whole request, as nginx does. */
static void
send_request(int fd, int keep, const char *uri, const char *body)
{
    CU_ASSERT_EQUAL_FATAL(fbt_fcgi_send(fd, keep, "POST", uri, body), 0);
}


/* Reads records up to END_REQUEST; returns the STDOUT bytes. */
static size_t
read_reply(int fd, char *out, size_t cap)
{
    long  n;

    n = fbt_fcgi_reply(fd, out, cap);
    if (n < 0) {
        CU_FAIL("connection closed before END_REQUEST");
        out[0] = '\0';
        return 0;
    }

    return (size_t) n;
}


static int
fd_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}


/* Serves one request on fd: echoes the URI and body; returns the fd. */
static int
serve_one(FCGX_Request *r, int fd, int *keep)
{
    int          n, id;
    char         body[256], reply[512];
    const char  *uri;

    CU_ASSERT_EQUAL_FATAL(fb_fcgx_begin(r, fd), FB_OK);

    uri = FCGX_GetParam("REQUEST_URI", r->envp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(uri);

    n = 0;
    while (n < (int) sizeof(body) - 1) {
        int got = FCGX_GetStr(body + n, (int) sizeof(body) - 1 - n, r->in);
        if (got <= 0) {
            break;
        }
        n += got;
    }
    body[n] = '\0';

    n = snprintf(reply, sizeof(reply), "Status: 200 OK\r\n\r\n%s|%s", uri,
                 body);

    id = fb_fcgx_release(r, keep);
    CU_ASSERT_EQUAL(id, 1);             /* fbt_fcgi_send's request id */
    CU_ASSERT_EQUAL(r->ipcFd, -1);
    CU_ASSERT_PTR_NULL(r->in);
    CU_ASSERT_EQUAL(fb_fcgx_reply(fd, id, reply, (size_t) n), FB_OK);

    return fd;
}


static void
test_keep_conn_requests_on_one_connection(void)
{
    int           sv[2], fd, keep, i;
    char          out[1024];
    FCGX_Request  r;

    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fb_fcgx_request_init(&r);

    for (i = 0; i < 3; i++) {
        send_request(sv[0], 1, "/accounts/1", "{\"amount\":5}");
        fd = serve_one(&r, sv[1], &keep);
        CU_ASSERT_EQUAL(fd, sv[1]);
        CU_ASSERT_EQUAL(keep, 1);
        read_reply(sv[0], out, sizeof(out));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "/accounts/1|{\"amount\":5}"));
    }

    /* Without FCGI_KEEP_CONN the connection still comes back, open. */
    send_request(sv[0], 0, "/healthz", "");
    fd = serve_one(&r, sv[1], &keep);
    CU_ASSERT_EQUAL(fd, sv[1]);
    CU_ASSERT_EQUAL(keep, 0);
    CU_ASSERT_TRUE(fd_open(sv[1]));
    read_reply(sv[0], out, sizeof(out));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/healthz|"));

    close(sv[0]);
    close(sv[1]);
}


static void
test_peer_close_is_reported_and_closed(void)
{
    int           sv[2];
    FCGX_Request  r;

    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fb_fcgx_request_init(&r);

    close(sv[0]);
    CU_ASSERT_EQUAL(fb_fcgx_begin(&r, sv[1]), FB_DECLINED);
    CU_ASSERT_EQUAL(r.ipcFd, -1);
    CU_ASSERT_FALSE(fd_open(sv[1]));
}


static void
test_protocol_error_is_reported_and_closed(void)
{
    int           sv[2];
    FCGX_Request  r;
    const char    junk[] = "GET / HTTP/1.1\r\n\r\n";

    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fb_fcgx_request_init(&r);

    CU_ASSERT_EQUAL_FATAL(write(sv[0], junk, sizeof(junk) - 1),
                          (ssize_t) sizeof(junk) - 1);
    /* Closing our end first spares libfcgi's lingering close its wait. */
    close(sv[0]);

    CU_ASSERT_EQUAL(fb_fcgx_begin(&r, sv[1]), FB_DECLINED);
    CU_ASSERT_FALSE(fd_open(sv[1]));
}


static void
test_close_after(void)
{
    int           sv[2], fd, keep;
    char          out[256];
    FCGX_Request  r;

    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fb_fcgx_request_init(&r);

    send_request(sv[0], 1, "/x", "");
    CU_ASSERT_EQUAL_FATAL(fb_fcgx_begin(&r, sv[1]), FB_OK);
    fb_fcgx_close_after(&r);
    fd = fb_fcgx_release(&r, &keep);
    CU_ASSERT_EQUAL(fb_fcgx_reply(sv[1], fd, "Status: 200 OK\r\n\r\n", 18),
                    FB_OK);

    /* The caller is told not to keep it, and closes it itself. */
    CU_ASSERT_EQUAL(keep, 0);
    CU_ASSERT_TRUE(fd_open(sv[1]));
    read_reply(sv[0], out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "Status: 200 OK\r\n\r\n");
    close(sv[1]);
    close(sv[0]);
}


/*
 * A reply over one record's 65535 bytes goes out in several STDOUT
 * records, and one too large for the socket's buffer is written whole
 * (a child writes it while this process reads).
 */
static void
test_reply_records(void)
{
    int            sv[2], st;
    size_t         i, len = 300000;
    pid_t          pid;
    static char    big[300000], got[300000 + 1];
    static const char  small[] = "Status: 204 No Content\r\n\r\n";

    for (i = 0; i < len; i++) {
        big[i] = (char) ('a' + i % 26);
    }

    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

    /* A small one, id 258: both bytes of the id are used. */
    CU_ASSERT_EQUAL(fb_fcgx_reply(sv[1], 258, small, strlen(small)), FB_OK);
    CU_ASSERT_EQUAL(fbt_fcgi_records(sv[0], 258, got, sizeof(got)),
                    (long) strlen(small));
    CU_ASSERT_EQUAL(memcmp(got, small, strlen(small)), 0);

    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        _exit(fb_fcgx_reply(sv[1], 7, big, len) == FB_OK ? 0 : 1);
    }

    CU_ASSERT_EQUAL(fbt_fcgi_records(sv[0], 7, got, sizeof(got)),
                    (long) len);
    CU_ASSERT_EQUAL(memcmp(got, big, len), 0);
    CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    close(sv[0]);
    close(sv[1]);
}

/* The child's end of the pipe its SIGUSR1 handler writes to. */
static int  usr1_pipe = -1;


static void
on_usr1(int sig)
{
    char  c = 'x';

    (void) sig;
    (void) write(usr1_pipe, &c, 1);
}


/* Waits until process pid is blocked in writev(): 0, or -1 after 30 s
 * (a hang bound).  /proc/PID/syscall starts with the number of the
 * system call a blocked process is in. */
static int
wait_writev(pid_t pid)
{
    int    i;
    long   nr;
    char   path[64], line[64];
    FILE  *f;

    snprintf(path, sizeof(path), "/proc/%d/syscall", (int) pid);

    for (i = 0; i < 3000; i++) {
        f = fopen(path, "r");
        if (f == NULL) {
            return -1;
        }
        nr = fgets(line, sizeof(line), f) != NULL ? strtol(line, NULL, 10)
                                                  : -1;
        fclose(f);
        if (nr == SYS_writev) {
            return 0;
        }
        usleep(10000);
    }

    return -1;
}


/*
 * A writev() cut short goes on from where it stopped, and one that wrote
 * nothing when interrupted (EINTR) is tried again.  Workers block
 * signals, but a stop and continue of the process, or the send timeout
 * while nginx is slow to read, end a write so too.  A child writes a
 * reply larger than the socket takes, with a SIGUSR1 handler without
 * SA_RESTART; while this process reads nothing, the signal interrupts
 * the child's writev() twice: once with part of the reply written (it
 * returns that count), then in the next writev(), blocked before writing
 * anything (EINTR).  The reply read afterwards must be whole and in
 * order, and the child must succeed.
 */
static void
test_reply_interrupted(void)
{
    int                sv[2], pp[2], st, i;
    char               c;
    size_t             len = 300000;
    pid_t              pid;
    struct pollfd      pfd;
    struct sigaction   sa;
    static char        big[300000], got[300000 + 1];

    for (i = 0; i < (int) len; i++) {
        big[i] = (char) ('a' + i % 26);
    }

    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CU_ASSERT_EQUAL_FATAL(pipe(pp), 0);

    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        close(pp[0]);
        usr1_pipe = pp[1];
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_usr1;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;                /* no SA_RESTART */
        if (sigaction(SIGUSR1, &sa, NULL) != 0) {
            _exit(2);
        }
        _exit(fb_fcgx_reply(sv[1], 7, big, len) == FB_OK ? 0 : 1);
    }

    /* The child's ends: a child that gives up leaves this read at EOF. */
    close(sv[1]);
    close(pp[1]);

    for (i = 0; i < 2; i++) {
        /* Blocked: the socket is full, this process reads nothing. */
        CU_ASSERT_EQUAL(wait_writev(pid), 0);
        CU_ASSERT_EQUAL(kill(pid, SIGUSR1), 0);

        /* The handler has run: the writev() it interrupted returned. */
        pfd.fd = pp[0];
        pfd.events = POLLIN;
        CU_ASSERT(poll(&pfd, 1, 30000) == 1 && read(pp[0], &c, 1) == 1);
    }

    CU_ASSERT_EQUAL(fbt_fcgi_records(sv[0], 7, got, sizeof(got)),
                    (long) len);
    CU_ASSERT_EQUAL(memcmp(got, big, len), 0);
    CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    close(pp[0]);
    close(sv[0]);
}



/*
 * A read error inside the parameters (here a receive timeout): libfcgi
 * ends them there and FCGX_Accept_r succeeds with what it has; only the
 * input stream's error (fb_fcgx_broken) says the request is cut short.
 * fb_fcgx_drop then closes the connection without a reply.
 */
static void
test_read_error_inside_params(void)
{
    int             sv[2];
    char            c;
    FCGX_Request    r;
    struct timeval  tv = { 0, 200000 };
    /* BEGIN_REQUEST whole, then 5 bytes of a PARAMS record's header. */
    static const unsigned char  half[] = {
        1, 1, 0, 1, 0, 8, 0, 0,   0, 1, 1, 0, 0, 0, 0, 0,
        1, 4, 0, 1, 0
    };

    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CU_ASSERT_EQUAL_FATAL(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv,
                                     sizeof(tv)), 0);
    fb_fcgx_request_init(&r);

    CU_ASSERT_EQUAL_FATAL(write(sv[0], half, sizeof(half)),
                          (ssize_t) sizeof(half));

    CU_ASSERT_EQUAL_FATAL(fb_fcgx_begin(&r, sv[1]), FB_OK);
    CU_ASSERT_TRUE(fb_fcgx_broken(&r));

    fb_fcgx_drop(&r);
    CU_ASSERT_FALSE(fd_open(sv[1]));
    CU_ASSERT_EQUAL(read(sv[0], &c, 1), 0);     /* closed, nothing said */
    close(sv[0]);
}


/* A whole request is not broken. */
static void
test_whole_request_not_broken(void)
{
    int           sv[2];
    char          out[256];
    FCGX_Request  r;

    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fb_fcgx_request_init(&r);

    send_request(sv[0], 1, "/accounts/1", "{\"amount\":5}");
    CU_ASSERT_EQUAL_FATAL(fb_fcgx_begin(&r, sv[1]), FB_OK);
    while (FCGX_GetStr(out, sizeof(out), r.in) > 0) {
        /* void */
    }
    CU_ASSERT_FALSE(fb_fcgx_broken(&r));

    fb_fcgx_drop(&r);
    close(sv[0]);
}


static const fb_ctest_t  tests[] = {
    { "keep-conn requests on one connection",
      test_keep_conn_requests_on_one_connection },
    { "peer close is reported and closed",
      test_peer_close_is_reported_and_closed },
    { "protocol error is reported and closed",
      test_protocol_error_is_reported_and_closed },
    { "close after", test_close_after },
    { "reply records", test_reply_records },
    { "a reply write interrupted", test_reply_interrupted },
    { "read error inside the parameters", test_read_error_inside_params },
    { "a whole request is not broken", test_whole_request_not_broken },
};


int
main(void)
{
    if (fb_fcgx_init() != FB_OK) {
        return 1;
    }

    return fb_cunit_run("test-fcgx", "fcgx", NULL, NULL, tests,
                        fb_nelems(tests));
}
