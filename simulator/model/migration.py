"""Migration plans: an ordered list of phases, each a list of changes to the city.

A scenario's ``plan:`` is parsed here with the rest of the file (keys, types, names of
change types, modes and strategies). What a change may do depends on the city as it
stands when the change comes, so ``steps`` applies the changes one after the other, in
the order the plan lists them (as a rehearsal applies them live), and checks each
against the state before it: the district and its access class exist, the translator
a mode needs is deployed by then, a translator is not deployed twice nor retired while
a mode still needs it, IPv4 is not switched off before anything gives IPv6.
``phase_ends`` says which of those cities each phase leaves. Every problem of every
phase is reported at once, each at its key path (``plan[1].changes[0].mode``),
before anything starts.

    plan:
      - phase: ipv6 for d1
        hold_s: 20            # after its last change: held, then both matrices measured
        settle_s: 5           # after each other change, before the next
        changes:
          - {change: enable-ipv6, district: d1, access: fixed}
          - {change: deploy, translator: nat64, core: c2}
          - {change: set-mode, district: d2, access: mobile, mode: 464xlat, strategy: cut-over}
          - {change: service, service: school, families: dual-stack}
          - {change: front, service: gov, via: proxy}
          - {change: move, translator: nat64, core: c3}
          - {change: retire, translator: aftr}
          - {change: ipv4-off, district: d1, access: fixed}
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from topologies.city import FRONTS, CitySpec, District, front_problem, load_city
from topologies.errors import ConfigError
from topologies.spec import FAMILY_SETS, AccessMode, Family, Role
from topologies.validation import Problems, check_keys, positive, suggest, typed

if TYPE_CHECKING:        # the scenario module parses plans with this one
    from simulator.model.scenario import Scenario

CHANGE_KEYS = {
    "enable-ipv6": ("district", "access"),
    "set-mode": ("district", "access", "mode", "cgn"),
    "deploy": ("translator", "core"),
    "move": ("translator", "core"),
    "retire": ("translator",),
    "service": ("service", "families"),
    "front": ("service", "via"),
    "ipv4-off": ("district", "access"),
}
REQUIRED = {"enable-ipv6": ("district", "access"), "set-mode": ("district", "access", "mode"),
            "deploy": ("translator",), "move": ("translator", "core"), "retire": ("translator",),
            "service": ("service", "families"), "front": ("service", "via"), "ipv4-off": ("district", "access")}
STRATEGIES = ("make-before-break", "cut-over")
ACCESS_CLASSES = ("fixed", "mobile")
TRANSLATORS = {"nat64": Role.NAT64, "aftr": Role.AFTR}
TRANSLATOR_NAMES = {Role.NAT64: "NAT64 (with its DNS64)", Role.AFTR: "DS-Lite AFTR"}
DEFAULT_HOLD_S = 10.0
# How long a change is watched before the phase's next one starts: its disruption
# window, so it must outlast a cut-over's recovery (3 s measured on the migration city).
DEFAULT_SETTLE_S = 5.0


@dataclass(frozen=True)
class Change:
    kind: str                              # one of CHANGE_KEYS
    where: str                             # its key path in the scenario, for messages
    strategy: str = "make-before-break"
    district: str | None = None
    access: str | None = None              # "fixed" or "mobile"
    mode: AccessMode | None = None
    cgn: bool | None = None                # None: as it was
    translator: str | None = None          # "nat64" or "aftr"
    core: str | None = None                # None: the city's first core router
    service: str | None = None
    families: frozenset[Family] | None = None
    via: str | None = None                 # a front's kind: "proxy"

    def describe(self) -> str:
        if self.kind == "enable-ipv6":
            return f"IPv6 on {self.district} {self.access}"
        if self.kind == "set-mode":
            cgn = "" if self.cgn is None else (" with CGN" if self.cgn else " without CGN")
            return f"{self.district} {self.access} to {self.mode.value if self.mode else '?'}{cgn}"
        if self.kind == "deploy":
            return f"deploy {self.translator}" + (f" at {self.core}" if self.core else "")
        if self.kind == "retire":
            return f"retire {self.translator}"
        if self.kind == "move":
            return f"move {self.translator} to {self.core}"
        if self.kind == "service":
            return f"{self.service} to {family_set_name(self.families)}"
        if self.kind == "front":
            return f"{self.service} fronted by a {'reverse proxy' if self.via == 'proxy' else self.via}"
        return f"IPv4 off on {self.district} {self.access}"


@dataclass(frozen=True)
class Phase:
    name: str
    changes: tuple[Change, ...]
    hold_s: float = DEFAULT_HOLD_S
    settle_s: float = DEFAULT_SETTLE_S


@dataclass(frozen=True)
class MigrationPlan:
    phases: tuple[Phase, ...]


def family_set_name(families: frozenset[Family] | None) -> str:
    return next((name for name, value in FAMILY_SETS.items() if value == families), "?")


# --- parsing: the file alone -------------------------------------------------------------------


def parse_plan(raw, problems: Problems) -> MigrationPlan | None:
    """``plan:`` of a scenario file; problems are added, never raised."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        problems.add("plan", "expected a list of phases, each {phase: NAME, changes: [...]}")
        return None
    phases, names = [], set()
    for index, item in enumerate(raw):
        path = f"plan[{index}]"
        data = check_keys(item, ["phase", "hold_s", "settle_s", "changes"], path, problems)
        name = typed(data, "phase", str, None, path, problems)
        if name is None and "phase" not in data:
            problems.add(f"{path}.phase", "missing: every phase has a name")
        elif name in names:
            problems.add(f"{path}.phase", f"{name!r} names an earlier phase too")
        names.add(name)
        hold = typed(data, "hold_s", float, DEFAULT_HOLD_S, path, problems, positive)
        settle = typed(data, "settle_s", float, DEFAULT_SETTLE_S, path, problems, positive)
        changes_raw = data.get("changes")
        if not isinstance(changes_raw, list) or not changes_raw:
            problems.add(f"{path}.changes", "expected a list of changes such as "
                         "{change: enable-ipv6, district: d1, access: fixed}")
            changes_raw = []
        parsed = [_parse_change(c, f"{path}.changes[{j}]", problems) for j, c in enumerate(changes_raw)]
        changes = tuple(c for c in parsed if c is not None)
        phases.append(Phase(name or f"phase {index + 1}", changes, hold, settle))
    return MigrationPlan(tuple(phases))


def _parse_change(raw, path: str, problems: Problems) -> Change | None:
    if not isinstance(raw, dict) or "change" not in raw:
        problems.add(path, f"expected a mapping with 'change: TYPE' (types: {', '.join(CHANGE_KEYS)})")
        return None
    kind = raw["change"]
    if kind not in CHANGE_KEYS:
        problems.add(f"{path}.change", f"unknown change {kind!r}{suggest(str(kind), CHANGE_KEYS, 'changes')}")
        return None
    data = check_keys(raw, ["change", "strategy", *CHANGE_KEYS[kind]], path, problems)
    for key in REQUIRED[kind]:
        if key not in data:
            problems.add(f"{path}.{key}", f"missing: a {kind} change names its {key}")
    strategy = typed(data, "strategy", str, "make-before-break", path, problems,
                     lambda v: None if v in STRATEGIES else
                     f"unknown strategy {v!r}{suggest(v, STRATEGIES, 'strategies')}")
    access = typed(data, "access", str, None, path, problems,
                   lambda v: None if v in ACCESS_CLASSES else f"expected fixed or mobile, got {v!r}")
    mode_name = typed(data, "mode", str, None, path, problems,
                      lambda v: None if v in {m.value for m in AccessMode} else
                      f"unknown mode {v!r}{suggest(v, [m.value for m in AccessMode], 'modes')}")
    families_name = typed(data, "families", str, None, path, problems,
                          lambda v: None if v in FAMILY_SETS else
                          f"unknown families {v!r}{suggest(v, FAMILY_SETS, 'choices')}")
    translator = typed(data, "translator", str, None, path, problems,
                       lambda v: None if v in TRANSLATORS else f"expected nat64 or aftr, got {v!r}")
    return Change(
        kind=kind, where=path, strategy=strategy or "make-before-break",
        district=typed(data, "district", str, None, path, problems), access=access,
        mode=AccessMode(mode_name) if mode_name in {m.value for m in AccessMode} else None,
        cgn=typed(data, "cgn", bool, None, path, problems), translator=translator,
        core=typed(data, "core", str, None, path, problems),
        service=typed(data, "service", str, None, path, problems),
        families=FAMILY_SETS.get(families_name) if families_name else None,
        via=typed(data, "via", str, None, path, problems))


# --- the city, phase after phase ----------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One change of the plan applied: the city right after it. Changes are applied
    one at a time, in the order the plan lists them."""
    phase: int                     # index in plan.phases
    change: Change
    city: CitySpec
    last: bool                     # the phase's last change: the city as the phase leaves it


def steps(spec: CitySpec, plan: MigrationPlan, source: str) -> list[Step]:
    """The city after each change of the plan; ConfigError lists every problem."""
    problems = Problems(source)
    found: list[Step] = []
    current = spec
    reported: set[tuple[str, str, Role]] = set()
    for index, phase in enumerate(plan.phases):
        for position, change in enumerate(phase.changes):
            current = _apply(current, change, problems)
            _check_translators(current, change, problems, reported)
            found.append(Step(index, change, current, position == len(phase.changes) - 1))
    if problems.items:
        raise ConfigError(problems.items)
    return found


def walk(scenario: Scenario) -> tuple[CitySpec, MigrationPlan, list[Step]]:
    """The city spec a scenario's plan starts from, the plan, and the city after each change;
    ConfigError for a scenario without a plan or not on a city spec, or a plan the
    city refuses (``steps``)."""
    if scenario.plan is None:
        raise ConfigError(f"{scenario.source}: plan: the scenario has no plan")
    if scenario.topology.generator != "city" or "spec" not in scenario.topology.params:
        raise ConfigError(f"{scenario.source}: plan: a migration plan changes a city spec; use "
                          "'topology: {generator: city, params: {spec: ...}}'")
    spec = load_city(scenario.topology.params["spec"])
    return spec, scenario.plan, steps(spec, scenario.plan, scenario.source)


def refused_state(source: str, step: Step | None, error: Exception) -> ConfigError:
    """A state of the plan (before it when ``step`` is None) the city cannot be built
    or numbered in, said at the change that leads there."""
    when = "as it starts" if step is None else f"after {step.change.where} ({step.change.describe()})"
    return ConfigError(f"{source}: plan: the city {when}: {error}")


def phase_ends(found: list[Step] | tuple[Step, ...]) -> tuple[int, ...]:
    """Where each phase ends in [the city before the plan, then after each step]: 0, then
    the index of each phase's last step's city."""
    return (0, *(index for index, step in enumerate(found, start=1) if step.last))


def _access(spec: CitySpec, change: Change, problems: Problems):
    """The district and its access class the change names, or (None, None) with a problem."""
    district = next((d for d in spec.districts if d.id == change.district), None)
    if district is None:
        ids = [d.id for d in spec.districts]
        problems.add(f"{change.where}.district", f"no district {change.district!r} in the city"
                     f"{suggest(str(change.district), ids, 'districts')}")
        return None, None
    access = getattr(district, change.access or "", None)
    if access is None:
        problems.add(f"{change.where}.access", f"district {district.id} has no {change.access} access")
        return None, None
    return district, access


def _with_access(spec: CitySpec, district: District, kind: str, access) -> CitySpec:
    districts = tuple(replace(d, **{kind: access}) if d.id == district.id else d for d in spec.districts)
    return replace(spec, districts=districts)


def _apply(spec: CitySpec, change: Change, problems: Problems) -> CitySpec:
    if change.kind in ("enable-ipv6", "set-mode", "ipv4-off"):
        district, access = _access(spec, change, problems)
        if district is None or change.access is None:
            return spec
        name = f"{district.id} {change.access}"
        if change.kind == "enable-ipv6":
            if access.mode is not AccessMode.IPV4_ONLY:
                problems.add(change.where, f"{name} already has IPv6 ({access.mode.value}); "
                             "use set-mode to change how")
                return spec
            return _with_access(spec, district, change.access, replace(access, mode=AccessMode.DUAL_STACK))
        if change.kind == "ipv4-off":
            if access.mode is AccessMode.IPV4_ONLY:
                problems.add(change.where, f"{name} is IPv4-only: switching IPv4 off would leave it nothing; "
                             "enable IPv6 in an earlier phase")
                return spec
            if access.mode is not AccessMode.DUAL_STACK:
                problems.add(change.where, f"{name} has no native IPv4 to switch off ({access.mode.value})")
                return spec
            return _with_access(spec, district, change.access, replace(access, mode=AccessMode.IPV6_ONLY, cgn=False))
        mode = change.mode
        if mode is None:
            return spec
        if mode is AccessMode.DS_LITE and change.access == "mobile":
            problems.add(f"{change.where}.mode", "ds-lite is for fixed access (a B4 in the home router); "
                         "mobile access moves to 464xlat or ipv6-only")
            return spec
        cgn = access.cgn if change.cgn is None else change.cgn
        if cgn and mode not in (AccessMode.IPV4_ONLY, AccessMode.DUAL_STACK):
            problems.add(f"{change.where}.cgn", f"{mode.value} gives subscribers no native IPv4 to put behind a "
                         "CGN")
            return spec
        if mode is access.mode and cgn == access.cgn:
            problems.add(f"{change.where}.mode", f"{name} is already {mode.value}"
                         f"{' with CGN' if cgn else ''}: nothing changes")
            return spec
        return _with_access(spec, district, change.access, replace(access, mode=mode, cgn=cgn))
    if change.kind in ("deploy", "move", "retire"):
        key = change.translator
        if key is None:
            return spec
        placed = getattr(spec.transition, key)
        if change.kind in ("deploy", "move"):
            cores = [f"c{i}" for i in range(1, spec.metro.core_routers + 1)]
            core = change.core or cores[0]
            if core not in cores:
                problems.add(f"{change.where}.core", f"no core router {core!r}{suggest(core, cores, 'cores')}")
                return spec
            if change.kind == "move":
                if placed is None:
                    problems.add(change.where, f"{key} is not deployed at this point: nothing to move; deploy it "
                                 f"({{change: deploy, translator: {key}, core: {core}}})")
                    return spec
                if placed == core:
                    problems.add(f"{change.where}.core", f"{key} is already at {core}: nothing moves")
                    return spec
                return replace(spec, transition=replace(spec.transition, **{key: core}))
            if placed is not None:
                problems.add(change.where, f"{key} is already deployed (at {placed}); deploying it twice "
                             f"is not a migration step (to put it at another core: {{change: move, translator: {key}, "
                             f"core: {core}}})")
                return spec
            return replace(spec, transition=replace(spec.transition, **{key: core}))
        if placed is None:
            problems.add(change.where, f"{key} is not deployed at this point: nothing to retire")
            return spec
        return replace(spec, transition=replace(spec.transition, **{key: None}))
    # A service's families, or its front.
    service = next((s for s in spec.services if s.name == change.service), None)
    if service is None:
        names = [s.name for s in spec.services]
        problems.add(f"{change.where}.service",
                     f"no service {change.service!r}{suggest(str(change.service), names, 'services')}")
        return spec
    if service.front is not None:
        problems.add(f"{change.where}.service", f"{service.name} already has an IPv6 front ({service.front}); "
                     "changing a fronted service again is not built")
        return spec
    if change.kind == "front":
        if change.via is None:
            return spec
        problem = front_problem(service.name, service.at, service.kind, service.families, change.via,
                                any(idc.id == service.at for idc in spec.idcs))
        if problem:
            problems.add(f"{change.where}.via" if change.via not in FRONTS else change.where, problem)
            return spec
        return _with_service(spec, replace(service, front=change.via))
    if change.families is None:
        return spec
    if change.families == service.families:
        problems.add(f"{change.where}.families", f"{service.name} is already {family_set_name(service.families)}")
        return spec
    return _with_service(spec, replace(service, families=change.families))


def _with_service(spec: CitySpec, service) -> CitySpec:
    return replace(spec, services=tuple(service if s.name == service.name else s for s in spec.services))


def _check_translators(spec: CitySpec, change: Change, problems: Problems, reported: set) -> None:
    """After every change, every access mode has its translator: changes are applied
    live one at a time, so a gap between two changes of a phase is a gap. An IPv6-only
    or 464XLAT access without a NAT64 and DNS64 would cut every IPv4-only service, and
    a DS-Lite one without its AFTR all IPv4: the plan is refused, at the change that
    opens the gap (each gap once)."""
    have = {Role.NAT64: spec.transition.nat64, Role.AFTR: spec.transition.aftr}
    for district in spec.districts:
        for kind in ACCESS_CLASSES:
            access = getattr(district, kind)
            needed = access.mode.translator if access else None
            if needed is None or have[needed] is not None or (district.id, kind, needed) in reported:
                continue
            reported.add((district.id, kind, needed))
            key = "nat64" if needed is Role.NAT64 else "aftr"
            cut = "every IPv4-only service" if needed is Role.NAT64 else "all of its IPv4"
            fix = (f"retire {key} only once no access needs it" if change.kind == "retire" else
                   f"deploy {key} before this change, in an earlier phase or earlier in this one "
                   f"({{change: deploy, translator: {key}}})")
            problems.add(change.where, f"after this change ({change.describe()}), {district.id} {kind} is "
                         f"{access.mode.value} with no {TRANSLATOR_NAMES[needed]}: that would cut {cut}; {fix}")
