"""What a city is, before anything runs: the lowest layer of v6lab.

Typed, frozen node and link specs (``spec``), topology generators returning
networkx graphs (``city``, ``city_slice``; no Mininet here), city spec files read and
checked with every problem at once (``validation``), RFC 6052 address formats
(``rfc6052``) and the testbed's one exception tree (``errors``), which every layer
above raises. Nothing here imports ``simulator``: data flows one way, from the spec
here to the model, the network, the measurements and the report in ``simulator``.
"""

from collections.abc import Callable

import networkx as nx

from topologies.city import city
from topologies.city_slice import city_slice

# Scenario files name a generator; this is the whole registry. A generator's
# PATH_PARAMS name parameters that are file paths, relative to the scenario file.
GENERATORS: dict[str, Callable[..., nx.Graph]] = {
    "city": city,
    "city-slice": city_slice,
}
