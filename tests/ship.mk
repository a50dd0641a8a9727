# Shipping: the configuration file (CUnit), the systemd units, activation on
# fd 0 without systemd, overload and slow clients, and the fuzzers (make
# fuzz; not part of make check).
if HAVE_CUNIT
check_PROGRAMS += tests/test-conffile
TESTS += tests/test-conffile

tests_test_conffile_SOURCES = tests/test-conffile.c $(fb_cunit_sources)
tests_test_conffile_CPPFLAGS = $(fb_test_cppflags)
tests_test_conffile_LDADD = $(fb_test_ldadd)
fb_ship_cunit_logs = tests/test-conffile.log
endif

fb_ship_tests = \
	tests/test-systemd-units.sh \
	tests/test-fd0.py \
	tests/test-limits.py

TESTS += $(fb_ship_tests)
# Not under test-keepalive's timing checks (tests/integration.mk).
tests/test-keepalive.log: $(fb_ship_cunit_logs) tests/test-systemd-units.log \
	tests/test-fd0.log tests/test-limits.log
EXTRA_DIST += $(fb_ship_tests) tests/deb/test-deb.sh \
	tests/fuzz/README tests/fuzz/run.sh tests/fuzz/fb_fuzz.h \
	tests/fuzz/fuzz-json.c tests/fuzz/fuzz-route.c \
	tests/fuzz/fuzz-handler.c tests/fuzz/fuzz-conffile.c \
	tests/fuzz/fuzz-record.c \
	tests/fuzz/fastbank.dict tests/fuzz/conffile.dict tests/fuzz/corpus

# make fuzz: build each libFuzzer harness with clang and run it for
# FUZZ_TIME seconds after one pass over its seeds (tests/fuzz/README).
# Not part of make check: ./dev.sh test runs it.
FUZZ_TIME = 20
fuzz: config.h
	$(AM_V_at)CONFIG_H_DIR='$(abs_top_builddir)' \
	JSONC_CFLAGS='$(JSONC_CFLAGS)' JSONC_LIBS='$(JSONC_LIBS)' \
	ATOMIC_OPS_CFLAGS='$(ATOMIC_OPS_CFLAGS)' \
	ATOMIC_OPS_LIBS='$(ATOMIC_OPS_LIBS)' \
	$(SHELL) $(top_srcdir)/tests/fuzz/run.sh \
	    --out '$(abs_top_builddir)/tests/fuzz' --time '$(FUZZ_TIME)'

clean-local: fb-clean-fuzz
fb-clean-fuzz:
	-rm -rf tests/fuzz/obj tests/fuzz/bin tests/fuzz/work tests/fuzz/config

.PHONY: fuzz fb-clean-fuzz
