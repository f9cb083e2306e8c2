"""Fixtures shared by the unit tests of city modules: each module says which city
its ``graph`` is; the address plan and the routes follow from it the same way."""

import pytest

from simulator.model.address_plan import plan_city_addresses
from simulator.model.routing import compute_routes


@pytest.fixture(scope="module")
def plan(graph):
    return plan_city_addresses(graph, graph.graph["prefixes"])


@pytest.fixture(scope="module")
def routes(graph, plan):
    return compute_routes(graph, plan)
