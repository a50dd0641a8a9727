# Metrics tests: exposition format, exact counts, promtool, a real Prometheus.

# no when ./configure --disable-metrics compiled the recording out.
AM_TESTS_ENVIRONMENT += FB_METRICS='$(FB_METRICS)'; export FB_METRICS;
if HAVE_CUNIT
check_PROGRAMS += tests/test-metrics
TESTS += tests/test-metrics

tests_test_metrics_SOURCES = tests/test-metrics.c tests/fb_expo.h \
	tests/fb_expo.c
tests_test_metrics_CPPFLAGS = $(fb_test_cppflags)
tests_test_metrics_LDADD = $(fb_test_ldadd) -lm
endif

# The widest exposition the backend can write, for promtool and the
# dashboard check.
check_PROGRAMS += tests/metrics-sample
tests_metrics_sample_SOURCES = tests/metrics-sample.c
tests_metrics_sample_LDADD = fcgi/libfbhttp.a store/libfbstore.a \
	$(JSONC_LIBS) $(ATOMIC_OPS_LIBS)

TESTS += tests/test-promtool.sh
EXTRA_DIST += tests/test-promtool.sh

# The contrib/ files, and the metrics through nginx and a real Prometheus.
fb_metrics_py_tests = \
	tests/test-contrib.py \
	tests/test-metrics-e2e.py \
	tests/test-prometheus.py

TESTS += $(fb_metrics_py_tests)
EXTRA_DIST += $(fb_metrics_py_tests) tests/fbmetrics.py
