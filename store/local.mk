# store/: the account map.  Knows nothing of FastCGI or JSON.
noinst_LIBRARIES += store/libfbstore.a
store_libfbstore_a_SOURCES = \
	store/fb_atomic.h \
	store/fb_store.h \
	store/fb_store.c
store_libfbstore_a_CPPFLAGS = $(AM_CPPFLAGS) $(ATOMIC_OPS_CFLAGS)
