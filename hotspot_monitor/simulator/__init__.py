"""Fleet simulator: the APs of a config as real SNMP agents and MQTT publishers.

Every AP gets its own UDP endpoint on loopback answering SNMPv2c and SNMPv3
(USM, MD5/SHA/SHA-2 auth, AES-128 privacy) GET, GETNEXT and GETBULK with a
small BER codec of its own (``ber``, ``usm``, ``agent``), for the OIDs listed
in ``mib`` (system, IF-MIB, HOST-RESOURCES, UniFi, MikroTik, OpenWrt
extends). Values are pure functions of (seed, AP, time) (``model``); the
outage / reboot / power-cut schedule is too (``plan``). ``publisher`` sends
MQTT telemetry schema v1, ``backfill`` writes past history to a MetricStore.

In-process API (demo, end-to-end tests)::

    from hotspot_monitor.simulator import Simulator, Clock
    sim = Simulator(config, seed=1, addressing="ports")   # any free ports
    await sim.start()
    sim.endpoints["balekambang-1"]      # ('127.0.0.1', 40123)
    cfg = sim.collector_config()        # Config whose APs point at the agents
    sim.force_down("balekambang-1")     # silent (and MQTT will fires) ...
    sim.force_up("balekambang-1")       # ... until revived
    sim.power_cut("pasar-gede"); sim.power_restore("pasar-gede")  # APs reboot
    sim.events(t0, t1)                  # planned + runtime events
    sim.state("balekambang-1", t)       # the values its agent answers at t
    sim.stop()

Addressing: ``config`` (each AP's host/port as written), ``ports``
(127.0.0.1, ``base_port + i`` or free ports when 0), ``ips`` (127.1.x.y on
one port; Linux routes all of 127/8 to loopback).
"""
from .fleet import ApState, Clock, Simulator, ip_address_for
from .model import FleetModel
from .plan import Event, Plan, Rates

__all__ = ["ApState", "Clock", "Event", "FleetModel", "Plan", "Rates", "Simulator", "ip_address_for"]
