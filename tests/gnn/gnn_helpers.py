"""Helpers for the gnn tests: a hand-written TU dataset and a small synthetic graph set."""
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("GRAPHCLUST_DATA", REPO.parent / "shared" / "data"))
MUTAG = DATA / "MUTAG"

# two graphs: a triangle (nodes 1-3, label +1) and an edge (nodes 4-5, label -1)
TINY = {
    "A": "1, 2\n2, 1\n2, 3\n3, 2\n1, 3\n3, 1\n4, 5\n5, 4\n",
    "graph_indicator": "1\n1\n1\n2\n2\n",
    "graph_labels": "1\n-1\n",
    "node_labels": "0\n1\n0\n2\n2\n",
    "edge_labels": "0\n0\n1\n1\n0\n0\n2\n2\n",
}


def write_tu(folder: Path, name: str = "TINY", files=None, **override) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    content = dict(TINY if files is None else files)
    content.update(override)
    for key, text in content.items():
        if text is not None:
            (folder / f"{name}_{key}.txt").write_text(text)
    return folder


def toy_graphs(n_per_class: int = 12, seed: int = 0):
    """Two classes that need structure and counts: rings of type-0 atoms (class 0) and rings
    with a pendant triangle of type-1 atoms (class 1); sizes vary. Edges carry one-hot types
    (``edge_attr``, width 3): ring 0, pendant bond 1, triangle 2."""
    import torch
    from torch_geometric.data import Data

    rng = np.random.default_rng(seed)
    graphs = []
    for i in range(2 * n_per_class):
        cls = i % 2
        n_ring = int(rng.integers(5, 9))
        edges = [(j, (j + 1) % n_ring) for j in range(n_ring)]
        bonds = [0] * n_ring
        types = [0] * n_ring
        if cls == 1:
            a, b, c = n_ring, n_ring + 1, n_ring + 2
            edges += [(0, a), (a, b), (b, c), (c, a)]
            bonds += [1, 2, 2, 2]
            types += [1, 1, 1]
        ei = np.array(edges).T
        ei = np.concatenate([ei, ei[::-1]], axis=1)
        ea = np.eye(3, dtype=np.float32)[bonds + bonds]
        x = np.eye(3, dtype=np.float32)[types]
        graphs.append(Data(x=torch.from_numpy(x), edge_index=torch.from_numpy(ei.astype(np.int64)),
                           edge_attr=torch.from_numpy(ea), y=torch.tensor([cls]),
                           graph_id=torch.tensor([i]), num_nodes=len(types)))
    return graphs
