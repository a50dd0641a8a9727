# Metrics tests: exposition format, exact counts, promtool, a real Prometheus.

# no when ./configure --disable-metrics compiled the recording out.
AM_TESTS_ENVIRONMENT += FB_METRICS='$(FB_METRICS)'; export FB_METRICS;
if HAVE_CUNIT
check_PROGRAMS += tests/test-metrics
TESTS += tests/test-metrics

tests_test_metrics_SOURCES = tests/test-metrics.c tests/fb_expo.h \
	tests/fb_expo.c $(fb_cunit_sources)
tests_test_metrics_CPPFLAGS = $(fb_test_cppflags)
tests_test_metrics_LDADD = $(fb_test_ldadd) -lm
endif

# The widest exposition the backend can write, for promtool and the
# contrib/ checks.  Not a test itself, so not in check_PROGRAMS (which
# tests/integration.mk takes for tests); built with everything else.
noinst_PROGRAMS += tests/metrics-sample
tests_metrics_sample_SOURCES = tests/metrics-sample.c
tests_metrics_sample_LDADD = fcgi/libfbhttp.a store/libfbstore.a \
	$(JSONC_LIBS) $(ATOMIC_OPS_LIBS)

TESTS += tests/test-promtool.sh
EXTRA_DIST += tests/test-promtool.sh

# The contrib/ files, and the metrics through nginx and a real Prometheus.
fb_metrics_py_tests = \
	tests/test-contrib.py \
	tests/test-metrics-backend.py \
	tests/test-metrics-e2e.py \
	tests/test-prometheus.py

TESTS += $(fb_metrics_py_tests)
EXTRA_DIST += $(fb_metrics_py_tests) tests/fbmetrics.py

# test-keepalive times paced requests and runs after everything else
# (tests/integration.mk); these start stacks and a Prometheus, so they go
# before it too.  To run it alone, also set fb_keepalive_after_metrics=.
fb_keepalive_after_metrics = tests/test-promtool.log \
	tests/test-contrib.log tests/test-metrics-backend.log \
	tests/test-metrics-e2e.log tests/test-prometheus.log
tests/test-keepalive.log: $(fb_keepalive_after_metrics)
