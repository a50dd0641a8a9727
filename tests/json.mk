# JSON, owner-rule and UTF-8 unit tests (CUnit).
if HAVE_CUNIT
endif
