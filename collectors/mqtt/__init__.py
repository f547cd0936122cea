"""MQTT collector: transport (paho), topic mapping and payload formats.

See ``collector.py`` for the runner API and ``docs/mqtt.md`` for users.
"""
from .collector import MqttCollector

__all__ = ["MqttCollector"]
