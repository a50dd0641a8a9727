# contrib/: for operators: a Prometheus scrape configuration, alerting rules
# with their unit tests, and a Grafana dashboard (tests/test-contrib.py).
EXTRA_DIST += \
	contrib/prometheus/prometheus.yml \
	contrib/prometheus/fastbank-rules.yml \
	contrib/prometheus/fastbank-rules.test.yml \
	contrib/grafana/fastbank.json
