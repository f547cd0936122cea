"""Fixture for snmpd (to be written)."""
