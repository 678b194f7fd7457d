"""The gateway's HTTP server: health, Prometheus metrics, and the media proxy."""
