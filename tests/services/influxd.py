"""Fixture for influxd (to be written)."""
