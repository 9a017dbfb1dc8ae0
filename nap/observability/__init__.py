"""What operators see of a running NAP: health and readiness, Prometheus metrics, JSON
logs with request ids."""
