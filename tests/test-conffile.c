/*
 * test-conffile.c: the configuration file: syntax, every key, the command
 * line winning over the file, and every refusal naming the file and line.
 */

#include "fb_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "fb_conffile.h"
#include "fb_cunit.h"
#include "fb_log.h"
#include "fb_store.h"

static char  tmpdir[] = "/tmp/fb-conffile-XXXXXX";
static char  errbuf[1024];


static int
setup(void)
{
    return mkdtemp(tmpdir) == NULL ? 1 : 0;
}


static int
teardown(void)
{
    char  cmd[64];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : 1;
}


/* Parses text into c (from the defaults); the messages land in errbuf. */
static int
parse(fb_conf_t *c, fb_conffile_t *cf, const char *text, size_t len)
{
    int    rc;
    FILE  *err;

    memset(errbuf, 0, sizeof(errbuf));
    err = fmemopen(errbuf, sizeof(errbuf) - 1, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);

    fb_conf_default(c);
    fb_conffile_init(cf);
    rc = fb_conffile_parse(c, cf, "test.conf", text, len, err);

    fclose(err);
    return rc;
}


static int
parse_str(fb_conf_t *c, fb_conffile_t *cf, const char *text)
{
    return parse(c, cf, text, strlen(text));
}


/* Writes text to tmpdir/name; returns the path (static buffer). */
static const char *
write_file(const char *name, const char *text)
{
    FILE        *f;
    static char  path[256];

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fputs(text, f) >= 0, 1);
    CU_ASSERT_EQUAL(fclose(f), 0);
    return path;
}


static void
test_empty_and_comments(void)
{
    fb_conf_t      c, d;
    fb_conffile_t  cf;

    fb_conf_default(&d);

    CU_ASSERT_EQUAL(parse_str(&c, &cf, ""), FB_OK);
    CU_ASSERT_EQUAL(c.threads, d.threads);
    CU_ASSERT_STRING_EQUAL(c.listen, d.listen);
    fb_conffile_free(&cf);

    CU_ASSERT_EQUAL(parse_str(&c, &cf,
        "# fastbank\n"
        "\n"
        "   \t\n"
        "  # indented comment\n"
        "#threads = 3\n"
        "\r\n"), FB_OK);
    CU_ASSERT_EQUAL(c.threads, d.threads);
    CU_ASSERT_EQUAL(cf.nargs, 0);
    fb_conffile_free(&cf);
}


static void
test_every_key(void)
{
    fb_conf_t      c;
    fb_conffile_t  cf;

    CU_ASSERT_EQUAL(parse_str(&c, &cf,
        "listen = 127.0.0.1:9100\n"
        "socket-mode = 0600\n"
        "threads = 4\n"
        "backlog = 64\n"
        "max-body = 2048\n"
        "max-accounts = 1000\n"
        "stripes = 64\n"
        "log-level = debug\n"
        "cpu-scheduling = other\n"), FB_OK);
    if (strcmp(errbuf, "") != 0) {
        fprintf(stderr, "\n  %s", errbuf);
    }
    CU_ASSERT_STRING_EQUAL(c.listen, "127.0.0.1:9100");
    CU_ASSERT_EQUAL(c.socket_mode, 0600);
    CU_ASSERT_EQUAL(c.threads, 4);
    CU_ASSERT_EQUAL(c.backlog, 64);
    CU_ASSERT_EQUAL(c.max_body, 2048);
    CU_ASSERT_EQUAL(c.max_accounts, 1000);
    CU_ASSERT_EQUAL(c.stripes, 64);
    CU_ASSERT_EQUAL(c.log_level, FB_LOG_DEBUG);
    CU_ASSERT_EQUAL(c.cpu_scheduling, SCHED_OTHER);
    CU_ASSERT_EQUAL(cf.nargs, 9);
    fb_conffile_free(&cf);

    /* The durability keys, none at its default.  "fsync" comes after
     * "fsync-interval" and "fsync-delay", which it begins: a key is set
     * once only, not once per prefix. */
    CU_ASSERT_EQUAL(parse_str(&c, &cf,
        "data-dir = /srv/fastbank\n"
        "fsync-interval = 250\n"
        "fsync-delay = 0\n"
        "fsync = batch\n"
        "snapshot-records = 0\n"), FB_OK);
    if (strcmp(errbuf, "") != 0) {
        fprintf(stderr, "\n  %s", errbuf);
    }
    CU_ASSERT_STRING_EQUAL(c.data_dir, "/srv/fastbank");
    CU_ASSERT_EQUAL(c.fsync_interval, 250);
    CU_ASSERT_EQUAL(c.fsync_delay, 0);
    CU_ASSERT_EQUAL(c.fsync, FB_FSYNC_BATCH);
    CU_ASSERT_EQUAL(c.snapshot_records, 0);
    CU_ASSERT_EQUAL(cf.nargs, 5);
    fb_conffile_free(&cf);
}


static void
test_spacing(void)
{
    fb_conf_t      c;
    fb_conffile_t  cf;

    /* No spaces, tabs, CRLF, a trailing comment, no final newline. */
    CU_ASSERT_EQUAL(parse_str(&c, &cf,
        "threads=5\r\n"
        "\tbacklog\t=\t77\t\n"
        "max-body = 1000   # the contract says 4096\n"
        "listen = unix:/run/a#b/fastbank.sock"), FB_OK);
    CU_ASSERT_EQUAL(c.threads, 5);
    CU_ASSERT_EQUAL(c.backlog, 77);
    CU_ASSERT_EQUAL(c.max_body, 1000);
    /* A '#' inside a value, not after white space, is part of it. */
    CU_ASSERT_STRING_EQUAL(c.listen, "unix:/run/a#b/fastbank.sock");
    fb_conffile_free(&cf);

    /* A value may hold inner spaces; the option's own check judges it. */
    CU_ASSERT_EQUAL(parse_str(&c, &cf, "listen = unix:/tmp/a b.sock\n"),
                    FB_OK);
    CU_ASSERT_STRING_EQUAL(c.listen, "unix:/tmp/a b.sock");
    fb_conffile_free(&cf);
}


/* The text is refused; the message names test.conf, the line and want. */
static void
refused(const char *text, unsigned line, const char *want)
{
    char           where[64];
    fb_conf_t      c;
    fb_conffile_t  cf;

    CU_ASSERT_EQUAL(parse_str(&c, &cf, text), FB_ERROR);
    snprintf(where, sizeof(where), "fastbank: test.conf:%u: ", line);

    CU_ASSERT_EQUAL(strncmp(errbuf, where, strlen(where)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, want));
    /* One message, on one line. */
    CU_ASSERT_PTR_NOT_NULL(strchr(errbuf, '\n'));
    CU_ASSERT_EQUAL(strchr(errbuf, '\n') - errbuf,
                    (ptrdiff_t) strlen(errbuf) - 1);

    if (strncmp(errbuf, where, strlen(where)) != 0
        || strstr(errbuf, want) == NULL)
    {
        fprintf(stderr, "\n  text %s\n  expected \"%s...%s\"\n  got %s",
                text, where, want, errbuf);
    }

    fb_conffile_free(&cf);
}


static void
test_bad_values(void)
{
    refused("threads = 0\n", 1, "--threads \"0\"");
    refused("# x\n\nthreads = 1025\n", 3, "--threads \"1025\"");
    refused("threads = 4 5\n", 1, "--threads");
    refused("threads = -1\n", 1, "--threads");
    refused("threads = 16\nbacklog = 0\n", 2, "--backlog");
    refused("listen = localhost:9000\n", 1, "--listen");
    refused("listen = \"unix:/run/x.sock\"\n", 1, "--listen");
    refused("socket-mode = 999\n", 1, "--socket-mode");
    refused("max-body = 1048577\n", 1, "--max-body");
    refused("max-accounts = 0\n", 1, "--max-accounts");
    refused("stripes = 3\n", 1, "--stripes");
    refused("log-level = loud\n", 1, "--log-level");
}


static void
test_bad_lines(void)
{
    refused("threads = 4\nthread = 4\n", 2, "unknown key \"thread\"");
    refused("no-such-key = 1\n", 1, "unknown key \"no-such-key\"");
    refused("--threads = 4\n", 1, "unknown key \"--threads\"");
    refused("Threads = 4\n", 1, "expected \"key = value\"");
    refused("threads 4\n", 1, "expected \"key = value\"");
    refused("threads\n", 1, "expected \"key = value\"");
    refused("= 4\n", 1, "expected \"key = value\"");
    refused("threads =\n", 1, "\"threads\" has no value");
    refused("threads =   # nothing\n", 1, "\"threads\" has no value");
    refused("help = yes\n", 1, "\"help\" is a command-line option only");
    refused("version = 1\n", 1, "\"version\" is a command-line option only");
    refused("config = /etc/x\n", 1, "\"config\" is a command-line option");
    /* A "check" line would turn the service into a one-shot check. */
    refused("check = /var/lib/fastbank\n", 1,
            "\"check\" is a command-line option only");
    refused("repair = yes\n", 1, "\"repair\" is a command-line option only");
    refused("threads = 4\n\nthreads = 8\n", 3,
            "\"threads\" is already set on line 1");
}


static void
test_nul_and_long_lines(void)
{
    char           *big;
    fb_conf_t       c;
    fb_conffile_t   cf;
    static const char  nul[] = "threads = 4\nbacklog = 1\0002\n";

    CU_ASSERT_EQUAL(parse(&c, &cf, nul, sizeof(nul) - 1), FB_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "test.conf:2: a NUL byte"));
    fb_conffile_free(&cf);

    big = malloc(FB_CONFFILE_MAX_LINE + 32);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, '#', FB_CONFFILE_MAX_LINE + 1);
    memcpy(big + FB_CONFFILE_MAX_LINE + 1, "\n", 2);
    CU_ASSERT_EQUAL(parse_str(&c, &cf, big), FB_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "test.conf:1: longer than"));
    fb_conffile_free(&cf);

    /* Exactly the limit is fine. */
    big[FB_CONFFILE_MAX_LINE] = '\0';
    CU_ASSERT_EQUAL(parse_str(&c, &cf, big), FB_OK);
    fb_conffile_free(&cf);
    free(big);
}


/* fb_conffile_options() on argv, messages in errbuf. */
static fb_options_rc_e
options(fb_conf_t *c, fb_conffile_t *cf, int argc, char **argv)
{
    FILE             *err, *out;
    fb_options_rc_e   rc;

    memset(errbuf, 0, sizeof(errbuf));
    err = fmemopen(errbuf, sizeof(errbuf) - 1, "w");
    out = fopen("/dev/null", "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);

    fb_conffile_init(cf);
    rc = fb_conffile_options(c, cf, argc, argv, out, err);

    fclose(err);
    fclose(out);
    return rc;
}


static void
test_flags_win(void)
{
    char           path[256];
    char          *argv[8];
    fb_conf_t      c;
    fb_conffile_t  cf;

    snprintf(path, sizeof(path), "%s",
             write_file("a.conf", "threads = 3\n"
                                  "backlog = 50\n"
                                  "listen = unix:/tmp/from-file.sock\n"));

    argv[0] = (char *) "fastbank";
    argv[1] = (char *) "--config";
    argv[2] = path;
    argv[3] = (char *) "--threads=9";
    argv[4] = NULL;

    CU_ASSERT_EQUAL(options(&c, &cf, 4, argv), FB_OPTIONS_RUN);
    CU_ASSERT_EQUAL(c.threads, 9);          /* the flag */
    CU_ASSERT_EQUAL(c.backlog, 50);         /* the file */
    /* The file's text is gone; the value lives in cf. */
    CU_ASSERT_STRING_EQUAL(c.listen, "unix:/tmp/from-file.sock");
    CU_ASSERT_STRING_EQUAL(c.config, path);
    fb_conffile_free(&cf);

    /* The flag wins wherever it stands, before --config too. */
    argv[1] = (char *) "--listen";
    argv[2] = (char *) "fd:0";
    argv[3] = (char *) "--config";
    argv[4] = path;
    argv[5] = NULL;
    CU_ASSERT_EQUAL(options(&c, &cf, 5, argv), FB_OPTIONS_RUN);
    CU_ASSERT_STRING_EQUAL(c.listen, "fd:0");
    CU_ASSERT_EQUAL(c.threads, 3);
    fb_conffile_free(&cf);
}


static void
test_files(void)
{
    char           path[256], missing[256];
    char          *argv[5];
    fb_conf_t      c;
    fb_conffile_t  cf;

    snprintf(missing, sizeof(missing), "%s/missing.conf", tmpdir);

    /* A missing default file is fine. */
    fb_conf_default(&c);
    fb_conffile_init(&cf);
    c.config = missing;
    CU_ASSERT_EQUAL(fb_conffile_load(&c, &cf, stderr), FB_OK);
    fb_conffile_free(&cf);

    /* A missing file named by --config is not. */
    argv[0] = (char *) "fastbank";
    argv[1] = (char *) "--config";
    argv[2] = missing;
    argv[3] = NULL;
    CU_ASSERT_EQUAL(options(&c, &cf, 3, argv), FB_OPTIONS_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, missing));
    CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "No such file"));
    fb_conffile_free(&cf);

    /* Nor is a directory. */
    argv[2] = tmpdir;
    CU_ASSERT_EQUAL(options(&c, &cf, 3, argv), FB_OPTIONS_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, tmpdir));
    fb_conffile_free(&cf);

    /* An empty name is refused on the command line. */
    argv[2] = (char *) "";
    CU_ASSERT_EQUAL(options(&c, &cf, 3, argv), FB_OPTIONS_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "--config"));
    fb_conffile_free(&cf);

    /* A bad line in a real file names the file's path and the line. */
    snprintf(path, sizeof(path), "%s",
             write_file("bad.conf", "# ok\nthreads = 8\nstripes = 12\n"));
    argv[2] = path;
    CU_ASSERT_EQUAL(options(&c, &cf, 3, argv), FB_OPTIONS_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, ":3: --stripes \"12\""));
    fb_conffile_free(&cf);

    /* --check uses none of the file's options: a bad file, the installed
     * one included, must not keep it from checking a data directory. */
    argv[1] = (char *) "--check=/var/lib/fastbank";
    argv[2] = (char *) "--config";
    argv[3] = path;
    argv[4] = NULL;
    CU_ASSERT_EQUAL(options(&c, &cf, 4, argv), FB_OPTIONS_RUN);
    CU_ASSERT_STRING_EQUAL(errbuf, "");
    CU_ASSERT_PTR_NOT_NULL(c.check_dir);
    fb_conffile_free(&cf);

    /* A bad command line is refused before any file is read. */
    argv[1] = (char *) "--threads=0";
    argv[2] = NULL;
    CU_ASSERT_EQUAL(options(&c, &cf, 2, argv), FB_OPTIONS_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "--threads"));
    fb_conffile_free(&cf);

    /* The installed example parses and changes nothing. */
    snprintf(path, sizeof(path), "%s/etc/fastbank.conf",
             getenv("top_srcdir") != NULL ? getenv("top_srcdir") : ".");
    argv[1] = (char *) "--config";
    argv[2] = path;
    argv[3] = NULL;
    CU_ASSERT_EQUAL(options(&c, &cf, 3, argv), FB_OPTIONS_RUN);
    if (errbuf[0] != '\0') {
        fprintf(stderr, "\n  %s", errbuf);
    }
    CU_ASSERT_EQUAL(c.threads, FB_DEFAULT_THREADS);
    CU_ASSERT_STRING_EQUAL(c.listen, FB_DEFAULT_LISTEN);
    fb_conffile_free(&cf);
}


/*
 * The installed example (etc/fastbank.conf) shows every key the file takes
 * (each long option of --help with a value, --config and --check aside),
 * and with each "#key = value" line uncommented it parses to the defaults
 * it says it shows, but for threads, whose default is one per CPU.
 */
static void
test_example(void)
{
    int          n;
    char         path[4096], name[64], want[80], *text, *t, *p, *q;
    long         len;
    FILE        *f;
    fb_conf_t    c, d;
    fb_conffile_t  cf;
    static char  usage[16384];

    snprintf(path, sizeof(path), "%s/etc/fastbank.conf",
             getenv("top_srcdir") != NULL ? getenv("top_srcdir") : ".");
    f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    text = calloc(1, 65536);
    t = calloc(1, 65536);
    CU_ASSERT_FATAL(text != NULL && t != NULL);
    len = (long) fread(text, 1, 65535, f);
    fclose(f);
    CU_ASSERT_FATAL(len > 0 && len < 65535);

    /* Every key --help shows that the file takes. */
    f = fmemopen(usage, sizeof(usage) - 1, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fb_options_usage(f);
    fclose(f);

    n = 0;
    for (p = strstr(usage, "--"); p != NULL; p = strstr(p + 2, "--")) {
        for (q = p + 2; (*q >= 'a' && *q <= 'z') || *q == '-'; q++) {
            /* void */
        }
        if (q == p + 2 || (size_t) (q - p - 2) >= sizeof(name)) {
            continue;
        }
        memcpy(name, p + 2, (size_t) (q - p - 2));
        name[q - p - 2] = '\0';
        if (fb_options_key(name, strlen(name)) != FB_OPTIONS_KEY_VALUE) {
            continue;
        }
        snprintf(want, sizeof(want), "\n#%s = ", name);
        if (strstr(text, want) == NULL) {
            fprintf(stderr, "\n  etc/fastbank.conf does not show \"%s\"",
                    name);
            CU_FAIL("a key missing from the example");
        }
        n++;
    }
    CU_ASSERT(n >= 14);

    /* Uncommented, it parses to the defaults. */
    for (p = text, q = t; *p != '\0'; p++) {
        if (*p == '#' && (p == text || p[-1] == '\n') && p[1] >= 'a'
            && p[1] <= 'z')
        {
            continue;
        }
        *q++ = *p;
    }

    CU_ASSERT_EQUAL_FATAL(parse(&c, &cf, t, strlen(t)), FB_OPTIONS_RUN);
    fb_conf_default(&d);
    CU_ASSERT(c.threads_set);
    CU_ASSERT_STRING_EQUAL(c.listen, d.listen);
    CU_ASSERT_EQUAL(c.socket_mode, d.socket_mode);
    CU_ASSERT_EQUAL(c.backlog, d.backlog);
    CU_ASSERT_EQUAL(c.max_body, d.max_body);
    CU_ASSERT_EQUAL(c.max_accounts, d.max_accounts);
    CU_ASSERT_EQUAL(c.stripes, d.stripes);
    CU_ASSERT_EQUAL(c.log_level, d.log_level);
    CU_ASSERT_EQUAL(c.cpu_scheduling, d.cpu_scheduling);
    CU_ASSERT_STRING_EQUAL(c.data_dir, d.data_dir);
    CU_ASSERT_EQUAL(c.fsync, d.fsync);
    CU_ASSERT_EQUAL(c.fsync_interval, d.fsync_interval);
    CU_ASSERT_EQUAL(c.fsync_delay, d.fsync_delay);
    CU_ASSERT_EQUAL(c.snapshot_records, d.snapshot_records);

    fb_conffile_free(&cf);
    free(text);
    free(t);
}


static const fb_ctest_t  tests[] = {
    { "empty and comments", test_empty_and_comments },
    { "every key", test_every_key },
    { "spacing", test_spacing },
    { "bad values", test_bad_values },
    { "bad lines", test_bad_lines },
    { "NUL and long lines", test_nul_and_long_lines },
    { "flags win", test_flags_win },
    { "files", test_files },
    { "the installed example", test_example },
};


int
main(void)
{
    return fb_cunit_run("test-conffile", "conffile", setup, teardown, tests,
                        fb_nelems(tests));
}
