"""Metric stores: InfluxDB (production) and SQLite (embedded default)."""
from .base import AGGREGATES, Bucket, MetricStore, Series, StoreError, StoreRejected, StoreUnavailable
from .factory import open_store

__all__ = ["AGGREGATES", "Bucket", "MetricStore", "Series", "StoreError", "StoreRejected", "StoreUnavailable",
           "open_store"]
