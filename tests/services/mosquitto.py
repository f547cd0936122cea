"""Fixture for mosquitto (to be written)."""
