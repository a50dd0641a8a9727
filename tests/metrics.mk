# Metrics tests: exposition format, exact counts, promtool, a real Prometheus.
