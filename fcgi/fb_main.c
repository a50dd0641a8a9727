/*
 * fb_main.c: start-up and shutdown of the fastbank backend.
 */

#include "fb_core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "fb_conffile.h"
#include "fb_fcgx.h"
#include "fb_listen.h"
#include "fb_log.h"
#include "fb_options.h"
#include "fb_server.h"
#include "fb_store.h"


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


int
main(int argc, char **argv)
{
    int               rc = 1;
    fb_conf_t         conf;
    fb_conffile_t     cf;
    fb_store_t       *store = NULL;
    fb_listen_t       ls;
    fb_server_t      *srv = NULL;
    fb_store_conf_t   sconf;
    fb_server_conf_t  vconf;

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

    fb_raise_nofile();

    /* Before any thread exists, so that every thread inherits the mask. */
    if (fb_server_block_signals() != FB_OK || fb_fcgx_init() != FB_OK) {
        fb_conffile_free(&cf);
        return 1;
    }

    sconf.stripes = conf.stripes;
    sconf.max_accounts = conf.max_accounts;
    sconf.log = NULL;
    sconf.log_ctx = NULL;

    store = fb_store_new(&sconf);
    if (store == NULL) {
        fb_log(FB_LOG_ERR, errno, "fb_store_new() failed (--stripes %zu, "
               "--max-accounts %llu)", conf.stripes,
               (unsigned long long) conf.max_accounts);
        goto done;
    }

    if (fb_listen_open(&ls, conf.listen, conf.socket_mode, conf.backlog)
        != FB_OK)
    {
        goto done;
    }

    vconf.threads = conf.threads;
    vconf.events = FB_EVENTS_DEFAULT;
    vconf.max_body = conf.max_body;

    srv = fb_server_new(&vconf, &ls, store);
    if (srv == NULL) {
        goto done;
    }

    fb_log(FB_LOG_INFO, 0, "fastbank %s listening on %s", PACKAGE_VERSION,
           conf.listen);

    rc = fb_server_run(srv) == FB_OK ? 0 : 1;

    fb_log(FB_LOG_INFO, 0, "stopped");

done:

    fb_server_free(srv);
    fb_listen_close(&ls);
    if (store != NULL) {
        fb_store_free(store);
    }
    fb_conffile_free(&cf);

    return rc;
}
