# Out-of-memory tests (CUnit), after SQLite's OOM loop.
#
# test-nomem is linked with --wrap for every allocator fcgi/ and store/
# call, so that each reference to malloc, calloc, ... in fcgi/libfbhttp.a,
# store/libfbstore.a and the test's own objects goes to tests/fb_nomem.c,
# which fails the N-th call on demand.  Shared libraries (json-c, CUnit,
# libc) keep the real allocators.  Its _LDFLAGS replace AM_LDFLAGS, so
# they repeat them.  It also runs the worker event loops in process
# (fcgi/fb_server.c, as test-server does), with tests/fb_io_fault.c in
# place of store/fb_io.c, to hold the journal's fdatasync back.
fb_nomem_wrap = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc \
	-Wl,--wrap=strdup,--wrap=posix_memalign,--wrap=open_memstream

if HAVE_CUNIT
check_PROGRAMS += tests/test-nomem
TESTS += tests/test-nomem

tests_test_nomem_SOURCES = tests/test-nomem.c tests/fb_nomem.c \
	tests/fb_nomem.h tests/fb_htest.c tests/fb_htest.h tests/fb_jtest.c \
	tests/fb_jtest.h fcgi/fb_server.c fcgi/fb_fcgx.c tests/fb_io_fault.c \
	tests/fb_io_fault.h tests/fb_fcgiclient.c tests/fb_fcgiclient.h \
	tests/fb_capture.c tests/fb_capture.h \
	$(fb_cunit_sources)
tests_test_nomem_CPPFLAGS = $(fb_test_cppflags) $(FCGI_CFLAGS)
tests_test_nomem_LDFLAGS = $(AM_LDFLAGS) $(fb_nomem_wrap)
tests_test_nomem_LDADD = $(fb_test_ldadd) $(FCGI_LIBS)
endif
