/*
 * test-route.c: the route table, path ids, methods, and the command line.
 */

#include "fb_core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "fb_cunit.h"
#include "fb_listen.h"
#include "fb_log.h"
#include "fb_options.h"
#include "fb_route.h"
#include "fb_store.h"

static fb_match_rc_e
match(const char *method, const char *uri, fb_match_t *m)
{
    return fb_route_match(fb_method_parse(method, strlen(method)), uri,
                          strlen(uri), m);
}


static void
test_route_templates_agree(void)
{
    int              r;
    size_t           n, i;
    char             joined[128];
    const char      *tpl;
    const fb_str_t  *seg;

    for (r = 1; r < FB_ROUTE_COUNT; r++) {
        tpl = fb_route_segments((fb_route_e) r, &n, &seg);
        joined[0] = '\0';
        for (i = 0; i < n; i++) {
            strcat(joined, "/");
            strncat(joined, seg[i].data, seg[i].len);
        }
        CU_ASSERT_STRING_EQUAL(joined, tpl);
        CU_ASSERT_EQUAL(fb_route_get((fb_route_e) r)->id, r);

        /* fb_route_match takes a segment that begins with '{' for the
         * id: the table must have no other parameter. */
        for (i = 0; i < n; i++) {
            CU_ASSERT(seg[i].len > 0);
            if (seg[i].data[0] == '{') {
                CU_ASSERT(seg[i].len == 4
                          && memcmp(seg[i].data, "{id}", 4) == 0);
            }
        }
    }
}


static void
test_route_each_endpoint(void)
{
    fb_match_t  m;

    CU_ASSERT_EQUAL(match("POST", "/accounts", &m), FB_MATCH_OK);
    CU_ASSERT_EQUAL(m.route->id, FB_ROUTE_ACCOUNTS);

    CU_ASSERT_EQUAL(match("POST", "/accounts/transfer", &m), FB_MATCH_OK);
    CU_ASSERT_EQUAL(m.route->id, FB_ROUTE_TRANSFER);

    CU_ASSERT_EQUAL(match("GET", "/accounts/42", &m), FB_MATCH_OK);
    CU_ASSERT_EQUAL(m.route->id, FB_ROUTE_ACCOUNT);
    CU_ASSERT_EQUAL(m.id, 42);

    CU_ASSERT_EQUAL(match("HEAD", "/accounts/42", &m), FB_MATCH_OK);
    CU_ASSERT_EQUAL(m.route->id, FB_ROUTE_ACCOUNT);

    CU_ASSERT_EQUAL(match("GET", "/accounts/7/balance", &m), FB_MATCH_OK);
    CU_ASSERT_EQUAL(m.route->id, FB_ROUTE_BALANCE);
    CU_ASSERT_EQUAL(m.id, 7);

    CU_ASSERT_EQUAL(match("POST", "/accounts/9/deposit", &m), FB_MATCH_OK);
    CU_ASSERT_EQUAL(m.route->id, FB_ROUTE_DEPOSIT);
    CU_ASSERT_EQUAL(m.id, 9);

    CU_ASSERT_EQUAL(match("POST", "/accounts/10/withdraw", &m), FB_MATCH_OK);
    CU_ASSERT_EQUAL(m.route->id, FB_ROUTE_WITHDRAW);
    CU_ASSERT_EQUAL(m.id, 10);

    CU_ASSERT_EQUAL(match("GET", "/healthz", &m), FB_MATCH_OK);
    CU_ASSERT_EQUAL(m.route->id, FB_ROUTE_HEALTHZ);

    CU_ASSERT_EQUAL(match("GET", "/metrics", &m), FB_MATCH_OK);
    CU_ASSERT_EQUAL(m.route->id, FB_ROUTE_METRICS);
}


static void
test_route_query_ignored(void)
{
    fb_match_t  m;

    CU_ASSERT_EQUAL(match("GET", "/accounts/5?x=1", &m), FB_MATCH_OK);
    CU_ASSERT_EQUAL(m.id, 5);
    CU_ASSERT_EQUAL(match("GET", "/healthz?", &m), FB_MATCH_OK);
    CU_ASSERT_EQUAL(match("GET", "/accounts/5/?x", &m), FB_MATCH_NOT_FOUND);
}


static void
test_route_not_found(void)
{
    size_t       i;
    fb_match_t   m;
    const char  *paths[] = {
        "", "/", "//", "/accounts/", "/accounts//deposit", "/accountsx",
        "/Accounts", "/accounts/1/foo", "/accounts/1/deposit/x",
        "/accounts/1/", "accounts", "/healthz/", "/metrics/x",
        "/accounts/1/balance/", "/%61ccounts"
    };

    for (i = 0; i < fb_nelems(paths); i++) {
        CU_ASSERT_EQUAL(match("GET", paths[i], &m), FB_MATCH_NOT_FOUND);
        CU_ASSERT_PTR_NULL(m.route);
    }
}


static void
test_route_method_not_allowed(void)
{
    fb_match_t  m;

    CU_ASSERT_EQUAL(match("DELETE", "/accounts/1", &m), FB_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.route->allow, "GET, HEAD");

    CU_ASSERT_EQUAL(match("GET", "/accounts", &m), FB_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.route->allow, "POST");

    /* The literal route wins over "{id}": GET is not allowed on it. */
    CU_ASSERT_EQUAL(match("GET", "/accounts/transfer", &m), FB_MATCH_METHOD);
    CU_ASSERT_EQUAL(m.route->id, FB_ROUTE_TRANSFER);
    CU_ASSERT_STRING_EQUAL(m.route->allow, "POST");

    CU_ASSERT_EQUAL(match("GET", "/accounts/1/deposit", &m), FB_MATCH_METHOD);
    CU_ASSERT_EQUAL(match("PUT", "/healthz", &m), FB_MATCH_METHOD);
    CU_ASSERT_EQUAL(match("POST", "/metrics", &m), FB_MATCH_METHOD);
    CU_ASSERT_EQUAL(match("get", "/healthz", &m), FB_MATCH_METHOD);

    /* HEAD is GET without the body: never a way to run a POST. */
    CU_ASSERT_EQUAL(match("HEAD", "/accounts", &m), FB_MATCH_METHOD);
    CU_ASSERT_EQUAL(match("HEAD", "/accounts/transfer", &m), FB_MATCH_METHOD);
    CU_ASSERT_EQUAL(match("HEAD", "/accounts/1/deposit", &m),
                    FB_MATCH_METHOD);
    CU_ASSERT_EQUAL(match("HEAD", "/accounts/1/withdraw", &m),
                    FB_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.route->allow, "POST");

    /* The method is checked before the id. */
    CU_ASSERT_EQUAL(match("POST", "/accounts/abc", &m), FB_MATCH_METHOD);
}


static void
test_route_bad_ids(void)
{
    size_t       i;
    fb_match_t   m;
    const char  *paths[] = {
        "/accounts/0", "/accounts/-1", "/accounts/+1", "/accounts/1.5",
        "/accounts/abc", "/accounts/%31", "/accounts/%20", "/accounts/1%00",
        "/accounts/ 1", "/accounts/1 ", "/accounts/0x10",
        "/accounts/9223372036854775808", "/accounts/99999999999999999999",
        "/accounts/18446744073709551617", "/accounts/00",
        "/accounts/1e3/deposit", "/accounts/-0/balance",
        /* ':' follows '9' in ASCII: a bound one off takes it for ten. */
        "/accounts/1:", "/accounts/:", "/accounts/2:/balance"
    };

    for (i = 0; i < fb_nelems(paths); i++) {
        fb_match_rc_e rc = match(strstr(paths[i], "deposit") ? "POST" : "GET",
                                 paths[i], &m);
        if (rc != FB_MATCH_BAD_ID) {
            fprintf(stderr, "path %s: got %d\n", paths[i], (int) rc);
        }
        CU_ASSERT_EQUAL(rc, FB_MATCH_BAD_ID);
    }
}


static void
test_route_id_limits(void)
{
    int64_t  id;

    CU_ASSERT_EQUAL(fb_route_parse_id("9223372036854775807", 19, &id), FB_OK);
    CU_ASSERT_EQUAL(id, INT64_MAX);
    CU_ASSERT_EQUAL(fb_route_parse_id("9223372036854775808", 19, &id),
                    FB_DECLINED);
    CU_ASSERT_EQUAL(fb_route_parse_id("1", 1, &id), FB_OK);
    CU_ASSERT_EQUAL(id, 1);
    CU_ASSERT_EQUAL(fb_route_parse_id("007", 3, &id), FB_OK);
    CU_ASSERT_EQUAL(id, 7);
    CU_ASSERT_EQUAL(fb_route_parse_id("", 0, &id), FB_DECLINED);
    CU_ASSERT_EQUAL(fb_route_parse_id("0", 1, &id), FB_DECLINED);
    /* Length-carrying: the digits after len are not read. */
    CU_ASSERT_EQUAL(fb_route_parse_id("12x", 2, &id), FB_OK);
    CU_ASSERT_EQUAL(id, 12);
}


static void
test_methods(void)
{
    CU_ASSERT_EQUAL(fb_method_parse("GET", 3), FB_METHOD_GET);
    CU_ASSERT_EQUAL(fb_method_parse("HEAD", 4), FB_METHOD_HEAD);
    CU_ASSERT_EQUAL(fb_method_parse("POST", 4), FB_METHOD_POST);
    CU_ASSERT_EQUAL(fb_method_parse("POSTX", 5), FB_METHOD_OTHER);
    CU_ASSERT_EQUAL(fb_method_parse("GE", 2), FB_METHOD_OTHER);
    CU_ASSERT_EQUAL(fb_method_parse("", 0), FB_METHOD_OTHER);
    CU_ASSERT_STRING_EQUAL(fb_method_name(FB_METHOD_POST), "POST");
}


/* 100 bytes, for unix socket paths at the length limit. */
#define FB_X10   "xxxxxxxxxx"
#define FB_X100  FB_X10 FB_X10 FB_X10 FB_X10 FB_X10 FB_X10 FB_X10 FB_X10     \
                 FB_X10 FB_X10


static fb_options_rc_e
parse(fb_conf_t *c, const char *a1, const char *a2, char *errbuf, size_t n)
{
    char             *argv[4];
    int               argc = 1;
    FILE             *out, *err;
    fb_options_rc_e   rc;

    argv[0] = (char *) "fastbank";
    if (a1 != NULL) {
        argv[argc++] = (char *) a1;
    }
    if (a2 != NULL) {
        argv[argc++] = (char *) a2;
    }
    argv[argc] = NULL;

    memset(errbuf, 0, n);
    out = fopen("/dev/null", "w");
    err = fmemopen(errbuf, n - 1, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);

    fb_conf_default(c);
    rc = fb_options_parse(c, argc, argv, out, err);

    fclose(out);
    fclose(err);
    return rc;
}


/* The field of c that option opt sets, as a number. */
static unsigned long long
option_value(const fb_conf_t *c, const char *opt)
{
    if (strcmp(opt, "--threads") == 0) {
        return (unsigned long long) c->threads;
    }
    if (strcmp(opt, "--socket-mode") == 0) {
        return c->socket_mode;
    }
    if (strcmp(opt, "--backlog") == 0) {
        return (unsigned long long) c->backlog;
    }
    if (strcmp(opt, "--max-body") == 0) {
        return c->max_body;
    }
    if (strcmp(opt, "--max-accounts") == 0) {
        return c->max_accounts;
    }
    if (strcmp(opt, "--stripes") == 0) {
        return c->stripes;
    }
    if (strcmp(opt, "--fsync-interval") == 0) {
        return c->fsync_interval;
    }
    if (strcmp(opt, "--fsync-delay") == 0) {
        return c->fsync_delay;
    }
    if (strcmp(opt, "--snapshot-records") == 0) {
        return c->snapshot_records;
    }
    CU_FAIL("option_value: an option it does not know");
    return 0;
}


static void
test_options(void)
{
    size_t            i;
    char              e[512];
    fb_conf_t         c;
    fb_store_t       *s;
    fb_store_conf_t   sc;
    /* kind: which field the option sets (0 cpu_scheduling, 1 fsync,
     * 2 log_level). */
    const struct { const char *opt, *word; int kind, value; } words[] = {
        { "--cpu-scheduling", "other", 0, SCHED_OTHER },
        { "--cpu-scheduling", "batch", 0, SCHED_BATCH },
        { "--fsync", "batch", 1, FB_FSYNC_BATCH },
        { "--fsync", "off", 1, FB_FSYNC_OFF },
        { "--fsync", "always", 1, FB_FSYNC_ALWAYS },
        { "--log-level", "error", 2, FB_LOG_ERR },
        { "--log-level", "warn", 2, FB_LOG_WARN },
        { "--log-level", "info", 2, FB_LOG_INFO },
        { "--log-level", "debug", 2, FB_LOG_DEBUG },
    };

    /* Both ends of each documented range (--help, fastbank(8)) are taken,
     * and land in the option's own field. */
    const struct { const char *opt, *arg; unsigned long long value; }
    edges[] = {
        { "--threads", "1", 1 },
        { "--threads", "1024", 1024 },
        { "--socket-mode", "0", 0 },
        { "--socket-mode", "0777", 0777 },
        { "--backlog", "1", 1 },
        { "--backlog", "65535", 65535 },
        { "--max-body", "1", 1 },
        { "--max-body", "1048576", 1048576 },
        { "--max-accounts", "1", 1 },
        { "--stripes", "1", 1 },
        { "--fsync-interval", "1", 1 },
        { "--fsync-interval", "10000", 10000 },
        { "--fsync-delay", "0", 0 },
        { "--fsync-delay", "100000", 100000 },
        { "--snapshot-records", "0", 0 },
        { "--snapshot-records", "9223372036854775807", INT64_MAX },
    };

    CU_ASSERT_EQUAL(parse(&c, NULL, NULL, e, sizeof(e)), FB_OPTIONS_RUN);
    CU_ASSERT_STRING_EQUAL(c.listen, FB_DEFAULT_LISTEN);
    CU_ASSERT_EQUAL(c.threads, FB_DEFAULT_THREADS);
    CU_ASSERT_EQUAL(c.socket_mode, 0660);

    CU_ASSERT_EQUAL(parse(&c, "--threads", "4", e, sizeof(e)),
                    FB_OPTIONS_RUN);
    CU_ASSERT_EQUAL(c.threads, 4);

    CU_ASSERT_EQUAL(parse(&c, "--listen", "127.0.0.1:9000", e, sizeof(e)),
                    FB_OPTIONS_RUN);
    CU_ASSERT_EQUAL(parse(&c, "--listen", "[::1]:9000", e, sizeof(e)),
                    FB_OPTIONS_RUN);
    CU_ASSERT_EQUAL(parse(&c, "--listen", "fd:0", e, sizeof(e)),
                    FB_OPTIONS_RUN);
    CU_ASSERT_EQUAL(parse(&c, "--listen", "fd:65535", e, sizeof(e)),
                    FB_OPTIONS_RUN);
    /* The longest unix socket path, 107 bytes. */
    CU_ASSERT_EQUAL(parse(&c, "--listen", "unix:/" FB_X100 "aaaaaa", e,
                          sizeof(e)), FB_OPTIONS_RUN);
    CU_ASSERT_EQUAL(parse(&c, "--socket-mode", "0600", e, sizeof(e)),
                    FB_OPTIONS_RUN);
    CU_ASSERT_EQUAL(c.socket_mode, 0600);
    CU_ASSERT_EQUAL(c.cpu_scheduling, SCHED_BATCH);
    CU_ASSERT_EQUAL(c.fsync, FB_FSYNC_ALWAYS);

    /* Every word the keyword options take. */
    for (i = 0; i < fb_nelems(words); i++) {
        CU_ASSERT_EQUAL(parse(&c, words[i].opt, words[i].word, e,
                              sizeof(e)), FB_OPTIONS_RUN);
        CU_ASSERT_EQUAL(words[i].kind == 2 ? c.log_level
                        : words[i].kind == 1 ? (int) c.fsync
                        : c.cpu_scheduling, words[i].value);
    }

    /* The largest --stripes and --max-accounts the options take are ones
     * the store starts with: a value the options let through never stops
     * start-up later. */
    CU_ASSERT_EQUAL(parse(&c, "--stripes", "65536", e, sizeof(e)),
                    FB_OPTIONS_RUN);
    CU_ASSERT_EQUAL(c.stripes, 65536);
    CU_ASSERT_EQUAL(parse(&c, "--max-accounts", "4294967296", e, sizeof(e)),
                    FB_OPTIONS_RUN);
    CU_ASSERT_EQUAL(c.max_accounts, 4294967296ULL);
    memset(&sc, 0, sizeof(sc));
    sc.stripes = c.stripes;
    sc.max_accounts = c.max_accounts;
    s = fb_store_new(&sc);
    CU_ASSERT_PTR_NOT_NULL(s);
    if (s != NULL) {
        fb_store_free(s);
    }

    for (i = 0; i < fb_nelems(edges); i++) {
        CU_ASSERT_EQUAL(parse(&c, edges[i].opt, edges[i].arg, e, sizeof(e)),
                        FB_OPTIONS_RUN);
        CU_ASSERT_EQUAL(option_value(&c, edges[i].opt), edges[i].value);
        if (option_value(&c, edges[i].opt) != edges[i].value) {
            fprintf(stderr, "\n  %s %s: %s", edges[i].opt, edges[i].arg, e);
        }
    }

    CU_ASSERT_EQUAL(parse(&c, "--check=/var/lib/fastbank", "--repair", e,
                          sizeof(e)), FB_OPTIONS_RUN);
    CU_ASSERT_EQUAL(c.repair, 1);
    CU_ASSERT_STRING_EQUAL(c.check_dir, "/var/lib/fastbank");

    CU_ASSERT_EQUAL(parse(&c, "--help", NULL, e, sizeof(e)), FB_OPTIONS_EXIT);
    CU_ASSERT_EQUAL(parse(&c, "--version", NULL, e, sizeof(e)),
                    FB_OPTIONS_EXIT);
}


static void
test_options_refused(void)
{
    size_t      i;
    char        e[512];
    fb_conf_t   c;
    const struct { const char *a, *b, *names; } bad[] = {
        { "--threads", "0", "--threads" },
        { "--threads", "1025", "--threads" },
        { "--threads", "-4", "--threads" },
        { "--threads", "4x", "--threads" },
        { "--threads", "", "--threads" },
        /* strtoull takes blanks and a sign; the options do not. */
        { "--threads", "\t4", "--threads" },
        { "--threads", "\n4", "--threads" },
        { "--threads", "+4", "--threads" },
        { "--listen", "fd: 1", "--listen" },
        { "--listen", "fd:-0", "--listen" },
        { "--listen", "fd:+0", "--listen" },
        { "--listen", "127.0.0.1:+80", "--listen" },
        { "--listen", "127.0.0.1: 80", "--listen" },
        { "--listen", ":9000", "--listen" },
        { "--listen", "9000", "--listen" },
        { "--listen", "localhost:9000", "--listen" },
        { "--listen", "127.0.0.1:0", "--listen" },
        { "--listen", "127.0.0.1:65536", "--listen" },
        { "--listen", "unix:", "--listen" },
        { "--listen", "fd:x", "--listen" },
        { "--listen", "fd:1x", "--listen" },
        { "--listen", "fd:65536", "--listen" },
        /* The closing bracket missing: "::" is an address. */
        { "--listen", "[::1:9000", "--listen" },
        /* 108 bytes: sun_path has no room for its NUL. */
        { "--listen", "unix:/" FB_X100 "aaaaaaa", "--listen" },
        { "--socket-mode", "999", "--socket-mode" },
        { "--backlog", "0", "--backlog" },
        { "--backlog", "65536", "--backlog" },
        { "--socket-mode", "01000", "--socket-mode" },
        { "--fsync-interval", "0", "--fsync-interval" },
        { "--fsync-interval", "10001", "--fsync-interval" },
        { "--fsync-delay", "100001", "--fsync-delay" },
        { "--fsync-delay", "-1", "--fsync-delay" },
        { "--snapshot-records", "9223372036854775808", "--snapshot-records" },
        { "--snapshot-records", "-1", "--snapshot-records" },
        /* --repair only cuts what --check found. */
        { "--repair", NULL, "--repair" },
        { "--max-body", "0", "--max-body" },
        { "--max-body", "1048577", "--max-body" },
        { "--stripes", "3", "--stripes" },
        { "--stripes", "0", "--stripes" },
        /* Powers of two past what the store takes (doc/store.txt). */
        { "--stripes", "131072", "--stripes" },
        { "--stripes", "1048576", "--stripes" },
        { "--max-accounts", "0", "--max-accounts" },
        { "--max-accounts", "4294967297", "--max-accounts" },
        { "--log-level", "loud", "--log-level" },
        { "--log-level", "WARN", "--log-level" },
        { "--log-level", "warning", "--log-level" },
        { "--log-level", "", "--log-level" },
        { "--cpu-scheduling", "fifo", "--cpu-scheduling" },
        { "--cpu-scheduling", "", "--cpu-scheduling" },
        { "--cpu-scheduling", "BATCH", "--cpu-scheduling" },
        { "--fsync", "sometimes", "--fsync" },
        { "--fsync", "ALWAYS", "--fsync" },
        { "--fsync", "always ", "--fsync" },
        { "--fsync", "", "--fsync" },
        { "--no-such-option", NULL, "--no-such-option" },
        { "extra", NULL, "extra" },
    };

    for (i = 0; i < fb_nelems(bad); i++) {
        CU_ASSERT_EQUAL(parse(&c, bad[i].a, bad[i].b, e, sizeof(e)),
                        FB_OPTIONS_ERROR);
        /* The message names the option. */
        CU_ASSERT_PTR_NOT_NULL(strstr(e, bad[i].names));
    }

    CU_ASSERT_EQUAL(parse(&c, "--threads", NULL, e, sizeof(e)),
                    FB_OPTIONS_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "--threads"));
}


/* A client's connect() to the unix socket at path: 0, or -1. */
static int
connect_unix(const char *path)
{
    int                 fd, rc;
    struct sockaddr_un  sa;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);

    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    rc = connect(fd, (struct sockaddr *) &sa, sizeof(sa));
    close(fd);

    return rc;
}


/*
 * fb_listen_open itself: a unix socket another process listens on is
 * left alone (a second fastbank on the same path fails rather than take
 * the first one's clients); one left by a process that died is replaced;
 * fd:N takes only a socket that listens.
 */
static void
test_listen_open(void)
{
    int          fd, p[2];
    char         dir[] = "/tmp/fb-test-listen-XXXXXX", path[128], addr[140];
    struct stat  st;
    fb_listen_t  a, b;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s.sock", dir);
    snprintf(addr, sizeof(addr), "unix:%s", path);

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.fd = b.fd = -1;

    /* A new socket, with the mode asked for. */
    CU_ASSERT_EQUAL_FATAL(fb_listen_open(&a, addr, 0660, 8), FB_OK);
    CU_ASSERT(a.fd >= 0 && a.created && a.family == AF_UNIX);
    CU_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0660);

    /* Live: not replaced, and the first still takes connections. */
    CU_ASSERT_EQUAL(fb_listen_open(&b, addr, 0660, 8), FB_ERROR);
    CU_ASSERT_EQUAL(connect_unix(path), 0);

    /* Stale (its listener gone, the file left): replaced. */
    close(a.fd);
    a.fd = -1;
    a.created = 0;
    CU_ASSERT(connect_unix(path) != 0 && errno == ECONNREFUSED);
    CU_ASSERT_EQUAL(fb_listen_open(&b, addr, 0660, 8), FB_OK);
    CU_ASSERT_EQUAL(connect_unix(path), 0);
    fb_listen_close(&b);
    CU_ASSERT(stat(path, &st) != 0 && errno == ENOENT);

    /* fd:N: a socket that does not listen, and a pipe, are refused. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    snprintf(addr, sizeof(addr), "fd:%d", fd);
    CU_ASSERT_EQUAL(fb_listen_open(&b, addr, 0660, 8), FB_ERROR);
    CU_ASSERT_EQUAL(listen(fd, 8), 0);
    CU_ASSERT_EQUAL(fb_listen_open(&b, addr, 0660, 8), FB_OK);
    CU_ASSERT_EQUAL(b.fd, fd);
    CU_ASSERT(!b.created);
    fb_listen_close(&b);

    CU_ASSERT_FATAL(pipe(p) == 0);
    snprintf(addr, sizeof(addr), "fd:%d", p[0]);
    CU_ASSERT_EQUAL(fb_listen_open(&b, addr, 0660, 8), FB_ERROR);
    close(p[0]);
    close(p[1]);

    CU_ASSERT_EQUAL(rmdir(dir), 0);
}


static const fb_ctest_t  tests[] = {
    { "templates agree", test_route_templates_agree },
    { "each endpoint", test_route_each_endpoint },
    { "query ignored", test_route_query_ignored },
    { "not found", test_route_not_found },
    { "method not allowed", test_route_method_not_allowed },
    { "bad ids", test_route_bad_ids },
    { "id limits", test_route_id_limits },
    { "methods", test_methods },
    { "options", test_options },
    { "options refused", test_options_refused },
    { "listen: open", test_listen_open },
};


int
main(void)
{
    return fb_cunit_run("test-route", "route", NULL, NULL, tests,
                        fb_nelems(tests));
}
