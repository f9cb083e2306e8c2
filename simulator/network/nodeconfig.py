"""Each node's configuration as data, and the text that applies it to a Linux node.

``node_configs`` turns the graph, its address plan and its routes into one frozen
``NodeConfig`` per router and host: sysctls, addresses per interface (and whether
they skip duplicate address detection), interfaces brought up, routes, NAT tables,
and which interfaces take SLAAC with fast timers while they come up. The renderers
turn that into the shell script and ``ip -batch`` input the emulation backend runs
in each node; ``diff`` says what to apply to a running node when its configuration
changes (a link fails: routes go and come). Nothing here runs a command or needs
root, so every node's configuration has unit tests.

Sysctls are (key, value) pairs, keys relative to /proc/sys
(``net/ipv6/conf/all/forwarding``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

import networkx as nx

from simulator.model.address_plan import AddressPlan, ports
from simulator.model.routing import Route
from simulator.network import nat
from topologies.errors import BackendError
from topologies.spec import Family, Kind, Role, node_spec

Sysctl = tuple[str, str]
InterfaceNamer = Callable[[str, str], str]   # (node, peer) -> the node's interface towards peer


@dataclass(frozen=True)
class Address:
    address: ipaddress.IPv4Interface | ipaddress.IPv6Interface
    # The address plan hands out each address once (its tests check it), so
    # duplicate detection of planned IPv6 addresses would only cost ~2 s of waiting.
    skip_dad: bool = False

    @property
    def family(self) -> Family:
        return Family.IPV4 if self.address.version == 4 else Family.IPV6


@dataclass(frozen=True)
class InterfaceConfig:
    name: str
    sysctls: tuple[Sysctl, ...] = ()
    addresses: tuple[Address, ...] = ()       # set by hand
    up: bool = True
    # The address router advertisements are expected to give it (not set by hand;
    # it goes through DAD, with the bring-up timers below).
    slaac: ipaddress.IPv6Interface | None = None


@dataclass(frozen=True)
class BringUpTimer:
    kind: str    # "conf" or "neigh": where the key lives under net/ipv6/
    key: str
    fast: int


# Duplicate address detection of a SLAAC address waits a random 0-1 s
# (router_solicitation_delay), then one RetransTimer of 1 s (RFC 4862 5.4,
# RFC 4861 10). On an emulated LAN, where a neighbour answers in well under a
# millisecond, 100 ms is still a thousand round trips: hosts run real DAD with
# these while they come up, and get the kernel's defaults back once their
# addresses are in (``restore_timers``), so neighbour unreachability detection
# keeps its timing.
BRING_UP_TIMERS = (BringUpTimer("conf", "router_solicitation_delay", 0),
                   BringUpTimer("neigh", "retrans_time_ms", 100))

# Set before any interface exists, so that every interface is made with it:
# link-local addresses, like the planned ones, come from the plan's unique MACs and
# skip duplicate address detection. SLAAC interfaces set it back to 1.
LINK_DEFAULTS: tuple[Sysctl, ...] = (("net/ipv6/conf/default/dad_transmits", "0"),)


@dataclass(frozen=True)
class NodeConfig:
    node: str
    defaults: tuple[Sysctl, ...]       # before the node has interfaces (LINK_DEFAULTS)
    sysctls: tuple[Sysctl, ...]        # node-wide
    nat: tuple[nat.NatTable, ...]
    interfaces: tuple[InterfaceConfig, ...]
    # Installed by hand; routes a SLAAC host learns from advertisements are not.
    routes: tuple[Route, ...]


@dataclass(frozen=True)
class ConfigChange:
    """What to apply to a running node to go from one configuration to another."""

    node: str
    routes_removed: tuple[Route, ...] = ()
    routes_added: tuple[Route, ...] = ()
    sysctls: tuple[Sysctl, ...] = ()                         # node-wide and per interface, new values
    nat_removed: tuple[str, ...] = ()                        # table names
    nat_loaded: tuple[nat.NatTable, ...] = ()                # new or changed tables, loaded whole
    addresses_removed: tuple[tuple[str, Address], ...] = ()  # (interface, address)
    addresses_added: tuple[tuple[str, Address], ...] = ()
    links: tuple[tuple[str, bool], ...] = ()                 # (interface, up) that changed

    @property
    def empty(self) -> bool:
        return not any(getattr(self, name) for name in self.__dataclass_fields__ if name != "node")


# --- from the plan to data ---------------------------------------------------------


def node_configs(graph: nx.Graph, plan: AddressPlan, routes: Mapping[str, Iterable[Route]],
                 interface_name: InterfaceNamer, layout: nx.Graph | None = None) -> dict[str, NodeConfig]:
    """The configuration of every router and host, by node name, in name order.

    ``layout``: the network as built, when ``graph`` is one state of a city that
    changes while it runs (a migration plan). The network has every node and link of
    every state, so each node's configuration names all its interfaces: one that
    ``graph`` lacks (the link to a translator not deployed yet) is up, without
    addresses or IPv6; a node that ``graph`` lacks has nothing but its interfaces."""
    configs = {node: node_config(graph, plan, routes.get(node, ()), interface_name, node)
               for node in sorted(graph) if node_spec(graph, node).kind is not Kind.SWITCH}
    if layout is None:
        return configs
    padded = {}
    for node in sorted(layout):
        if node_spec(layout, node).kind is Kind.SWITCH:
            continue
        config = configs.get(node) or NodeConfig(node, LINK_DEFAULTS, _ipv6_off(), (), (), ())
        own = {i.name: i for i in config.interfaces}
        blank = () if _ipv6_off()[0] in config.sysctls else None
        interfaces = []
        numbered = ports(layout, node)
        for peer in sorted(numbered, key=lambda p: numbered[p]):
            name = interface_name(node, peer)
            interfaces.append(own.get(name) or InterfaceConfig(
                name, blank if blank is not None else ((f"net/ipv6/conf/{name}/accept_ra", "0"),
                                                       (f"net/ipv6/conf/{name}/disable_ipv6", "1"))))
        padded[node] = replace(config, interfaces=tuple(interfaces))
    return padded


def _ipv6_off() -> tuple[Sysctl, ...]:
    """An IPv4-only node has no IPv6 at all, not even link-local addresses."""
    return (("net/ipv6/conf/all/disable_ipv6", "1"), ("net/ipv6/conf/default/disable_ipv6", "1"))


def node_config(graph: nx.Graph, plan: AddressPlan, routes: Iterable[Route],
                interface_name: InterfaceNamer, node: str) -> NodeConfig:
    spec = node_spec(graph, node)
    planned = plan.interfaces_of(node)
    has_ipv6 = any(i.ipv6 for i in planned)
    sysctls: list[Sysctl] = []
    if has_ipv6:
        # Keep IPv6 addresses across a link going down and up (faults): the
        # kernel's default drops them, and nothing would add them back.
        sysctls += [("net/ipv6/conf/all/keep_addr_on_down", "1"), ("net/ipv6/conf/default/keep_addr_on_down", "1")]
        # Said, for a node that gains IPv6 while it runs (a migration); each
        # interface says its own below ("all" would overwrite every interface's).
        sysctls += [("net/ipv6/conf/default/disable_ipv6", "0"), ("net/ipv6/conf/lo/disable_ipv6", "0")]
    else:
        sysctls += list(_ipv6_off())
    if spec.kind is Kind.ROUTER:
        sysctls += [("net/ipv4/ip_forward", "1"), ("net/ipv6/conf/all/forwarding", "1")]
    interfaces = []
    for interface in planned:
        name = interface_name(node, interface.peer)
        own: list[Sysctl] = []
        if has_ipv6:
            # Static addresses take no advertisements; SLAAC hosts take them.
            own += [(f"net/ipv6/conf/{name}/accept_ra", "1" if interface.slaac else "0"),
                    (f"net/ipv6/conf/{name}/disable_ipv6", "0" if interface.ipv6 else "1")]
        if interface.slaac:
            # RFC 4862's default: one neighbour solicitation before an address is used.
            own += [(f"net/ipv6/conf/{name}/dad_transmits", "1")]
            own += [(_timer_key(timer, name), str(timer.fast)) for timer in BRING_UP_TIMERS]
        addresses = []
        if interface.ipv4:
            addresses.append(Address(interface.ipv4))
        if interface.ipv6 and not interface.slaac:
            addresses.append(Address(interface.ipv6, skip_dad=True))
        interfaces.append(InterfaceConfig(name, tuple(own), tuple(addresses),
                                          slaac=interface.ipv6 if interface.slaac else None))
    return NodeConfig(node, LINK_DEFAULTS, tuple(sysctls), _nat44(graph, plan, interface_name, node),
                      tuple(interfaces), tuple(r for r in routes if not r.from_ra))


def _nat44(graph: nx.Graph, plan: AddressPlan, interface_name: InterfaceNamer, node: str) -> tuple[nat.NatTable, ...]:
    """A CPE masquerades its LAN (NAT44, RFC 3022), unless its mechanism carries the
    LAN's IPv4 on (a DS-Lite B4 into its softwire, a 464XLAT CLAT by stateless
    translation)."""
    spec = node_spec(graph, node)
    if spec.role is not Role.CPE or (spec.mode is not None and spec.mode.ipv4_via is not None):
        return ()
    tables = []
    for segment in plan.segments.values():
        if segment.nat_gateway == node and segment.ipv4 is not None:
            lan = next(interface_name(node, i.peer) for i in plan.interfaces_of(node) if i.segment == segment.name)
            tables.append(nat.NatTable("v6lab_nat", (nat.masquerade(segment.ipv4, lan),)))
    return tuple(tables)


def _timer_key(timer: BringUpTimer, name: str) -> str:
    return f"net/ipv6/{timer.kind}/{name}/{timer.key}"


def restore_timers(config: NodeConfig, neigh_defaults: Mapping[str, str]) -> tuple[Sysctl, ...]:
    """The kernel's own timers back on every SLAAC interface, once its address is in.

    A namespace has its own conf/default, so those are read inside the node when the
    script runs; neighbour defaults are only in the host's (the neighbour table's
    defaults are global), so the caller reads them: ``neigh_defaults`` by key."""
    return tuple((_timer_key(timer, interface.name),
                  f"$(cat /proc/sys/net/ipv6/conf/default/{timer.key})" if timer.kind == "conf"
                  else neigh_defaults[timer.key])
                 for interface in config.interfaces if interface.slaac for timer in BRING_UP_TIMERS)


# --- from data to text ---------------------------------------------------------------


def render_sysctls(sysctls: Iterable[Sysctl]) -> list[str]:
    return [f"echo {value} > /proc/sys/{key}" for key, value in sysctls]


def render_defaults(config: NodeConfig) -> str:
    """The script for a node that has no interfaces yet."""
    return "".join(line + "\n" for line in render_sysctls(config.defaults))


def _family_flag(family: Family) -> str:
    return "-4" if family is Family.IPV4 else "-6"


def ip_batch(config: NodeConfig, family: Family) -> list[str]:
    """The ``ip -4 -batch`` or ``ip -6 -batch`` input for the node's addresses, links
    and routes. Routes come after the addresses: a next hop only needs the on-link
    prefix of an address set without DAD."""
    lines = []
    for interface in config.interfaces:
        if family is Family.IPV4:
            # Only IPv4: flushing IPv6 would take the link-local address too, and a
            # router without one sends no neighbour solicitations for what it forwards.
            lines.append(f"addr flush dev {interface.name}")
        lines += [f"addr add {a.address} dev {interface.name}" + (" nodad" if a.skip_dad else "")
                  for a in interface.addresses if a.family is family]
        if family is Family.IPV4 and interface.up:
            lines.append(f"link set dev {interface.name} up")
    lines += [" ".join(route.ip_args()) for route in config.routes if route.family is family]
    return lines


def render_script(config: NodeConfig) -> str:
    """The shell script that configures a node whose interfaces exist: sysctls, NAT,
    then addresses, links and routes through one ``ip -batch`` per family (a city
    has thousands of them, and a process for each took seconds)."""
    lines = ["set -e", "ip link set lo up", *render_sysctls(config.sysctls)]
    lines += ["nft -f - <<'NFT'\n" + nat.render(table) + "NFT" for table in config.nat]
    for interface in config.interfaces:
        lines += render_sysctls(interface.sysctls)
    for family in Family:
        batch = ip_batch(config, family)
        if batch:
            lines.append(f"ip {_family_flag(family)} -batch - <<'IP'\n" + "\n".join(batch) + "\nIP")
    return "\n".join(lines) + "\n"


# --- changes to a running node ---------------------------------------------------------


def diff(old: NodeConfig, new: NodeConfig) -> ConfigChange:
    """What changes from ``old`` to ``new`` on a running node: routes, sysctls, NAT
    tables, addresses and links. The defaults (read only when interfaces are made)
    and the set of interfaces cannot change on a running node: refused, rather than
    silently left out. A sysctl that ``new`` no longer sets keeps its value."""
    if old.node != new.node:
        raise BackendError(f"configurations of {old.node} and {new.node}: a diff compares one node's two "
                           "configurations; pass the same node's")
    if old.defaults != new.defaults:
        raise BackendError(f"node {old.node}: its defaults changed; they apply when interfaces are made, so "
                           "start the network again")
    names = [i.name for i in old.interfaces]
    if names != [i.name for i in new.interfaces]:
        raise BackendError(f"node {old.node}: its interfaces changed ({', '.join(names)} -> "
                           f"{', '.join(i.name for i in new.interfaces)}); links are made when the network starts")
    before, after = set(old.routes), set(new.routes)
    old_sysctls = dict(old.sysctls + tuple(s for i in old.interfaces for s in i.sysctls))
    new_sysctls = new.sysctls + tuple(s for i in new.interfaces for s in i.sysctls)
    old_nat = {table.name: table for table in old.nat}
    new_nat = {table.name: table for table in new.nat}
    removed, added, links = [], [], []
    for was, now in zip(old.interfaces, new.interfaces, strict=True):
        removed += [(was.name, a) for a in was.addresses if a not in now.addresses]
        added += [(now.name, a) for a in now.addresses if a not in was.addresses]
        if was.up != now.up:
            links.append((now.name, now.up))
    return ConfigChange(
        old.node, tuple(sorted(before - after, key=str)), tuple(sorted(after - before, key=str)),
        tuple((key, value) for key, value in new_sysctls if old_sysctls.get(key) != value),
        tuple(sorted(set(old_nat) - set(new_nat))),
        tuple(table for name, table in new_nat.items() if old_nat.get(name) != table),
        tuple(removed), tuple(added), tuple(links))


def additions(old: NodeConfig, new: NodeConfig) -> NodeConfig:
    """The way from ``old`` to ``new`` without removing anything (make-before-break):
    ``new``'s sysctls and links, every address and NAT table of both (a changed table
    as ``new`` has it), the routes of both but, where both route one destination, the
    old one (the path in use stays until the new one is verified). Then
    ``diff(additions(old, new), new)`` removes what ``new`` no longer has."""
    if [i.name for i in old.interfaces] != [i.name for i in new.interfaces]:
        diff(old, new)   # raises, saying why
    interfaces = tuple(replace(now, addresses=was.addresses + tuple(a for a in now.addresses
                                                                   if a not in was.addresses))
                       for was, now in zip(old.interfaces, new.interfaces, strict=True))
    tables = {t.name: t for t in old.nat} | {t.name: t for t in new.nat}
    routed = {(r.family, r.destination) for r in old.routes}
    return replace(new, nat=tuple(tables.values()), interfaces=interfaces,
                   routes=old.routes + tuple(r for r in new.routes if (r.family, r.destination) not in routed))


def ipv6_turned_on(old: NodeConfig, new: NodeConfig) -> list[str]:
    """The interfaces whose IPv6 going from ``old`` to ``new`` turns on (their link-local
    address comes a moment later: a DHCPv6 client binds to it)."""
    def enabled(config: NodeConfig) -> set[str]:
        values = dict(config.sysctls + tuple(s for i in config.interfaces for s in i.sysctls))
        off = values.get("net/ipv6/conf/all/disable_ipv6") == "1"
        return {i.name for i in config.interfaces
                if values.get(f"net/ipv6/conf/{i.name}/disable_ipv6", "1" if off else "0") == "0"}
    return sorted(enabled(new) - enabled(old))


def render_change(change: ConfigChange) -> str:
    """The script applying ``change``, or "" when there is nothing to do: sysctls,
    NAT tables (a changed table is deleted and loaded whole, in one nft
    transaction), addresses, links, then routes. Routes are removed first, quietly
    (the kernel may have dropped one with its link), and the script does not fail
    on them."""
    lines = render_sysctls(change.sysctls)
    lines += [f"nft delete table ip {name}" for name in change.nat_removed]
    for table in change.nat_loaded:
        lines.append("nft -f - <<'NFT'\n" + f"table ip {table.name}\ndelete table ip {table.name}\n"
                     + nat.render(table) + "NFT")
    lines += [f"ip addr del {address.address} dev {name}" for name, address in change.addresses_removed]
    lines += [f"ip addr add {address.address} dev {name}" + (" nodad" if address.skip_dad else "")
              for name, address in change.addresses_added]
    lines += [f"ip link set dev {name} {'up' if up else 'down'}" for name, up in change.links]
    replaced = {(r.family, r.destination) for r in change.routes_added}
    for route in change.routes_removed:
        if (route.family, route.destination) in replaced:
            continue   # "ip route replace" below takes its place without a gap
        destination = "default" if route.destination is None else str(route.destination)
        # With its gateway: a route a daemon has put in its place (a CLAT's or a
        # B4's default route) is not this one, and stays.
        lines.append(f"ip {_family_flag(route.family)} route del {destination} via {route.via} 2>/dev/null")
    lines += [f"ip {_family_flag(route.family)} " + " ".join(route.ip_args()) for route in change.routes_added]
    return "\n".join(lines) + "\ntrue\n" if lines else ""
