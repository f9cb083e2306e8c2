"""simulator.reporting.results: the canonical graph document and its hash."""

import json

import networkx as nx

from simulator.reporting.results import RunFolder, graph_document, topology_hash
from topologies import city_slice
from topologies.spec import DUAL_STACK, IPV4_ONLY, LinkSpec


def test_topology_hash_is_stable_across_builds():
    first, second = city_slice(), city_slice()
    assert topology_hash(first) == topology_hash(second)
    digest = topology_hash(first)
    assert digest.startswith("sha256:")
    assert len(digest) == len("sha256:") + 64
    int(digest[len("sha256:"):], 16)


def test_topology_hash_ignores_insertion_order():
    graph = city_slice()
    shuffled = nx.Graph()
    for name, data in reversed(list(graph.nodes(data=True))):
        shuffled.add_node(name, **data)
    for a, b, data in reversed(list(graph.edges(data=True))):
        shuffled.add_edge(b, a, **data)
    assert topology_hash(shuffled) == topology_hash(graph)


def test_topology_hash_changes_with_a_link_spec():
    graph = city_slice()
    before = topology_hash(graph)
    graph.edges["core", "m1"]["spec"] = LinkSpec(families=DUAL_STACK, delay_ms=5.0)
    assert topology_hash(graph) != before
    assert topology_hash(city_slice(access_bandwidth_mbps=100.0)) != before


def test_topology_hash_changes_with_a_node():
    assert topology_hash(city_slice(subscribers_per_district=3)) != topology_hash(city_slice())


def test_graph_document_is_json():
    document = graph_document(city_slice())
    assert json.loads(json.dumps(document)) == document
    assert [n["name"] for n in document["nodes"]] == sorted(city_slice())
    assert len(document["links"]) == 15
    assert document["nodes"][0] == {
        "name": "a1", "role": "access-switch", "families": ["ipv4", "ipv6"],
        "district": "d1", "subscriber_class": None, "services": [], "represents": 0, "mode": None,
        "cgn": False, "fronts": []}
    web = next(n for n in document["nodes"] if n["name"] == "web")
    assert web["services"] == [{"name": "www", "kind": "http", "families": ["ipv4", "ipv6"]}]
    # Links sorted by their sorted end names; d2's access links are IPv4-only.
    assert document["links"][0] == {"a": "a1", "b": "bng1", "families": ["ipv4", "ipv6"],
                                    "bandwidth_mbps": None, "delay_ms": None}
    a2_d2h1 = next(link for link in document["links"] if (link["a"], link["b"]) == ("a2", "d2h1"))
    assert a2_d2h1["families"] == sorted(f.value for f in IPV4_ONLY) == ["ipv4"]


def test_run_folder_writes_json_and_csv(tmp_path):
    folder = RunFolder(tmp_path, "city-slice", "run1")
    folder.write_json("graph.json", graph_document(city_slice()))
    folder.write_csv("rows.csv", [{"switch": "a1", "family": "ipv4", "bytes": 3, "extra": 1}],
                     ["switch", "family", "bytes"])
    folder.write_jsonl("cells.jsonl", [{"id": "x", "ok": True}, {"id": "y", "ok": False}])
    assert folder.files == ["graph.json", "rows.csv", "cells.jsonl"]
    # csv writes \r\n line ends; columns not listed ("extra") are left out.
    assert (tmp_path / "city-slice" / "run1" / "rows.csv").read_bytes() == b"switch,family,bytes\r\na1,ipv4,3\r\n"
    assert (folder.path / "cells.jsonl").read_text() == '{"id": "x", "ok": true}\n{"id": "y", "ok": false}\n'
    assert json.loads((folder.path / "graph.json").read_text()) == graph_document(city_slice())
