"""Measurements of a running network, each beside its expected value.

The connectivity matrix (``connectivity``), the transition matrix (``matrix``),
all-pairs reachability (``reachability``), throughput and traffic (``throughput``),
the mechanism comparison (``comparison``), the probe that runs inside a host
(``probe``) and a pcap reader (``pcap``). They talk to the network only through the
backend interface (``simulator.network.backends.base``).
"""
