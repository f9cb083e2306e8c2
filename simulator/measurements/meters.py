"""Bytes and packets per address family where operators count them: on the links of
measurement points, once per point, never summed over the switches of a path.

The points (``meter_points``) are each access router's uplink (a BNG or a mobile
gateway towards its aggregation router), each IDC's links to the metro core (its
gateway's, or its spines'), and the transit router's link to the city, its egress to
the outside networks. On each, an nftables table
``v6lab_meter`` (family inet) counts IPv4 and IPv6 per direction with named counters:
forwarded packets in its forward chain, the node's own in its input and output chains.
Counts are of IP packets as the kernel holds them at those hooks (the IP header and
what it carries, no link header); a TCP segment that the sender's segmentation offload
has not yet cut counts its headers once (about 3 % of a full-size TCP stream's bytes).

``ruleset`` renders a node's table and ``read`` parses ``nft -j list counters``; both
are pure, the backend runs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import networkx as nx

from topologies.errors import BackendError
from topologies.spec import Role, node_spec

TABLE = "v6lab_meter"
FAMILIES = {"ipv4": "ipv4", "ipv6": "ipv6"}      # our name -> nft's nfproto
POINT_KINDS = {Role.ACCESS_ROUTER: "fixed-uplink", Role.MOBILE_GATEWAY: "mobile-gateway",
               Role.IDC_GATEWAY: "idc-edge", Role.SPINE: "idc-edge", Role.TRANSIT_ROUTER: "metro-egress"}
_METRO = (Role.CORE_ROUTER, Role.METRO_SWITCH)
# A point's link: towards the metro (the aggregation router, for an access network).
UPLINK = {Role.ACCESS_ROUTER: (Role.AGGREGATION_ROUTER, *_METRO),
          Role.MOBILE_GATEWAY: (Role.AGGREGATION_ROUTER, *_METRO),
          Role.IDC_GATEWAY: _METRO, Role.SPINE: _METRO, Role.TRANSIT_ROUTER: _METRO}


@dataclass(frozen=True)
class MeterPoint:
    kind: str        # fixed-uplink, mobile-gateway, idc-edge, metro-egress
    node: str        # where it is counted
    peer: str        # the link's other end

    @property
    def name(self) -> str:
        return f"{self.node}-{self.peer}"


def meter_points(graph: nx.Graph) -> list[MeterPoint]:
    """Each access router's and mobile gateway's uplink, each IDC's links to the core
    (its gateway's, or its spines'), the transit router's link to the city."""
    points = []
    for node in sorted(graph):
        role = node_spec(graph, node).role
        if role not in POINT_KINDS:
            continue
        for peer in sorted(graph.neighbors(node)):
            if node_spec(graph, peer).role in UPLINK[role]:
                points.append(MeterPoint(POINT_KINDS[role], node, peer))
    return points


def counter_name(point: MeterPoint, direction: str, family: str) -> str:
    return f"{point.name}_{direction}_{family}"


def ruleset(points: list[MeterPoint], interface: dict[str, str]) -> str:
    """One node's nftables script (``nft -f``): a fresh table with a counter per
    (point, direction, family); ``interface`` maps a point's name to its device."""
    counters, forward, local_in, local_out = [], [], [], []
    for point in points:
        device = interface[point.name]
        for family, nfproto in FAMILIES.items():
            out, into = counter_name(point, "out", family), counter_name(point, "in", family)
            counters += [f"  counter {out} {{ }}", f"  counter {into} {{ }}"]
            forward += [f'    oifname "{device}" meta nfproto {nfproto} counter name "{out}"',
                        f'    iifname "{device}" meta nfproto {nfproto} counter name "{into}"']
            local_out.append(f'    oifname "{device}" meta nfproto {nfproto} counter name "{out}"')
            local_in.append(f'    iifname "{device}" meta nfproto {nfproto} counter name "{into}"')
    chains = []
    for chain, hook, rules in (("forward", "forward", forward), ("input", "input", local_in),
                               ("output", "output", local_out)):
        chains.append(f"  chain {chain} {{\n    type filter hook {hook} priority -300; policy accept;\n"
                      + "\n".join(rules) + "\n  }")
    # Declared first, then deleted and written again: one transaction, counters from zero.
    return (f"table inet {TABLE}\ndelete table inet {TABLE}\ntable inet {TABLE} {{\n"
            + "\n".join(counters) + "\n" + "\n".join(chains) + "\n}\n")


def read(nft_json: str) -> dict[str, dict[str, int]]:
    """``nft -j list counters table inet v6lab_meter`` -> counter name -> packets, bytes."""
    found: dict[str, dict[str, int]] = {}
    for item in (json.loads(nft_json) if nft_json.strip() else {}).get("nftables", []):
        counter = item.get("counter")
        if counter and counter.get("table") == TABLE:
            found[counter["name"]] = {"packets": counter["packets"], "bytes": counter["bytes"]}
    return found


def by_point(points: list[MeterPoint], counters: dict[str, dict[str, int]]) -> list[dict]:
    """Rows (kind, point, direction, family, packets, bytes) from every node's counters."""
    rows = []
    for point in points:
        for direction in ("out", "in"):
            for family in FAMILIES:
                value = counters.get(counter_name(point, direction, family), {"packets": 0, "bytes": 0})
                rows.append({"kind": point.kind, "point": point.name, "direction": direction, "family": family,
                             **value})
    return rows


def install(backend, points: list[MeterPoint], named) -> None:
    """Each point's node gets its table (a node may hold several points);
    ``named(node, peer)`` is the node's interface towards peer."""
    by_node: dict[str, list[MeterPoint]] = {}
    for point in points:
        by_node.setdefault(point.node, []).append(point)
    scripts = {node: ruleset(found, {p.name: named(p.node, p.peer) for p in found}) for node, found in by_node.items()}
    results = backend.run_many({node: ["sh", "-c", f"nft -f - <<'NFT'\n{script}NFT"]
                                for node, script in scripts.items()}, timeout=20)
    refused = [f"{node}: {result.stderr.strip()}" for node, result in sorted(results.items()) if not result.ok]
    if refused:
        raise BackendError("the meter tables were refused: " + "; ".join(refused))


def collect(backend, points: list[MeterPoint]) -> list[dict]:
    """Every point's counters now, as rows (kind, point, direction, family, packets, bytes)."""
    counters: dict[str, dict[str, int]] = {}
    listing = ["nft", "-j", "list", "counters", "table", "inet", TABLE]
    for node, result in sorted(backend.run_many({p.node: listing for p in points}, timeout=20).items()):
        if not result.ok:
            raise BackendError(f"{node}: its meter counters could not be read: {result.stderr.strip()}")
        counters.update(read(result.stdout))
    return by_point(points, counters)


def delta(before: list[dict], after: list[dict]) -> list[dict]:
    """What was counted between two collections, row by row."""
    earlier = {(r["point"], r["direction"], r["family"]): r for r in before}
    return [{**row, "packets": row["packets"] - earlier.get(key, {}).get("packets", 0),
             "bytes": row["bytes"] - earlier.get(key, {}).get("bytes", 0)}
            for row in after for key in [(row["point"], row["direction"], row["family"])]]
