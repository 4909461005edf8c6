"""Prometheus metrics of the service: defined in ``tactful.observability.metrics``."""

from tactful.observability.metrics import Metrics

__all__ = ["Metrics"]
