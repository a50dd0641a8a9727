# fcgi/: request loop, routing, handlers, metrics.
# libfbhttp.a holds everything a unit test can drive without a socket.
noinst_LIBRARIES += fcgi/libfbhttp.a
fcgi_libfbhttp_a_SOURCES = \
	fcgi/fb_core.h \
	fcgi/fb_json.h \
	fcgi/fb_json.c \
	fcgi/fb_owner.h \
	fcgi/fb_owner.c \
	fcgi/fb_letters.h
fcgi_libfbhttp_a_CPPFLAGS = $(AM_CPPFLAGS) $(JSONC_CFLAGS) $(ATOMIC_OPS_CFLAGS)

EXTRA_DIST += fcgi/gen-letters.py
