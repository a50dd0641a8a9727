#!/bin/sh
# Runs a Python test script; a missing python3 is a hard error, not a skip.
if [ -z "$PYTHON3" ] || [ ! -x "$PYTHON3" ]; then
    PYTHON3=$(command -v python3 || true)
fi
if [ -z "$PYTHON3" ]; then
    echo "python3 not found: install the Debian package python3" >&2
    exit 99
fi
exec "$PYTHON3" "$@"
