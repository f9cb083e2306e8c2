"""Everything a run does before it builds a network, in one function that ``v6lab run``
and ``v6lab topo check`` both call, so that "check passes" means "start passes" up
to the network (as Faucet's config check runs the controller's own parser).

``prepare(scenario, prefix)`` is the model (``simulator.model.preparation``: graph,
address plan, routes, the city model, controller policy, measurement choices) plus each
node's configuration (``nodeconfig``) and every daemon the run starts, configured
with the run's interface names: services (DNS, DNS64, HTTP),
prefix delegation (Kea, dhclient), router advertisements (radvd) and the transition
mechanisms. ``dry_run`` renders them all and runs the checks that need no node:
the backend runs every check again inside the nodes before starting a daemon.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from simulator.model.address_plan import AddressPlan, ports
from simulator.model.city_model import CityModel
from simulator.model.migration import Step
from simulator.model.preparation import Model, model
from simulator.model.rehearsal import rehearsal
from simulator.model.scenario import Scenario
from simulator.network import nodeconfig
from simulator.network.daemons import Daemon, DnsServer, WebServer
from simulator.network.daemons.base import wait_checks
from simulator.network.daemons.dhcpv6 import (
    PrefixDelegationClient,
    PrefixDelegationServer,
    delegations,
)
from simulator.network.daemons.radvd import RouterAdvertisements, advertisers
from simulator.network.daemons.web import ReverseProxy
from simulator.network.mechanisms import deployment
from topologies.spec import Family, Role, ServiceKind

# The run prefix ``v6lab topo check`` renders with: as long as a real one (v + 3
# characters), so interface names are as long as a run's.
CHECK_PREFIX = "vchk"


def interface_name(graph: nx.Graph, prefix: str, node: str, peer: str) -> str:
    """The name of ``node``'s interface towards ``peer`` in the run ``prefix``."""
    return f"{prefix}{node}-e{ports(graph, node)[peer]}"


@dataclass(frozen=True)
class NodeDaemons:
    """What the backend starts once the network is up, in its order."""

    delegation_servers: list[PrefixDelegationServer]
    # Each client with the prefix its lease must hold.
    delegation_clients: list[tuple[PrefixDelegationClient, str]]
    advertisers: list[RouterAdvertisements]
    mechanisms: list[Daemon]

    def all(self) -> list[Daemon]:
        return [*self.delegation_servers, *(c for c, _ in self.delegation_clients), *self.advertisers,
                *self.mechanisms]


def node_daemons(graph: nx.Graph, plan: AddressPlan, interface, zone: str = "") -> NodeDaemons:
    """Kea and dhclient, radvd and the transition mechanisms, from the plan;
    ``interface(node, peer)`` names a node's interface towards a neighbour, and
    ``zone`` is the search domain that DHCPv6 and the advertisements give."""
    servers, clients = delegations(graph, plan, interface, zone)
    return NodeDaemons(servers, clients, advertisers(graph, plan, interface, zone), deployment(graph, plan, interface))


def zone_records(city: CityModel) -> dict[str, list[str]]:
    """Each service's name and the addresses it publishes (A, AAAA)."""
    return {s.name: [str(s.addresses[f]) for f in Family if f in s.addresses] for s in city.services}


def service_daemons(city: CityModel) -> list[Daemon]:
    daemons: list[Daemon] = []
    records = zone_records(city)
    plan = city.plan
    for service in city.services:
        if service.kind is ServiceKind.DNS:
            listen = [str(a.ip) for f in Family for a in plan.addresses(service.server, f)]
            daemons.append(DnsServer(service.server, city.zone, listen, records))
        elif service.kind is ServiceKind.HTTP:
            daemons.append(WebServer(service.server, service.fqdn))
    fronts: dict[str, dict[str, str]] = {}
    for service in city.services:
        if service.front is not None:
            fronts.setdefault(service.front, {})[service.fqdn] = str(service.addresses[Family.IPV4])
    for front, upstreams in sorted(fronts.items()):
        daemons.append(ReverseProxy(front, str(plan.primary(front, Family.IPV6)), upstreams))
    nat64 = city.translators.get(Role.NAT64)
    if nat64 is not None:
        # The DNS64 serves the same zone, and synthesizes AAAA records from A records.
        daemons.append(DnsServer(nat64, city.zone, [str(a.ip) for a in plan.addresses(nat64, Family.IPV6)], records,
                                 dns64_prefix=str(plan.nat64_prefix)))
    return daemons


@dataclass(frozen=True)
class Prepared(Model):
    prefix: str
    # Every router's and host's addresses, routes, sysctls and NAT tables.
    node_configs: dict[str, nodeconfig.NodeConfig]
    services: list[Daemon]
    node_daemons: NodeDaemons

    def daemons(self) -> list[Daemon]:
        return [*self.services, *self.node_daemons.all()]


def prepare(scenario: Scenario, prefix: str = CHECK_PREFIX) -> Prepared:
    """What the run ``prefix`` needs before it builds its network; raises what the run
    would refuse (ConfigError, located in the file to fix)."""
    return _prepared(model(scenario), prefix)


def _prepared(found: Model, prefix: str, layout: nx.Graph | None = None) -> Prepared:
    graph, plan = found.graph, found.plan
    built = graph if layout is None else layout

    def named(node: str, peer: str) -> str:
        return interface_name(built, prefix, node, peer)

    return Prepared(**{f: getattr(found, f) for f in Model.__dataclass_fields__}, prefix=prefix,
                    node_configs=nodeconfig.node_configs(graph, plan, found.routes, named, layout),
                    services=service_daemons(found.city),
                    node_daemons=node_daemons(graph, plan, named, found.scenario.zone))


@dataclass(frozen=True)
class PreparedRehearsal:
    """A migration rehearsal before it builds its network: the network as built
    (every state's nodes and links), and each state as ``prepare`` makes a run."""

    layout: nx.Graph
    names: tuple[str, ...]          # "before", then each phase's name
    steps: tuple[Step, ...]         # every change, in the order it is applied
    states: tuple[Prepared, ...]    # the city before the plan, then after each step


def prepare_rehearsal(scenario: Scenario, prefix: str = CHECK_PREFIX) -> PreparedRehearsal:
    """``prepare`` for every state of the scenario's plan (``model.rehearsal``)."""
    found = rehearsal(scenario)
    return PreparedRehearsal(found.layout, found.names, found.steps,
                             tuple(_prepared(state, prefix, found.layout) for state in found.models))


@dataclass(frozen=True)
class DryRun:
    """What ``dry_run`` did: each check it ran -> how many daemons it checked, and
    each check it could not run here -> why."""

    ran: dict[str, int]
    skipped: dict[str, str]


def dry_run_states(states: tuple[Prepared, ...], folder: Path, as_root: bool | None = None) -> DryRun:
    """``dry_run`` for every daemon configuration any state runs, each once (a daemon
    the same in two states is checked in the first), each state's in a folder of its own."""
    seen: set[tuple] = set()
    ran: Counter[str] = Counter()
    skipped: dict[str, str] = {}
    for index, state in enumerate(states):
        own = folder / f"state-{index}"
        fresh = []
        for daemon in state.daemons():
            # Rendered for the key in one folder for all states: the files name their folder.
            key = (type(daemon).__name__, daemon.node,
                   tuple(sorted(daemon.render(folder / "key" / daemon.node / daemon.NAME).items())))
            if key not in seen:
                seen.add(key)
                fresh.append(daemon)
        found = dry_run(fresh, own, as_root)
        ran.update(found.ran)
        for label, why in found.skipped.items():
            skipped.setdefault(label, why)
    return DryRun(dict(ran), skipped)


def dry_run(daemons: list[Daemon], folder: Path, as_root: bool | None = None) -> DryRun:
    """Render every daemon's files under ``folder`` and run, all at once, the dry runs
    that need no node (``Daemon.offline_checks``); raise DaemonError for the first
    that fails. Those that need a network namespace get a throwaway one (a user
    namespace without root); what cannot run here is skipped, and said why."""
    as_root = os.geteuid() == 0 if as_root is None else as_root
    namespace = ["unshare", "--net"] if as_root else ["unshare", "--user", "--map-root-user", "--net"]
    skipped: dict[str, str] = {}
    namespaces = None
    started = []
    for daemon in daemons:
        own = daemon.write_config(folder / daemon.node / daemon.NAME)
        for check in daemon.offline_checks(own):
            why = check.node_only
            if not why and check.root and not as_root:
                why = "it needs root"
            if not why and shutil.which(check.command[0]) is None:
                why = f"{check.command[0]} is not installed; run 'sudo scripts/setup.sh'"
            if not why and check.namespace:
                if namespaces is None:
                    namespaces = subprocess.run([*namespace, "true"], capture_output=True,
                                                check=False).returncode == 0
                if not namespaces:
                    why = "this host lets no user make a network namespace without root"
            if why:
                skipped.setdefault(check.label, why)
                continue
            command = [*namespace, *check.command] if check.namespace else list(check.command)
            started.append((daemon, check, subprocess.Popen(command, stdout=subprocess.PIPE,
                                                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)))
    wait_checks((daemon, check.command, process) for daemon, check, process in started)
    return DryRun(dict(Counter(check.label for _, check, _ in started)), skipped)
