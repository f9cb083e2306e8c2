"""v6lab: an IPv6 migration testbed (spec -> graph -> running network -> measurements -> report)."""

__version__ = "0.1.0"
