# fb-load's figures: histogram, merging, JSON report, /proc sampling and
# options (CUnit).  It compiles the loadtest/ sources it checks itself;
# fb_load_err, which lives with the engine, is the test's own.
if HAVE_CUNIT
check_PROGRAMS += tests/test-load-figures
TESTS += tests/test-load-figures

tests_test_load_figures_SOURCES = tests/test-load-figures.c \
	loadtest/fb_load.h loadtest/fb_load_hist.c loadtest/fb_load_report.c \
	loadtest/fb_load_proc.c loadtest/fb_load_conf.c $(fb_cunit_sources)
tests_test_load_figures_CPPFLAGS = $(fb_test_cppflags) -I$(top_srcdir)/loadtest
tests_test_load_figures_LDADD = $(CUNIT_LIBS) $(JSONC_LIBS)
endif

# The benchmark scripts' command lines: bad usage exits 2 before anything
# starts, and no arguments print the whole header (no server needed).
TESTS += tests/test-script-usage.sh
EXTRA_DIST += tests/test-script-usage.sh
