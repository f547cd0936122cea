"""Fixture for snmpsim (to be written)."""
