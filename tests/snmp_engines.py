"""The SNMP engines every polling test runs on (``collector.engine``).

Import the fixture into a test module (``from snmp_engines import engine``)
and pass it into the test's config: each test then runs once per engine.
"""
import pytest

ENGINES = ["gufo", "pysnmp"]


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param
