"""Sizing the kernel's shared neighbour tables for an emulated network."""

import pytest

from simulator.network.neighbour_tables import entries_needed, thresholds
from topologies.city import city
from topologies.spec import Family


@pytest.fixture(scope="module")
def graph():
    return city("topologies/cities/default.yaml")


def test_default_city_needs_more_than_the_kernel_defaults(plan):
    # Measured at the peak of a run (all pairs): 1,617 IPv6 and 655 IPv4 entries.
    assert entries_needed(plan, Family.IPV6) == 3376
    assert entries_needed(plan, Family.IPV4) == 1278


def test_thresholds_hold_what_is_needed_and_what_is_there():
    assert thresholds((512, 1024), 3376, present=90) == (3466, 6932)


def test_thresholds_already_large_enough_are_left_alone():
    assert thresholds((8192, 16384), 3376, present=90) is None


def test_thresholds_are_never_lowered():
    assert thresholds((4000, 5000), 3376) == (4000, 6752)
