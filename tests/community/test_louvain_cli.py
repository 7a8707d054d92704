"""``graphclust louvain`` end to end (through community.cli.add_parser / run), profiles, sweeps."""
import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from graphclust._validation import GraphclustError
from graphclust.community import (
    Network,
    louvain,
    plot_resolution_sweep,
    resolution_profile,
    resolution_sweep,
)
from graphclust.community import cli

_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
DATA = str(_DATA) if _DATA.is_dir() else None


def run_cli(*argv):
    parser = argparse.ArgumentParser(prog="graphclust")
    sub = parser.add_subparsers(dest="command")
    cli.add_parser(sub)
    args = parser.parse_args(["louvain", *map(str, argv)])
    return args.func(args)


def two_cliques_csv(path, layer=False):
    rows = ["source,target,weight" + (",layer" if layer else "")]
    for base in (0, 5):
        for i in range(5):
            for j in range(i + 1, 5):
                rows.append(f"n{base + i},n{base + j},1" + (",pos" if layer else ""))
    rows.append("n0,n5,1" + (",pos" if layer else ""))
    if layer:
        rows.append("n1,n6,-2,neg")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_cli_edge_list_with_levels_and_truth(tmp_path):
    inp = two_cliques_csv(tmp_path / "g.csv")
    truth = tmp_path / "truth.csv"
    truth.write_text("node,label\n" + "".join(f"n{i},{i // 5}\n" for i in range(10)))
    out = tmp_path / "out"
    assert run_cli(inp, "--levels", "--truth", truth, "--out", out, "--seed", 3) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_communities"] == 2 and summary["metrics"]["nmi"] == pytest.approx(1.0)
    assert [lev["level"] for lev in summary["levels"]] == list(range(len(summary["levels"])))
    assert summary["levels"][0]["n_communities"] == 10
    assert "compile" in " ".join(summary["timings"]) or "louvain_louvain" in summary["timings"]
    lines = (out / "communities.csv").read_text().splitlines()
    assert lines[0].startswith("index,label,level_1") and lines[1].startswith("n0,0")
    assert (out / "louvain.png").stat().st_size > 1000


def test_cli_multiplex_directed_resolution_per_layer(tmp_path):
    inp = two_cliques_csv(tmp_path / "m.csv", layer=True)
    out = tmp_path / "out"
    assert run_cli(inp, "--layer-weights=-1,1", "--resolution", "1,0.5", "--all-communities",
                   "--directed", "--out", out, "--no-plot") == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "multiplex" and summary["directed"] is True
    assert summary["layer_names"] == ["neg", "pos"]
    assert len(summary["levels"][-1]["modularity_layers"]) == 2
    assert sum(summary["levels"][-1]["modularity_layers"]) == pytest.approx(summary["modularity"])


def test_cli_points_with_knn(tmp_path):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(40, 2)), rng.normal(size=(40, 2)) + 12])
    inp = tmp_path / "pts.csv"
    inp.write_text("x,y,label\n" + "".join(f"{a},{b},{i // 40}\n" for i, (a, b) in enumerate(X)))
    out = tmp_path / "out"
    assert run_cli(inp, "--n-neighbors", 8, "--truth", "label", "--resolution", "0.3", "--out", out) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "points" and summary["metrics"]["ari"] > 0.9


@pytest.mark.skipif(DATA is None, reason="shared data folder not present")
def test_cli_npz_network_and_multiplex(tmp_path):
    assert run_cli(f"{DATA}/networks/football.npz", "--out", tmp_path / "f", "--seed", 0) == 0
    s = json.loads((tmp_path / "f" / "summary.json").read_text())
    assert s["modularity"] > 0.55 and s["metrics"]["nmi"] > 0.8
    assert run_cli(f"{DATA}/multiplex/ckm_physicians.npz", "--out", tmp_path / "c", "--no-plot") == 0
    s = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert s["directed"] and len(s["layer_names"]) == 3 and s["metrics"]["nmi"] > 0.5


def test_cli_bad_input(tmp_path):
    with pytest.raises(GraphclustError, match="does not exist"):
        run_cli(tmp_path / "nope.csv", "--out", tmp_path / "o")
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    with pytest.raises(GraphclustError, match="cannot read"):
        run_cli(bad, "--out", tmp_path / "o")
    with pytest.raises(SystemExit):
        run_cli(bad, "--resolution", "a,b")


def test_resolution_sweep_and_plot(tmp_path):
    src, dst = np.triu_indices(8, 1)
    blocks = [(src + 8 * b, dst + 8 * b) for b in range(6)]
    s = np.concatenate([b[0] for b in blocks] + [np.arange(0, 48, 8)])
    d = np.concatenate([b[1] for b in blocks] + [np.roll(np.arange(1, 48, 8), 1)])
    g = Network.from_edges(s, d)
    sweep = resolution_sweep(g, [0.05, 0.5, 1.0, 4.0, 40.0], random_state=0)
    assert sweep.n_communities[0] <= sweep.n_communities[2] == 6 <= sweep.n_communities[-1]
    assert sweep.modularity_standard[2] == pytest.approx(louvain(g, random_state=0).modularity)
    plot_resolution_sweep(sweep, tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").stat().st_size > 1000
    with pytest.raises(GraphclustError, match="resolutions must be a non-empty sequence"):
        resolution_sweep(g, [])


def test_resolution_profile_intervals():
    import networkx as nx

    G = nx.karate_club_graph()
    prof = resolution_profile(G, 0.1, 10.0, score="size", grain=0.1, effort=3, random_state=0)
    assert prof[0].low == 0.1 and prof[-1].high == 10.0
    assert all(a.high == b.low for a, b in zip(prof, prof[1:]))
    assert all(a.score > b.score for a, b in zip(prof, prof[1:]))
    assert all(1.0 / iv.score == len(np.unique(iv.labels)) for iv in prof)
    w = resolution_profile(G, 0.5, 2.0, score="weight", log=False, grain=0.1, random_state=0)
    assert all(a.score > b.score for a, b in zip(w, w[1:]))
    with pytest.raises(GraphclustError, match="low must be below high"):
        resolution_profile(G, 2.0, 1.0)
    with pytest.raises(GraphclustError, match="needs low > 0"):
        resolution_profile(G, 0.0, 1.0)
