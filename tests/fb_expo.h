/*
 * fb_expo.h: a strict parser of Prometheus text exposition 0.0.4 for the
 * tests, and the checks every exposition the backend writes must pass:
 * well-formed lines, one HELP and one TYPE per name before its samples,
 * each metric's lines together, no series twice, and for histograms
 * increasing le, cumulative buckets, a +Inf bucket equal to _count and a
 * _sum.
 */

#ifndef FB_EXPO_H_INCLUDED
#define FB_EXPO_H_INCLUDED

#include <stddef.h>

typedef struct {
    char    *name;
    char    *labels;       /* k="v" pairs sorted by k, le left out */
    char    *le;           /* the le label's value; NULL if none */
    char    *raw;          /* the value as written */
    double   value;
    size_t   family;
} fb_expo_sample_t;

typedef struct {
    char    *name;
    char     type[16];     /* "" until a TYPE line */
    int      helps;
    int      types;
    size_t   samples;
} fb_expo_family_t;

typedef struct {
    fb_expo_sample_t  *s;
    size_t             n;
    size_t             cap;
    fb_expo_family_t  *f;
    size_t             nf;
    size_t             capf;
    int                errors;
    char               err[2048];   /* the first errors, one a line */
} fb_expo_t;

/*
 * Parses text and runs every check.  Returns the number of violations
 * found (also in e->errors, described in e->err); -1 if out of memory.
 */
int fb_expo_parse(fb_expo_t *e, const char *text, size_t len);
void fb_expo_free(fb_expo_t *e);

/*
 * The sample name{labels} (labels as they would be written between the
 * braces, in any order, le excluded) with le (NULL: none); NULL if absent.
 */
const fb_expo_sample_t *fb_expo_get(const fb_expo_t *e, const char *name,
    const char *labels, const char *le);

/* The family called name; NULL if absent. */
const fb_expo_family_t *fb_expo_family(const fb_expo_t *e, const char *name);

/* Samples called name. */
size_t fb_expo_count(const fb_expo_t *e, const char *name);

#endif /* FB_EXPO_H_INCLUDED */
