/*
 * fb_fuzz.h: what the libFuzzer harnesses share.  A harness checks the
 * properties the code promises, not only that it does not crash; a broken
 * promise aborts, which libFuzzer reports as a crash with the input saved.
 */

#ifndef FB_FUZZ_H_INCLUDED
#define FB_FUZZ_H_INCLUDED

#include "fb_core.h"

#include <stdio.h>
#include <stdlib.h>

#define fb_fuzz_assert(cond)                                               \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__,       \
                    __LINE__, #cond);                                      \
            abort();                                                       \
        }                                                                  \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* FB_FUZZ_H_INCLUDED */
