"""os-ken shim over ``controllers.policy``: decode OpenFlow 1.3 events, send decisions.

It also keeps the per-family counters the runner reads: every ``stats_interval``
seconds it asks each switch for its flow statistics (the switches forward every
packet through a flow, so these are all of them) and writes one JSON snapshot
(atomically) to ``stats_path``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, TypedDict

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import (
    CONFIG_DISPATCHER,
    DEAD_DISPATCHER,
    MAIN_DISPATCHER,
    set_ev_cls,
)
from os_ken.lib import hub
from os_ken.lib.packet import ethernet
from os_ken.ofproto import ofproto_v1_3

from controllers.phases import Enforcement, Segment, cookie_phase
from controllers.policy import (
    CLASSIFY_TABLE,
    FORWARD_TABLE,
    LEARNED_PRIORITY,
    ND_COOKIE,
    Counter,
    FlowSpec,
    LearningSwitchPolicy,
    Mechanisms,
    PacketInfo,
    family_of,
    mechanism_of,
)


class Settings(TypedDict):
    stats_path: str | None
    stats_interval: float
    mechanisms: dict[str, Any]
    control_port: int | None


ETH_HEADER = 14

# Set by the launcher before the app starts (os-ken builds apps without arguments).
SETTINGS: Settings = {"stats_path": None, "stats_interval": 1.0, "mechanisms": {}, "control_port": None}


class DualStackController(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy = LearningSwitchPolicy(Mechanisms.from_dict(SETTINGS["mechanisms"]))
        self.enforcement = Enforcement(segments_from_dict(SETTINGS["mechanisms"].get("segments", {})))
        self.datapaths: dict[int, Any] = {}
        self.flow_counters: dict[int, dict[str, Counter]] = {}   # dpid -> family -> Counter, latest stats reply
        self.flow_counts: dict[int, dict[str, int]] = {}     # dpid -> family -> learned flows that carried packets
        self.nd_counters: dict[int, Counter] = {}            # dpid -> multicast Neighbor Discovery
        self.phase_counters: dict[int, dict[str, PhaseCounter]] = {}   # dpid -> purpose -> packets dropped
        self.mechanism_counters: dict[int, dict[str, Counter]] = {}   # dpid -> mechanism -> Counter
        self.snapshot_seq = 0
        if SETTINGS["control_port"]:
            self.control_thread = hub.spawn(self._serve_control, SETTINGS["control_port"])
        stats_path = SETTINGS["stats_path"]
        if stats_path:
            self.stats_thread = hub.spawn(self._stats_loop, stats_path)

    # --- OpenFlow events -> policy -> OpenFlow messages ------------------------

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def switch_connected(self, ev):
        datapath = ev.msg.datapath
        self.datapaths[datapath.id] = datapath
        for flow in self.policy.switch_connected(datapath.id):
            self._install(datapath, flow)
        # An access switch's segments: RA guard always, IPv6 admission as the phase says.
        for flow in self.enforcement.connected(datapath.id):
            self._install(datapath, flow)

    @set_ev_cls(ofp_event.EventOFPStateChange, DEAD_DISPATCHER)
    def switch_gone(self, ev):
        if ev.datapath.id is not None:
            self.datapaths.pop(ev.datapath.id, None)
            self.policy.switch_disconnected(ev.datapath.id)
            self.enforcement.disconnected(ev.datapath.id)

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def packet_in(self, ev):
        # The switch has forwarded the packet already; this is a copy of its first
        # bytes, sent because table 1 did not know its source.
        msg = ev.msg
        datapath = msg.datapath
        decision = self.policy.packet_received(decode(datapath.id, msg.match["in_port"], msg.data))
        for flow in decision.removals:
            self._remove(datapath, flow)
        for flow in decision.flows:
            self._install(datapath, flow)

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    def flow_stats(self, ev):
        dpid = ev.msg.datapath.id
        counts = count_flows(ev.msg.body)
        self.flow_counters[dpid] = counts.families
        self.flow_counts[dpid] = counts.used
        self.mechanism_counters[dpid] = counts.mechanisms
        self.nd_counters[dpid] = counts.neighbor_discovery
        self.phase_counters[dpid] = counts.phase

    def _install(self, datapath, flow: FlowSpec):
        ofproto, parser = datapath.ofproto, datapath.ofproto_parser
        actions = []
        for kind, value in flow.actions:
            if kind == "output":
                actions.append(parser.OFPActionOutput(value))
            elif kind == "flood":
                actions.append(parser.OFPActionOutput(ofproto.OFPP_FLOOD))
            elif kind == "controller":
                actions.append(parser.OFPActionOutput(ofproto.OFPP_CONTROLLER, value))
        instructions = [parser.OFPInstructionActions(ofproto.OFPIT_APPLY_ACTIONS, actions)] if actions else []
        if flow.goto_table is not None:
            instructions.append(parser.OFPInstructionGotoTable(flow.goto_table))
        datapath.send_msg(parser.OFPFlowMod(
            datapath=datapath, table_id=flow.table_id, cookie=flow.cookie, priority=flow.priority,
            match=parser.OFPMatch(**flow.match_dict), idle_timeout=flow.idle_timeout, instructions=instructions))

    def _remove(self, datapath, flow: FlowSpec):
        ofproto, parser = datapath.ofproto, datapath.ofproto_parser
        datapath.send_msg(parser.OFPFlowMod(
            datapath=datapath, table_id=flow.table_id, priority=flow.priority, command=ofproto.OFPFC_DELETE_STRICT,
            out_port=ofproto.OFPP_ANY, out_group=ofproto.OFPG_ANY, match=parser.OFPMatch(**flow.match_dict)))

    # --- the phase, changed by the runner over loopback ---------------------------

    def _serve_control(self, port: int):
        """JSON lines on 127.0.0.1 only: {"op": "prepare", "phase", "segments",
        "strategy"}, then {"op": "commit"} once the runner has verified the new path."""
        hub.StreamServer(("127.0.0.1", port), self._control_client).serve_forever()

    def _control_client(self, sock, address):
        with sock, sock.makefile("rw") as stream:
            for line in stream:
                try:
                    reply = self._control(json.loads(line))
                except Exception as error:   # a bad request must not end the controller
                    reply = {"ok": False, "error": str(error)}
                stream.write(json.dumps(reply) + "\n")
                stream.flush()

    def _control(self, request: dict) -> dict:
        if request.get("op") == "prepare":
            steps = self.enforcement.prepare(int(request["phase"]), segments_from_dict(request["segments"]),
                                             request.get("strategy", "make-before-break"))
        elif request.get("op") == "commit":
            steps = self.enforcement.commit()
        else:
            raise ValueError(f"unknown request {request!r}")
        changed = 0
        for dpid, switch_steps in steps.items():
            datapath = self.datapaths.get(dpid)
            if datapath is None:
                continue
            for step in switch_steps:
                for flow in step.flows:
                    (self._install if step.kind == "install" else self._remove)(datapath, flow)
                    changed += 1
        return {"ok": True, "phase": self.enforcement.phase, "flows_changed": changed,
                "pending": sum(len(step.flows) for steps in self.enforcement.pending.values() for step in steps)}

    # --- counters for the runner ----------------------------------------------------

    def _stats_loop(self, path: str):
        while True:
            # A switch that leaves mid-request, or a full disk, must not end the
            # loop: the runner would then wait for counters that never come.
            try:
                for datapath in list(self.datapaths.values()):
                    parser = datapath.ofproto_parser
                    datapath.send_msg(parser.OFPFlowStatsRequest(datapath, table_id=datapath.ofproto.OFPTT_ALL))
                hub.sleep(SETTINGS["stats_interval"])
                self._write_snapshot(path)
            except Exception:
                self.logger.exception("counter snapshot failed; trying again")
                hub.sleep(SETTINGS["stats_interval"])

    def snapshot(self) -> dict:
        switches = {}
        for dpid in sorted(set(self.datapaths) | set(self.flow_counters)):
            families: dict[str, dict[str, int]] = {}
            for family, counter in self.flow_counters.get(dpid, {}).items():
                families[family] = {"packets": counter.packets, "bytes": counter.bytes}
            nd = self.nd_counters.get(dpid, Counter())
            switches[f"{dpid:016x}"] = {
                "connected": dpid in self.datapaths,
                "families": families,
                "learned_flows": self.flow_counts.get(dpid, {}),
                "mechanisms": {name: {"packets": c.packets, "bytes": c.bytes}
                               for name, c in self.mechanism_counters.get(dpid, {}).items()},
                "neighbor_discovery": {"packets": nd.packets, "bytes": nd.bytes},
                # What the phase's flows dropped: rogue RAs, IPv6 not admitted yet.
                "dropped": {purpose: {"packets": c.packets, "bytes": c.bytes, "flows": c.flows}
                            for purpose, c in self.phase_counters.get(dpid, {}).items()},
            }
        return {"time": time.time(), "seq": self.snapshot_seq, "switches": switches}

    def _write_snapshot(self, path: str):
        self.snapshot_seq += 1
        tmp = f"{path}.tmp"
        with open(tmp, "w") as out:
            json.dump(self.snapshot(), out)
        os.replace(tmp, path)


def decode(dpid: int, in_port: int, data: bytes) -> PacketInfo:
    """The policy's PacketInfo from a packet's first bytes (its Ethernet header)."""
    eth, _, _ = ethernet.ethernet.parser(data[:ETH_HEADER])
    return PacketInfo(dpid=dpid, in_port=in_port, eth_src=eth.src, eth_dst=eth.dst, eth_type=eth.ethertype)


@dataclass
class PhaseCounter(Counter):
    flows: int = 0          # the phase flows of this purpose on the switch


@dataclass
class FlowCounts:
    families: dict[str, Counter] = field(default_factory=dict)       # family -> packets forwarded
    used: dict[str, int] = field(default_factory=dict)                # family -> learned flows that carried packets
    mechanisms: dict[str, Counter] = field(default_factory=dict)     # mechanism -> packets classified
    neighbor_discovery: Counter = field(default_factory=Counter)     # multicast ND
    phase: dict[str, PhaseCounter] = field(default_factory=dict)      # purpose -> what phase flows dropped


def count_flows(stats) -> FlowCounts:
    """One switch's flow statistics (OFPFlowStats or alike) summed per family and mechanism."""
    counts = FlowCounts()
    for stat in stats:
        if stat.table_id == CLASSIFY_TABLE and (mechanism := mechanism_of(stat.cookie)):
            counts.mechanisms.setdefault(mechanism, Counter()).add(stat.packet_count, stat.byte_count)
        if stat.table_id == CLASSIFY_TABLE and (phase := cookie_phase(stat.cookie)):
            counter = counts.phase.setdefault(phase[1], PhaseCounter())
            counter.add(stat.packet_count, stat.byte_count)
            counter.flows += 1
        if stat.table_id != FORWARD_TABLE:
            continue
        # Every packet a switch forwards crosses exactly one flow of the forwarding table.
        family = family_of(stat.match.get("eth_type", 0))
        counts.families.setdefault(family, Counter()).add(stat.packet_count, stat.byte_count)
        if stat.cookie == ND_COOKIE:
            counts.neighbor_discovery.add(stat.packet_count, stat.byte_count)
        if stat.priority == LEARNED_PRIORITY and stat.packet_count:
            counts.used[family] = counts.used.get(family, 0) + 1
    return counts


def segments_from_dict(data: dict) -> dict[int, tuple[Segment, ...]]:
    """The runner's segments (``simulator.model.transition.access_segments``, keyed by
    datapath id as a decimal string) as the policy's."""
    return {int(dpid): tuple(Segment(item["name"], int(dpid), tuple(item["router_ports"]),
                                     tuple(item["subscriber_ports"]), bool(item["ipv6"])) for item in items)
            for dpid, items in data.items()}
