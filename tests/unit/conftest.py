"""Fixtures shared by the unit tests of city modules: each module says which city
its ``graph`` is; the address plan, the routes and the city model (zone city.test)
follow from it the same way."""

import pytest

from simulator.model.address_plan import plan_city_addresses
from simulator.model.city_model import CityModel
from simulator.model.routing import compute_routes


@pytest.fixture(scope="module")
def plan(graph):
    return plan_city_addresses(graph, graph.graph["prefixes"])


@pytest.fixture(scope="module")
def routes(graph, plan):
    return compute_routes(graph, plan)


@pytest.fixture(scope="module")
def city(graph, plan, routes):
    return CityModel(graph, plan, routes, "city.test")
