"""SNMP collector: async poller, vendor profiles as data files, controller fan-out.

See ``collectors/snmp/poller.py`` for the API and ``docs/snmp.md`` for users.
"""
from .poller import PollResult, SnmpCollector
from .profile import Profile, ProfileError, builtin_profiles, load_profiles

__all__ = ["SnmpCollector", "PollResult", "Profile", "ProfileError", "builtin_profiles", "load_profiles"]
