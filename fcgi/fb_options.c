/*
 * fb_options.c: parsing and checking the command line.
 */

#include "fb_core.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fb_listen.h"
#include "fb_log.h"
#include "fb_options.h"
#include "fb_store.h"

enum {
    FB_OPT_MAX_BODY = 256,
    FB_OPT_MAX_ACCOUNTS,
    FB_OPT_STRIPES,
    FB_OPT_LOG_LEVEL,
    FB_OPT_CONFIG,
    FB_OPT_DATA_DIR,
    FB_OPT_FSYNC,
    FB_OPT_FSYNC_INTERVAL,
    FB_OPT_FSYNC_DELAY,
    FB_OPT_SNAPSHOT_RECORDS,
    FB_OPT_CHECK,
    FB_OPT_REPAIR,
    FB_OPT_CPU_SCHEDULING
};

static const struct option  fb_long_options[] = {
    { "listen",        required_argument, NULL, 'l' },
    { "socket-mode",   required_argument, NULL, 'm' },
    { "threads",       required_argument, NULL, 't' },
    { "backlog",       required_argument, NULL, 'b' },
    { "max-body",      required_argument, NULL, FB_OPT_MAX_BODY },
    { "max-accounts",  required_argument, NULL, FB_OPT_MAX_ACCOUNTS },
    { "stripes",       required_argument, NULL, FB_OPT_STRIPES },
    { "log-level",     required_argument, NULL, FB_OPT_LOG_LEVEL },
    { "cpu-scheduling", required_argument, NULL, FB_OPT_CPU_SCHEDULING },
    { "config",        required_argument, NULL, FB_OPT_CONFIG },
    { "data-dir",      required_argument, NULL, FB_OPT_DATA_DIR },
    { "fsync",         required_argument, NULL, FB_OPT_FSYNC },
    { "fsync-interval", required_argument, NULL, FB_OPT_FSYNC_INTERVAL },
    { "fsync-delay",   required_argument, NULL, FB_OPT_FSYNC_DELAY },
    { "snapshot-records", required_argument, NULL, FB_OPT_SNAPSHOT_RECORDS },
    { "check",         required_argument, NULL, FB_OPT_CHECK },
    { "repair",        no_argument,       NULL, FB_OPT_REPAIR },
    { "help",          no_argument,       NULL, 'h' },
    { "version",       no_argument,       NULL, 'V' },
    { NULL, 0, NULL, 0 }
};


void
fb_conf_default(fb_conf_t *c)
{
    c->listen = FB_DEFAULT_LISTEN;
    c->socket_mode = 0660;
    c->threads = FB_DEFAULT_THREADS;
    c->backlog = FB_DEFAULT_BACKLOG;
    c->max_body = FB_DEFAULT_MAX_BODY;
    c->max_accounts = FB_STORE_MAX_ACCOUNTS_DEFAULT;
    c->stripes = FB_STORE_STRIPES_DEFAULT;
    c->log_level = FB_LOG_WARN;
    c->config = FB_DEFAULT_CONFIG;
    c->config_given = 0;
    c->data_dir = FB_DEFAULT_DATA_DIR;
    c->fsync = FB_FSYNC_ALWAYS;
    c->fsync_interval = FB_JOURNAL_INTERVAL_MS;
    c->fsync_delay = FB_JOURNAL_DELAY_US;
    c->snapshot_records = FB_JOURNAL_SNAPSHOT_RECORDS;
    c->check_dir = NULL;
    c->repair = 0;
    c->threads_set = 0;
    c->cpu_scheduling = FB_DEFAULT_CPU_SCHEDULING;
}


fb_options_key_e
fb_options_key(const char *name, size_t len)
{
    const struct option  *o;

    for (o = fb_long_options; o->name != NULL; o++) {
        if (strlen(o->name) != len || memcmp(o->name, name, len) != 0) {
            continue;
        }
        if (o->has_arg != required_argument || o->val == FB_OPT_CONFIG
            || o->val == FB_OPT_CHECK)
        {
            return FB_OPTIONS_KEY_CMDLINE;
        }
        return FB_OPTIONS_KEY_VALUE;
    }

    return FB_OPTIONS_KEY_NONE;
}


int
fb_conf_threads(const fb_conf_t *c)
{
    long  n;

    if (c->threads_set) {
        return c->threads;
    }

    n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > FB_MAX_THREADS ? FB_MAX_THREADS : (int) n;
}


void
fb_options_usage(FILE *out)
{
    fprintf(out,
"Usage: fastbank [OPTION]...\n"
"The fastbank account service: a FastCGI backend for nginx.\n"
"\n"
"  -l, --listen ADDR        where nginx connects (default %s):\n"
"                             unix:/path          a unix socket\n"
"                             127.0.0.1:9000      a TCP address; [::1]:9000\n"
"                                                 for IPv6; 0.0.0.0:9000\n"
"                                                 listens on all interfaces\n"
"                             fd:0                a listening socket inherited\n"
"                                                 on a descriptor (spawn-fcgi,\n"
"                                                 systemd StandardInput=socket)\n"
"  -m, --socket-mode MODE   permissions of a unix socket, octal (default 0660)\n"
"  -t, --threads N          worker threads (event loops), 1 to %d\n"
"                           (default: one per online CPU)\n"
"  -b, --backlog N          listen backlog, 1 to 65535 (default %d)\n"
"      --max-body BYTES     largest request body accepted, 1 to %d\n"
"                           (default %d); larger ones are answered 413\n"
"      --max-accounts N     accounts that may be created, 1 to %llu\n"
"                           (default %llu)\n"
"      --stripes N          account lock stripes, a power of two up to\n"
"                           %zu (default %d)\n"
"      --log-level LEVEL    error, warn, info or debug (default warn)\n"
"      --cpu-scheduling POLICY\n"
"                           the workers' Linux scheduling policy: batch\n"
"                           (default: a woken worker does not preempt\n"
"                           nginx) or other\n"
"      --config FILE        key = value options (default, if it exists:\n"
"                           %s);\n"
"                           the command line wins over the file\n"
"  -h, --help               print this help and exit\n"
"  -V, --version            print the version and exit\n"
"\n"
"Durability (fastbank(8), JOURNAL):\n"
"      --data-dir DIR       journal and snapshots (default %s)\n"
"      --fsync POLICY       always: reply after fdatasync (default);\n"
"                           batch: reply after write, fdatasync every\n"
"                           --fsync-interval; off: memory only, no journal\n"
"      --fsync-interval MS  batch: longest time written records stay\n"
"                           unsynced, 1 to %d (default %d)\n"
"      --fsync-delay US     always: when requests come together, let each\n"
"                           batch gather up to this long before its\n"
"                           fdatasync (less once as many records came\n"
"                           since the last sync as it wrote), 0 to %d\n"
"                           (default %d; 0: never)\n"
"      --snapshot-records N a snapshot every N records (default %llu);\n"
"                           0: only at an orderly stop\n"
"      --check DIR          report on the journal and snapshots in DIR\n"
"                           and exit: 0 consistent, 1 torn tail or write,\n"
"                           3 corrupt, 4 could not check (or in use)\n"
"      --repair             with --check: cut a torn tail or write off\n"
"\n"
"SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0.\n"
"See fastbank(8).\n",
        FB_DEFAULT_LISTEN, FB_MAX_THREADS, FB_DEFAULT_BACKLOG,
        FB_MAX_MAX_BODY, FB_DEFAULT_MAX_BODY,
        (unsigned long long) FB_STORE_MAX_ACCOUNTS_MAX,
        (unsigned long long) FB_STORE_MAX_ACCOUNTS_DEFAULT,
        FB_STORE_STRIPES_MAX, FB_STORE_STRIPES_DEFAULT, FB_DEFAULT_CONFIG,
        FB_DEFAULT_DATA_DIR,
        FB_MAX_FSYNC_INTERVAL, FB_JOURNAL_INTERVAL_MS,
        FB_MAX_FSYNC_DELAY, FB_JOURNAL_DELAY_US,
        (unsigned long long) FB_JOURNAL_SNAPSHOT_RECORDS);
}


/* A word an option takes, and what it stands for. */
typedef struct {
    const char  *word;
    int          value;
} fb_keyword_t;

static const fb_keyword_t  fb_fsync_words[] = {
    { "always", FB_FSYNC_ALWAYS },
    { "batch", FB_FSYNC_BATCH },
    { "off", FB_FSYNC_OFF },
    { NULL, 0 }
};

static const fb_keyword_t  fb_log_words[] = {
    { "error", FB_LOG_ERR },
    { "warn", FB_LOG_WARN },
    { "info", FB_LOG_INFO },
    { "debug", FB_LOG_DEBUG },
    { NULL, 0 }
};

static const fb_keyword_t  fb_scheduling_words[] = {
    { "batch", SCHED_BATCH },
    { "other", SCHED_OTHER },
    { NULL, 0 }
};


/* The value of the word s in words, or FB_DECLINED. */
static int
fb_parse_keyword(const char *s, const fb_keyword_t *words, int *out)
{
    for ( ; words->word != NULL; words++) {
        if (strcmp(s, words->word) == 0) {
            *out = words->value;
            return FB_OK;
        }
    }

    return FB_DECLINED;
}


/* A whole decimal number in [min, max], or FB_DECLINED. */
static int
fb_parse_number(const char *s, unsigned long long min, unsigned long long max,
    int base, unsigned long long *out)
{
    char                *end;
    unsigned long long   v;

    /* Digits only: strtoull would also take leading blanks and a sign. */
    if (*s < '0' || *s > '9') {
        return FB_DECLINED;
    }

    errno = 0;
    v = strtoull(s, &end, base);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return FB_DECLINED;
    }

    *out = v;
    return FB_OK;
}


fb_options_rc_e
fb_options_parse(fb_conf_t *c, int argc, char **argv, FILE *out, FILE *err)
{
    int                  opt, word;
    const char          *why;
    unsigned long long   v;

    /* GNU getopt: 0 restarts scanning, so the parser can run again. */
    optind = 0;
    opterr = 0;

    while ((opt = getopt_long(argc, argv, ":l:m:t:b:hV", fb_long_options,
                              NULL)) != -1)
    {
        switch (opt) {
        case 'l':
            if (fb_listen_check(optarg, &why) != FB_OK) {
                fprintf(err, "fastbank: --listen \"%s\": %s\n", optarg, why);
                return FB_OPTIONS_ERROR;
            }
            c->listen = optarg;
            break;

        case 'm':
            if (fb_parse_number(optarg, 0, 0777, 8, &v) != FB_OK) {
                fprintf(err, "fastbank: --socket-mode \"%s\": expected "
                        "octal permissions such as 0660\n", optarg);
                return FB_OPTIONS_ERROR;
            }
            c->socket_mode = (unsigned) v;
            break;

        case 't':
            if (fb_parse_number(optarg, 1, FB_MAX_THREADS, 10, &v) != FB_OK) {
                fprintf(err, "fastbank: --threads \"%s\": expected 1 to %d\n",
                        optarg, FB_MAX_THREADS);
                return FB_OPTIONS_ERROR;
            }
            c->threads = (int) v;
            c->threads_set = 1;
            break;

        case 'b':
            if (fb_parse_number(optarg, 1, 65535, 10, &v) != FB_OK) {
                fprintf(err, "fastbank: --backlog \"%s\": expected 1 to "
                        "65535\n", optarg);
                return FB_OPTIONS_ERROR;
            }
            c->backlog = (int) v;
            break;

        case FB_OPT_MAX_BODY:
            if (fb_parse_number(optarg, 1, FB_MAX_MAX_BODY, 10, &v) != FB_OK)
            {
                fprintf(err, "fastbank: --max-body \"%s\": expected 1 to %d "
                        "bytes\n", optarg, FB_MAX_MAX_BODY);
                return FB_OPTIONS_ERROR;
            }
            c->max_body = (size_t) v;
            break;

        case FB_OPT_MAX_ACCOUNTS:
            if (fb_parse_number(optarg, 1, FB_STORE_MAX_ACCOUNTS_MAX, 10, &v)
                != FB_OK)
            {
                fprintf(err, "fastbank: --max-accounts \"%s\": expected 1 "
                        "to %llu\n", optarg,
                        (unsigned long long) FB_STORE_MAX_ACCOUNTS_MAX);
                return FB_OPTIONS_ERROR;
            }
            c->max_accounts = v;
            break;

        case FB_OPT_STRIPES:
            if (fb_parse_number(optarg, 1, FB_STORE_STRIPES_MAX, 10, &v)
                != FB_OK || (v & (v - 1)) != 0)
            {
                fprintf(err, "fastbank: --stripes \"%s\": expected a power "
                        "of two from 1 to %zu\n", optarg,
                        FB_STORE_STRIPES_MAX);
                return FB_OPTIONS_ERROR;
            }
            c->stripes = (size_t) v;
            break;

        case FB_OPT_LOG_LEVEL:
            if (fb_parse_keyword(optarg, fb_log_words, &word) != FB_OK) {
                fprintf(err, "fastbank: --log-level \"%s\": expected error, "
                        "warn, info or debug\n", optarg);
                return FB_OPTIONS_ERROR;
            }
            c->log_level = word;
            break;

        case FB_OPT_CPU_SCHEDULING:
            if (fb_parse_keyword(optarg, fb_scheduling_words, &word) != FB_OK)
            {
                fprintf(err, "fastbank: --cpu-scheduling \"%s\": expected "
                        "batch or other\n", optarg);
                return FB_OPTIONS_ERROR;
            }
            c->cpu_scheduling = word;
            break;

        case FB_OPT_CONFIG:
            if (*optarg == '\0') {
                fprintf(err, "fastbank: --config \"\": expected a file "
                        "name\n");
                return FB_OPTIONS_ERROR;
            }
            c->config = optarg;
            c->config_given = 1;
            break;

        case FB_OPT_DATA_DIR:
        case FB_OPT_CHECK:
            if (*optarg == '\0') {
                fprintf(err, "fastbank: --%s needs a directory\n",
                        opt == FB_OPT_CHECK ? "check" : "data-dir");
                return FB_OPTIONS_ERROR;
            }
            if (opt == FB_OPT_CHECK) {
                c->check_dir = optarg;
            } else {
                c->data_dir = optarg;
            }
            break;

        case FB_OPT_FSYNC:
            if (fb_parse_keyword(optarg, fb_fsync_words, &word) != FB_OK) {
                fprintf(err, "fastbank: --fsync \"%s\": expected always, "
                        "batch or off\n", optarg);
                return FB_OPTIONS_ERROR;
            }
            c->fsync = (fb_fsync_e) word;
            break;

        case FB_OPT_FSYNC_INTERVAL:
            if (fb_parse_number(optarg, 1, FB_MAX_FSYNC_INTERVAL, 10, &v)
                != FB_OK)
            {
                fprintf(err, "fastbank: --fsync-interval \"%s\": expected 1 "
                        "to %d milliseconds\n", optarg, FB_MAX_FSYNC_INTERVAL);
                return FB_OPTIONS_ERROR;
            }
            c->fsync_interval = (unsigned) v;
            break;

        case FB_OPT_FSYNC_DELAY:
            if (fb_parse_number(optarg, 0, FB_MAX_FSYNC_DELAY, 10, &v)
                != FB_OK)
            {
                fprintf(err, "fastbank: --fsync-delay \"%s\": expected 0 "
                        "to %d microseconds\n", optarg, FB_MAX_FSYNC_DELAY);
                return FB_OPTIONS_ERROR;
            }
            c->fsync_delay = (unsigned) v;
            break;

        case FB_OPT_SNAPSHOT_RECORDS:
            if (fb_parse_number(optarg, 0, (unsigned long long) INT64_MAX,
                                10, &v) != FB_OK)
            {
                fprintf(err, "fastbank: --snapshot-records \"%s\": expected "
                        "a number of records, or 0\n", optarg);
                return FB_OPTIONS_ERROR;
            }
            c->snapshot_records = v;
            break;

        case FB_OPT_REPAIR:
            c->repair = 1;
            break;

        case 'h':
            fb_options_usage(out);
            return FB_OPTIONS_EXIT;

        case 'V':
            fprintf(out, "fastbank %s\n", PACKAGE_VERSION);
            return FB_OPTIONS_EXIT;

        case ':':
            fprintf(err, "fastbank: option %s needs a value\n",
                    argv[optind - 1]);
            return FB_OPTIONS_ERROR;

        default:
            fprintf(err, "fastbank: unknown option %s (see fastbank "
                    "--help)\n", argv[optind - 1]);
            return FB_OPTIONS_ERROR;
        }
    }

    if (optind < argc) {
        fprintf(err, "fastbank: unexpected argument \"%s\" (see fastbank "
                "--help)\n", argv[optind]);
        return FB_OPTIONS_ERROR;
    }

    if (c->repair && c->check_dir == NULL) {
        fprintf(err, "fastbank: --repair goes with --check DIR\n");
        return FB_OPTIONS_ERROR;
    }

    return FB_OPTIONS_RUN;
}
