/*
 * fb_expo.c: a strict parser of Prometheus text exposition 0.0.4, for the
 * tests (see fb_expo.h).  It accepts only what the format allows and
 * reports, rather than forgives, everything else.
 */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fb_expo.h"

#define FB_EXPO_MAX_LABELS  16

typedef struct {
    const char  *name;
    size_t       name_len;
    const char  *value;       /* as written, escapes included */
    size_t       value_len;
} fb_expo_pair_t;

static void fb_expo_error(fb_expo_t *e, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));


static void
fb_expo_error(fb_expo_t *e, size_t line, const char *fmt, ...)
{
    size_t   used = strlen(e->err);
    va_list  ap;

    e->errors++;

    if (used + 2 >= sizeof(e->err)) {
        return;
    }

    if (line > 0) {
        used += (size_t) snprintf(e->err + used, sizeof(e->err) - used,
                                  "line %zu: ", line);
    }

    if (used + 2 >= sizeof(e->err)) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(e->err + used, sizeof(e->err) - used - 1, fmt, ap);
    va_end(ap);

    used = strlen(e->err);
    e->err[used] = '\n';
    e->err[used + 1] = '\0';
}


static int
fb_expo_name_start(int c, int colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
           || (colon && c == ':');
}


static int
fb_expo_name_char(int c, int colon)
{
    return fb_expo_name_start(c, colon) || (c >= '0' && c <= '9');
}


/* A metric (colon) or label name at p; its length, 0 if none. */
static size_t
fb_expo_name(const char *p, const char *end, int colon)
{
    const char  *q = p;

    if (q == end || !fb_expo_name_start((unsigned char) *q, colon)) {
        return 0;
    }

    while (q < end && fb_expo_name_char((unsigned char) *q, colon)) {
        q++;
    }

    return (size_t) (q - p);
}


static char *
fb_expo_strndup(const char *p, size_t n)
{
    char  *s = malloc(n + 1);

    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = '\0';
    }

    return s;
}


static int
fb_expo_pair_cmp(const void *a, const void *b)
{
    const fb_expo_pair_t  *x = a, *y = b;
    size_t                 n = x->name_len < y->name_len
                               ? x->name_len : y->name_len;
    int                    c = memcmp(x->name, y->name, n);

    if (c != 0) {
        return c;
    }

    return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}


/*
 * Parses the label pairs from p (just past '{') up to and including '}'.
 * Returns the end, or NULL with why set.
 */
static const char *
fb_expo_labels(const char *p, const char *end, fb_expo_pair_t *pairs,
    size_t *npairs, const char **why)
{
    size_t  n = 0, len;

    if (p < end && *p == '}') {
        *npairs = 0;
        return p + 1;
    }

    for ( ;; ) {
        if (n == FB_EXPO_MAX_LABELS) {
            *why = "too many labels";
            return NULL;
        }

        len = fb_expo_name(p, end, 0);
        if (len == 0) {
            *why = "bad label name";
            return NULL;
        }

        pairs[n].name = p;
        pairs[n].name_len = len;
        p += len;

        if (end - p < 2 || p[0] != '=' || p[1] != '"') {
            *why = "label name not followed by =\"";
            return NULL;
        }

        p += 2;
        pairs[n].value = p;

        while (p < end && *p != '"') {
            if (*p == '\\') {
                if (p + 1 == end
                    || (p[1] != '\\' && p[1] != '"' && p[1] != 'n'))
                {
                    *why = "bad escape in a label value";
                    return NULL;
                }
                p++;
            }
            p++;
        }

        if (p == end) {
            *why = "unterminated label value";
            return NULL;
        }

        pairs[n].value_len = (size_t) (p - pairs[n].value);
        p++;
        n++;

        if (p < end && *p == ',') {
            p++;
            continue;
        }

        if (p < end && *p == '}') {
            *npairs = n;
            return p + 1;
        }

        *why = "expected , or } after a label";
        return NULL;
    }
}


/* Sorted k="v" pairs without le, joined by ','; sets *le.  NULL: no mem. */
static char *
fb_expo_canon(fb_expo_pair_t *pairs, size_t n, char **le, int *dup)
{
    char    *s, *q;
    size_t   i, len = 1;

    *le = NULL;
    *dup = 0;

    qsort(pairs, n, sizeof(fb_expo_pair_t), fb_expo_pair_cmp);

    for (i = 0; i < n; i++) {
        len += pairs[i].name_len + pairs[i].value_len + 4;
        if (i > 0 && fb_expo_pair_cmp(&pairs[i - 1], &pairs[i]) == 0) {
            *dup = 1;
        }
    }

    s = malloc(len);
    if (s == NULL) {
        return NULL;
    }

    q = s;
    for (i = 0; i < n; i++) {
        if (pairs[i].name_len == 2 && memcmp(pairs[i].name, "le", 2) == 0) {
            free(*le);
            *le = fb_expo_strndup(pairs[i].value, pairs[i].value_len);
            if (*le == NULL) {
                free(s);
                return NULL;
            }
            continue;
        }

        if (q != s) {
            *q++ = ',';
        }
        memcpy(q, pairs[i].name, pairs[i].name_len);
        q += pairs[i].name_len;
        *q++ = '=';
        *q++ = '"';
        memcpy(q, pairs[i].value, pairs[i].value_len);
        q += pairs[i].value_len;
        *q++ = '"';
    }

    *q = '\0';
    return s;
}


/* A sample value: a Go float, written in full; no timestamp follows. */
static int
fb_expo_value(const char *p, const char *end, double *v)
{
    char    buf[64], *stop;
    size_t  n = (size_t) (end - p);

    if (n == 0 || n >= sizeof(buf)) {
        return -1;
    }

    memcpy(buf, p, n);
    buf[n] = '\0';

    if (strcmp(buf, "+Inf") == 0) {
        *v = HUGE_VAL;
        return 0;
    }
    if (strcmp(buf, "-Inf") == 0) {
        *v = -HUGE_VAL;
        return 0;
    }
    if (strcmp(buf, "NaN") == 0) {
        *v = NAN;
        return 0;
    }

    /* strtod() would take "inf", "0x10" or " 1": Go's parser would not. */
    if (strspn(buf, "0123456789+-.eE") != n) {
        return -1;
    }

    *v = strtod(buf, &stop);
    return *stop == '\0' ? 0 : -1;
}


static fb_expo_family_t *
fb_expo_find_family(fb_expo_t *e, const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < e->nf; i++) {
        if (strlen(e->f[i].name) == len
            && memcmp(e->f[i].name, name, len) == 0)
        {
            return &e->f[i];
        }
    }

    return NULL;
}


static fb_expo_family_t *
fb_expo_new_family(fb_expo_t *e, const char *name, size_t len)
{
    fb_expo_family_t  *f;

    if (e->nf == e->capf) {
        f = realloc(e->f, (e->capf * 2 + 16) * sizeof(*f));
        if (f == NULL) {
            return NULL;
        }
        e->f = f;
        e->capf = e->capf * 2 + 16;
    }

    f = &e->f[e->nf];
    memset(f, 0, sizeof(*f));
    f->name = fb_expo_strndup(name, len);
    if (f->name == NULL) {
        return NULL;
    }

    e->nf++;
    return f;
}


/* "# HELP name text" or "# TYPE name type"; other comments are allowed. */
static int
fb_expo_comment(fb_expo_t *e, size_t ln, const char *p, const char *end)
{
    int                help;
    size_t             len;
    const char        *name, *rest;
    fb_expo_family_t  *f;

    if (end - p >= 7 && memcmp(p, "# HELP ", 7) == 0) {
        help = 1;
    } else if (end - p >= 7 && memcmp(p, "# TYPE ", 7) == 0) {
        help = 0;
    } else {
        return 0;
    }

    name = p + 7;
    len = fb_expo_name(name, end, 1);
    if (len == 0 || name + len == end || name[len] != ' ') {
        fb_expo_error(e, ln, "HELP or TYPE without a name and text");
        return 0;
    }
    rest = name + len + 1;

    f = fb_expo_find_family(e, name, len);
    if (f != NULL && f != &e->f[e->nf - 1]) {
        fb_expo_error(e, ln, "%.*s: lines apart from the rest of its metric",
                      (int) len, name);
    }

    if (f == NULL) {
        f = fb_expo_new_family(e, name, len);
        if (f == NULL) {
            return -1;
        }
    }

    if (help) {
        if (f->helps++ > 0) {
            fb_expo_error(e, ln, "%s: a second HELP", f->name);
        }

        /* HELP escapes only backslash and newline. */
        for (p = rest; p < end; p++) {
            if (*p == '\\'
                && (p + 1 == end || (p[1] != '\\' && p[1] != 'n')))
            {
                fb_expo_error(e, ln, "%s: bad escape in HELP", f->name);
                break;
            }
            p += *p == '\\';
        }

        return 0;
    }

    if (f->types++ > 0) {
        fb_expo_error(e, ln, "%s: a second TYPE", f->name);
    }
    if (f->samples > 0) {
        fb_expo_error(e, ln, "%s: TYPE after its samples", f->name);
    }

    len = (size_t) (end - rest);
    if (len >= sizeof(f->type)) {
        fb_expo_error(e, ln, "%s: unknown type", f->name);
        return 0;
    }

    memcpy(f->type, rest, len);
    f->type[len] = '\0';

    if (strcmp(f->type, "counter") != 0 && strcmp(f->type, "gauge") != 0
        && strcmp(f->type, "histogram") != 0
        && strcmp(f->type, "summary") != 0
        && strcmp(f->type, "untyped") != 0)
    {
        fb_expo_error(e, ln, "%s: unknown type %s", f->name, f->type);
        f->type[0] = '\0';
    }

    return 0;
}


/* The family sample name belongs to: the open one, or none (error). */
static fb_expo_family_t *
fb_expo_owner(fb_expo_t *e, const char *name)
{
    size_t             n, k;
    fb_expo_family_t  *f;

    if (e->nf == 0) {
        return NULL;
    }

    f = &e->f[e->nf - 1];
    n = strlen(f->name);

    if (strcmp(name, f->name) == 0 && strcmp(f->type, "histogram") != 0) {
        return f;
    }

    if (strcmp(f->type, "histogram") == 0 && strncmp(name, f->name, n) == 0) {
        static const char  *suffix[] = { "_bucket", "_sum", "_count" };

        for (k = 0; k < 3; k++) {
            if (strcmp(name + n, suffix[k]) == 0) {
                return f;
            }
        }
    }

    return NULL;
}


static int
fb_expo_sample(fb_expo_t *e, size_t ln, const char *p, const char *end)
{
    int                dup;
    char              *name, *labels, *le;
    size_t             len, npairs = 0;
    double             v;
    const char        *why = NULL;
    fb_expo_pair_t     pairs[FB_EXPO_MAX_LABELS];
    fb_expo_sample_t  *s;
    fb_expo_family_t  *f;

    len = fb_expo_name(p, end, 1);
    if (len == 0) {
        fb_expo_error(e, ln, "not a sample: %.*s", (int) (end - p), p);
        return 0;
    }

    name = fb_expo_strndup(p, len);
    if (name == NULL) {
        return -1;
    }
    p += len;

    if (p < end && *p == '{') {
        p = fb_expo_labels(p + 1, end, pairs, &npairs, &why);
        if (p == NULL) {
            fb_expo_error(e, ln, "%s: %s", name, why);
            free(name);
            return 0;
        }
    }

    if (p == end || *p != ' ' || fb_expo_value(p + 1, end, &v) != 0) {
        fb_expo_error(e, ln, "%s: bad value or text after it", name);
        free(name);
        return 0;
    }

    labels = fb_expo_canon(pairs, npairs, &le, &dup);
    if (labels == NULL) {
        free(name);
        return -1;
    }

    if (dup) {
        fb_expo_error(e, ln, "%s: a label twice", name);
    }

    f = fb_expo_owner(e, name);
    if (f == NULL) {
        fb_expo_error(e, ln, "%s: no TYPE before it, or apart from its "
                      "metric's other lines", name);
    } else {
        f->samples++;
    }

    if (e->n == e->cap) {
        s = realloc(e->s, (e->cap * 2 + 64) * sizeof(*s));
        if (s == NULL) {
            free(name);
            free(labels);
            free(le);
            return -1;
        }
        e->s = s;
        e->cap = e->cap * 2 + 64;
    }

    s = &e->s[e->n++];
    s->name = name;
    s->labels = labels;
    s->le = le;
    s->value = v;
    s->family = f != NULL ? (size_t) (f - e->f) : (size_t) -1;
    s->raw = fb_expo_strndup(p + 1, (size_t) (end - p - 1));

    return s->raw != NULL ? 0 : -1;
}


static int
fb_expo_same_series(const fb_expo_sample_t *a, const fb_expo_sample_t *b)
{
    return strcmp(a->name, b->name) == 0
           && strcmp(a->labels, b->labels) == 0
           && ((a->le == NULL && b->le == NULL)
               || (a->le != NULL && b->le != NULL
                   && strcmp(a->le, b->le) == 0));
}


/* One histogram series: the samples of family f whose labels are these. */
static void
fb_expo_histogram_series(fb_expo_t *e, const fb_expo_family_t *f,
    size_t fi, const char *labels)
{
    char                     name[256];
    size_t                   i, nb = 0;
    double                   prev_le = -HUGE_VAL, le, prev = 0;
    const fb_expo_sample_t  *s, *last = NULL, *sum, *count;

    snprintf(name, sizeof(name), "%s_bucket", f->name);

    for (i = 0; i < e->n; i++) {
        s = &e->s[i];
        if (s->family != fi || strcmp(s->name, name) != 0
            || strcmp(s->labels, labels) != 0)
        {
            continue;
        }

        if (s->le == NULL) {
            fb_expo_error(e, 0, "%s{%s}: a bucket without le", name, labels);
            continue;
        }

        if (fb_expo_value(s->le, s->le + strlen(s->le), &le) != 0) {
            fb_expo_error(e, 0, "%s{%s}: le=\"%s\" is not a number", name,
                          labels, s->le);
            continue;
        }

        if (!(le > prev_le)) {
            fb_expo_error(e, 0, "%s{%s}: le=\"%s\" not above the one before",
                          name, labels, s->le);
        }
        if (s->value < prev) {
            fb_expo_error(e, 0, "%s{%s}: le=\"%s\" holds %s, less than the "
                          "bucket before (not cumulative)", name, labels,
                          s->le, s->raw);
        }

        prev_le = le;
        prev = s->value;
        last = s;
        nb++;
    }

    if (nb == 0 || strcmp(last->le, "+Inf") != 0) {
        fb_expo_error(e, 0, "%s{%s}: no le=\"+Inf\" bucket last", name,
                      labels);
        return;
    }

    snprintf(name, sizeof(name), "%s_sum", f->name);
    sum = fb_expo_get(e, name, labels, NULL);
    snprintf(name, sizeof(name), "%s_count", f->name);
    count = fb_expo_get(e, name, labels, NULL);

    if (sum == NULL || count == NULL) {
        fb_expo_error(e, 0, "%s{%s}: no _sum or no _count", f->name, labels);
        return;
    }

    if (count->value != last->value) {
        fb_expo_error(e, 0, "%s{%s}: _count %s but le=\"+Inf\" %s", f->name,
                      labels, count->raw, last->raw);
    }
}


/* The checks that need the whole text. */
static void
fb_expo_check(fb_expo_t *e)
{
    size_t                   i, j, n;
    const fb_expo_sample_t  *s;
    const fb_expo_family_t  *f;

    for (i = 0; i < e->n; i++) {
        s = &e->s[i];

        for (j = 0; j < i; j++) {
            if (fb_expo_same_series(&e->s[j], s)) {
                fb_expo_error(e, 0, "%s{%s}: twice", s->name, s->labels);
                break;
            }
        }

        if (s->family == (size_t) -1) {
            continue;
        }

        f = &e->f[s->family];
        n = strlen(f->name);

        if (s->le != NULL && (strcmp(f->type, "histogram") != 0
                              || strcmp(s->name + n, "_bucket") != 0))
        {
            fb_expo_error(e, 0, "%s: le on a sample that is not a bucket",
                          s->name);
        }

        if (strcmp(f->type, "counter") == 0 && !(s->value >= 0)) {
            fb_expo_error(e, 0, "%s: a counter below zero", s->name);
        }

        /* The first line of each histogram series checks the series. */
        if (strcmp(f->type, "histogram") == 0) {
            for (j = 0; j < i; j++) {
                if (e->s[j].family == s->family
                    && strcmp(e->s[j].labels, s->labels) == 0)
                {
                    break;
                }
            }
            if (j == i) {
                fb_expo_histogram_series(e, f, s->family, s->labels);
            }
        }
    }

    for (i = 0; i < e->nf; i++) {
        if (e->f[i].types == 0) {
            fb_expo_error(e, 0, "%s: no TYPE", e->f[i].name);
        }
        if (e->f[i].helps == 0) {
            fb_expo_error(e, 0, "%s: no HELP", e->f[i].name);
        }
    }
}


int
fb_expo_parse(fb_expo_t *e, const char *text, size_t len)
{
    size_t       ln = 0;
    const char  *p = text, *end = text + len, *nl;

    memset(e, 0, sizeof(*e));

    if (len == 0 || text[len - 1] != '\n') {
        fb_expo_error(e, 0, "the text does not end with a newline");
    }

    while (p < end) {
        ln++;
        nl = memchr(p, '\n', (size_t) (end - p));
        if (nl == NULL) {
            nl = end;
        }

        if (memchr(p, '\0', (size_t) (nl - p)) != NULL
            || memchr(p, '\r', (size_t) (nl - p)) != NULL)
        {
            fb_expo_error(e, ln, "a NUL or CR");
        } else if (nl == p) {
            /* Empty lines are allowed. */
        } else if (*p == '#') {
            if (fb_expo_comment(e, ln, p, nl) != 0) {
                return -1;
            }
        } else if (fb_expo_sample(e, ln, p, nl) != 0) {
            return -1;
        }

        p = nl + 1;
    }

    fb_expo_check(e);
    return e->errors;
}


void
fb_expo_free(fb_expo_t *e)
{
    size_t  i;

    for (i = 0; i < e->n; i++) {
        free(e->s[i].name);
        free(e->s[i].labels);
        free(e->s[i].le);
        free(e->s[i].raw);
    }

    for (i = 0; i < e->nf; i++) {
        free(e->f[i].name);
    }

    free(e->s);
    free(e->f);
    memset(e, 0, sizeof(*e));
}


const fb_expo_sample_t *
fb_expo_get(const fb_expo_t *e, const char *name, const char *labels,
    const char *le)
{
    int                      dup;
    char                    *canon, *cle, buf[512];
    size_t                   i, npairs = 0;
    const char              *why, *end;
    fb_expo_pair_t           pairs[FB_EXPO_MAX_LABELS];
    fb_expo_sample_t         key;
    const fb_expo_sample_t  *found = NULL;

    /* Parse the caller's labels as a sample's, so that order is free. */
    snprintf(buf, sizeof(buf), "%s}", labels != NULL ? labels : "");
    end = buf + strlen(buf);
    if (fb_expo_labels(buf, end, pairs, &npairs, &why) != end) {
        return NULL;
    }

    canon = fb_expo_canon(pairs, npairs, &cle, &dup);
    if (canon == NULL) {
        return NULL;
    }

    key.name = (char *) name;
    key.labels = canon;
    key.le = (char *) le;

    for (i = 0; i < e->n; i++) {
        if (fb_expo_same_series(&e->s[i], &key)) {
            found = &e->s[i];
            break;
        }
    }

    free(canon);
    free(cle);
    return found;
}


const fb_expo_family_t *
fb_expo_family(const fb_expo_t *e, const char *name)
{
    size_t  i;

    for (i = 0; i < e->nf; i++) {
        if (strcmp(e->f[i].name, name) == 0) {
            return &e->f[i];
        }
    }

    return NULL;
}


size_t
fb_expo_count(const fb_expo_t *e, const char *name)
{
    size_t  i, n = 0;

    for (i = 0; i < e->n; i++) {
        n += strcmp(e->s[i].name, name) == 0;
    }

    return n;
}
