# Journal, snapshot and recovery tests (CUnit).
#
# test-journal drives libfbstore.a as shipped.  test-journal-fault links
# tests/fb_io_fault.c, whose fb_io_* functions fail the Nth call, in place
# of store/fb_io.c, and tests/fb_journal_peek.c, store/fb_journal.c with a
# pause between two loads, in place of fb_journal.o (the linker takes the
# test's definitions and never pulls those from the archive).
if HAVE_CUNIT
check_PROGRAMS += tests/test-journal
TESTS += tests/test-journal

tests_test_journal_SOURCES = tests/test-journal.c tests/fb_jtest.c \
	tests/fb_jtest.h $(fb_cunit_sources)
tests_test_journal_CPPFLAGS = $(fb_test_cppflags)
tests_test_journal_LDADD = store/libfbstore.a $(CUNIT_LIBS) $(ATOMIC_OPS_LIBS)
endif

# fb_io_write_at's loop over scripted writes: tests/test-io.c defines
# fb_io_write and fb_io_pwrite and links nothing of store/.
if HAVE_CUNIT
check_PROGRAMS += tests/test-io
TESTS += tests/test-io

tests_test_io_SOURCES = tests/test-io.c $(fb_cunit_sources)
tests_test_io_CPPFLAGS = $(fb_test_cppflags)
tests_test_io_LDADD = $(CUNIT_LIBS)
endif

if HAVE_CUNIT
check_PROGRAMS += tests/test-journal-fault
TESTS += tests/test-journal-fault

tests_test_journal_fault_SOURCES = tests/test-journal-fault.c \
	tests/fb_io_fault.c tests/fb_io_fault.h tests/fb_journal_peek.c \
	tests/fb_journal_peek.h tests/fb_jtest.c tests/fb_jtest.h \
	$(fb_cunit_sources)
tests_test_journal_fault_CPPFLAGS = $(fb_test_cppflags)
tests_test_journal_fault_LDADD = store/libfbstore.a $(CUNIT_LIBS) \
	$(ATOMIC_OPS_LIBS)
endif

# The endpoints over a journal that fails (503s, reads, /healthz).
if HAVE_CUNIT
check_PROGRAMS += tests/test-handler-journal
TESTS += tests/test-handler-journal

tests_test_handler_journal_SOURCES = tests/test-handler-journal.c \
	tests/fb_io_fault.c tests/fb_io_fault.h tests/fb_jtest.c tests/fb_jtest.h \
	tests/fb_htest.c tests/fb_htest.h $(fb_cunit_sources)
tests_test_handler_journal_CPPFLAGS = $(fb_test_cppflags)
tests_test_handler_journal_LDADD = $(fb_test_ldadd)
endif

# The worker event loops in process, over a journal that syncs and then
# fails: parked replies, peers that leave, 503s, SIGTERM.
if HAVE_CUNIT
check_PROGRAMS += tests/test-server
TESTS += tests/test-server

tests_test_server_SOURCES = tests/test-server.c fcgi/fb_server.c \
	fcgi/fb_fcgx.c tests/fb_io_fault.c tests/fb_io_fault.h \
	tests/fb_fcgiclient.c tests/fb_fcgiclient.h \
	tests/fb_jtest.c tests/fb_jtest.h $(fb_cunit_sources)
tests_test_server_CPPFLAGS = $(fb_test_cppflags) $(FCGI_CFLAGS)
tests_test_server_LDADD = $(fb_test_ldadd) $(FCGI_LIBS)
endif

# Power cuts: tests/fb_io_powercut.c, linked instead of store/fb_io.c,
# keeps what the disk would hold after one and saves it on demand.
if HAVE_CUNIT
check_PROGRAMS += tests/test-powercut
TESTS += tests/test-powercut

tests_test_powercut_SOURCES = tests/test-powercut.c tests/fb_io_powercut.c \
	tests/fb_io_powercut.h tests/fb_jtest.c tests/fb_jtest.h \
	$(fb_cunit_sources)
tests_test_powercut_CPPFLAGS = $(fb_test_cppflags)
tests_test_powercut_LDADD = store/libfbstore.a $(CUNIT_LIBS) \
	$(ATOMIC_OPS_LIBS)
endif
