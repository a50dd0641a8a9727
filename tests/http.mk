# Router, options, handler and libfcgi glue unit tests (CUnit).
if HAVE_CUNIT
check_PROGRAMS += tests/test-route tests/test-handler tests/test-fcgx \
	tests/test-parked
TESTS += tests/test-route tests/test-handler tests/test-fcgx \
	tests/test-parked

tests_test_route_SOURCES = tests/test-route.c $(fb_cunit_sources)
tests_test_route_CPPFLAGS = $(fb_test_cppflags)
tests_test_route_LDADD = $(fb_test_ldadd)

tests_test_parked_SOURCES = tests/test-parked.c tests/fb_jtest.c \
	tests/fb_jtest.h $(fb_cunit_sources)
tests_test_parked_CPPFLAGS = $(fb_test_cppflags)
tests_test_parked_LDADD = $(fb_test_ldadd)

tests_test_handler_SOURCES = tests/test-handler.c tests/fb_htest.c \
	tests/fb_htest.h $(fb_cunit_sources)
tests_test_handler_CPPFLAGS = $(fb_test_cppflags)
tests_test_handler_LDADD = $(fb_test_ldadd)

tests_test_fcgx_SOURCES = tests/test-fcgx.c fcgi/fb_fcgx.c fcgi/fb_log.c \
	tests/fb_fcgiclient.c tests/fb_fcgiclient.h $(fb_cunit_sources)
tests_test_fcgx_CPPFLAGS = $(fb_test_cppflags) $(FCGI_CFLAGS)
tests_test_fcgx_LDADD = $(CUNIT_LIBS) $(FCGI_LIBS)
endif

# fb_log()'s records, caught from descriptor 2.
if HAVE_CUNIT
check_PROGRAMS += tests/test-log
TESTS += tests/test-log

tests_test_log_SOURCES = tests/test-log.c tests/fb_capture.c \
	tests/fb_capture.h fcgi/fb_log.c $(fb_cunit_sources)
tests_test_log_CPPFLAGS = $(fb_test_cppflags)
tests_test_log_LDADD = $(CUNIT_LIBS)
endif
