"""Status engine (AP up/down, flapping), outage log and availability.

See docs/status.md for the rules and how unmonitored time is treated.
"""
from .availability import Availability, CountedOutage, availability
from .engine import ApRow, SiteRow, Snapshot, StatusEngine, site_state
from .statestore import MonitorSession, Outage, StateStore

__all__ = [
    "ApRow", "Availability", "CountedOutage", "MonitorSession", "Outage", "SiteRow",
    "Snapshot", "StateStore", "StatusEngine", "availability", "site_state",
]
