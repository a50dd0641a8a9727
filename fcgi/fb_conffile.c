/*
 * fb_conffile.c: reading the configuration file.  Every value goes through
 * fb_options_parse(), the command line's own checks; this file only splits
 * lines into keys and values.
 */

#include "fb_core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fb_conffile.h"

static int fb_conffile_line(fb_conf_t *c, fb_conffile_t *cf,
    const char *name, unsigned line, const char *s, size_t n, FILE *err);
static int fb_conffile_apply(fb_conf_t *c, fb_conffile_t *cf,
    const char *name, unsigned line, const char *key, size_t klen,
    const char *value, size_t vlen, FILE *err);


void
fb_conffile_init(fb_conffile_t *cf)
{
    cf->args = NULL;
    cf->lines = NULL;
    cf->nargs = 0;
    cf->cap = 0;
}


void
fb_conffile_free(fb_conffile_t *cf)
{
    size_t  i;

    for (i = 0; i < cf->nargs; i++) {
        free(cf->args[i]);
    }
    free(cf->args);
    free(cf->lines);
    fb_conffile_init(cf);
}


fb_options_rc_e
fb_conffile_options(fb_conf_t *c, fb_conffile_t *cf, int argc, char **argv,
    FILE *out, FILE *err)
{
    fb_options_rc_e  rc;

    fb_conf_default(c);

    /* First for --config (and to refuse a bad command line at once). */
    rc = fb_options_parse(c, argc, argv, out, err);
    if (rc != FB_OPTIONS_RUN) {
        return rc;
    }

    /* --check DIR uses nothing the file can set: a bad line in the
     * installed file must not keep an operator from checking the data. */
    if (c->check_dir != NULL) {
        return FB_OPTIONS_RUN;
    }

    if (fb_conffile_load(c, cf, err) != FB_OK) {
        return FB_OPTIONS_ERROR;
    }

    /* Again, so that what the command line says wins over the file. */
    return fb_options_parse(c, argc, argv, out, err);
}


int
fb_conffile_load(fb_conf_t *c, fb_conffile_t *cf, FILE *err)
{
    int      rc;
    char    *text, *p;
    FILE    *f;
    size_t   len, cap, n;

    f = fopen(c->config, "re");
    if (f == NULL) {
        if (errno == ENOENT && !c->config_given) {
            return FB_OK;
        }
        fprintf(err, "fastbank: configuration file \"%s\": %s\n", c->config,
                strerror(errno));
        return FB_ERROR;
    }

    text = NULL;
    len = 0;
    cap = 0;

    for ( ;; ) {
        if (len == cap) {
            if (cap > FB_CONFFILE_MAX_SIZE) {
                fprintf(err, "fastbank: configuration file \"%s\": larger "
                        "than %d bytes\n", c->config, FB_CONFFILE_MAX_SIZE);
                goto failed;
            }
            cap = cap == 0 ? 4096 : cap * 2;
            p = realloc(text, cap);
            if (p == NULL) {
                fprintf(err, "fastbank: configuration file \"%s\": out of "
                        "memory\n", c->config);
                goto failed;
            }
            text = p;
        }

        n = fread(text + len, 1, cap - len, f);
        len += n;

        if (n == 0) {
            break;
        }
    }

    if (ferror(f)) {
        /* fread() sets errno: EISDIR for a directory, EIO, ... */
        fprintf(err, "fastbank: configuration file \"%s\": read failed: %s\n",
                c->config, strerror(errno));
        goto failed;
    }

    fclose(f);

    rc = fb_conffile_parse(c, cf, c->config, text, len, err);
    free(text);
    return rc;

failed:

    fclose(f);
    free(text);
    return FB_ERROR;
}


int
fb_conffile_parse(fb_conf_t *c, fb_conffile_t *cf, const char *name,
    const char *text, size_t len, FILE *err)
{
    size_t       start, end;
    unsigned     line;
    const char  *nl;

    if (len > FB_CONFFILE_MAX_SIZE) {
        fprintf(err, "fastbank: %s: larger than %d bytes\n", name,
                FB_CONFFILE_MAX_SIZE);
        return FB_ERROR;
    }

    line = 1;

    for (start = 0; start < len; start = end + 1, line++) {
        nl = memchr(text + start, '\n', len - start);
        end = nl != NULL ? (size_t) (nl - text) : len;

        if (fb_conffile_line(c, cf, name, line, text + start, end - start,
                             err)
            != FB_OK)
        {
            return FB_ERROR;
        }
    }

    return FB_OK;
}


#define fb_conf_space(ch)  ((ch) == ' ' || (ch) == '\t' || (ch) == '\r')
#define fb_conf_keych(ch)                                                  \
    (((ch) >= 'a' && (ch) <= 'z') || ((ch) >= '0' && (ch) <= '9')          \
     || (ch) == '-')


static int
fb_conffile_line(fb_conf_t *c, fb_conffile_t *cf, const char *name,
    unsigned line, const char *s, size_t n, FILE *err)
{
    size_t       i, klen;
    const char  *key;

    if (n > FB_CONFFILE_MAX_LINE) {
        fprintf(err, "fastbank: %s:%u: longer than %d bytes\n", name, line,
                FB_CONFFILE_MAX_LINE);
        return FB_ERROR;
    }

    if (memchr(s, '\0', n) != NULL) {
        fprintf(err, "fastbank: %s:%u: a NUL byte\n", name, line);
        return FB_ERROR;
    }

    /* A '#' at the start, or after white space, begins a comment. */
    for (i = 0; i < n; i++) {
        if (s[i] == '#' && (i == 0 || fb_conf_space(s[i - 1]))) {
            n = i;
            break;
        }
    }

    while (n > 0 && fb_conf_space(s[n - 1])) {
        n--;
    }
    while (n > 0 && fb_conf_space(*s)) {
        s++;
        n--;
    }

    if (n == 0) {
        return FB_OK;
    }

    key = s;
    for (i = 0; i < n && fb_conf_keych(s[i]); i++) {
        /* void */
    }
    klen = i;

    while (i < n && fb_conf_space(s[i])) {
        i++;
    }

    if (klen == 0 || i == n || s[i] != '=') {
        fprintf(err, "fastbank: %s:%u: expected \"key = value\" (keys are "
                "the long options in lower case, without \"--\")\n",
                name, line);
        return FB_ERROR;
    }

    for (i++; i < n && fb_conf_space(s[i]); i++) {
        /* void */
    }

    if (i == n) {
        fprintf(err, "fastbank: %s:%u: \"%.*s\" has no value\n", name, line,
                (int) klen, key);
        return FB_ERROR;
    }

    return fb_conffile_apply(c, cf, name, line, key, klen, s + i, n - i, err);
}


/* Checks the key, then runs "--key=value" through fb_options_parse(). */
static int
fb_conffile_apply(fb_conf_t *c, fb_conffile_t *cf, const char *name,
    unsigned line, const char *key, size_t klen, const char *value,
    size_t vlen, FILE *err)
{
    char             *arg, *msg, *text, **args, *argv[3];
    FILE             *mf;
    size_t            i, msize, cap;
    unsigned         *lines;
    fb_options_rc_e   rc;

    switch (fb_options_key(key, klen)) {
    case FB_OPTIONS_KEY_VALUE:
        break;
    case FB_OPTIONS_KEY_CMDLINE:
        fprintf(err, "fastbank: %s:%u: \"%.*s\" is a command-line option "
                "only\n", name, line, (int) klen, key);
        return FB_ERROR;
    default:
        fprintf(err, "fastbank: %s:%u: unknown key \"%.*s\" (see fastbank "
                "--help)\n", name, line, (int) klen, key);
        return FB_ERROR;
    }

    for (i = 0; i < cf->nargs; i++) {
        if (strncmp(cf->args[i] + 2, key, klen) == 0
            && cf->args[i][2 + klen] == '=')
        {
            fprintf(err, "fastbank: %s:%u: \"%.*s\" is already set on line "
                    "%u\n", name, line, (int) klen, key, cf->lines[i]);
            return FB_ERROR;
        }
    }

    if (cf->nargs == cf->cap) {
        cap = cf->cap == 0 ? 16 : cf->cap * 2;
        args = realloc(cf->args, cap * sizeof(char *));
        if (args == NULL) {
            goto nomem;
        }
        cf->args = args;
        lines = realloc(cf->lines, cap * sizeof(unsigned));
        if (lines == NULL) {
            goto nomem;
        }
        cf->lines = lines;
        cf->cap = cap;
    }

    /* The fb_conf_t keeps pointers into arg: it lives as long as cf. */
    arg = malloc(2 + klen + 1 + vlen + 1);
    if (arg == NULL) {
        goto nomem;
    }
    memcpy(arg, "--", 2);
    memcpy(arg + 2, key, klen);
    arg[2 + klen] = '=';
    memcpy(arg + 3 + klen, value, vlen);
    arg[3 + klen + vlen] = '\0';

    cf->args[cf->nargs] = arg;
    cf->lines[cf->nargs] = line;
    cf->nargs++;

    msg = NULL;
    msize = 0;
    mf = open_memstream(&msg, &msize);
    if (mf == NULL) {
        goto nomem;
    }

    argv[0] = (char *) "fastbank";
    argv[1] = arg;
    argv[2] = NULL;

    rc = fb_options_parse(c, 2, argv, mf, mf);

    if (fclose(mf) != 0) {
        free(msg);
        goto nomem;
    }

    if (rc != FB_OPTIONS_RUN) {
        /* "fastbank: --threads "0": expected 1 to 1024" */
        text = msg;
        if (strncmp(text, "fastbank: ", 10) == 0) {
            text += 10;
        }
        fprintf(err, "fastbank: %s:%u: %s%s", name, line, text,
                msize > 0 && msg[msize - 1] == '\n' ? "" : "\n");
        free(msg);
        return FB_ERROR;
    }

    free(msg);
    return FB_OK;

nomem:

    fprintf(err, "fastbank: %s:%u: out of memory\n", name, line);
    return FB_ERROR;
}
