/*
 * fb_load_conf.c: fb-load's options and scenario files.
 *
 * A scenario file is a list of name=value lines whose names are the long
 * options (without the dashes), so a file and a command line say the same
 * things in the same words.  Options on the command line override the
 * scenario files, wherever they appear.
 */

#include "fb_load.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FB_LOAD_PATH_MAX   2048

typedef struct {
    const char  *name;
    int          has_arg;
    int          short_name;
    unsigned     in_file:1;               /* allowed in a scenario file */
} fb_load_opt_t;

static const fb_load_opt_t  fb_load_opts[] = {
    { "scenario",     required_argument, 's', 0 },
    { "name",         required_argument, 0,   1 },
    { "host",         required_argument, 'H', 1 },
    { "port",         required_argument, 'p', 1 },
    { "mode",         required_argument, 'm', 1 },
    { "get",          required_argument, 'g', 1 },
    { "accounts",     required_argument, 'a', 1 },
    { "fund",         required_argument, 0,   1 },
    { "mix",          required_argument, 0,   1 },
    { "amount-min",   required_argument, 0,   1 },
    { "amount-max",   required_argument, 0,   1 },
    { "connections",  required_argument, 'c', 1 },
    { "threads",      required_argument, 't', 1 },
    { "requests",     required_argument, 'n', 1 },
    { "duration",     required_argument, 'd', 1 },
    { "rate",         required_argument, 'r', 1 },
    { "timeout",      required_argument, 0,   1 },
    { "warmup",       required_argument, 'w', 1 },
    { "time-limit",   required_argument, 0,   1 },
    { "seed",         required_argument, 0,   1 },
    { "setup",        required_argument, 0,   1 },
    { "audit",        required_argument, 0,   1 },
    { "no-setup",     no_argument,       0,   0 },
    { "no-audit",     no_argument,       0,   0 },
    { "strict",       no_argument,       0,   1 },
    { "json",         required_argument, 'j', 0 },
    { "pid",          required_argument, 'P', 0 },
    { "pid-tree",     required_argument, 0,   0 },
    { "quiet",        no_argument,       'q', 0 },
    { "help",         no_argument,       'h', 0 },
    { "version",      no_argument,       'V', 0 },
};

#define FB_LOAD_NOPTS  (sizeof(fb_load_opts) / sizeof(fb_load_opts[0]))

/* Returned by fb_load_conf_parse for --help and --version. */
#define FB_LOAD_EXIT_OK  1


static void fb_load_conf_defaults(fb_load_conf_t *conf);
static int fb_load_bad(const char *where, const char *name,
    const char *value, const char *why);
static int fb_load_conf_set(fb_load_conf_t *conf, const char *name,
    const char *value, const char *where);
static int fb_load_conf_file(fb_load_conf_t *conf, const char *path);
static int fb_load_conf_finish(fb_load_conf_t *conf);
static int fb_load_conf_host(fb_load_conf_t *conf, const char *where);
static int fb_load_parse_int(const char *v, int64_t min, int64_t max,
    int64_t *out);
static int fb_load_parse_seconds(const char *v, double *out);
static int fb_load_parse_bool(const char *v, int *out);
static int fb_load_parse_mix(const char *v, unsigned *mix);
static void fb_load_usage(FILE *f);


static void
fb_load_usage(FILE *f)
{
    fputs(
"usage: fb-load [options]\n"
"\n"
"Drives fastbank (or a reference server) over HTTP/1.1 keep-alive from one\n"
"epoll thread and reports throughput, latency, statuses, error codes, and\n"
"what the server processes spent.  Only loopback addresses are accepted.\n"
"\n"
"target\n"
"  -H, --host ADDR         127.0.0.0/8, ::1 or localhost [127.0.0.1]\n"
"  -p, --port N            [8080]\n"
"workload\n"
"  -s, --scenario FILE     name=value lines (the long options); the command\n"
"                          line overrides them; may be repeated\n"
"      --name NAME         label for the reports [custom]\n"
"  -m, --mode bank|get     the account mix, or one GET path [bank]\n"
"  -g, --get PATH          GET PATH on every request (implies --mode get)\n"
"  -a, --accounts N        accounts to create and use [1000]\n"
"      --fund CENTAVOS     initial balance of each account [1000000]\n"
"      --mix D,W,T,B       weights of deposit, withdraw, transfer, balance\n"
"                          [25,25,35,15]\n"
"      --amount-min N      smallest amount, centavos [100]\n"
"      --amount-max N      largest amount, centavos (<= 1000000) [10000]\n"
"      --setup yes|no      create and fund the accounts first [yes]\n"
"      --no-setup          use accounts 1..N as they are\n"
"      --audit yes|no      check the money at the end [yes]\n"
"      --no-audit\n"
"load\n"
"  -c, --connections N     concurrent connections [500]\n"
"  -t, --threads N         event-loop threads [1]\n"
"  -n, --requests N        requests to measure (k, m suffixes) [1000000]\n"
"  -d, --duration SECONDS  measure for this long instead of -n (given both\n"
"                          at one level, the first reached ends the run)\n"
"  -r, --rate R            fixed rate, requests/s over all connections;\n"
"                          latency counts from the intended send time\n"
"                          [0: closed loop]\n"
"  -w, --warmup SECONDS    run unmeasured first [0]\n"
"      --timeout SECONDS   per request and per connect [5]\n"
"      --time-limit SECONDS  stop sending after this long in any case [600]\n"
"      --seed N            random seed [1]\n"
"output\n"
"  -j, --json FILE|-       write the results as JSON ('-': stdout, and the\n"
"                          table goes to stderr)\n"
"  -P, --pid PID           sample this server process (repeatable)\n"
"      --pid-tree PID      sample PID and its children (an nginx master)\n"
"  -q, --quiet             no progress line and no table on stderr\n"
"      --strict            exit 1 on any 5xx, timeout, connection error or\n"
"                          (fixed rate) send due and never made\n"
"  -h, --help, -V, --version\n"
"\n"
"Exit: 0 ok; 1 the audit failed, or --strict and errors; 2 bad usage;\n"
"3 the run could not be completed (set-up failed, cannot connect).\n"
"loadtest/README says more.\n", f);
}


static void
fb_load_conf_defaults(fb_load_conf_t *conf)
{
    memset(conf, 0, sizeof(*conf));

    strcpy(conf->name, "custom");
    strcpy(conf->host, "127.0.0.1");
    conf->port = 8080;
    conf->mode = FB_LOAD_MODE_BANK;
    conf->accounts = 1000;
    conf->fund = 1000000;
    conf->mix[FB_LOAD_OP_DEPOSIT] = 25;
    conf->mix[FB_LOAD_OP_WITHDRAW] = 25;
    conf->mix[FB_LOAD_OP_TRANSFER] = 35;
    conf->mix[FB_LOAD_OP_BALANCE] = 15;
    conf->amount_min = 100;
    conf->amount_max = 10000;
    conf->connections = 500;
    conf->threads = 1;
    conf->requests = 1000000;
    conf->timeout = 5;
    conf->time_limit = 600;
    conf->seed = 1;
    conf->setup = 1;
    conf->audit = 1;
}


int
fb_load_conf_parse(fb_load_conf_t *conf, int argc, char **argv)
{
    int             c, idx, pass;
    size_t          i, n;
    char            shorts[64];
    struct option   longs[FB_LOAD_NOPTS + 1];

    fb_load_conf_defaults(conf);

    n = 0;
    for (i = 0; i < FB_LOAD_NOPTS; i++) {
        longs[i].name = fb_load_opts[i].name;
        longs[i].has_arg = fb_load_opts[i].has_arg;
        longs[i].flag = NULL;
        longs[i].val = fb_load_opts[i].short_name
                       ? fb_load_opts[i].short_name : 256 + (int) i;

        if (fb_load_opts[i].short_name) {
            shorts[n++] = (char) fb_load_opts[i].short_name;
            if (fb_load_opts[i].has_arg) {
                shorts[n++] = ':';
            }
        }
    }

    memset(&longs[FB_LOAD_NOPTS], 0, sizeof(struct option));
    shorts[n] = '\0';

    /* Pass 0 reads the scenario files, pass 1 everything else over them. */
    for (pass = 0; pass < 2; pass++) {
        optind = 1;
        opterr = (pass == 0);

        while ((c = getopt_long(argc, argv, shorts, longs, &idx)) != -1) {
            if (c == '?' || c == ':') {
                fprintf(stderr, "fb-load: try --help\n");
                return FB_ERROR;
            }

            if (c >= 256) {
                i = (size_t) (c - 256);
            } else {
                for (i = 0; i < FB_LOAD_NOPTS; i++) {
                    if (fb_load_opts[i].short_name == c) {
                        break;
                    }
                }
            }

            if (c == 'h') {
                fb_load_usage(stdout);
                return FB_LOAD_EXIT_OK;
            }

            if (c == 'V') {
                printf("fb-load " FB_LOAD_VERSION "\n");
                return FB_LOAD_EXIT_OK;
            }

            if ((pass == 0) != (strcmp(fb_load_opts[i].name, "scenario") == 0))
            {
                continue;
            }

            if (pass == 0) {
                if (fb_load_conf_file(conf, optarg) != FB_OK) {
                    return FB_ERROR;
                }

                continue;
            }

            if (fb_load_conf_set(conf, fb_load_opts[i].name, optarg, NULL)
                != FB_OK)
            {
                return FB_ERROR;
            }
        }
    }

    if (optind < argc) {
        fprintf(stderr, "fb-load: unexpected argument \"%s\"; try --help\n",
                argv[optind]);
        return FB_ERROR;
    }

    return fb_load_conf_finish(conf);
}


void
fb_load_conf_free(fb_load_conf_t *conf)
{
    free(conf->get_path);
    free(conf->json_path);
    conf->get_path = NULL;
    conf->json_path = NULL;
}


static int
fb_load_conf_file(fb_load_conf_t *conf, const char *path)
{
    int     rc, lineno;
    FILE   *f;
    char    line[4096], where[512], *p, *eq, *k, *v, *e;

    f = fopen(path, "r");
    if (f == NULL) {
        fb_load_err(errno, "fopen() \"%s\" failed", path);
        return FB_ERROR;
    }

    rc = FB_OK;
    lineno = 0;

    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        snprintf(where, sizeof(where), "%s:%d", path, lineno);

        if (strchr(line, '\n') == NULL && !feof(f)) {
            fb_load_err(0, "%s: line too long", where);
            rc = FB_ERROR;
            break;
        }

        for (p = line; isspace((unsigned char) *p); p++) { /* void */ }

        if (*p == '\0' || *p == '#') {
            continue;
        }

        eq = strchr(p, '=');
        if (eq == NULL) {
            fb_load_err(0, "%s: expected name=value", where);
            rc = FB_ERROR;
            break;
        }

        k = p;
        for (e = eq; e > k && isspace((unsigned char) e[-1]); e--) { }
        *e = '\0';

        for (v = eq + 1; isspace((unsigned char) *v); v++) { }
        for (e = v + strlen(v); e > v && isspace((unsigned char) e[-1]); e--) {
        }
        *e = '\0';

        if (fb_load_conf_set(conf, k, v, where) != FB_OK) {
            rc = FB_ERROR;
            break;
        }
    }

    if (rc == FB_OK && ferror(f)) {
        fb_load_err(errno, "reading \"%s\" failed", path);
        rc = FB_ERROR;
    }

    fclose(f);

    return rc;
}


static int
fb_load_bad(const char *where, const char *name, const char *value,
    const char *why)
{
    fb_load_err(0, "%s%s%s \"%s\": %s", where ? where : "", where ? ": " : "--",
                name, value ? value : "", why);
    return FB_ERROR;
}


/* Sets one option, from the command line (where == NULL) or a file. */
static int
fb_load_conf_set(fb_load_conf_t *conf, const char *name, const char *value,
    const char *where)
{
    int       b;
    size_t    i;
    double    d;
    int64_t   n;
    char     *s;

    for (i = 0; i < FB_LOAD_NOPTS; i++) {
        if (strcmp(fb_load_opts[i].name, name) == 0) {
            break;
        }
    }

    if (i == FB_LOAD_NOPTS || (where != NULL && !fb_load_opts[i].in_file)) {
        return fb_load_bad(where, name, value,
                           "not an option a scenario file can set");
    }

    if (strcmp(name, "strict") == 0 && where == NULL) {
        conf->strict = 1;
        return FB_OK;
    }

    if (strcmp(name, "no-setup") == 0) {
        conf->setup = 0;
        return FB_OK;
    }

    if (strcmp(name, "no-audit") == 0) {
        conf->audit = 0;
        return FB_OK;
    }

    if (strcmp(name, "quiet") == 0) {
        conf->quiet = 1;
        return FB_OK;
    }

    if (strcmp(name, "strict") == 0 || strcmp(name, "setup") == 0
        || strcmp(name, "audit") == 0)
    {
        if (fb_load_parse_bool(value, &b) != FB_OK) {
            return fb_load_bad(where, name, value, "expected yes or no");
        }

        if (strcmp(name, "strict") == 0) {
            conf->strict = (unsigned) b;
        } else if (strcmp(name, "setup") == 0) {
            conf->setup = (unsigned) b;
        } else {
            conf->audit = (unsigned) b;
        }

        return FB_OK;
    }

    if (strcmp(name, "name") == 0) {
        if (strlen(value) >= sizeof(conf->name) || value[0] == '\0') {
            return fb_load_bad(where, name, value, "1 to 63 characters");
        }

        for (s = (char *) value; *s != '\0'; s++) {
            if (!isalnum((unsigned char) *s) && strchr("-_.+", *s) == NULL) {
                return fb_load_bad(where, name, value,
                                   "letters, digits and - _ . + only");
            }
        }

        strcpy(conf->name, value);
        return FB_OK;
    }

    if (strcmp(name, "host") == 0) {
        if (strlen(value) >= sizeof(conf->host)) {
            return fb_load_bad(where, name, value, "too long");
        }

        strcpy(conf->host, value);
        return fb_load_conf_host(conf, where);
    }

    if (strcmp(name, "mode") == 0) {
        if (strcmp(value, "bank") == 0) {
            conf->mode = FB_LOAD_MODE_BANK;
        } else if (strcmp(value, "get") == 0) {
            conf->mode = FB_LOAD_MODE_GET;
        } else {
            return fb_load_bad(where, name, value, "expected bank or get");
        }

        return FB_OK;
    }

    if (strcmp(name, "get") == 0) {
        if (value[0] != '/' || strlen(value) > FB_LOAD_PATH_MAX) {
            return fb_load_bad(where, name, value,
                               "a path starting with '/', at most 2048 bytes");
        }

        for (s = (char *) value; *s != '\0'; s++) {
            if ((unsigned char) *s <= ' ' || *s == 0x7f) {
                return fb_load_bad(where, name, value,
                                   "no spaces or control characters");
            }
        }

        s = strdup(value);
        if (s == NULL) {
            fb_load_err(errno, "strdup() failed");
            return FB_ERROR;
        }

        free(conf->get_path);
        conf->get_path = s;
        conf->mode = FB_LOAD_MODE_GET;
        return FB_OK;
    }

    if (strcmp(name, "json") == 0) {
        s = strdup(value);
        if (s == NULL) {
            fb_load_err(errno, "strdup() failed");
            return FB_ERROR;
        }

        free(conf->json_path);
        conf->json_path = s;
        return FB_OK;
    }

    if (strcmp(name, "mix") == 0) {
        if (fb_load_parse_mix(value, conf->mix) != FB_OK) {
            return fb_load_bad(where, name, value,
                               "expected four weights D,W,T,B, not all 0");
        }

        return FB_OK;
    }

    if (strcmp(name, "pid") == 0 || strcmp(name, "pid-tree") == 0) {
        if (fb_load_parse_int(value, 1, INT32_MAX, &n) != FB_OK) {
            return fb_load_bad(where, name, value, "expected a process id");
        }

        if (conf->npids == FB_LOAD_MAX_PIDS) {
            return fb_load_bad(where, name, value, "at most 64 processes");
        }

        if (strcmp(name, "pid") == 0) {
            conf->pids[conf->npids++] = (pid_t) n;
        } else {
            conf->npids = fb_load_proc_tree((pid_t) n, conf->pids,
                                            conf->npids, FB_LOAD_MAX_PIDS);
        }

        return FB_OK;
    }

    if (strcmp(name, "rate") == 0) {
        if (fb_load_parse_seconds(value, &d) != FB_OK
            || strpbrk(value, "ms") != NULL)
        {
            return fb_load_bad(where, name, value,
                               "expected requests per second >= 0");
        }

        conf->rate = d;
        return FB_OK;
    }

    if (strcmp(name, "duration") == 0 || strcmp(name, "timeout") == 0
        || strcmp(name, "warmup") == 0 || strcmp(name, "time-limit") == 0)
    {
        if (fb_load_parse_seconds(value, &d) != FB_OK) {
            return fb_load_bad(where, name, value,
                               "expected seconds >= 0 (or N ms)");
        }

        /*
         * The engine keeps these in whole nanoseconds, where a value
         * under 1 ns is 0: for the timeout, every connect and request
         * still open at the next 10 ms scan would time out; a duration
         * would replace --requests and then measure nothing; a warm-up
         * or a time limit would be none.  0 itself is refused for the
         * timeout only.
         */
        if ((uint64_t) (d * FB_LOAD_NS) == 0) {
            if (strcmp(name, "timeout") == 0) {
                return fb_load_bad(where, name, value,
                                   "expected at least 1 ns (0.000000001)");
            }
            if (d > 0) {
                return fb_load_bad(where, name, value,
                                   "expected 0, or at least 1 ns"
                                   " (0.000000001)");
            }
        }

        if (strcmp(name, "duration") == 0) {
            conf->duration = d;
            conf->duration_level = where == NULL ? 2 : 1;
        } else if (strcmp(name, "timeout") == 0) {
            conf->timeout = d;
        } else if (strcmp(name, "warmup") == 0) {
            conf->warmup = d;
        } else {
            conf->time_limit = d;
        }

        return FB_OK;
    }

    /* The rest are integers. */

    if (strcmp(name, "port") == 0) {
        if (fb_load_parse_int(value, 1, 65535, &n) != FB_OK) {
            return fb_load_bad(where, name, value, "expected 1..65535");
        }

        conf->port = (int) n;
        return FB_OK;
    }

    if (strcmp(name, "accounts") == 0) {
        if (fb_load_parse_int(value, 1, 100000000, &n) != FB_OK) {
            return fb_load_bad(where, name, value, "expected 1..100m");
        }

        conf->accounts = n;
        return FB_OK;
    }

    if (strcmp(name, "fund") == 0) {
        if (fb_load_parse_int(value, 0, INT64_MAX / 100000000, &n) != FB_OK) {
            return fb_load_bad(where, name, value, "expected centavos >= 0");
        }

        conf->fund = n;
        return FB_OK;
    }

    if (strcmp(name, "amount-min") == 0 || strcmp(name, "amount-max") == 0) {
        if (fb_load_parse_int(value, 1, FB_LOAD_AMOUNT_MAX, &n) != FB_OK) {
            return fb_load_bad(where, name, value,
                               "expected 1..1000000 centavos (the contract's"
                               " per-request limit)");
        }

        if (strcmp(name, "amount-min") == 0) {
            conf->amount_min = n;
        } else {
            conf->amount_max = n;
        }

        return FB_OK;
    }

    if (strcmp(name, "connections") == 0) {
        if (fb_load_parse_int(value, 1, 60000, &n) != FB_OK) {
            return fb_load_bad(where, name, value, "expected 1..60000");
        }

        conf->connections = (int) n;
        return FB_OK;
    }

    if (strcmp(name, "threads") == 0) {
        if (fb_load_parse_int(value, 1, 64, &n) != FB_OK) {
            return fb_load_bad(where, name, value, "expected 1..64");
        }

        conf->threads = (int) n;
        return FB_OK;
    }

    if (strcmp(name, "requests") == 0) {
        if (fb_load_parse_int(value, 0, INT64_MAX, &n) != FB_OK) {
            return fb_load_bad(where, name, value, "expected a count >= 0");
        }

        conf->requests = (uint64_t) n;
        conf->requests_level = where == NULL ? 2 : 1;
        return FB_OK;
    }

    if (strcmp(name, "seed") == 0) {
        if (fb_load_parse_int(value, 0, INT64_MAX, &n) != FB_OK) {
            return fb_load_bad(where, name, value, "expected an integer >= 0");
        }

        conf->seed = (uint64_t) n;
        return FB_OK;
    }

    return fb_load_bad(where, name, value, "unknown option");
}


static int
fb_load_conf_finish(fb_load_conf_t *conf)
{
    unsigned  total;

    if (fb_load_conf_host(conf, NULL) != FB_OK) {
        return FB_ERROR;
    }

    if (conf->mode == FB_LOAD_MODE_GET && conf->get_path == NULL) {
        conf->get_path = strdup("/");
        if (conf->get_path == NULL) {
            fb_load_err(errno, "strdup() failed");
            return FB_ERROR;
        }
    }

    /*
     * A duration set with more authority than the request count replaces
     * it: "--scenario seed.conf --duration 30" runs for 30 s.  Set at the
     * same level, both apply and the first reached ends the run.
     */
    if (conf->duration > 0 && conf->requests_level < conf->duration_level) {
        conf->requests = 0;
    }

    if (conf->requests == 0 && conf->duration == 0) {
        fb_load_err(0, "nothing bounds the run: give --requests N or"
                    " --duration SECONDS");
        return FB_ERROR;
    }

    if (conf->threads > conf->connections) {
        fb_load_err(0, "--threads %d is more than --connections %d",
                    conf->threads, conf->connections);
        return FB_ERROR;
    }

    if (conf->mode == FB_LOAD_MODE_GET) {
        conf->setup = 0;
        conf->audit = 0;
        return FB_OK;
    }

    total = conf->mix[0] + conf->mix[1] + conf->mix[2] + conf->mix[3];
    if (total == 0) {
        fb_load_err(0, "--mix: all weights are 0");
        return FB_ERROR;
    }

    if (conf->mix[FB_LOAD_OP_TRANSFER] > 0 && conf->accounts < 2) {
        fb_load_err(0, "transfers need --accounts 2 or more");
        return FB_ERROR;
    }

    if (conf->amount_min > conf->amount_max) {
        fb_load_err(0, "--amount-min %lld is above --amount-max %lld",
                    (long long) conf->amount_min,
                    (long long) conf->amount_max);
        return FB_ERROR;
    }

    return FB_OK;
}


/*
 * Resolves conf->host into conf->addr.  fb-load only ever talks to this
 * machine: anything that is not a loopback address is refused here.
 */
static int
fb_load_conf_host(fb_load_conf_t *conf, const char *where)
{
    const char           *h;
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    h = conf->host;
    if (strcmp(h, "localhost") == 0) {
        h = "127.0.0.1";
    }

    memset(&conf->addr, 0, sizeof(conf->addr));
    sin = (struct sockaddr_in *) &conf->addr;
    sin6 = (struct sockaddr_in6 *) &conf->addr;

    if (inet_pton(AF_INET, h, &sin->sin_addr) == 1) {
        if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
            goto refused;
        }

        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t) conf->port);
        conf->addrlen = sizeof(*sin);
        snprintf(conf->host_header, sizeof(conf->host_header), "%s:%d",
                 h, conf->port);
        return FB_OK;
    }

    if (inet_pton(AF_INET6, h, &sin6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
            goto refused;
        }

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t) conf->port);
        conf->addrlen = sizeof(*sin6);
        snprintf(conf->host_header, sizeof(conf->host_header), "[%s]:%d",
                 h, conf->port);
        return FB_OK;
    }

refused:

    return fb_load_bad(where, "host", conf->host,
                       "fb-load only targets this machine's loopback"
                       " addresses (127.0.0.0/8, ::1, localhost)");
}


static int
fb_load_parse_int(const char *v, int64_t min, int64_t max, int64_t *out)
{
    char       *end;
    long long   n;
    int64_t     mul;

    if (v == NULL || !isdigit((unsigned char) v[0])) {
        return FB_ERROR;
    }

    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno != 0) {
        return FB_ERROR;
    }

    mul = 1;
    if (*end == 'k' || *end == 'K') {
        mul = 1000;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        mul = 1000000;
        end++;
    }

    if (*end != '\0' || n > max / mul) {
        return FB_ERROR;
    }

    n *= mul;

    if (n < min || n > max) {
        return FB_ERROR;
    }

    *out = n;

    return FB_OK;
}


static int
fb_load_parse_seconds(const char *v, double *out)
{
    char    *end;
    size_t   n;
    double   d;

    if (v == NULL || (!isdigit((unsigned char) v[0]) && v[0] != '.')) {
        return FB_ERROR;
    }

    /*
     * Digits and at most one point: strtod() would also read hexadecimal
     * ("0x10" is 16 seconds) and exponents, which nothing here documents.
     */
    n = strspn(v, "0123456789");
    if (v[n] == '.') {
        n += 1 + strspn(v + n + 1, "0123456789");
    }

    errno = 0;
    d = strtod(v, &end);
    if (end != v + n || errno != 0 || !isfinite(d) || d < 0 || d > 1e9) {
        return FB_ERROR;
    }

    if (strcmp(end, "ms") == 0) {
        d /= 1000;
    } else if (strcmp(end, "s") != 0 && *end != '\0') {
        return FB_ERROR;
    }

    *out = d;

    return FB_OK;
}


static int
fb_load_parse_bool(const char *v, int *out)
{
    if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0
        || strcmp(v, "1") == 0 || strcasecmp(v, "on") == 0)
    {
        *out = 1;
        return FB_OK;
    }

    if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0
        || strcmp(v, "0") == 0 || strcasecmp(v, "off") == 0)
    {
        *out = 0;
        return FB_OK;
    }

    return FB_ERROR;
}


static int
fb_load_parse_mix(const char *v, unsigned *mix)
{
    int            i;
    char          *end;
    unsigned long  w, total;

    total = 0;

    for (i = 0; i < 4; i++) {
        while (*v == ' ') {
            v++;
        }

        if (!isdigit((unsigned char) *v)) {
            return FB_ERROR;
        }

        errno = 0;
        w = strtoul(v, &end, 10);
        if (errno != 0 || w > 1000000) {
            return FB_ERROR;
        }

        while (*end == ' ') {
            end++;
        }

        if (i < 3 && *end != ',') {
            return FB_ERROR;
        }

        mix[i] = (unsigned) w;
        total += w;
        v = end + (i < 3);
    }

    if (*v != '\0' || total == 0) {
        return FB_ERROR;
    }

    return FB_OK;
}
