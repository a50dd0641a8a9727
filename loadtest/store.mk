# The in-process store benchmark (no HTTP).  Not part of make check:
#   loadtest/fb-storebench            operations per second
#   loadtest/fb-storebench -m         memory per account at 1M and 10M
noinst_PROGRAMS += loadtest/fb-storebench
loadtest_fb_storebench_SOURCES = loadtest/fb-storebench.c
loadtest_fb_storebench_CPPFLAGS = $(AM_CPPFLAGS) $(ATOMIC_OPS_CFLAGS)
loadtest_fb_storebench_LDADD = store/libfbstore.a $(ATOMIC_OPS_LIBS)
