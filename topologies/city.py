"""A whole city from a spec file: metro core, districts with fixed and mobile access,
IDCs and the outside networks, as one graph.

A city has far more subscribers than can be emulated. The spec says how many
emulated hosts stand for each class in each district; every host carries in
``represents`` how many real subscribers it stands for, so reports (and the model
tier) can weight by the real counts.

Names are short because they become Linux interface names:

    c1..cN          core routers (ring, dual ring or partial mesh)
    <d>m, <d>agg    a district's metro uplink switch and aggregation router
    <d>bng, <d>oK   fixed access: BNG and its OLT switches
    <d>fN, <d>fNhK  CPE routers and the hosts on their LANs (<d>fNl: LAN switch)
    <d>gw, <d>r     mobile access: the mobile gateway and its radio aggregation switch
    <d>uN           UEs
    <i>sN, <i>lN    IDC spines and leaves; <i>rN rack switches; <i>vN servers
    xm, tr1, xs, xN the metro egress switch, transit router, outside switch, content servers
    n64, aftr       the NAT64 (with DNS64) and the DS-Lite AFTR, each on a core router
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from topologies.errors import ConfigError
from topologies.rfc6052 import check_prefix
from topologies.spec import (
    DUAL_STACK,
    FAMILY_SETS,
    IPV4_ONLY,
    IPV6_ONLY,
    AccessMode,
    CityPrefixes,
    Family,
    LinkSpec,
    NodeSpec,
    Role,
    ServiceKind,
    ServiceSpec,
    validate,
)
from topologies.validation import (
    Problems,
    check_keys,
    fraction,
    load_yaml,
    network,
    suggest,
    typed,
)

METRO_LAYOUTS = ("ring", "dual-ring", "mesh")
# Mechanisms a city may name that v6lab does not build (doctor says what they need).
UNBUILT_MODES = {"6rd": "RFC 5969, needs sit tunnels", "map-e": "RFC 7597, needs ip6tnl and a MAP border relay",
                 "map-t": "RFC 7599, needs a MAP-T translator such as Jool's kernel module"}
FAMILY_MODES = FAMILY_SETS
ID_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,2}$")
LABEL_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
OUTSIDE = "outside"
# Node names must fit Linux interface names; these bound the numbers in them.
MAX_EMULATED_FIXED, MAX_EMULATED_MOBILE, MAX_LAN_HOSTS = 99, 999, 9


@dataclass(frozen=True)
class Metro:
    layout: str = "ring"
    core_routers: int = 3
    mesh_links: int = 1      # mesh only: chords added to the ring


@dataclass(frozen=True)
class MobileAccess:
    subscribers: int
    emulated_hosts: int      # UEs emulated (CPEs for fixed access)
    ipv6_capable: float = 0.0
    mode: AccessMode = AccessMode.DUAL_STACK
    cgn: bool = False        # IPv4 from shared space behind carrier-grade NAT

    @property
    def represents(self) -> int:
        """Real subscribers per emulated host."""
        return math.ceil(self.subscribers / self.emulated_hosts)


@dataclass(frozen=True)
class FixedAccess(MobileAccess):
    olts: int = 1
    lan_hosts_per_cpe: int = 1


@dataclass(frozen=True)
class District:
    id: str
    name: str
    core: str
    fixed: FixedAccess | None = None
    mobile: MobileAccess | None = None


@dataclass(frozen=True)
class Idc:
    id: str
    name: str
    core: str
    spines: int = 2
    leaves: int = 2
    servers_per_leaf: int = 2


@dataclass(frozen=True)
class Transition:
    """Where the city's translators sit: core routers, or None when absent."""

    nat64: str | None = None
    aftr: str | None = None


TRANSLATOR_NAMES = {Role.NAT64: "n64", Role.AFTR: "aftr"}


@dataclass(frozen=True)
class Service:
    name: str
    at: str                  # an IDC id, or "outside"
    kind: ServiceKind = ServiceKind.HTTP
    families: frozenset[Family] = DUAL_STACK
    popularity: float = 0.0
    # "proxy": an IPv4-only service reached over IPv6 through an HTTP reverse proxy at
    # its IDC's edge (the IDC's front, <idc>p), its server untouched.
    front: str | None = None


@dataclass(frozen=True)
class CitySpec:
    name: str
    description: str = ""
    seed: int = 1
    metro: Metro = Metro()
    districts: tuple[District, ...] = ()
    idcs: tuple[Idc, ...] = ()
    services: tuple[Service, ...] = ()
    transit_core: str = "c1"
    prefixes: CityPrefixes = CityPrefixes()
    transition: Transition = Transition()
    source: str = "<string>"

    @property
    def core_names(self) -> list[str]:
        return [f"c{i}" for i in range(1, self.metro.core_routers + 1)]


# --- parsing ---------------------------------------------------------------------


def _keys(cls) -> list[str]:
    return [f for f in cls.__dataclass_fields__ if f not in ("source",)]


def _count(data, key, default, path, problems, minimum=1, maximum=None):
    def check(value):
        if value < minimum:
            return f"must be at least {minimum}, got {value}"
        if maximum is not None and value > maximum:
            return f"must be at most {maximum}, got {value}"
        return None
    return typed(data, key, int, default, path, problems, check)


def _parse_metro(data, problems) -> Metro:
    data = check_keys(data, _keys(Metro), "metro", problems)
    layout = typed(data, "layout", str, "ring", "metro", problems)
    if layout not in METRO_LAYOUTS:
        problems.add("metro.layout", f"unknown layout {layout!r}{suggest(layout, METRO_LAYOUTS, 'layouts')}")
        layout = "ring"
    cores = _count(data, "core_routers", 3, "metro", problems, maximum=32)
    if layout == "dual-ring" and (cores < 4 or cores % 2):
        problems.add("metro.core_routers", f"a dual ring needs an even number of at least 4 routers, got {cores}")
    return Metro(layout, cores, _count(data, "mesh_links", 1, "metro", problems, minimum=0))


def _parse_access(cls, data, path, problems, max_hosts):
    data = check_keys(data, _keys(cls), path, problems)
    if not data:
        return None
    before = len(problems.items)
    for key in ("subscribers", "emulated_hosts"):
        if key not in data:
            problems.add(f"{path}.{key}",
                         "missing: how many real subscribers, and how many emulated hosts stand for them")
    subscribers = _count(data, "subscribers", 1, path, problems)
    hosts = _count(data, "emulated_hosts", 1, path, problems, maximum=max_hosts)
    # Compare only two counts that were both given and valid.
    if len(problems.items) == before and hosts > subscribers:
        problems.add(f"{path}.emulated_hosts",
                     f"{hosts} emulated hosts for {subscribers} subscriber{'s' if subscribers != 1 else ''}: "
                     "each host stands for at least one subscriber; lower emulated_hosts")
    fields = {"subscribers": subscribers, "emulated_hosts": hosts,
              "ipv6_capable": typed(data, "ipv6_capable", float, 0.0, path, problems, fraction),
              "cgn": typed(data, "cgn", bool, False, path, problems)}
    modes = [m.value for m in AccessMode]
    mode = typed(data, "mode", str, AccessMode.DUAL_STACK.value, path, problems)
    if mode in UNBUILT_MODES:
        problems.add(f"{path}.mode", f"{mode} is not built by v6lab ({UNBUILT_MODES[mode]}); "
                     f"available modes: {', '.join(modes)}. 'v6lab doctor' shows what this host lacks")
    elif mode not in modes:
        problems.add(f"{path}.mode", f"unknown mode {mode!r}{suggest(mode, modes, 'modes')}")
    elif mode == AccessMode.DS_LITE.value and cls is MobileAccess:
        problems.add(f"{path}.mode", "ds-lite is a fixed broadband mechanism (the B4 is the CPE, RFC 6333); "
                     "IPv6-only mobile access uses 464xlat")
    else:
        fields["mode"] = AccessMode(mode)
    if cls is FixedAccess:
        fields["olts"] = _count(data, "olts", 1, path, problems, maximum=9)
        fields["lan_hosts_per_cpe"] = _count(data, "lan_hosts_per_cpe", 1, path, problems, maximum=MAX_LAN_HOSTS)
    return cls(**fields)


def _parse_id(data, path, problems, default, seen, what) -> str:
    ident = typed(data, "id", str, default, path, problems)
    if not ID_PATTERN.match(ident):
        problems.add(f"{path}.id", f"{ident!r}: {what} ids are 1-3 characters, a lower-case letter then letters "
                     "or digits (it prefixes node names); give the long name in 'name'")
    elif ident in seen:
        problems.add(f"{path}.id", f"{ident!r} is already the id of another district or IDC")
    seen.add(ident)
    return ident


def _parse_core(data, path, problems, default, cores) -> str:
    core = typed(data, "core", str, default, path, problems)
    if core not in cores:
        problems.add(f"{path}.core", f"no core router {core!r}; the metro has {', '.join(cores)}")
        return default
    return core


def parse_city(data, source: str = "<string>") -> CitySpec:
    """Validate a loaded city spec; raise one ConfigError listing every problem."""
    problems = Problems(source)
    data = check_keys(data, ["name", "description", "seed", "metro", "districts", "idcs", "services",
                             "transit_core", "prefixes", "transition"], "", problems)
    if not data and not problems.items:
        problems.add("", "empty city spec: it needs a name, districts and services")
        raise ConfigError(problems.items)
    name = typed(data, "name", str, None, "", problems)
    if name is None and "name" not in data:
        problems.add("name", "missing: every city has a name")
    metro = _parse_metro(data.get("metro"), problems)
    cores = [f"c{i}" for i in range(1, metro.core_routers + 1)]
    seen: set[str] = set()

    districts = []
    raw = data.get("districts")
    if not isinstance(raw, list) or not raw:
        problems.add("districts", "expected a list of at least one district")
        raw = []
    for index, item in enumerate(raw):
        path = f"districts[{index}]"
        item = check_keys(item, _keys(District), path, problems)
        ident = _parse_id(item, path, problems, f"d{index + 1}", seen, "district")
        fixed = _parse_access(FixedAccess, item.get("fixed"), f"{path}.fixed", problems, MAX_EMULATED_FIXED)
        mobile = _parse_access(MobileAccess, item.get("mobile"), f"{path}.mobile", problems, MAX_EMULATED_MOBILE)
        if fixed is None and mobile is None:
            problems.add(path, "a district with no access network: give it 'fixed', 'mobile' or both")
        districts.append(District(ident, typed(item, "name", str, ident, path, problems),
                                  _parse_core(item, path, problems, cores[index % len(cores)], cores),
                                  fixed, mobile))

    idcs = []
    raw = data.get("idcs") or []
    if not isinstance(raw, list):
        problems.add("idcs", "expected a list of IDCs")
        raw = []
    for index, item in enumerate(raw):
        path = f"idcs[{index}]"
        item = check_keys(item, _keys(Idc), path, problems)
        ident = _parse_id(item, path, problems, f"i{index + 1}", seen, "IDC")
        idcs.append(Idc(ident, typed(item, "name", str, ident, path, problems),
                        _parse_core(item, path, problems, cores[-1 - index % len(cores)], cores),
                        _count(item, "spines", 2, path, problems, maximum=9),
                        _count(item, "leaves", 2, path, problems, maximum=9),
                        _count(item, "servers_per_leaf", 2, path, problems, maximum=9)))

    services = _parse_services(data.get("services"), {i.id for i in idcs}, problems)
    transit = typed(data, "transit_core", str, cores[0], "", problems)
    if transit not in cores:
        problems.add("transit_core", f"no core router {transit!r}; the metro has {', '.join(cores)}")
    description = typed(data, "description", str, "", "", problems)
    seed = typed(data, "seed", int, 1, "", problems)
    prefixes = _parse_prefixes(data.get("prefixes"), problems)
    transition = _parse_transition(data.get("transition"), cores, problems)
    _check_translators(districts, transition, problems, cores[0])
    if problems.items:
        raise ConfigError(problems.items)
    spec = CitySpec(name=name, description=description, seed=seed, metro=metro, districts=tuple(districts),
                    idcs=tuple(idcs), services=services, transit_core=transit, prefixes=prefixes,
                    transition=transition, source=source)
    _check_names(spec)
    return spec


def _parse_transition(data, cores, problems) -> Transition:
    keys = {"nat64": Role.NAT64, "aftr": Role.AFTR}
    data = check_keys(data, list(keys), "transition", problems)
    placed = {}
    for key in keys:
        if key not in data:
            continue
        item = check_keys(data[key] if data[key] is not None else {}, ["core"], f"transition.{key}", problems)
        placed[key] = _parse_core(item, f"transition.{key}", problems, cores[0], cores)
    return Transition(**placed)


def _check_translators(districts, transition: Transition, problems, core: str = "c1") -> None:
    """A mode that needs a translator the city does not have is refused here."""
    have = {Role.NAT64: transition.nat64, Role.AFTR: transition.aftr}
    for index, district in enumerate(districts):
        for kind in ("fixed", "mobile"):
            access = getattr(district, kind)
            needed = access.mode.translator if access else None
            if needed is not None and have[needed] is None:
                key = "nat64" if needed is Role.NAT64 else "aftr"
                problems.add(f"districts[{index}].{kind}.mode",
                             f"{access.mode.value} needs a {'NAT64' if key == 'nat64' else 'DS-Lite AFTR'}, "
                             f"and the city has none; add 'transition: {{{key}: {{core: {core}}}}}'")


def _check_names(spec: CitySpec) -> None:
    """Node names come from ids; two parts of the city must not get the same one
    (a district 'x' would make 'xm', the outside's metro switch)."""
    owners: dict[str, str] = {}
    clashes = []
    for name, owner in _names(spec):
        if name in owners and owners[name] != owner:
            clashes.append(f"{spec.source}: {owner}: node name {name!r} is also a node of {owners[name]}; "
                           "choose another id")
        owners.setdefault(name, owner)
    if clashes:
        raise ConfigError(sorted(set(clashes)))


def _names(spec: CitySpec):
    # Fixed names first, so that a clash blames the district or IDC whose id can change.
    for core in spec.core_names:
        yield core, "the metro core"
    outside = sum(1 for s in spec.services if s.at == OUTSIDE)
    for name in ["xm", "tr1", "xs"] + [f"x{k}" for k in range(1, outside + 1)]:
        yield name, "the outside network"
    for role, name in TRANSLATOR_NAMES.items():
        if getattr(spec.transition, role.value):
            yield name, "the translators"
    for index, d in enumerate(spec.districts):
        owner = f"districts[{index}] (id {d.id!r})"
        yield from ((f"{d.id}{suffix}", owner) for suffix in ("m", "agg"))
        if d.fixed:
            yield f"{d.id}bng", owner
            yield from ((f"{d.id}o{k}", owner) for k in range(1, d.fixed.olts + 1))
            for n in range(1, d.fixed.emulated_hosts + 1):
                yield f"{d.id}f{n}", owner
                yield f"{d.id}f{n}l", owner
                yield from ((f"{d.id}f{n}h{k}", owner) for k in range(1, d.fixed.lan_hosts_per_cpe + 1))
        if d.mobile:
            yield from ((f"{d.id}{suffix}", owner) for suffix in ("gw", "r"))
            yield from ((f"{d.id}u{n}", owner) for n in range(1, d.mobile.emulated_hosts + 1))
    for index, i in enumerate(spec.idcs):
        owner = f"idcs[{index}] (id {i.id!r})"
        yield from ((f"{i.id}s{k}", owner) for k in range(1, i.spines + 1))
        for leaf in range(1, i.leaves + 1):
            yield f"{i.id}l{leaf}", owner
            yield f"{i.id}r{leaf}", owner
        yield from ((f"{i.id}v{k}", owner) for k in range(1, i.leaves * i.servers_per_leaf + 1))


def _parse_prefixes(data, problems) -> CityPrefixes:
    data = check_keys(data, [k for k in CityPrefixes.__dataclass_fields__], "prefixes", problems)
    default = CityPrefixes()
    values = {}
    for key in ("ipv6", "ipv6_outside"):
        values[key] = typed(data, key, str, getattr(default, key), "prefixes", problems, network(6))
    values["nat64"] = typed(data, "nat64", str, default.nat64, "prefixes", problems, check_prefix)
    for key in ("ipv4_public", "ipv4_outside", "ipv4_lan", "ipv4_cgn"):
        values[key] = typed(data, key, str, getattr(default, key), "prefixes", problems, network(4))
    for key, longest in (("ipv4_lan", 24), ("ipv6_outside", 48)):
        if key in data and values[key] != getattr(default, key):
            length = int(values[key].rsplit("/", 1)[1]) if "/" in values[key] else 128
            if length > longest:
                problems.add(f"prefixes.{key}", f"{values[key]} is longer than /{longest}; give a /{longest} "
                             "or shorter")
    values["site_length"] = typed(data, "site_length", int, default.site_length, "prefixes", problems,
                                  lambda v: None if 16 <= v <= 48 else f"must be between 16 and 48, got {v}")
    values["delegated_length"] = typed(data, "delegated_length", int, default.delegated_length, "prefixes",
                                       problems, lambda v: None if v in (56, 60, 64) else
                                       f"a CPE is delegated a /56, /60 or /64, got /{v}")
    return CityPrefixes(**values)


def _parse_services(raw, idc_ids, problems) -> tuple[Service, ...]:
    if not isinstance(raw, list) or not raw:
        problems.add("services", "expected a list of at least one service (name, at, families)")
        return ()
    services, names = [], set()
    places = sorted(idc_ids) + [OUTSIDE]
    for index, item in enumerate(raw):
        path = f"services[{index}]"
        item = check_keys(item, _keys(Service), path, problems)
        name = typed(item, "name", str, f"s{index + 1}", path, problems)
        if not LABEL_PATTERN.match(name):
            problems.add(f"{path}.name", f"{name!r} is not a DNS label: lower-case letters, digits and '-', "
                         "not starting or ending with '-'")
        elif name in names:
            problems.add(f"{path}.name", f"service {name!r} is listed twice")
        names.add(name)
        at = typed(item, "at", str, OUTSIDE, path, problems)
        if at not in places:
            problems.add(f"{path}.at",
                         f"no IDC {at!r}: 'at' takes an IDC id or 'outside'{suggest(at, places, 'places')}")
        kind = typed(item, "kind", str, "http", path, problems)
        if kind not in {k.value for k in ServiceKind}:
            problems.add(f"{path}.kind",
                         f"unknown kind {kind!r}{suggest(kind, [k.value for k in ServiceKind], 'kinds')}")
            kind = "http"
        mode = typed(item, "families", str, "dual-stack", path, problems)
        if mode not in FAMILY_MODES:
            problems.add(f"{path}.families", f"unknown families {mode!r}{suggest(mode, FAMILY_MODES, 'values')}")
            mode = "dual-stack"
        front = typed(item, "front", str, None, path, problems)
        if front is not None:
            problem = front_problem(name, at, ServiceKind(kind), FAMILY_MODES[mode], front, at in idc_ids)
            if problem:
                problems.add(f"{path}.front", problem)
                front = None
        services.append(Service(name, at, ServiceKind(kind), FAMILY_MODES[mode],
                                typed(item, "popularity", float, 0.0, path, problems, fraction), front))
    return tuple(services)


FRONTS = ("proxy",)


def front_problem(name: str, at: str, kind: ServiceKind, families: frozenset[Family], front: str,
                  in_idc: bool) -> str | None:
    """Why service ``name`` cannot have this IPv6 front, or None."""
    if front not in FRONTS:
        return (f"unknown front {front!r} (known: proxy, an HTTP reverse proxy at the IDC's edge; SIIT-DC, RFC "
                "7755, goes the other way: it gives an IPv6-only server IPv4 reach, and is not built)")
    if not in_idc:
        return f"{name} is {at}, not in an IDC of the city: a front stands at an IDC's edge"
    if kind is not ServiceKind.HTTP:
        return f"{name} is a {kind.value} service: an HTTP reverse proxy fronts web services only"
    if families != IPV4_ONLY:
        mode = next(k for k, v in FAMILY_MODES.items() if v == families)
        return f"{name} is not IPv4-only ({mode}): a front gives IPv6 reach to a server that has none"
    return None



def load_city(path: str | Path) -> CitySpec:
    path = Path(path)
    return parse_city(load_yaml(path, "city spec", "see topologies/cities/ for examples"), str(path))


# --- building --------------------------------------------------------------------


def _core_links(metro: Metro, rng: random.Random) -> list[tuple[str, str]]:
    cores = [f"c{i}" for i in range(1, metro.core_routers + 1)]
    if metro.layout == "dual-ring":
        half = len(cores) // 2
        inner, outer = cores[:half], cores[half:]
        links = [(ring[i], ring[(i + 1) % half]) for ring in (inner, outer) for i in range(half)]
        links += list(zip(inner, outer, strict=True))
    else:
        links = [(cores[i], cores[(i + 1) % len(cores)]) for i in range(len(cores))] if len(cores) > 2 else (
            [(cores[0], cores[1])] if len(cores) == 2 else [])
    if metro.layout == "mesh":
        present = {frozenset(link) for link in links}
        chords = sorted((a, b) for i, a in enumerate(cores) for b in cores[i + 1:] if frozenset((a, b)) not in present)
        links += rng.sample(chords, min(metro.mesh_links, len(chords)))
    return sorted({(min(a, b), max(a, b)) for a, b in links})


def _capable(count: int, share: float, rng: random.Random) -> set[int]:
    """Which of ``count`` emulated hosts (1-based) can do IPv6: round(share * count) of them."""
    return set(rng.sample(range(1, count + 1), round(share * count)))


def city_graph(spec: CitySpec) -> nx.Graph:
    rng = random.Random(spec.seed)
    # The source locates problems the address plan finds in ``prefixes``.
    graph: nx.Graph[str] = nx.Graph(name=spec.name, prefixes=spec.prefixes, source=spec.source)

    def node(name, role, families=DUAL_STACK, **extra):
        graph.add_node(name, spec=NodeSpec(role, frozenset(families), **extra))

    def link(a, b, families=DUAL_STACK):
        graph.add_edge(a, b, spec=LinkSpec(frozenset(families)))

    for core in spec.core_names:
        node(core, Role.CORE_ROUTER)
    for a, b in _core_links(spec.metro, rng):
        link(a, b)
    # Translators hang off a core router, where operators centralise them.
    for role, name in TRANSLATOR_NAMES.items():
        core = getattr(spec.transition, role.value)
        if core:
            node(name, role)
            link(core, name)

    for district in spec.districts:
        d = district.id
        node(f"{d}m", Role.METRO_SWITCH, district=d)
        node(f"{d}agg", Role.AGGREGATION_ROUTER, district=d)
        link(district.core, f"{d}m")
        link(f"{d}m", f"{d}agg")
        if district.fixed:
            _fixed_access(graph, node, link, d, district.fixed, rng)
        if district.mobile:
            _mobile_access(node, link, d, district.mobile, rng)

    placement = _place_services(spec)
    for idc in spec.idcs:
        _idc(node, link, idc, placement)

    node("xm", Role.METRO_SWITCH, district=OUTSIDE)
    node("tr1", Role.TRANSIT_ROUTER, district=OUTSIDE)
    node("xs", Role.IDC_SWITCH, district=OUTSIDE)
    link(spec.transit_core, "xm")
    link("xm", "tr1")
    link("tr1", "xs")
    for index, service in enumerate((s for s in spec.services if s.at == OUTSIDE), start=1):
        node(f"x{index}", Role.SERVER, service.families, district=OUTSIDE,
             services=(ServiceSpec(service.name, service.kind, service.families),))
        link("xs", f"x{index}", service.families)
    validate(graph)
    return graph


# Per mode: the families of (the CPE, its WAN link, its LAN and LAN hosts) or of a UE.
# 464XLAT and DS-Lite CPEs have an IPv6-only WAN and still give their LAN IPv4,
# which the CLAT translates or the B4 puts into a softwire.
_FIXED_FAMILIES = {
    AccessMode.IPV4_ONLY: (IPV4_ONLY, IPV4_ONLY, IPV4_ONLY),
    AccessMode.DUAL_STACK: (DUAL_STACK, DUAL_STACK, DUAL_STACK),
    AccessMode.IPV6_ONLY: (IPV6_ONLY, IPV6_ONLY, IPV6_ONLY),
    AccessMode.XLAT464: (DUAL_STACK, IPV6_ONLY, DUAL_STACK),
    AccessMode.DS_LITE: (DUAL_STACK, IPV6_ONLY, DUAL_STACK),
}
_MOBILE_FAMILIES = {AccessMode.IPV4_ONLY: IPV4_ONLY, AccessMode.DUAL_STACK: DUAL_STACK,
                    AccessMode.IPV6_ONLY: IPV6_ONLY, AccessMode.XLAT464: IPV6_ONLY}


def _host_mode(mode: AccessMode, capable: bool) -> AccessMode:
    """A host that cannot do IPv6 stays IPv4-only whatever its access network offers."""
    return mode if capable else AccessMode.IPV4_ONLY


def _fixed_access(graph, node, link, d, fixed: FixedAccess, rng):
    node(f"{d}bng", Role.ACCESS_ROUTER, district=d, cgn=fixed.cgn)
    link(f"{d}agg", f"{d}bng")
    for olt in range(1, fixed.olts + 1):
        node(f"{d}o{olt}", Role.ACCESS_SWITCH, district=d)
        link(f"{d}bng", f"{d}o{olt}")
    capable = _capable(fixed.emulated_hosts, fixed.ipv6_capable, rng)
    for n in range(1, fixed.emulated_hosts + 1):
        mode = _host_mode(fixed.mode, n in capable)
        families, wan, lan = _FIXED_FAMILIES[mode]
        cpe = f"{d}f{n}"
        node(cpe, Role.CPE, families, district=d, subscriber_class="fixed", represents=fixed.represents,
             mode=mode)
        link(f"{d}o{(n - 1) % fixed.olts + 1}", cpe, wan)
        hosts = [f"{cpe}h{k}" for k in range(1, fixed.lan_hosts_per_cpe + 1)]
        attach = cpe
        if len(hosts) > 1:
            # More than one host on the LAN needs a switch; one host plugs in directly.
            attach = f"{cpe}l"
            node(attach, Role.ACCESS_SWITCH, lan, district=d)
            link(cpe, attach, lan)
        for host in hosts:
            node(host, Role.SUBSCRIBER, lan, district=d, subscriber_class="fixed",
                 represents=fixed.represents, mode=mode)
            link(attach, host, lan)


def _mobile_access(node, link, d, mobile: MobileAccess, rng):
    node(f"{d}gw", Role.MOBILE_GATEWAY, district=d, cgn=mobile.cgn)
    node(f"{d}r", Role.ACCESS_SWITCH, district=d)
    link(f"{d}agg", f"{d}gw")
    link(f"{d}gw", f"{d}r")
    capable = _capable(mobile.emulated_hosts, mobile.ipv6_capable, rng)
    for n in range(1, mobile.emulated_hosts + 1):
        mode = _host_mode(mobile.mode, n in capable)
        families = _MOBILE_FAMILIES[mode]
        node(f"{d}u{n}", Role.SUBSCRIBER, families, district=d, subscriber_class="mobile",
             represents=mobile.represents, mode=mode)
        link(f"{d}r", f"{d}u{n}", families)


def _place_services(spec: CitySpec) -> dict[str, list[Service]]:
    """IDC server name -> the services it hosts, round robin in catalogue order."""
    placement: dict[str, list[Service]] = {}
    for idc in spec.idcs:
        servers = [f"{idc.id}v{k}" for k in range(1, idc.leaves * idc.servers_per_leaf + 1)]
        for index, service in enumerate(s for s in spec.services if s.at == idc.id):
            placement.setdefault(servers[index % len(servers)], []).append(service)
    return placement


def _idc(node, link, idc: Idc, placement):
    i = idc.id
    for s in range(1, idc.spines + 1):
        node(f"{i}s{s}", Role.SPINE, district=i)
        link(idc.core, f"{i}s{s}")
    fronted = tuple(s.name for hosted in placement.values() for s in hosted if s.front and s.at == i)
    if fronted:
        # The front, at the IDC's edge: on its first spine, before any leaf.
        node(f"{i}p", Role.SERVER, district=i, fronts=tuple(sorted(fronted)))
        link(f"{i}s1", f"{i}p")
    server = 0
    for leaf in range(1, idc.leaves + 1):
        node(f"{i}l{leaf}", Role.LEAF, district=i)
        for s in range(1, idc.spines + 1):
            link(f"{i}s{s}", f"{i}l{leaf}")
        node(f"{i}r{leaf}", Role.IDC_SWITCH, district=i)
        link(f"{i}l{leaf}", f"{i}r{leaf}")
        for _ in range(idc.servers_per_leaf):
            server += 1
            name = f"{i}v{server}"
            hosted = placement.get(name, [])
            families = frozenset().union(*(s.families for s in hosted)) if hosted else DUAL_STACK
            node(name, Role.SERVER, families, district=i,
                 services=tuple(ServiceSpec(s.name, s.kind, s.families) for s in hosted))
            link(f"{i}r{leaf}", name, families)


def city(spec: str) -> nx.Graph:
    """Scenario generator: the graph of the city spec file ``spec``."""
    return city_graph(load_city(spec))


# (mypy does not model attributes set on a function; scenario.py reads this one with getattr.)
city.PATH_PARAMS = ("spec",)  # type: ignore[attr-defined]
