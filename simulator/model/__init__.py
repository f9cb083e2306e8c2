"""The pure model of a city: what runs where, computed from the spec alone.

Scenario files parsed into frozen objects (``scenario``), the address plan
(``address_plan``), routes (``routing``), the transition plan (``transition``), and
all of them in a run's order with located errors (``preparation``).
Nothing here starts a process or needs root; every stage after it (the network,
the measurements, the report) reads what these modules compute.
"""
