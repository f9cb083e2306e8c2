"""Topology generators: plain functions returning networkx graphs (no Mininet here)."""

from topologies.city_slice import city_slice

# Scenario files name a generator; this is the whole registry.
GENERATORS = {
    "city-slice": city_slice,
}
