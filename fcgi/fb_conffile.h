/*
 * fb_conffile.h: the configuration file, /etc/fastbank/fastbank.conf.
 *
 *     # a comment
 *     threads = 16
 *     listen = fd:0          # a comment after white space
 *
 * One "key = value" per line; the keys are the long options without "--".
 * Each line goes through fb_options_parse() as "--key=value", so a value is
 * checked exactly as on the command line; the command line wins over the
 * file.  An unknown key, a key given twice, a command-line-only option
 * (config, help, version) or a bad value stops start-up with a message
 * naming the file and the line.
 */

#ifndef FB_CONFFILE_H_INCLUDED
#define FB_CONFFILE_H_INCLUDED

#include "fb_core.h"

#include <stdio.h>

#include "fb_options.h"

#define FB_CONFFILE_MAX_LINE  4096
#define FB_CONFFILE_MAX_SIZE  (1024 * 1024)

/* The "--key=value" strings the fb_conf_t points into, one per line. */
typedef struct {
    char      **args;
    unsigned   *lines;     /* the line each of args came from */
    size_t      nargs;
    size_t      cap;
} fb_conffile_t;

void fb_conffile_init(fb_conffile_t *cf);
void fb_conffile_free(fb_conffile_t *cf);

/*
 * The whole start-up configuration: defaults, the command line, the file
 * it names (or FB_DEFAULT_CONFIG if that exists), then the command line
 * again so that it wins.  With --check no file is read.  Messages go to
 * err; --help and --version to out.
 */
fb_options_rc_e fb_conffile_options(fb_conf_t *c, fb_conffile_t *cf,
    int argc, char **argv, FILE *out, FILE *err);

/*
 * Reads c->config.  A missing file is FB_OK unless c->config_given.
 * FB_OK, or FB_ERROR with the reason written to err.
 */
int fb_conffile_load(fb_conf_t *c, fb_conffile_t *cf, FILE *err);

/*
 * Parses len bytes of configuration text named name (for messages) into
 * c, keeping the strings c points to in cf.  FB_OK or FB_ERROR.
 */
int fb_conffile_parse(fb_conf_t *c, fb_conffile_t *cf, const char *name,
    const char *text, size_t len, FILE *err);

#endif /* FB_CONFFILE_H_INCLUDED */
