# The in-process store benchmark (no HTTP).  Not part of make check:
#   loadtest/fb-storebench            operations per second
#   loadtest/fb-storebench -m         memory per account at 1M and 10M
noinst_PROGRAMS += loadtest/fb-storebench
loadtest_fb_storebench_SOURCES = loadtest/fb-storebench.c
loadtest_fb_storebench_CPPFLAGS = $(AM_CPPFLAGS) $(ATOMIC_OPS_CFLAGS)
loadtest_fb_storebench_LDADD = store/libfbstore.a $(ATOMIC_OPS_LIBS)

# The in-process journal benchmark (doc/journal-bench.txt):
#   loadtest/fb-journalbench fsync      the cost of one write + fdatasync
#   loadtest/fb-journalbench append     the log hook alone
#   loadtest/fb-journalbench recover    start-up: 1M accounts, 10M records
noinst_PROGRAMS += loadtest/fb-journalbench
loadtest_fb_journalbench_SOURCES = loadtest/fb-journalbench.c
loadtest_fb_journalbench_CPPFLAGS = $(AM_CPPFLAGS) $(ATOMIC_OPS_CFLAGS)
loadtest_fb_journalbench_LDADD = store/libfbstore.a $(ATOMIC_OPS_LIBS)
#   loadtest/journal-bench.sh BUILD     --fsync always against off, nginx
EXTRA_DIST += loadtest/journal-bench.sh
