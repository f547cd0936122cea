"""hotspot-monitor: monitoring for a city's free public Wi-Fi."""
__version__ = "0.1.0"
