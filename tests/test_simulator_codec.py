"""The simulator's own BER codec and USM crypto, against published vectors."""
from hotspot_monitor.simulator import ber
from hotspot_monitor.simulator.usm import localize, password_to_key


def test_integers_encode_like_x690() -> None:
    assert ber.enc_int(0) == bytes.fromhex("020100")
    assert ber.enc_int(127) == bytes.fromhex("02017f")
    assert ber.enc_int(128) == bytes.fromhex("02020080")
    assert ber.enc_int(-1) == bytes.fromhex("0201ff")
    assert ber.enc_int(-129) == bytes.fromhex("0202ff7f")
    # Unsigned application types get a leading zero when the top bit is set.
    assert ber.enc_int(2**32 - 1, ber.COUNTER32) == bytes.fromhex("410500ffffffff")
    assert ber.enc_int(2**64 - 1, ber.COUNTER64) == bytes.fromhex("460900ffffffffffffffff")
    assert ber.enc_int(300, ber.TIMETICKS) == bytes.fromhex("4302012c")


def test_oids_round_trip() -> None:
    # 41112 = 2*128^2 + 65*128 + 24 -> 0x82 0xc1 0x18
    assert ber.enc_oid((1, 3, 6, 1, 4, 1, 41112)) == bytes.fromhex("06082b0601040182c118")
    for oid in [(1, 3, 6, 1, 2, 1, 1, 3, 0), (1, 3, 6, 1, 4, 1, 14988, 1, 1, 1, 3, 1, 6, 4294967295)]:
        enc = ber.enc_oid(oid)
        t, s, e = ber.read_tlv(enc, 0, len(enc))
        assert t == ber.OID and ber.dec_oid(enc, s, e) == oid


def test_long_lengths_and_truncation() -> None:
    body = b"x" * 300
    enc = ber.tlv(ber.OCTET_STRING, body)
    assert enc[:4] == bytes.fromhex("0482012c")
    t, s, e = ber.read_tlv(enc, 0, len(enc))
    assert enc[s:e] == body
    try:
        ber.read_tlv(enc[:100], 0, 100)
    except ber.BerError:
        pass
    else:
        raise AssertionError("a length beyond the datagram must be rejected")


def test_key_localisation_rfc3414_vectors() -> None:
    # RFC 3414 appendix A.3.1 (MD5) and A.3.2 (SHA): password "maplesyrup".
    engine = bytes.fromhex("000000000000000000000002")
    assert password_to_key("maplesyrup", "MD5").hex() == "9faf3283884e92834ebc9847d8edd963"
    assert localize("maplesyrup", "MD5", engine).hex() == "526f5eed9fcce26f8964c2930787d82b"
    assert password_to_key("maplesyrup", "SHA").hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    assert localize("maplesyrup", "SHA", engine).hex() == "6695febc9288e36282235fc7151f128497b38f3f"


def test_garbage_is_dropped_and_counted_never_crashes() -> None:
    import random

    from hotspot_monitor.config import parse_config
    from hotspot_monitor.simulator import Clock, Simulator

    cfg = parse_config("""
collector: {snmp: {version: 2c, community: public}}
sites: [{id: s, name: S, lat: -7.56, lon: 110.82}]
aps:
  - {id: a, site: s, host: 127.0.0.1, port: 1, profile: unifi}
  - {id: b, site: s, host: 127.0.0.1, port: 2, profile: mikrotik,
     snmp: {version: 3, user: u, auth_protocol: SHA, auth_key: authkey-123, priv_protocol: AES,
            priv_key: privkey-123}}
""")
    sim = Simulator(cfg, clock=Clock(1795000000.0, 0))
    good = bytes.fromhex("302602010104067075626c6963a01902040000002a020100020100300b300906052b06010201"
                         "0500")  # v2c GET 1.3.6.1.2.1 (public)
    reply = sim.responder.handle(sim.agents["a"], good, sim.now())
    assert reply is not None and b"public" in reply
    rnd = random.Random(7)
    for agent in sim.agents.values():
        for i in range(3000):
            if i % 2:
                data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 80)))
            else:  # a valid request cut short or with one byte flipped
                data = bytearray(good[: rnd.randrange(1, len(good))] if i % 4 else good)
                if data and i % 4 == 0:
                    data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
                data = bytes(data)
            sim.responder.handle(agent, data, sim.now())  # must not raise
    assert sim.agents["a"].stats.get("malformed", 0) > 1000
    assert sim.responder.handle(sim.agents["a"], good, sim.now()) == reply  # still answering
