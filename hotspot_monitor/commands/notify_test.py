"""notify-test FILE CHANNEL: send a test message through one channel now, print what happened.

The message goes through the outbox like any alert (so the attempt is in the
delivery log the dashboard shows, and a success clears a flagged channel),
but this process sends it once, at once: no retry. Exit 0 when the channel
accepted it, 1 when it failed (temporary or permanent, with the error),
2 for a bad config or an unknown channel.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import load_or_report


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML config file")
    p.add_argument("channel", help="channel id (alerts.channels[].id)")
    p.add_argument("--lang", choices=("id", "en"), default=None,
                   help="message language (default: the channel's)")
    p.add_argument("--base-dir", type=Path, default=None,
                   help="directory that relative paths in the config are taken from (default: cwd)")


def test_notification(cfg, channel_id: str, now: datetime):
    """A realistic one-alert notification (``kind: test``) about the config's first site."""
    from ..alerts.notification import AlertView, Notification

    site = cfg.sites[0] if cfg.sites else None
    aps = [a for a in cfg.aps if site is not None and a.site == site.id]
    labels = {"site": site.id, "site_name": site.name} if site else {}
    if site is not None and site.district:
        labels["district"] = site.district
    if aps:
        labels["ap"] = aps[0].id
    details = {"aps_down": 1, "aps_total": max(1, len(aps))}
    if site is not None:
        details.update(lat=site.lat, lon=site.lon)
    alert = AlertView(fingerprint=f"test|{channel_id}", rule="ap_down", severity="warning",
                      status="firing", starts_at=now - timedelta(minutes=5), labels=labels,
                      details=details)
    return Notification(channel=channel_id, group_key=f"test|{channel_id}", status="firing",
                        alerts=[alert], created_at=now, kind="test",
                        dashboard_url=cfg.alerts.dashboard_url)


def main(args: argparse.Namespace) -> int:
    from ..alerts.dispatcher import Dispatcher
    from ..alerts.outbox import Outbox
    from ..status.statestore import StateStore

    cfg = load_or_report(args.file)
    if cfg is None:
        return 2
    try:
        channel = cfg.alerts.channel(args.channel)
    except KeyError:
        known = ", ".join(c.id for c in cfg.alerts.channels) or "none"
        print(f"{args.file}: unknown channel {args.channel!r} (configured: {known})", file=sys.stderr)
        return 2
    if args.lang:
        channel = channel.model_copy(update={"language": args.lang})
    now = datetime.now(timezone.utc)
    states = StateStore.from_config(cfg, args.base_dir or Path.cwd())
    try:
        d = Dispatcher(Outbox(states.engine), cfg).send_now(
            test_notification(cfg, channel.id, now), channel=channel, now=now)
    finally:
        states.close()
    line = f"{channel.id} ({channel.type}): {d.result} in {d.duration_ms:.0f} ms"
    if d.result == "ok":
        print(line)
        return 0
    print(f"{line}: {d.error}", file=sys.stderr)
    return 1
