# doc/: design notes, plain text.
EXTRA_DIST += doc
