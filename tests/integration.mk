# Integration tests: a real nginx in front of the real backend, on loopback.
# Each test starts its own stack through nginx/fb-run.sh on a free port.
fb_integration_tests = \
	tests/test-nginx-conf.sh \
	tests/test-nginx-errors.py \
	tests/test-api.py \
	tests/test-concurrency.py \
	tests/test-keepalive.py \
	tests/test-shutdown.py \
	tests/test-readme.sh

TESTS += $(fb_integration_tests)
EXTRA_DIST += $(fb_integration_tests) tests/fbtest.py

# The journal through nginx: kill -9 under load, restart, nothing lost.
TESTS += tests/test-crash.py
EXTRA_DIST += tests/test-crash.py
