# fcgi/: request loop, routing, handlers, metrics.
# libfbhttp.a holds everything a unit test can drive without a socket.
noinst_LIBRARIES += fcgi/libfbhttp.a
fcgi_libfbhttp_a_SOURCES = \
	fcgi/fb_core.h \
	fcgi/fb_buf.h \
	fcgi/fb_buf.c \
	fcgi/fb_log.h \
	fcgi/fb_log.c \
	fcgi/fb_json.h \
	fcgi/fb_json.c \
	fcgi/fb_owner.h \
	fcgi/fb_owner.c \
	fcgi/fb_letters.h \
	fcgi/fb_route.h \
	fcgi/fb_route.c \
	fcgi/fb_http.h \
	fcgi/fb_http.c \
	fcgi/fb_metrics.h \
	fcgi/fb_metrics.c \
	fcgi/fb_handler.h \
	fcgi/fb_handler.c \
	fcgi/fb_parked.h \
	fcgi/fb_parked.c \
	fcgi/fb_listen.h \
	fcgi/fb_listen.c \
	fcgi/fb_options.h \
	fcgi/fb_options.c \
	fcgi/fb_conffile.h \
	fcgi/fb_conffile.c
fcgi_libfbhttp_a_CPPFLAGS = $(AM_CPPFLAGS) $(JSONC_CFLAGS) $(ATOMIC_OPS_CFLAGS) \
	-DFB_DEFAULT_CONFIG='"$(sysconfdir)/fastbank/fastbank.conf"'

sbin_PROGRAMS += fcgi/fastbank
fcgi_fastbank_SOURCES = \
	fcgi/fb_fcgx.h \
	fcgi/fb_fcgx.c \
	fcgi/fb_server.h \
	fcgi/fb_server.c \
	fcgi/fb_main.c
fcgi_fastbank_CPPFLAGS = $(AM_CPPFLAGS) $(FCGI_CFLAGS) $(JSONC_CFLAGS) $(ATOMIC_OPS_CFLAGS)
fcgi_fastbank_LDADD = fcgi/libfbhttp.a store/libfbstore.a \
	$(FCGI_LIBS) $(JSONC_LIBS) $(ATOMIC_OPS_LIBS)

dist_man_MANS += fcgi/fastbank.8

EXTRA_DIST += fcgi/gen-letters.py
