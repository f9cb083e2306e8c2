"""The summary's matrix table: per client for a small network, per district and class for a city."""

from simulator.reporting.report import PER_CLIENT_LIMIT, matrix_table


def cell(client, district, klass, family, method, ok, as_expected=True):
    return {"client": client, "district": district, "subscriber_class": klass, "family": family,
            "method": method, "ok": ok, "as_expected": as_expected}


def test_small_network_has_a_row_per_client_and_family():
    cells = [cell("h1", "d1", "fixed", "ipv4", "ping", True), cell("h1", "d1", "fixed", "ipv4", "http", True),
             cell("h1", "d1", "fixed", "ipv6", "ping", False), cell("h2", "d2", "mobile", "ipv4", "dns", False, False)]
    assert matrix_table(cells).splitlines() == [
        "client  district  family  ping  dns  http  as expected",
        "------  --------  ------  ----  ---  ----  -----------",
        "h1      d1        ipv4    1/1   -    1/1   yes",
        "h1      d1        ipv6    0/1   -    -     yes",
        "h2      d2        ipv4    -     0/1  -     NO",
    ]


def test_city_has_a_row_per_district_class_and_family():
    # 13 clients (one more than PER_CLIENT_LIMIT): 10 fixed in d1, 3 mobile in d2.
    assert PER_CLIENT_LIMIT == 12
    cells = [cell(f"f{i}", "d1", "fixed", "ipv4", "ping", i != 0) for i in range(10)]
    cells += [cell(f"m{i}", "d2", "mobile", "ipv6", "http", True) for i in range(3)]
    assert matrix_table(cells).splitlines() == [
        "district  class   family  ping  dns  http  as expected",
        "--------  ------  ------  ----  ---  ----  -----------",
        "d1        fixed   ipv4    9/10  -    -     yes",
        "d2        mobile  ipv6    -     -    3/3   yes",
    ]
