# Integration tests: a real nginx in front of the real backend, on loopback.
