# loadtest/: the load generator, the reference responders, the benchmarks.
# None of it is part of make check; loadtest/README says how to run it.
include loadtest/store.mk

noinst_PROGRAMS += loadtest/fb-load loadtest/fb-echo loadtest/fb-floor

loadtest_fb_load_SOURCES = \
	loadtest/fb_load.h \
	loadtest/fb_load.c \
	loadtest/fb_load_conf.c \
	loadtest/fb_load_conn.c \
	loadtest/fb_load_hist.c \
	loadtest/fb_load_proc.c \
	loadtest/fb_load_report.c

loadtest_fb_echo_SOURCES = loadtest/fb_echo.c
loadtest_fb_echo_CPPFLAGS = $(AM_CPPFLAGS) $(FCGI_CFLAGS)
loadtest_fb_echo_LDADD = $(FCGI_LIBS)

loadtest_fb_floor_SOURCES = loadtest/fb_floor.c

EXTRA_DIST += \
	loadtest/README \
	loadtest/bench.sh \
	loadtest/soak.sh \
	loadtest/thread-cost.sh \
	loadtest/fb-stack.sh \
	loadtest/scenarios/seed.conf \
	loadtest/scenarios/read-heavy.conf \
	loadtest/scenarios/contention.conf

# make bench [BENCH_FLAGS=--quick]: the references and fastbank, one run.
# The fastbank rows need the backend built too (make, or ./dev.sh bench).
bench: loadtest/fb-load loadtest/fb-echo loadtest/fb-floor
	$(SHELL) $(top_srcdir)/loadtest/bench.sh $(abs_top_builddir) $(BENCH_FLAGS)

.PHONY: bench
