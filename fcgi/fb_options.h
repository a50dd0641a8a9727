/*
 * fb_options.h: the command line.  Every option is checked at start-up,
 * and a bad value stops the process with a message that names the option.
 */

#ifndef FB_OPTIONS_H_INCLUDED
#define FB_OPTIONS_H_INCLUDED

#include "fb_core.h"

#include <sched.h>
#include <stdio.h>

#include "fb_journal.h"

#define FB_DEFAULT_LISTEN    "unix:/run/fastbank/fastbank.sock"
/* 0: one worker (an event loop) per online CPU.  Workers never wait for
 * the journal (fcgi/fb_server.c), so more would only add switches. */
#define FB_DEFAULT_THREADS   0
#define FB_DEFAULT_DATA_DIR  "/var/lib/fastbank"
/* The workers' scheduling policy (fcgi/fb_server.c, fb_worker_main). */
#define FB_DEFAULT_CPU_SCHEDULING  SCHED_BATCH
#define FB_MAX_FSYNC_INTERVAL  10000
#define FB_MAX_FSYNC_DELAY     100000
#define FB_MAX_THREADS       1024
#define FB_DEFAULT_BACKLOG   1024
#define FB_DEFAULT_MAX_BODY  4096
#define FB_MAX_MAX_BODY      (1024 * 1024)

/* Set by the build from $(sysconfdir); read only if it exists. */
#ifndef FB_DEFAULT_CONFIG
#define FB_DEFAULT_CONFIG    "/etc/fastbank/fastbank.conf"
#endif

typedef struct {
    const char  *listen;
    unsigned     socket_mode;
    int          threads;
    int          backlog;
    size_t       max_body;
    uint64_t     max_accounts;
    size_t       stripes;
    int          log_level;
    const char  *config;        /* the configuration file (fb_conffile.h) */
    unsigned     config_given:1;  /* named by --config: it must exist */
    const char  *data_dir;
    fb_fsync_e   fsync;
    unsigned     fsync_interval;      /* ms, batch */
    unsigned     fsync_delay;         /* us, always */
    uint64_t     snapshot_records;
    const char  *check_dir;           /* --check: report and exit */
    unsigned     repair:1;
    unsigned     threads_set:1;       /* --threads given */
    int          cpu_scheduling;      /* the workers': SCHED_BATCH or
                                         SCHED_OTHER */
} fb_conf_t;

typedef enum {
    FB_OPTIONS_RUN = 0,    /* start the service */
    FB_OPTIONS_EXIT,       /* --help or --version printed: exit 0 */
    FB_OPTIONS_ERROR       /* the reason went to err: exit 2 */
} fb_options_rc_e;

void fb_conf_default(fb_conf_t *c);

/* The worker threads to run: --threads, or the policy's default. */
int fb_conf_threads(const fb_conf_t *c);

fb_options_rc_e fb_options_parse(fb_conf_t *c, int argc, char **argv,
    FILE *out, FILE *err);

void fb_options_usage(FILE *out);

typedef enum {
    FB_OPTIONS_KEY_NONE = 0,   /* no such long option */
    FB_OPTIONS_KEY_VALUE,      /* a long option that takes a value */
    FB_OPTIONS_KEY_CMDLINE     /* --config, --help, --version: flags only */
} fb_options_key_e;

/* What the long option named exactly name (without "--") is. */
fb_options_key_e fb_options_key(const char *name, size_t len);

#endif /* FB_OPTIONS_H_INCLUDED */
