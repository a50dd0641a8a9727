# Store unit and stress tests (CUnit).
#
# test-store compiles store/fb_store.c itself, through tests/fb_store_peek.c,
# which adds test-only doors (a balance setter, failing allocations); it
# does not link libfbstore.a.
if HAVE_CUNIT
check_PROGRAMS += tests/test-store
TESTS += tests/test-store

tests_test_store_SOURCES = tests/test-store.c tests/fb_store_peek.c \
	tests/fb_store_peek.h
tests_test_store_CPPFLAGS = $(fb_test_cppflags)
tests_test_store_LDADD = $(CUNIT_LIBS) $(ATOMIC_OPS_LIBS)
endif
