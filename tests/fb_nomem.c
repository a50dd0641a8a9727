/*
 * fb_nomem.c: the allocators with failures on demand (fb_nomem.h).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "fb_nomem.h"

/* What the linker's --wrap makes of our calls, and what it calls. */
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
int __wrap_posix_memalign(void **p, size_t align, size_t size);
FILE *__wrap_open_memstream(char **ptr, size_t *sizeloc);

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
int __real_posix_memalign(void **p, size_t align, size_t size);
FILE *__real_open_memstream(char **ptr, size_t *sizeloc);

/*
 * nomem_mutex protects every counter below: the journal's writer and
 * snapshot threads and the test's own thread all make counted calls.
 */
static pthread_mutex_t  nomem_mutex = PTHREAD_MUTEX_INITIALIZER;
static long             nomem_calls;
static long             nomem_at = -1;
static int              nomem_persist;
static int              nomem_fired;
static const char      *nomem_first;


void
fb_nomem_arm(long n, int persist)
{
    pthread_mutex_lock(&nomem_mutex);
    nomem_calls = 0;
    nomem_at = n;
    nomem_persist = persist;
    nomem_fired = 0;
    nomem_first = NULL;
    pthread_mutex_unlock(&nomem_mutex);
}


void
fb_nomem_disarm(void)
{
    pthread_mutex_lock(&nomem_mutex);
    nomem_calls = 0;
    nomem_at = -1;
    pthread_mutex_unlock(&nomem_mutex);
}


int
fb_nomem_fired(void)
{
    int  f;

    pthread_mutex_lock(&nomem_mutex);
    f = nomem_fired;
    pthread_mutex_unlock(&nomem_mutex);
    return f;
}


long
fb_nomem_calls(void)
{
    long  n;

    pthread_mutex_lock(&nomem_mutex);
    n = nomem_calls;
    pthread_mutex_unlock(&nomem_mutex);
    return n;
}


const char *
fb_nomem_what(void)
{
    const char  *w;

    pthread_mutex_lock(&nomem_mutex);
    w = nomem_first != NULL ? nomem_first : "nothing";
    pthread_mutex_unlock(&nomem_mutex);
    return w;
}


/* 1 if this call fails (errno is then ENOMEM). */
static int
nomem_check(const char *what)
{
    int   fail = 0;
    long  n;

    pthread_mutex_lock(&nomem_mutex);

    n = nomem_calls++;

    if (nomem_at >= 0 && (n == nomem_at || (nomem_persist && n > nomem_at))) {
        fail = 1;
        if (!nomem_fired) {
            nomem_fired = 1;
            nomem_first = what;
        }
    }

    pthread_mutex_unlock(&nomem_mutex);

    if (fail) {
        errno = ENOMEM;
    }

    return fail;
}


void *
__wrap_malloc(size_t size)
{
    return nomem_check("malloc") ? NULL : __real_malloc(size);
}


void *
__wrap_calloc(size_t n, size_t size)
{
    return nomem_check("calloc") ? NULL : __real_calloc(n, size);
}


void *
__wrap_realloc(void *p, size_t size)
{
    /* A failed realloc leaves p as it was, allocated. */
    return nomem_check("realloc") ? NULL : __real_realloc(p, size);
}


char *
__wrap_strdup(const char *s)
{
    return nomem_check("strdup") ? NULL : __real_strdup(s);
}


int
__wrap_posix_memalign(void **p, size_t align, size_t size)
{
    /* Returns the error and leaves *p alone; errno is set as well, which
     * POSIX does not promise but costs nothing. */
    return nomem_check("posix_memalign") ? ENOMEM
                                         : __real_posix_memalign(p, align,
                                                                 size);
}


FILE *
__wrap_open_memstream(char **ptr, size_t *sizeloc)
{
    return nomem_check("open_memstream") ? NULL
                                         : __real_open_memstream(ptr,
                                                                 sizeloc);
}
