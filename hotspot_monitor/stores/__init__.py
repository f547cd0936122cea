"""Metric stores: InfluxDB (production) and SQLite (embedded default)."""
from .base import AGGREGATES, Bucket, MetricStore, Series, StoreError, StoreUnavailable

__all__ = ["AGGREGATES", "Bucket", "MetricStore", "Series", "StoreError", "StoreUnavailable"]
