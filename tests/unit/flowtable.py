"""A fake OpenFlow 1.3 switch for unit tests, after Faucet's ``clib/fakeoftable.py``.

Tests install the FlowSpecs a policy returns and ask where a hand-written packet
goes, instead of checking the fields of each flow. It refuses the flows a real
switch would refuse (a match without its prerequisites, a goto backwards), so a
policy that passes here installs on Open vSwitch too.

Tests import it as ``from flowtable import ...``: pytest puts ``tests/unit`` (no
``__init__.py``) on ``sys.path``, and ``make test`` runs without the repository's root on it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields

from controllers.phases import Step
from controllers.policy import FlowSpec

FLOOD = "flood"

# OpenFlow 1.3 match prerequisites (section 7.2.3.8): a field is only matched when
# the fields it depends on are matched with one of these values.
PREREQUISITES: dict[str, tuple[tuple[str, frozenset[int]], ...]] = {
    "ip_proto": (("eth_type", frozenset({0x0800, 0x86DD})),),
    "ipv4_src": (("eth_type", frozenset({0x0800})),),
    "ipv4_dst": (("eth_type", frozenset({0x0800})),),
    "ipv6_src": (("eth_type", frozenset({0x86DD})),),
    "ipv6_dst": (("eth_type", frozenset({0x86DD})),),
    "icmpv6_type": (("eth_type", frozenset({0x86DD})), ("ip_proto", frozenset({58}))),
}


@dataclass(frozen=True)
class Packet:
    """The header fields the policy's flows match; None for a field the packet has not."""

    in_port: int
    eth_src: str
    eth_dst: str
    eth_type: int
    ip_proto: int | None = None
    icmpv6_type: int | None = None
    ipv4_src: str | None = None
    ipv4_dst: str | None = None
    ipv6_src: str | None = None
    ipv6_dst: str | None = None


@dataclass(frozen=True)
class Result:
    outputs: tuple[int | str, ...]        # ports it went out of, or FLOOD
    to_controller: bool
    flows: tuple[FlowSpec, ...]           # the flows it hit, table by table

    @property
    def dropped(self) -> bool:
        return not self.outputs

    @property
    def cookies(self) -> tuple[int, ...]:
        return tuple(flow.cookie for flow in self.flows)


PACKET_FIELDS = {f.name for f in fields(Packet)}


def _as_int(name: str, value: object) -> int:
    if name in ("eth_src", "eth_dst"):
        return int(str(value).replace(":", ""), 16)
    if name.startswith(("ipv4_", "ipv6_")):
        return int(ipaddress.ip_address(str(value)))
    if not isinstance(value, int):
        raise TypeError(f"match field {name}: {value!r} is not an integer")
    return value


def field_matches(name: str, wanted: object, value: object) -> bool:
    """A flow's match field against a packet's: exact, or (value, mask)."""
    if value is None:
        return False
    if isinstance(wanted, tuple):
        want, mask = wanted
        return _as_int(name, value) & _as_int(name, mask) == _as_int(name, want) & _as_int(name, mask)
    return _as_int(name, value) == _as_int(name, wanted)


def check(flow: FlowSpec) -> None:
    """Refuse what a switch refuses: unknown fields, missing prerequisites, a goto backwards."""
    match = flow.match_dict
    for name in match:
        if name not in PACKET_FIELDS:
            raise ValueError(f"{flow}: match field {name} is not one the fake table knows")
        for needed, values in PREREQUISITES.get(name, ()):
            if match.get(needed) not in values:
                raise ValueError(f"{flow}: {name} needs {needed} in {sorted(values)}")
    if flow.goto_table is not None and flow.goto_table <= flow.table_id:
        raise ValueError(f"{flow}: goto table {flow.goto_table} is not after table {flow.table_id}")


class FlowTable:
    """Flows per table; processes packets as an OpenFlow 1.3 pipeline from table 0."""

    def __init__(self, flows: tuple[FlowSpec, ...] = ()):
        self.tables: dict[int, dict[tuple, FlowSpec]] = {}
        for flow in flows:
            self.install(flow)

    def install(self, flow: FlowSpec) -> None:
        # OFPFC_ADD: a flow with the same priority and match is replaced.
        check(flow)
        self.tables.setdefault(flow.table_id, {})[(flow.priority, flow.match)] = flow

    def remove(self, flow: FlowSpec) -> None:
        # OFPFC_DELETE_STRICT: same priority and match; absent is no error.
        self.tables.get(flow.table_id, {}).pop((flow.priority, flow.match), None)

    def flows(self) -> tuple[FlowSpec, ...]:
        return tuple(flow for table_id in sorted(self.tables) for flow in self.tables[table_id].values())

    def __contains__(self, flow: FlowSpec) -> bool:
        return self.tables.get(flow.table_id, {}).get((flow.priority, flow.match)) == flow

    def apply(self, step: Step) -> None:
        """A swap's step; verify checks what a runner would read back from the switch."""
        for flow in step.flows:
            if step.kind == "install":
                self.install(flow)
            elif step.kind == "remove":
                self.remove(flow)
            elif flow not in self:
                raise AssertionError(f"verify: {flow} is not installed")

    def lookup(self, table_id: int, packet: Packet) -> FlowSpec | None:
        """The highest-priority flow of a table that matches; two that tie are an error
        (OpenFlow leaves the choice undefined, so a test must not depend on it)."""
        hits = [flow for flow in self.tables.get(table_id, {}).values()
                if all(field_matches(name, wanted, getattr(packet, name)) for name, wanted in flow.match)]
        if not hits:
            return None
        best = max(flow.priority for flow in hits)
        winners = [flow for flow in hits if flow.priority == best]
        if len(winners) > 1:
            raise AssertionError(f"{packet}: {len(winners)} flows of table {table_id} tie at priority {best}")
        return winners[0]

    def process(self, packet: Packet) -> Result:
        outputs: list[int | str] = []
        to_controller = False
        hit: list[FlowSpec] = []
        table_id: int | None = 0
        while table_id is not None:
            flow = self.lookup(table_id, packet)
            if flow is None:
                break   # a table miss with no flow for it: dropped here
            hit.append(flow)
            for kind, value in flow.actions:
                if kind == "output" and isinstance(value, int):
                    outputs.append(value)
                elif kind == "flood":
                    outputs.append(FLOOD)
                elif kind == "controller":
                    to_controller = True
                else:
                    raise ValueError(f"{flow}: unknown action {kind}")
            table_id = flow.goto_table
        return Result(tuple(outputs), to_controller, tuple(hit))
