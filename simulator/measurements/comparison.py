"""Each transition mechanism against the native path: TCP throughput, RTT, TCP
connect time and DNS resolution time, repeated for error bars.

The comparison is controlled: for each kind of client behind a mechanism, one
client reaches one dual-stack server twice, through its mechanism (to the server's
IPv4 address, or to its NAT64-synthesized address for an IPv6-only client) and
natively over IPv6. Same client, same server, same switches: what differs is the
mechanism. Paths are measured one after the other, never at once.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass

from simulator.measurements import probe
from simulator.model.city_model import CityModel, Service
from topologies.rfc6052 import synthesize
from topologies.spec import AccessMode, Family

METRICS = {"throughput_mbps": "TCP throughput (Mbit/s)", "rtt_ms": "RTT (ms)",
           "connect_ms": "TCP connect (ms)", "dns_ms": "DNS resolution (ms)"}


@dataclass(frozen=True)
class Path:
    label: str          # the mechanism, or "native IPv6"
    client: str
    client_kind: str
    server: str
    address: str        # what the client connects to
    name: str           # asked of the resolver, for the DNS time
    resolver: str
    record: int         # 4: an A query, 6: AAAA

    @property
    def native(self) -> bool:
        return self.label == "native IPv6"


def target(city: CityModel) -> Service | None:
    """The first dual-stack web service."""
    return next((s for s in city.web_services() if s.families == frozenset(Family)), None)


def paths(city: CityModel) -> list[Path]:
    """One client of each kind: its mechanism's path to the target server, and (when
    it has IPv6) its native IPv6 path to the same server."""
    service = target(city)
    if service is None:
        return []
    server, v4, v6 = service.server, service.addresses[Family.IPV4], service.addresses[Family.IPV6]
    ipv4_only = next((s.fqdn for s in city.web_services() if s.families == frozenset({Family.IPV4})), None)
    found = []
    for mode in MODES:
        client = next((s for s in city.subscribers if s.mode is mode), None)
        if client is None or (mode is AccessMode.IPV6_ONLY and city.plan.nat64_prefix is None):
            continue
        resolver = str(city.resolver(client.node))
        # The DNS time is that of the question the path needs: a AAAA the DNS64
        # synthesizes for NAT64, an A record where the client connects over IPv4.
        if mode is AccessMode.IPV6_ONLY:
            path = Path("NAT64", client.node, mode.value, server, str(synthesize(city.plan.nat64_prefix, v4)),
                        ipv4_only or service.fqdn, resolver, 6)
        else:
            label = {AccessMode.XLAT464: "464XLAT", AccessMode.DS_LITE: "DS-Lite"}.get(mode) or ipv4_path(
                client.ipv4_crosses)
            path = Path(label, client.node, mode.value, server, str(v4), service.fqdn, resolver, 4)
        found.append(path)
        if mode is not AccessMode.IPV4_ONLY:
            found.append(Path("native IPv6", client.node, mode.value, server, str(v6), service.fqdn, resolver, 6))
    return found


MODES = (AccessMode.IPV6_ONLY, AccessMode.XLAT464, AccessMode.DS_LITE, AccessMode.DUAL_STACK, AccessMode.IPV4_ONLY)


def ipv4_path(crossed: tuple[str, ...]) -> str:
    """What a native IPv4 client's (IPv4-only or dual-stack) packets cross, in words:
    its CPE's NAT44, a CGN, both (NAT444) or nothing (``Subscriber.ipv4_crosses``)."""
    return {(): "native IPv4", ("NAT44",): "NAT44", ("CGN",): "CGN",
            ("NAT44", "CGN"): "NAT444"}.get(crossed, " + ".join(crossed))


def _json(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


def measure(backend, paths_: list[Path], repeats: int = 3, duration_s: float = 1.0, samples: int = 5,
            progress=None) -> list[dict]:
    """One record per (path, metric, sample)."""
    records = []
    for index, path in enumerate(paths_, start=1):
        if progress:
            progress.note(f"  comparison {index}/{len(paths_)}: {path.label} from {path.client}")
        for repeat in range(repeats):
            check = {"id": "timing", "method": "timing", "address": path.address, "name": path.name,
                     "server": path.resolver, "record": path.record, "count": samples}
            result = backend.run(path.client, probe.command([check]), timeout=60)
            timing = next((found for line in result.stdout.splitlines()
                           if isinstance(found := _json(line), dict)), {})
            for metric in ("rtt_ms", "connect_ms", "dns_ms"):
                # No output at all: every sample of the repeat failed.
                for value in timing.get(metric, [None] * samples):
                    records.append({**asdict(path), "metric": metric, "repeat": repeat, "value": value})
            iperf = backend.run(path.client, ["iperf3", "--client", path.address, "--time", f"{duration_s:g}",
                                              "--json"], timeout=duration_s + 20)
            try:
                rate = _json(iperf.stdout)["end"]["sum_received"]["bits_per_second"] / 1e6
            except (TypeError, KeyError):
                rate = None
            records.append({**asdict(path), "metric": "throughput_mbps", "repeat": repeat, "value": rate})
    return records


# Why DS-Lite's IPv4 is slower here than on hardware, for the figure and the notes.
DS_LITE_NOTE = ("DS-Lite: the B4 and the AFTR compute IPv4 checksums in software (the userspace switch cannot "
                "complete checksums inside a softwire), which bounds the softwire's throughput here; native IPv6 "
                "through the same CPE is not affected.")


def caveats(records: list[dict]) -> str:
    return DS_LITE_NOTE if any(r["label"] == "DS-Lite" for r in records) else ""


def summarise(records: list[dict]) -> list[dict]:
    """Mean, standard deviation, median and count per (path, metric); failed
    samples (None) are counted apart, never averaged in."""
    groups: dict[tuple, list] = {}
    for r in records:
        groups.setdefault((r["label"], r["client"], r["client_kind"], r["metric"]), []).append(r["value"])
    rows = []
    for (label, client, kind, metric), values in groups.items():
        good = [v for v in values if v is not None]
        rows.append({"label": label, "client": client, "client_kind": kind, "metric": metric, "n": len(good),
                     "failed": len(values) - len(good),
                     "mean": statistics.fmean(good) if good else None,
                     "stdev": statistics.stdev(good) if len(good) > 1 else 0.0 if good else None,
                     "median": statistics.median(good) if good else None})
    return rows
