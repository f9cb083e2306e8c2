"""RFC 6052 address synthesis against the RFC's own examples (section 2.4, table 2)."""

import ipaddress

import pytest

from topologies.rfc6052 import check_prefix, extract, synthesize

# RFC 6052 section 2.4: IPv4 address 192.0.2.33 embedded under each prefix length.
RFC_TABLE = [
    ("2001:db8::/32", "2001:db8:c000:221::"),
    ("2001:db8:100::/40", "2001:db8:1c0:2:21::"),
    ("2001:db8:122::/48", "2001:db8:122:c000:2:2100::"),
    ("2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"),
    ("2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0"),
    ("2001:db8:122:344::/96", "2001:db8:122:344::192.0.2.33"),
]


@pytest.mark.parametrize("prefix, expected", RFC_TABLE)
def test_synthesis_matches_rfc_6052_table(prefix, expected):
    assert synthesize(prefix, "192.0.2.33") == ipaddress.IPv6Address(expected)


@pytest.mark.parametrize("prefix, address", RFC_TABLE)
def test_extraction_inverts_the_table(prefix, address):
    assert extract(prefix, address) == ipaddress.IPv4Address("192.0.2.33")


def test_well_known_prefix_examples():
    # RFC 6052 section 2.4, last paragraph: 64:ff9b::192.0.2.33 = 64:ff9b::c000:221.
    assert str(synthesize("64:ff9b::/96", "192.0.2.33")) == "64:ff9b::c000:221"
    assert str(synthesize("64:ff9b::/96", "11.200.0.3")) == "64:ff9b::bc8:3"


@pytest.mark.parametrize("prefix, problem", [
    ("64:ff9b::/80", "not /80"),
    ("2001:db8::/33", "not /33"),
    ("2001:db8:0:0:ff00::/96", "u octet"),
    ("64:ff9b::1/96", "not an IPv6 network"),
    ("11.0.0.0/8", "not an IPv6 network"),
])
def test_invalid_prefixes_are_explained(prefix, problem):
    assert problem in check_prefix(prefix)


def test_extract_refuses_an_address_outside_the_prefix():
    with pytest.raises(ValueError, match="not under the NAT64 prefix"):
        extract("64:ff9b::/96", "2001:db8::1")
