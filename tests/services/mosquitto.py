"""Real Mosquitto brokers on free loopback ports.

* ``mosquitto``: plain listener, anonymous allowed, persistence in a temp dir.
* ``mosquitto_secure``: TLS (a throwaway CA and server certificate made here
  with ``cryptography``) plus username/password (``mosquitto_passwd -b -c``).
* ``mqtt_prefix``: a unique topic prefix per test, so retained messages of one
  test never reach another.

Brokers are function-scoped (they start in ~50 ms). A broker that cannot start
makes the test FAIL with its log tail (``BrokerError``): never a skip.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from collectors.mqtt.broker import BrokerHandle, start_mosquitto
from services.ports import free_port

MQTT_USER = "collector"
MQTT_PASSWORD = "Mq77-t3st-pw-9f1"  # a test-only secret: tests assert it never leaks


@dataclass
class SecureBroker:
    handle: BrokerHandle
    ca_file: Path
    username: str
    password: str

    @property
    def port(self) -> int:
        return self.handle.port


def make_ca_and_server_cert(d: Path) -> tuple[Path, Path, Path]:
    """A CA and a server cert for 127.0.0.1/localhost, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hotspot-test-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = d / "ca.crt", d / "server.crt", d / "server.key"
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem))
    key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return ca_file, cert_file, key_file


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[BrokerHandle]:
    h = start_mosquitto(free_port(), tmp_path / "mosquitto")
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture
def mosquitto_secure(tmp_path: Path) -> Iterator[SecureBroker]:
    d = tmp_path / "mosquitto-tls"
    d.mkdir()
    ca_file, cert_file, key_file = make_ca_and_server_cert(d)
    pw = d / "passwd"
    r = subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), MQTT_USER, MQTT_PASSWORD],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"mosquitto_passwd failed: {r.stderr}"
    pw.chmod(0o600)
    h = start_mosquitto(free_port(), d, password_file=pw,
                        tls={"cafile": str(ca_file), "certfile": str(cert_file), "keyfile": str(key_file)})
    try:
        yield SecureBroker(h, ca_file, MQTT_USER, MQTT_PASSWORD)
    finally:
        h.stop()


@pytest.fixture
def mqtt_prefix() -> str:
    return "t" + uuid.uuid4().hex[:12]


# -- helpers for MQTT tests ------------------------------------------------------
import threading  # noqa: E402
import time  # noqa: E402

import paho.mqtt.client as paho  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from hotspot_monitor.config.models import Config  # noqa: E402

SITES = [
    {"id": "balekambang", "name": "Taman Balekambang", "lat": -7.5544, "lon": 110.8046},
    {"id": "pasar-gede", "name": "Pasar Gede", "lat": -7.5683, "lon": 110.8316},
]
APS = [
    {"id": "bk-1", "site": "balekambang", "mqtt_id": "ap-bk-1"},
    {"id": "bk-2", "site": "balekambang"},
    {"id": "pg-1", "site": "pasar-gede", "mqtt_id": "pg1-host"},
]


def mqtt_config(port: int, prefix: str, *, subscriptions: list[dict] | None = None,
                aps: list[dict] | None = None, **mqtt: object) -> Config:
    """A Config whose MQTT section points at a test broker and a test prefix."""
    subs = subscriptions if subscriptions is not None else [
        {"topic": f"{prefix}/+/+/telemetry", "format": "json"},
        {"topic": f"{prefix}/+/+/status", "format": "presence"},
    ]
    m = {"enabled": True, "host": "127.0.0.1", "port": port, "client_id": f"hm-{prefix}",
         "topic_prefix": prefix, "subscriptions": subs}
    m.update(mqtt)
    return Config.model_validate({"mqtt": m, "sites": SITES, "aps": APS if aps is None else aps})


class SampleSink:
    """Thread-safe ``on_samples`` target that tests can wait on."""

    def __init__(self) -> None:
        self.samples: list = []
        self._cv = threading.Condition()

    def __call__(self, samples: list) -> None:
        with self._cv:
            self.samples.extend(samples)
            self._cv.notify_all()

    def of(self, measurement: str, **tags: str) -> list:
        with self._cv:
            return [s for s in self.samples if s.measurement == measurement
                    and all(s.tags.get(k) == v for k, v in tags.items())]

    def wait(self, pred, timeout: float = 20.0, what="samples") -> None:
        """Wait until ``pred()``; ``what`` (text or a callable giving text) explains a timeout."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    what = what() if callable(what) else what
                    raise AssertionError(f"timed out waiting for {what}; have {len(self.samples)} samples")
                self._cv.wait(min(left, 0.2))


def publisher(port: int, client_id: str = "", **kw: object) -> paho.Client:
    """A connected paho client (network loop running) for publishing test messages."""
    c = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                    protocol=kw.pop("protocol", paho.MQTTv311))
    will = kw.pop("will", None)
    if will:
        c.will_set(*will)
    if "ca_file" in kw:
        c.tls_set(ca_certs=str(kw.pop("ca_file")))
    if "username" in kw:
        c.username_pw_set(kw.pop("username"), kw.pop("password", None))
    connected = threading.Event()
    c.on_connect = lambda *a: connected.set()
    c.connect("127.0.0.1", port, 30)
    c.loop_start()
    assert connected.wait(10), "test publisher could not connect"
    return c


def publish(c: paho.Client, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
    info = c.publish(topic, payload, qos=qos, retain=retain)
    info.wait_for_publish(10)
    assert info.is_published()
