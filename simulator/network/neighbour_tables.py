"""How many neighbour entries (ARP, IPv6 Neighbor Discovery) an emulated network needs.

Every emulated node has its own neighbour table, as a real machine does, but the
kernel keeps them all in one table per family (``arp_cache``, ``ndisc_cache``),
with one set of garbage-collection thresholds for the whole host:
``net.ipv{4,6}.neigh.default.gc_thresh2`` (512) and ``gc_thresh3`` (1024). Past
gc_thresh2 the kernel evicts, at most every 5 s, every entry not updated in the last
5 s until the table is back to gc_thresh2 (``neigh_forced_gc``); past gc_thresh3 on
every new entry, and a new entry that finds no room is refused and its packet dropped.

A real UE keeps the entry of its default router, learned from the router's
advertisement, for as long as it uses it. In a 151-node city that shares the
host's table, 1,150 IPv6 entries exist after warm-up: the eviction took those
entries from every UE of a district at once, and their next packet had to resolve
the router again through a multicast solicitation that the reactive controller
floods, while every probe started on two cores. That is an artefact of the
emulation, not something the network under test does, so a run sizes the shared
table for the sum of its nodes' tables (see ``thresholds``).
"""

from __future__ import annotations

from topologies.spec import Family

# Per member of a segment, for each other member: IPv6 keeps its link-local and its
# global address, and sends to their solicited-node multicast groups (one entry each,
# NOARP); IPv4 keeps one ARP entry.
PER_PEER = {Family.IPV4: 1, Family.IPV6: 4}
# Per interface, groups it sends to whatever its peers: IPv6 all-nodes, all-routers,
# MLDv2 reports, DHCPv6 servers, its own solicited-node groups (DAD); IPv4 broadcast
# and a multicast group or two.
PER_INTERFACE = {Family.IPV4: 3, Family.IPV6: 8}


def entries_needed(plan, family: Family) -> int:
    """An upper bound of the entries the nodes of ``plan`` hold together for
    ``family`` when every member of each segment talks to every other (all-pairs
    reachability does). The default city measured 1,617 IPv6 and 655 IPv4 entries
    at its peak; this bound gives 3,376 and 1,278."""
    total = 0
    for segment in plan.segments.values():
        members = sum(1 for member in segment.members for interface in plan.interfaces_of(member)
                      if interface.segment == segment.name and interface.address(family) is not None)
        total += members * (PER_INTERFACE[family] + PER_PEER[family] * (members - 1))
    return total


def thresholds(current: tuple[int, int], needed: int, present: int = 0) -> tuple[int, int] | None:
    """(gc_thresh2, gc_thresh3) that leave room for ``needed`` entries beside the
    ``present`` ones (the host's own, another run's), or None when ``current`` does.
    Forced collection starts at gc_thresh2, so it must hold everything; gc_thresh3
    keeps the kernel's ratio of two. Never lowers a threshold."""
    thresh2, thresh3 = current
    wanted = needed + present
    if thresh2 >= wanted and thresh3 >= 2 * wanted:
        return None
    return max(thresh2, wanted), max(thresh3, 2 * wanted)
