"""TCP throughput per address family with iperf3, between the same two nodes."""

from __future__ import annotations

import json

from simulator.model.address_plan import AddressPlan
from topologies.spec import Family


def measure_throughput(backend, plan: AddressPlan, client: str, server: str, duration_s: float) -> list[dict]:
    """One iperf3 TCP run per family, one after the other (never both at once)."""
    records = []
    for family in Family:
        source, target = plan.primary(client, family), plan.primary(server, family)
        record = {"client": client, "server": server, "family": family.value, "duration_s": duration_s,
                  "ok": False, "bits_per_second": None, "retransmits": None, "error": ""}
        if source is None or target is None:
            record["error"] = f"{client if source is None else server} has no {family.label} address"
            records.append(record)
            continue
        result = backend.run(client, ["iperf3", "--client", str(target), "--time", f"{duration_s:g}",
                                      "--json", f"-{4 if family is Family.IPV4 else 6}"],
                             timeout=duration_s + 20)
        try:
            report = json.loads(result.stdout)
        except ValueError:
            record["error"] = (result.stderr or result.stdout).strip()[:300] or f"exit status {result.returncode}"
            records.append(record)
            continue
        if "error" in report:
            record["error"] = report["error"]
        else:
            end = report["end"]
            record.update(ok=True, bits_per_second=end["sum_received"]["bits_per_second"],
                          retransmits=end["sum_sent"].get("retransmits"))
        records.append(record)
    return records


def traffic_delta(before: dict, after: dict, key: str = "families") -> list[dict]:
    """Bytes and packets per switch and family (or, with key "mechanisms", per
    transition mechanism) between two controller snapshots."""
    label = "family" if key == "families" else "mechanism"
    rows = []
    for switch, now in sorted(after["switches"].items()):
        earlier = before["switches"].get(switch, {}).get(key, {})
        for name, counter in sorted(now.get(key, {}).items()):
            old = earlier.get(name, {"packets": 0, "bytes": 0})
            rows.append({"switch": switch, label: name,
                         "packets": counter["packets"] - old["packets"],
                         "bytes": counter["bytes"] - old["bytes"]})
    return rows


def totals_by_family(rows: list[dict], label: str = "family") -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in rows:
        totals[row[label]] = totals.get(row[label], 0) + row["bytes"]
    return totals
