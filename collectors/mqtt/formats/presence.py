"""Presence: retained ``<prefix>/<site>/<ap>/status`` = ``online`` / ``offline``.

``offline`` is normally the AP's MQTT last will, published by the broker when
the AP vanishes without a clean disconnect. The sample time is the receive
time: the payload carries none, and a retained value describes *now*. An empty
payload (a retained value being cleared) is ignored.
"""
from __future__ import annotations

from hotspot_monitor.sample import Sample

from ..topics import Route
from .base import BadInput, ParseResult


class PresenceParser:
    def parse(self, route: Route, payload: bytes, received) -> ParseResult:
        res = ParseResult()
        word = payload.strip().lower()
        tags = {"site": route.site, "ap": route.ap, "source": "mqtt"}
        if word == b"":
            res.ignored += 1
        elif word == b"online":
            res.samples.append(Sample("ap_status", tags, {"up": 1}, received))
        elif word == b"offline":
            res.samples.append(Sample("ap_status", tags, {"up": 0, "reason": "lwt_offline"}, received))
        else:
            raise BadInput("malformed", "status must be online or offline")
        return res
