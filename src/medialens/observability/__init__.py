"""Operational surface: Prometheus metrics (``/metrics``) and health/readiness checks (``/healthz``, ``/readyz``)."""
