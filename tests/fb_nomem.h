/*
 * fb_nomem.h: the allocators our code calls, with failures on demand, for
 * the out-of-memory tests (after SQLite's OOM loop).
 *
 * Counted calls: malloc, calloc, realloc, strdup, posix_memalign and
 * open_memstream, every allocator fcgi/ and store/ call by name.  The
 * program is linked with -Wl,--wrap=malloc,... (tests/nomem.mk), so that
 * the references in fcgi/libfbhttp.a, store/libfbstore.a and the test's
 * own objects go to the __wrap_ functions here, which call the __real_
 * ones.  Shared libraries keep the real allocators: json-c's own
 * allocations (its tokener, the parsed tree), CUnit's and libc's (those
 * inside fopen, opendir, newlocale, pthread_create) are not counted and
 * never fail.  They are out of reach without interposing malloc for the
 * whole process, which the sanitizer builds' own malloc forbids.
 *
 * Armed with n, the n-th counted call from then on (0-based) fails: it
 * returns NULL, or ENOMEM for posix_memalign, with errno ENOMEM, and
 * allocates nothing.  With persist, every later counted call fails too.
 * free() is never counted.  Thread-safe: the journal's threads allocate.
 */

#ifndef FB_NOMEM_H_INCLUDED
#define FB_NOMEM_H_INCLUDED

void fb_nomem_arm(long n, int persist);
void fb_nomem_disarm(void);
int fb_nomem_fired(void);                /* since the last arm */
long fb_nomem_calls(void);               /* since the last arm or disarm */
const char *fb_nomem_what(void);         /* the call that failed first */

#endif /* FB_NOMEM_H_INCLUDED */
