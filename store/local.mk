# store/: the account map and its durable side (journal, snapshots,
# recovery).  Knows nothing of FastCGI or JSON.
noinst_LIBRARIES += store/libfbstore.a
store_libfbstore_a_SOURCES = \
	store/fb_atomic.h \
	store/fb_store.h \
	store/fb_store.c \
	store/fb_crc32c.h \
	store/fb_crc32c.c \
	store/fb_io.h \
	store/fb_io.c \
	store/fb_record.h \
	store/fb_record.c \
	store/fb_snapshot.h \
	store/fb_snapshot.c \
	store/fb_recover.h \
	store/fb_recover.c \
	store/fb_journal.h \
	store/fb_journal.c
store_libfbstore_a_CPPFLAGS = $(AM_CPPFLAGS) $(ATOMIC_OPS_CFLAGS)
