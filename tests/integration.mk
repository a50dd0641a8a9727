# Integration tests: a real nginx in front of the real backend, on loopback.
# Each test starts its own stack through nginx/fb-run.sh on a free port.
fb_integration_tests = \
	tests/test-nginx-conf.sh \
	tests/test-nginx-errors.py \
	tests/test-api.py \
	tests/test-concurrency.py \
	tests/test-shutdown.py \
	tests/test-readme.sh \
	tests/test-load-audit.py \
	tests/test-load-window.py \
	tests/test-load-count.py \
	tests/test-bench-out.sh \
	tests/test-bench-table.sh

TESTS += $(fb_integration_tests) tests/test-keepalive.py
EXTRA_DIST += $(fb_integration_tests) tests/test-keepalive.py tests/fbtest.py tests/fbfcgi.py \
	tests/fbtest.sh

# The backend out of descriptors keeps its journal (no nginx needed).
TESTS += tests/test-fds.py
EXTRA_DIST += tests/test-fds.py

# accept4() failing over and over: the connection waits, the log does not
# flood (no nginx needed; strace injects the failures).
TESTS += tests/test-accept-errors.py
EXTRA_DIST += tests/test-accept-errors.py

# The journal through nginx: kill -9 under load, restart, nothing lost.
TESTS += tests/test-crash.py
EXTRA_DIST += tests/test-crash.py

# test-keepalive opens 500 concurrent connections and paces requests
# over them (latencies printed, never judged): it starts after every other
# test has finished, so that the CPU-heavy stress tests and it do not
# slow each other past their hang bounds.  To run it on its own:
#   make check TESTS=tests/test-keepalive.py fb_keepalive_after=
fb_keepalive_after = $(check_PROGRAMS:=.log) \
	tests/test-nginx-conf.log tests/test-nginx-errors.log tests/test-api.log \
	tests/test-concurrency.log tests/test-shutdown.log tests/test-readme.log \
	tests/test-load-audit.log tests/test-crash.log \
	tests/test-accept-errors.log
tests/test-keepalive.log: $(fb_keepalive_after)
