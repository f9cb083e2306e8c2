"""os-ken shim over ``controllers.policy``: decode OpenFlow 1.3 events, send decisions.

It also keeps the per-family counters the runner reads: every ``stats_interval``
seconds it asks each switch for its flow statistics, adds the packets it forwarded
itself, and writes one JSON snapshot (atomically) to ``stats_path``.
"""

from __future__ import annotations

import json
import os
import time
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
from os_ken.lib.packet import ethernet, icmpv6, ipv6, packet
from os_ken.ofproto import ofproto_v1_3

from controllers.policy import (
    CLASSIFY_TABLE,
    FLOOD,
    FORWARD_TABLE,
    LEARNED_PRIORITY,
    Counter,
    FlowSpec,
    LearningSwitchPolicy,
    Mechanisms,
    PacketInfo,
    family_of,
    mechanism_of,
)
from controllers.wire import with_valid_checksums


class Settings(TypedDict):
    stats_path: str | None
    stats_interval: float
    mechanisms: dict[str, Any]


# Set by the launcher before the app starts (os-ken builds apps without arguments).
SETTINGS: Settings = {"stats_path": None, "stats_interval": 1.0, "mechanisms": {}}


class DualStackController(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy = LearningSwitchPolicy(Mechanisms.from_dict(SETTINGS["mechanisms"]))
        self.datapaths: dict[int, Any] = {}
        self.flow_counters: dict[int, dict[str, Counter]] = {}   # dpid -> family -> Counter, latest stats reply
        self.flow_counts: dict[int, dict[str, int]] = {}     # dpid -> family -> number of learned flows
        self.mechanism_counters: dict[int, dict[str, Counter]] = {}   # dpid -> mechanism -> Counter
        self.snapshot_seq = 0
        stats_path = SETTINGS["stats_path"]
        if stats_path:
            self.stats_thread = hub.spawn(self._stats_loop, stats_path)

    # --- OpenFlow events -> policy -> OpenFlow messages ------------------------

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def switch_features(self, ev):
        datapath = ev.msg.datapath
        self.datapaths[datapath.id] = datapath
        for flow in self.policy.switch_connected(datapath.id):
            self._install(datapath, flow)

    @set_ev_cls(ofp_event.EventOFPStateChange, DEAD_DISPATCHER)
    def switch_gone(self, ev):
        if ev.datapath.id is not None:
            self.datapaths.pop(ev.datapath.id, None)
            self.policy.switch_disconnected(ev.datapath.id)

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def packet_in(self, ev):
        msg = ev.msg
        datapath = msg.datapath
        decision = self.policy.packet_received(decode(datapath.id, msg.match["in_port"], msg.data))
        for flow in decision.flows:
            self._install(datapath, flow)
        if decision.output is None:
            return
        ofproto, parser = datapath.ofproto, datapath.ofproto_parser
        port = ofproto.OFPP_FLOOD if decision.output == FLOOD else decision.output
        datapath.send_msg(parser.OFPPacketOut(
            datapath=datapath, buffer_id=ofproto.OFP_NO_BUFFER, in_port=msg.match["in_port"],
            actions=[parser.OFPActionOutput(port)], data=with_valid_checksums(msg.data)))

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    def flow_stats(self, ev):
        counters: dict[str, Counter] = {}
        counts: dict[str, int] = {}
        mechanisms: dict[str, Counter] = {}
        for stat in ev.msg.body:
            if stat.table_id == CLASSIFY_TABLE and (mechanism := mechanism_of(stat.cookie)):
                mechanisms.setdefault(mechanism, Counter()).add(stat.packet_count, stat.byte_count)
                continue
            if stat.table_id != FORWARD_TABLE or stat.priority != LEARNED_PRIORITY:
                continue
            family = family_of(stat.match.get("eth_type", 0))
            counters.setdefault(family, Counter()).add(stat.packet_count, stat.byte_count)
            counts[family] = counts.get(family, 0) + 1
        dpid = ev.msg.datapath.id
        self.flow_counters[dpid] = counters
        self.flow_counts[dpid] = counts
        self.mechanism_counters[dpid] = mechanisms

    def _install(self, datapath, flow: FlowSpec):
        ofproto, parser = datapath.ofproto, datapath.ofproto_parser
        actions = []
        for kind, value in flow.actions:
            if kind == "output":
                actions.append(parser.OFPActionOutput(value))
            elif kind == "controller":
                actions.append(parser.OFPActionOutput(ofproto.OFPP_CONTROLLER, value))
        instructions = [parser.OFPInstructionActions(ofproto.OFPIT_APPLY_ACTIONS, actions)] if actions else []
        if flow.goto_table is not None:
            instructions.append(parser.OFPInstructionGotoTable(flow.goto_table))
        datapath.send_msg(parser.OFPFlowMod(
            datapath=datapath, table_id=flow.table_id, cookie=flow.cookie, priority=flow.priority,
            match=parser.OFPMatch(**flow.match_dict), idle_timeout=flow.idle_timeout, instructions=instructions))

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
            for source in (self.flow_counters.get(dpid, {}), self.policy.packet_in.get(dpid, {})):
                for family, counter in source.items():
                    total = families.setdefault(family, {"packets": 0, "bytes": 0})
                    total["packets"] += counter.packets
                    total["bytes"] += counter.bytes
            nd = self.policy.neighbor_discovery.get(dpid, Counter())
            switches[f"{dpid:016x}"] = {
                "connected": dpid in self.datapaths,
                "families": families,
                "learned_flows": self.flow_counts.get(dpid, {}),
                "mechanisms": {name: {"packets": c.packets, "bytes": c.bytes}
                               for name, c in self.mechanism_counters.get(dpid, {}).items()},
                "neighbor_discovery": {"packets": nd.packets, "bytes": nd.bytes},
            }
        return {"time": time.time(), "seq": self.snapshot_seq, "switches": switches}

    def _write_snapshot(self, path: str):
        self.snapshot_seq += 1
        tmp = f"{path}.tmp"
        with open(tmp, "w") as out:
            json.dump(self.snapshot(), out)
        os.replace(tmp, path)


def decode(dpid: int, in_port: int, data: bytes) -> PacketInfo:
    """Turn raw packet bytes into the policy's PacketInfo."""
    pkt = packet.Packet(data)
    eth = pkt.get_protocol(ethernet.ethernet)
    ip_proto = icmpv6_type = None
    ip6 = pkt.get_protocol(ipv6.ipv6)
    if ip6 is not None:
        ip_proto = ip6.nxt
        icmp = pkt.get_protocol(icmpv6.icmpv6)
        if icmp is not None:
            icmpv6_type = icmp.type_
    return PacketInfo(dpid=dpid, in_port=in_port, eth_src=eth.src, eth_dst=eth.dst,
                      eth_type=eth.ethertype, size=len(data), ip_proto=ip_proto,
                      icmpv6_type=icmpv6_type)
