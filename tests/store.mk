# Store unit and stress tests (CUnit).
#
# test-store compiles store/fb_store.c itself, through tests/fb_store_peek.c,
# which adds test-only doors (a balance setter, failing allocations); it
# does not link libfbstore.a.  test-stress drives libfbstore.a as shipped.
# Both link tests/fb_stest.c: their ThreadSanitizer options and st_fund.
if HAVE_CUNIT
check_PROGRAMS += tests/test-store tests/test-stress
TESTS += tests/test-store tests/test-stress

tests_test_store_SOURCES = tests/test-store.c tests/fb_store_peek.c \
	tests/fb_store_peek.h tests/fb_stest.c tests/fb_stest.h \
	$(fb_cunit_sources)
tests_test_store_CPPFLAGS = $(fb_test_cppflags)
tests_test_store_LDADD = $(CUNIT_LIBS) $(ATOMIC_OPS_LIBS)

tests_test_stress_SOURCES = tests/test-stress.c tests/fb_stest.c \
	tests/fb_stest.h $(fb_cunit_sources)
tests_test_stress_CPPFLAGS = $(fb_test_cppflags)
tests_test_stress_LDADD = store/libfbstore.a $(CUNIT_LIBS) $(ATOMIC_OPS_LIBS)
endif
