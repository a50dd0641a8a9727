# Shipping: the configuration file (CUnit), the systemd units, activation on
# fd 0 without systemd, and the fuzzers (make fuzz; not part of make check).
if HAVE_CUNIT
check_PROGRAMS += tests/test-conffile
TESTS += tests/test-conffile

tests_test_conffile_SOURCES = tests/test-conffile.c
tests_test_conffile_CPPFLAGS = $(fb_test_cppflags)
tests_test_conffile_LDADD = $(fb_test_ldadd)
endif

fb_ship_tests = \
	tests/test-systemd-units.sh \
	tests/test-fd0.py

TESTS += $(fb_ship_tests)
EXTRA_DIST += $(fb_ship_tests)
