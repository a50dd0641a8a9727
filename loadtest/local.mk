# loadtest/: the load generator, the reference responders, the benchmarks.
include loadtest/store.mk
