"""Topology generators: plain functions returning networkx graphs (no Mininet here)."""

from topologies.city import city
from topologies.city_slice import city_slice

# Scenario files name a generator; this is the whole registry. A generator's
# PATH_PARAMS name parameters that are file paths, relative to the scenario file.
GENERATORS = {
    "city": city,
    "city-slice": city_slice,
}
