# Store unit and stress tests (CUnit).
if HAVE_CUNIT
endif
