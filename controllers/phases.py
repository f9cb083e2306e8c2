"""A migration phase enforced on the access switches, free of OpenFlow and sockets.

A migration plan moves a city's districts through phases (IPv4-only, dual-stack,
IPv6-only). On each access switch a phase is a few drop flows in table 0, above the
mechanism counting flows of ``controllers.policy`` so that a dropped packet is never
counted as a mechanism's traffic:

- RA guard (RFC 6105), in every phase: a router advertisement that arrives on a
  subscriber port is dropped, so a CPE or UE cannot become its neighbours' router.
  The segment's own router (its BNG or mobile gateway) sits on a router port, whose
  RAs fall through to the counting flows and are flooded like any multicast ND.
- IPv6 admission: on a segment not yet admitted to IPv6, IPv6 from its subscriber
  ports and from its router ports is dropped, both ways: the router's RAs never
  reach the subscribers, and the subscribers' IPv6 never leaves.

Moving a switch from one phase's flows to the next is a list of ``Step``s
(``swap``), so that a runner can act on each (and check the switch between them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from controllers.policy import CLASSIFY_TABLE, ETH_TYPE_IPV6, IPPROTO_ICMPV6, FlowSpec
from topologies.errors import ConfigError

ICMPV6_ROUTER_ADVERTISEMENT = 134

# Above the mechanism counting flows (20, 30). The RA guard sits well above
# admission so that a subscriber's RA on a segment without IPv6 is counted as a
# rogue RA, though both drop it: a make-before-break swap that moves admission
# flows raises them by one, and a city has a handful of phases, not a hundred. (A
# swap that moves RA guards, a port changing role, raises what it installs above 200.)
ADMISSION_PRIORITY = 100
RA_GUARD_PRIORITY = 200

# Cookie of a phase flow, 64 bits:
#
#   63          32   31   30        8 7         0
#   +-------------+------+-----------+-----------+
#   |    phase    |  1   |     0     |  purpose  |
#   +-------------+------+-----------+-----------+
#
# Bit 31 marks a phase flow. The mechanism cookies (1..4), ND_COOKIE (0x10) and the
# table-miss flows (0) all have it clear, so no cookie of theirs reads as a phase's,
# and flow statistics can be summed per phase and purpose from the cookie alone.
PHASE_MARKER = 1 << 31
PHASE_SHIFT = 32
PURPOSE_MASK = 0xFF
PURPOSES = {"ra-guard": 1, "ipv6-admission": 2}
MAX_PHASE = (1 << 32) - 1

STRATEGIES = ("make-before-break", "cut-over")
StepKind = Literal["install", "verify", "remove"]


@dataclass(frozen=True)
class Segment:
    """An access segment on one switch: where its router attaches, where its
    subscribers (CPEs, UEs) attach, and whether IPv6 is admitted on it yet."""

    name: str                               # e.g. "d1/fixed"
    dpid: int
    router_ports: tuple[int, ...]           # the BNG's or mobile gateway's ports
    subscriber_ports: tuple[int, ...]
    ipv6: bool


def phase_cookie(phase: int, purpose: str) -> int:
    if purpose not in PURPOSES:
        raise ConfigError(f"phase cookie: unknown purpose {purpose!r}; use one of {', '.join(PURPOSES)}")
    if not 0 <= phase <= MAX_PHASE:
        raise ConfigError(f"phase cookie: phase {phase} does not fit 32 bits; number phases from 0 to {MAX_PHASE}")
    return phase << PHASE_SHIFT | PHASE_MARKER | PURPOSES[purpose]


def cookie_phase(cookie: int) -> tuple[int, str] | None:
    """(phase, purpose) of a phase flow's cookie; None for any other flow's."""
    low = cookie & ((1 << PHASE_SHIFT) - 1)
    purpose = next((name for name, code in PURPOSES.items() if low == PHASE_MARKER | code), None)
    if purpose is None:
        return None
    return cookie >> PHASE_SHIFT, purpose


def _drop(priority: int, match: dict, cookie: int) -> FlowSpec:
    # No actions and no goto: OpenFlow drops what such a flow matches.
    return FlowSpec(priority, tuple(sorted(match.items())), (), table_id=CLASSIFY_TABLE, cookie=cookie)


def ra_guard_flows(segment: Segment, phase: int) -> tuple[FlowSpec, ...]:
    match = {"eth_type": ETH_TYPE_IPV6, "ip_proto": IPPROTO_ICMPV6, "icmpv6_type": ICMPV6_ROUTER_ADVERTISEMENT}
    return tuple(_drop(RA_GUARD_PRIORITY, {**match, "in_port": port}, phase_cookie(phase, "ra-guard"))
                 for port in segment.subscriber_ports)


def admission_flows(segment: Segment, phase: int) -> tuple[FlowSpec, ...]:
    if segment.ipv6:
        return ()
    return tuple(_drop(ADMISSION_PRIORITY, {"eth_type": ETH_TYPE_IPV6, "in_port": port},
                       phase_cookie(phase, "ipv6-admission"))
                 for port in segment.router_ports + segment.subscriber_ports)


def segment_problems(segments: tuple[Segment, ...]) -> list[str]:
    """What makes these segments unfit to be one switch's: a port has one role on one
    segment, or two of its flows would share a match and contradict each other."""
    problems = []
    dpids = sorted({segment.dpid for segment in segments})
    if len(dpids) > 1:
        problems.append(f"segments {', '.join(s.name for s in segments)}: on switches {dpids}; "
                        "compute one switch's phase flows at a time")
    owner: dict[tuple[int, int], str] = {}
    for segment in segments:
        for port in sorted(set(segment.router_ports) & set(segment.subscriber_ports)):
            problems.append(f"segment {segment.name}: port {port} is both a router and a subscriber port; "
                            "give it one role")
        for port in dict.fromkeys(segment.router_ports + segment.subscriber_ports):
            where = owner.setdefault((segment.dpid, port), segment.name)
            if where != segment.name:
                problems.append(f"segment {segment.name}: port {port} of switch {segment.dpid} is a port of "
                                f"{where} already; give each port one segment")
    return problems


def phase_flows(segments: tuple[Segment, ...], phase: int) -> tuple[FlowSpec, ...]:
    """Table 0 flows of one switch's segments in this phase: RA guards, then admission."""
    if problems := segment_problems(segments):
        raise ConfigError(problems)
    return (tuple(flow for segment in segments for flow in ra_guard_flows(segment, phase))
            + tuple(flow for segment in segments for flow in admission_flows(segment, phase)))


@dataclass(frozen=True)
class Step:
    """One step of a swap: install or remove these flows, or verify that the flows
    just installed are in place before anything is removed."""

    kind: StepKind
    flows: tuple[FlowSpec, ...]


def _same(flow: FlowSpec) -> tuple:
    # What a packet meets. Cookie and priority are left out: a flow both phases
    # have is left alone, and so keeps its counters (and the cookie it was installed with).
    return flow.table_id, flow.match, flow.actions, flow.goto_table


def _strict(flow: FlowSpec) -> tuple:
    # What OFPFC_ADD replaces and OFPFC_DELETE_STRICT deletes.
    return flow.table_id, flow.priority, flow.match


def _raised(old: tuple[FlowSpec, ...], new: tuple[FlowSpec, ...]) -> tuple[FlowSpec, ...]:
    """New flows lifted, table by table, so that the lowest is one above the highest
    old one: they take precedence at once, and none shares an old flow's priority
    and match, which an install would overwrite and the old flow's removal delete."""
    lifted = []
    for flow in new:
        olds = [f.priority for f in old if f.table_id == flow.table_id]
        news = [f.priority for f in new if f.table_id == flow.table_id]
        lift = max(0, max(olds, default=-1) + 1 - min(news))
        lifted.append(FlowSpec(flow.priority + lift, flow.match, flow.actions, flow.idle_timeout, flow.table_id,
                               flow.goto_table, flow.cookie))
    return tuple(lifted)


def swap(old: tuple[FlowSpec, ...], new: tuple[FlowSpec, ...], strategy: str) -> tuple[Step, ...]:
    """Steps from the flows installed (``old``) to the next phase's (``new``).

    make-before-break installs the new flows above the old, waits for a verify, then
    removes the old: a packet both phases treat alike is treated so at every step.
    cut-over removes the old flows first: in between, neither phase's flows are there.
    Flows both phases have are left alone. Empty steps are left out.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"swap: unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    common = {_same(flow) for flow in old} & {_same(flow) for flow in new}
    leaving = tuple(flow for flow in old if _same(flow) not in common)
    coming = tuple(flow for flow in new if _same(flow) not in common)
    steps: tuple[Step, ...]
    if strategy == "cut-over":
        steps = (Step("remove", leaving), Step("install", coming))
    else:
        raised = _raised(leaving, coming)
        steps = (Step("install", raised), Step("verify", raised), Step("remove", leaving))
    return tuple(step for step in steps if step.flows)


def flows_after(installed: tuple[FlowSpec, ...], steps: tuple[Step, ...]) -> tuple[FlowSpec, ...]:
    """The flows a switch holds after these steps: what the next swap starts from."""
    flows = {_strict(flow): flow for flow in installed}
    for step in steps:
        for flow in step.flows:
            if step.kind == "install":
                flows[_strict(flow)] = flow
            elif step.kind == "remove":
                flows.pop(_strict(flow), None)
    return tuple(flows.values())


@dataclass
class Enforcement:
    """The phase each access switch holds, and what is left of a swap in progress.

    ``prepare`` moves every switch towards a new phase as far as the first verify
    (make-before-break: the new flows are installed, the old ones still there;
    cut-over: all of it) and keeps the rest; ``commit`` does the rest, once the
    runner has verified the new path. The controller applies the steps returned.
    """

    segments: dict[int, tuple[Segment, ...]]
    phase: int = 0
    installed: dict[int, tuple[FlowSpec, ...]] = field(default_factory=dict)
    pending: dict[int, tuple[Step, ...]] = field(default_factory=dict)

    def connected(self, dpid: int) -> tuple[FlowSpec, ...]:
        """A switch (re)connected: it gets the current phase's flows."""
        self.pending.pop(dpid, None)
        self.installed[dpid] = phase_flows(self.segments.get(dpid, ()), self.phase)
        return self.installed[dpid]

    def disconnected(self, dpid: int) -> None:
        self.installed.pop(dpid, None)
        self.pending.pop(dpid, None)

    def prepare(self, phase: int, segments: dict[int, tuple[Segment, ...]],
                strategy: str) -> dict[int, tuple[Step, ...]]:
        """The steps to take now on each connected switch, up to the first verify."""
        if self.pending:
            raise ConfigError("a phase change is already prepared and not committed; commit it first")
        new = {dpid: phase_flows(segments.get(dpid, ()), phase) for dpid in self.installed}
        now: dict[int, tuple[Step, ...]] = {}
        for dpid, flows in new.items():
            steps = swap(self.installed[dpid], flows, strategy)
            first = next((i for i, step in enumerate(steps) if step.kind == "verify"), len(steps))
            now[dpid], self.pending[dpid] = steps[:first], steps[first + 1:]
            self.installed[dpid] = flows_after(self.installed[dpid], now[dpid])
        self.segments, self.phase = segments, phase
        self.pending = {dpid: steps for dpid, steps in self.pending.items() if steps}
        return {dpid: steps for dpid, steps in now.items() if steps}

    def commit(self) -> dict[int, tuple[Step, ...]]:
        """The steps left after the verify: the old flows' removal."""
        later, self.pending = self.pending, {}
        for dpid, steps in later.items():
            if dpid in self.installed:
                self.installed[dpid] = flows_after(self.installed[dpid], steps)
        return {dpid: steps for dpid, steps in later.items() if dpid in self.installed}
