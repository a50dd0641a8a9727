/*
 * fb_json.h: strict reading of request bodies with json-c, and escaping
 * for the strings of the replies.
 *
 * One fb_json_t per worker thread (json-c objects are not thread-safe).
 * A body must be exactly one JSON object: valid UTF-8, no trailing data,
 * no single-quoted strings, no NaN/Infinity.  Field getters check the
 * JSON type before converting: 10.5, "10", true and null are not
 * integers, and an integer beyond int64 is FB_JSON_RANGE, never
 * saturated.
 */

#ifndef FB_JSON_H_INCLUDED
#define FB_JSON_H_INCLUDED

#include "fb_core.h"

typedef enum {
    FB_JSON_OK = 0,
    FB_JSON_INVALID,      /* not JSON, not one object, bad UTF-8, or
                             trailing data */
    FB_JSON_MISSING,      /* no such key (keys are case-sensitive) */
    FB_JSON_WRONG_TYPE,   /* present with another JSON type */
    FB_JSON_RANGE,        /* an integer that does not fit in int64 */
    FB_JSON_NOMEM         /* out of memory (logged) */
} fb_json_rc_e;

typedef struct fb_json_s  fb_json_t;

fb_json_t *fb_json_new(void);
void fb_json_free(fb_json_t *j);

/* Parses body (len bytes, not NUL-terminated).  The parsed object lives
 * until the next fb_json_parse or fb_json_free on the same j. */
fb_json_rc_e fb_json_parse(fb_json_t *j, const char *body, size_t len);

/* Field getters on the last successfully parsed object. */
fb_json_rc_e fb_json_get_int64(fb_json_t *j, const char *key, int64_t *out);
/* out points into the parsed object: valid until the next parse. */
fb_json_rc_e fb_json_get_string(fb_json_t *j, const char *key, fb_str_t *out);

/*
 * Writes src as the inside of a JSON string (no quotes) into dst:
 * escapes '"', '\\' and bytes below 0x20.  Returns the bytes written, or
 * (size_t) -1 if cap is too small.  Never writes a NUL.
 */
size_t fb_json_escape(char *dst, size_t cap, const char *src, size_t len);

#endif /* FB_JSON_H_INCLUDED */
