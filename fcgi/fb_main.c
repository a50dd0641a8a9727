/*
 * fb_main.c: start-up and shutdown of the fastbank backend.
 */

#include "fb_core.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "fb_conffile.h"
#include "fb_fcgx.h"
#include "fb_journal.h"
#include "fb_listen.h"
#include "fb_log.h"
#include "fb_options.h"
#include "fb_server.h"
#include "fb_store.h"


_Static_assert(FB_JLOG_ERR == FB_LOG_ERR && FB_JLOG_WARN == FB_LOG_WARN
               && FB_JLOG_INFO == FB_LOG_INFO,
               "the journal's log levels are fb_log's");


/*
 * Each kept nginx connection is a descriptor; nginx may open one per
 * request in flight.  Take the hard limit rather than the usual 1024.
 */
static void
fb_raise_nofile(void)
{
    struct rlimit  rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) {
        return;
    }

    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        fb_log(FB_LOG_WARN, errno, "setrlimit(RLIMIT_NOFILE) failed");
    }
}


/*
 * libfcgi mallocs and frees two 8 KiB stream buffers and its parameter
 * tables for every request, json-c the pieces of every parsed body.  With
 * glibc's defaults the heap's top is trimmed and grown again over and
 * over (sysmalloc), and each 8 KiB request first consolidates the
 * fastbins (malloc_consolidate): 14% of the backend's samples under the
 * seed mix.  A fixed trim threshold and top pad keep the heap; no
 * fastbins (tcache still serves small sizes) leave nothing to
 * consolidate.  Measured: 6-16% less backend CPU per request
 * (BENCHMARKS.md).
 */
static void
fb_tune_malloc(void)
{
    if (mallopt(M_MXFAST, 0) != 1
        || mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024) != 1
        || mallopt(M_TOP_PAD, 16 * 1024 * 1024) != 1)
    {
        fb_log(FB_LOG_WARN, 0, "mallopt() failed: glibc's defaults stay");
    }
}


int
main(int argc, char **argv)
{
    int                 rc = 1;
    fb_conf_t           conf;
    fb_conffile_t       cf;
    fb_store_t         *store = NULL;
    fb_listen_t         ls;
    fb_server_t        *srv = NULL;
    fb_journal_t       *journal = NULL;
    fb_store_conf_t     sconf;
    fb_server_conf_t    vconf;
    fb_journal_conf_t   jconf;

    /* The command line, then the configuration file; the flags win. */
    fb_conffile_init(&cf);

    switch (fb_conffile_options(&conf, &cf, argc, argv, stdout, stderr)) {
    case FB_OPTIONS_RUN:
        break;
    case FB_OPTIONS_EXIT:
        fb_conffile_free(&cf);
        return 0;
    default:
        fb_conffile_free(&cf);
        return 2;
    }

    fb_log_level = conf.log_level;
    ls.fd = -1;
    ls.created = 0;

    if (conf.check_dir != NULL) {
        rc = fb_journal_check(conf.check_dir, conf.repair, stdout);
        fb_conffile_free(&cf);
        return rc;
    }

    fb_raise_nofile();
    fb_tune_malloc();

    /* Before any thread exists, so that every thread inherits the mask. */
    if (fb_server_block_signals() != FB_OK || fb_fcgx_init() != FB_OK) {
        fb_conffile_free(&cf);
        return 1;
    }

    sconf.stripes = conf.stripes;
    sconf.max_accounts = conf.max_accounts;
    sconf.log = NULL;
    sconf.log_ctx = NULL;

    if (conf.fsync != FB_FSYNC_OFF) {
        jconf.dir = conf.data_dir;
        jconf.fsync = conf.fsync;
        jconf.interval_ms = conf.fsync_interval;
        jconf.delay_us = conf.fsync_delay;
        jconf.segment_bytes = 0;
        jconf.snapshot_records = conf.snapshot_records;
        jconf.log = fb_log;

        journal = fb_journal_new(&jconf);
        if (journal == NULL) {
            goto done;
        }

        sconf.log = fb_journal_log;
        sconf.log_ctx = journal;
    }

    store = fb_store_new(&sconf);
    if (store == NULL) {
        fb_log(FB_LOG_ERR, errno, "fb_store_new() failed (--stripes %zu, "
               "--max-accounts %llu)", conf.stripes,
               (unsigned long long) conf.max_accounts);
        goto done;
    }

    if (journal != NULL
        && (fb_journal_recover(journal, store, NULL) != FB_OK
            || fb_journal_start(journal, store) != FB_OK))
    {
        goto done;
    }

    if (fb_listen_open(&ls, conf.listen, conf.socket_mode, conf.backlog)
        != FB_OK)
    {
        goto done;
    }

    vconf.threads = fb_conf_threads(&conf);
    vconf.events = FB_EVENTS_DEFAULT;
    vconf.max_body = conf.max_body;
    vconf.journal = journal;
    vconf.cpu_scheduling = conf.cpu_scheduling;

    srv = fb_server_new(&vconf, &ls, store);
    if (srv == NULL) {
        goto done;
    }

    fb_log(FB_LOG_INFO, 0, "fastbank %s listening on %s, --fsync %s%s%s",
           PACKAGE_VERSION, conf.listen,
           conf.fsync == FB_FSYNC_ALWAYS ? "always"
           : conf.fsync == FB_FSYNC_BATCH ? "batch" : "off (memory only)",
           journal != NULL ? ", data in " : "",
           journal != NULL ? conf.data_dir : "");

    rc = fb_server_run(srv) == FB_OK ? 0 : 1;

    fb_log(FB_LOG_INFO, 0, "stopped");

done:

    /* The workers are gone: make everything durable, with a snapshot so
     * that the next start has little to replay. */
    if (journal != NULL) {
        fb_journal_stop(journal, rc == 0);
    }

    fb_server_free(srv);
    fb_listen_close(&ls);
    fb_journal_free(journal);
    if (store != NULL) {
        fb_store_free(store);
    }
    fb_conffile_free(&cf);

    return rc;
}
