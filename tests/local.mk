# tests/: CUnit unit and stress tests, and integration tests that drive a
# real nginx and the real backend.  Every test fails, never skips, when
# something it needs is missing.

TEST_EXTENSIONS = .sh .py
SH_LOG_COMPILER = $(SHELL)
PY_LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/run-python.sh
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(top_srcdir)'; top_builddir='$(top_builddir)'; \
	NGINX='$(NGINX)'; PYTHON3='$(PYTHON3)'; PROMTOOL='$(PROMTOOL)'; \
	FB_SANITIZER='$(FB_SANITIZER)'; \
	export top_srcdir top_builddir NGINX PYTHON3 PROMTOOL FB_SANITIZER;

EXTRA_DIST += tests/run-python.sh tests/no-cunit.sh

fb_test_cppflags = $(AM_CPPFLAGS) $(CUNIT_CFLAGS) $(JSONC_CFLAGS) $(ATOMIC_OPS_CFLAGS)
fb_test_ldadd = fcgi/libfbhttp.a store/libfbstore.a $(CUNIT_LIBS) $(JSONC_LIBS) $(ATOMIC_OPS_LIBS)

# Every CUnit program's main() runs its tests through these.
fb_cunit_sources = tests/fb_cunit.c tests/fb_cunit.h

if !HAVE_CUNIT
TESTS += tests/no-cunit.sh
endif

include tests/store.mk
include tests/journal.mk
include tests/json.mk
include tests/http.mk
include tests/nomem.mk
include tests/integration.mk
include tests/load.mk

include tests/metrics.mk
include tests/ship.mk
