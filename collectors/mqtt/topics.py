"""Topic -> (subscription, site, AP, kind): the one place that reads topics.

Payload parsers never look at topic strings; they get a :class:`Route`.
Two topic layouts exist:

* ``json`` / ``presence``: ``<prefix...>/<site>/<ap>/<kind>`` where ``<ap>`` is
  an AP's ``mqtt_id`` (or, failing that, its ``id``); the inventory's site
  wins over the topic's site segment (a mismatch is counted, not fatal).
* ``collectd``: ``<prefix...>/<host>/<plugin>[-<inst>]/<type>[-<type_inst>]``
  where ``<host>`` is collectd's Hostname, matched like ``<ap>`` above.

Only the last three topic levels are read, so any prefix depth works.

A shard of several (docs/scaling.md) subscribes to its own devices' topics
only: :func:`device_filters` turns each subscription's wildcard filter into
one filter per device.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from paho.mqtt.client import topic_matches_sub

from hotspot_monitor.config.models import AccessPoint, MqttSubscription


@dataclass(frozen=True, slots=True)
class Route:
    """Where a message goes. ``ap`` is None when the device is not in the inventory."""

    format: str  # json | collectd | presence
    device: str  # the topic's device segment (mqtt_id / collectd host)
    site: Optional[str]
    ap: Optional[str]
    kind: str  # json: "telemetry"; presence: "status"; collectd: "<plugin[-inst]>/<type[-ti]>"
    store_rates: bool = True
    site_mismatch: bool = False


class TopicError(ValueError):
    """The topic cannot be mapped; ``reason`` is the stats key."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


def filter_of(sub: MqttSubscription) -> str:
    """The plain topic filter of a subscription (without any ``$share/<group>/``)."""
    t = sub.topic
    if t.startswith("$share/"):
        parts = t.split("/", 2)
        t = parts[2] if len(parts) == 3 else ""
    return t


class TopicMapper:
    """Maps topics to Routes using the subscriptions and the AP inventory."""

    def __init__(self, subscriptions: Iterable[MqttSubscription], aps: Iterable[AccessPoint]):
        self.subscriptions = list(subscriptions)
        self._by_device: dict[str, AccessPoint] = {}
        aps = list(aps)
        for ap in aps:  # ids first so that an mqtt_id equal to another AP's id wins
            self._by_device.setdefault(ap.id, ap)
        for ap in aps:
            if ap.mqtt_id:
                self._by_device[ap.mqtt_id] = ap

    def lookup(self, device: str) -> Optional[AccessPoint]:
        return self._by_device.get(device)

    def subscription_for(self, topic: str) -> Optional[MqttSubscription]:
        for sub in self.subscriptions:
            try:
                if topic_matches_sub(filter_of(sub), topic):
                    return sub
            except Exception:  # paho rejects some odd filters/topics
                continue
        return None

    def route(self, topic: str) -> Route:
        """Return the Route or raise :class:`TopicError`."""
        sub = self.subscription_for(topic)
        if sub is None:
            raise TopicError("unmatched_topic")
        parts = topic.split("/")
        if len(parts) < 3 or any(p == "" for p in parts[-3:]):
            raise TopicError("bad_topic")
        if sub.format == "collectd":
            device, plugin, type_ = parts[-3:]
            ap = self.lookup(device)
            return Route("collectd", device, ap.site if ap else None, ap.id if ap else None,
                         f"{plugin}/{type_}", sub.store_rates)
        site, device, kind = parts[-3:]
        expected = "status" if sub.format == "presence" else "telemetry"
        if kind != expected:
            raise TopicError("bad_topic", f"expected .../{expected}")
        ap = self.lookup(device)
        if ap is None:
            return Route(sub.format, device, None, None, kind)
        return Route(sub.format, device, ap.site, ap.id, kind, sub.store_rates,
                     site_mismatch=(site != ap.site))


WILDCARD_CHARS = frozenset("+#/")


def device_filters(sub: MqttSubscription, devices: Iterable[str]) -> list[str]:
    """The subscription's filter narrowed to each device (its ``<ap>``/``<host>`` level).

    ``hotspot/+/+/telemetry`` -> ``hotspot/+/<dev>/telemetry``; collectd's
    ``collectd/#`` -> ``collectd/<dev>/+/+``, ``collectd/+/+/+`` ->
    ``collectd/<dev>/+/+``. A filter whose device level is already literal is
    kept as it is. Raises ValueError for a device id MQTT cannot put in a
    filter, or a filter whose device level cannot be found.
    """
    levels = filter_of(sub).split("/")
    if sub.format == "collectd":
        if levels[-1] == "#":
            levels = levels[:-1] + ["+", "+", "+"]
        pos = len(levels) - 3
    else:
        pos = len(levels) - 2
    if pos < 0 or "#" in levels[:-1] or levels[-1] == "#":
        raise ValueError(f"cannot narrow MQTT filter {sub.topic!r} to one device per shard")
    if levels[pos] != "+":
        return ["/".join(levels)]
    out = []
    for dev in sorted(set(devices)):
        if not dev or WILDCARD_CHARS & set(dev):
            raise ValueError(f"device id {dev!r} cannot be part of an MQTT topic filter")
        out.append("/".join(levels[:pos] + [dev] + levels[pos + 1:]))
    return out
