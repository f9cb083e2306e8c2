"""The pure model of a city: what runs where, computed from the spec alone.

Scenario files parsed into frozen objects (``scenario``), the address plan
(``address_plan``), routes (``routing``) and the transition plan (``transition``).
Nothing here starts a process or needs root; every stage after it (the network,
the measurements, the report) reads what these modules compute.
"""
