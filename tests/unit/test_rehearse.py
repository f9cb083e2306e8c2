"""simulator.rehearse without a network: the workload each subscriber runs, and the
per-phase sums of its changes' disruption figures.

The city is the transition city (topologies/cities/transition.yaml, seed 11; see
tests/unit/test_matrix.py): d1f1h1 is IPv4-only, d1f2h1 dual-stack, d1u1 IPv6-only;
the workload server is the city DNS i1v1 (11.64.0.66, 2001:db8:400:3::2); the school
i1v3 is IPv4-only.
"""

from pathlib import Path

import pytest

from simulator.measurements import workload
from simulator.model.city_model import CityModel
from simulator.model.scenario import Workload
from simulator.rehearse import workload_config
from topologies.city import city_graph, load_city
from topologies.errors import TestbedError

TRANSITION_CITY = Path(__file__).resolve().parents[2] / "topologies" / "cities" / "transition.yaml"
DNS4, DNS6 = "11.64.0.66", "2001:db8:400:3::2"


@pytest.fixture(scope="module")
def graph():
    return city_graph(load_city(TRANSITION_CITY))


@pytest.fixture(scope="module")
def city(graph, plan, routes):
    return CityModel(graph, plan, routes, "city.test")


@pytest.mark.parametrize(("client", "echoes", "stream"), [
    ("d1f2h1", [DNS4, DNS6], DNS4),     # dual-stack: a stream per family, the long flow over IPv4
    ("d1f1h1", [DNS4], DNS4),
    ("d1u1", [DNS6], DNS6),
])
def test_a_udp_echo_per_family_client_and_server_share(city, client, echoes, stream):
    config = workload_config(city, client, "i1v1", Workload(udp_interval_s=0.05))
    assert config["udp"] == [{"address": address, "port": 7, "interval_s": 0.05, "timeout_s": 1.0}
                             for address in echoes]
    assert config["stream"] == {"host": stream, "port": 5001, "stall_s": 2.0, "give_up_s": 10.0}
    # What the rehearsal hands the prober is what the prober accepts.
    assert [target.address for target in workload.parse_config(config).udp] == echoes


def test_a_client_sharing_no_family_with_the_server_is_refused(city):
    with pytest.raises(TestbedError, match="d1u1 shares no address family with the workload server i1v3"):
        workload_config(city, "d1u1", "i1v3", Workload())
