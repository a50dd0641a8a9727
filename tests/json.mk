# JSON, owner-rule and UTF-8 unit tests (CUnit).
if HAVE_CUNIT
check_PROGRAMS += tests/test-json tests/test-owner
TESTS += tests/test-json tests/test-owner

tests_test_json_SOURCES = tests/test-json.c tests/fb_jtest.c \
	tests/fb_jtest.h $(fb_cunit_sources)
tests_test_json_CPPFLAGS = $(fb_test_cppflags)
tests_test_json_LDADD = $(fb_test_ldadd)

tests_test_owner_SOURCES = tests/test-owner.c $(fb_cunit_sources)
tests_test_owner_CPPFLAGS = $(fb_test_cppflags)
tests_test_owner_LDADD = fcgi/libfbhttp.a $(CUNIT_LIBS) $(JSONC_LIBS)
endif
