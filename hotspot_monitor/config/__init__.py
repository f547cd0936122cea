"""Configuration and inventory: one YAML file, validated at start-up."""
from .loader import ConfigError, ConfigIssue, load_config, parse_config
from .models import (AccessPoint, CollectorSettings, Config, Controller, MqttSettings,
                     MqttSubscription, Site, SnmpCredentials, SnmpDevice, StoreSettings)

__all__ = [
    "AccessPoint", "CollectorSettings", "Config", "ConfigError", "ConfigIssue", "Controller",
    "MqttSettings", "MqttSubscription", "Site", "SnmpCredentials", "SnmpDevice", "StoreSettings",
    "load_config", "parse_config",
]
