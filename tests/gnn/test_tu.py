"""TU-format reader: a hand-written dataset, malformed files, and MUTAG's known counts."""
import numpy as np
import pytest

from graphclust._validation import GraphclustError
from graphclust.gnn.tu import read_tu_arrays, tu_name

from .gnn_helpers import MUTAG, TINY, write_tu


def test_tiny_arrays(tiny_tu):
    a = read_tu_arrays(tiny_tu)
    assert a.name == "TINY"
    assert (a.n_graphs, a.n_nodes, a.n_edges) == (2, 5, 8)
    np.testing.assert_array_equal(a.graph_indicator, [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(a.edge_index[:, -2:], [[3, 4], [4, 3]])
    np.testing.assert_array_equal(a.graph_labels, [1, -1])
    np.testing.assert_array_equal(a.node_labels, [0, 1, 0, 2, 2])
    assert a.node_attributes is None and a.edge_attributes is None


def test_tiny_dataset(tiny_tu):
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch_geometric")
    from graphclust.gnn.tu import load_tu_dataset

    ds = load_tu_dataset(tiny_tu)
    assert len(ds) == 2 and ds.class_values == (-1, 1) and ds.num_classes == 2
    g0, g1 = ds[0], ds[1]
    # -1 -> class 0, +1 -> class 1
    assert int(g0.y) == 1 and int(g1.y) == 0
    np.testing.assert_array_equal(ds.y, [1, 0])
    assert ds.node_label_values == (0, 1, 2)
    np.testing.assert_array_equal(g0.x.numpy(), np.eye(3)[[0, 1, 0]])
    np.testing.assert_array_equal(g1.x.numpy(), np.eye(3)[[2, 2]])
    # edges are local to each graph
    assert g0.edge_index.shape == (2, 6) and int(g0.edge_index.max()) == 2
    np.testing.assert_array_equal(g1.edge_index.numpy(), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(g1.edge_attr.numpy(), np.eye(3)[[2, 2]])
    assert g0.edge_index.dtype == torch.long and g0.x.dtype == torch.float32
    assert int(g1.graph_id) == 1
    assert ds.n_nodes == 5 and ds.n_edges == 8


def test_node_attributes_and_no_labels(tmp_path):
    pytest.importorskip("torch_geometric")
    from graphclust.gnn.tu import load_tu_dataset

    folder = write_tu(tmp_path / "attr", node_labels=None, edge_labels=None,
                      node_attributes="0.5, 1\n1, 2\n1.5, 3\n2, 4\n2.5, 5\n")
    ds = load_tu_dataset(folder)
    np.testing.assert_allclose(ds[1].x.numpy(), [[2, 4], [2.5, 5]])
    assert "edge_attr" not in ds[0]
    bare = write_tu(tmp_path / "bare", node_labels=None, edge_labels=None)
    np.testing.assert_array_equal(load_tu_dataset(bare)[0].x.numpy(), np.ones((3, 1)))


@pytest.mark.parametrize("override, match", [
    ({"A": TINY["A"] + "5, 6\n"}, r"TINY_A.txt line 9: node id out of range 1..5"),
    ({"A": TINY["A"] + "0, 1\n"}, r"line 9: node id out of range"),
    ({"A": TINY["A"] + "3, 4\n"}, r"edge \(3, 4\) joins graph 1 and graph 2"),
    ({"graph_indicator": "1\n1\n1\n2\n3\n"}, r"graph id 3 is out of range 1..2"),
    ({"graph_indicator": "1\n2\n1\n2\n2\n"}, r"nodes must be grouped by graph"),
    ({"graph_labels": "1\n-1\n1\n", "graph_indicator": "1\n1\n1\n3\n3\n",
      "A": "1, 2\n2, 1\n"}, r"graph 2 has no nodes"),
    ({"node_labels": "0\n1\n0\n2\n"}, r"TINY_node_labels.txt has 4 line\(s\) but there are 5 nodes"),
    ({"edge_labels": "0\n0\n"}, r"has 2 line\(s\) but there are 8 edges"),
    ({"A": "1, 2\n2; 1\n"}, r"TINY_A.txt line 2: expected 2 comma-separated value"),
    ({"A": "1, 2\nx, 1\n"}, r"TINY_A.txt line 2: expected integers"),
    ({"graph_labels": ""}, r"no graphs"),
])
def test_malformed(tmp_path, override, match):
    folder = write_tu(tmp_path / "bad", **override)
    with pytest.raises(GraphclustError, match=match):
        read_tu_arrays(folder)


def test_missing_files(tmp_path):
    folder = write_tu(tmp_path / "miss", graph_labels=None)
    with pytest.raises(GraphclustError, match=r"missing required file\(s\) TINY_graph_labels.txt"):
        read_tu_arrays(folder)
    with pytest.raises(GraphclustError, match=r"does not exist"):
        read_tu_arrays(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GraphclustError, match=r"no TU dataset .* no file named DS_A.txt"):
        tu_name(tmp_path / "empty")
    write_tu(tmp_path / "two", name="ONE")
    write_tu(tmp_path / "two", name="TWO")
    with pytest.raises(GraphclustError, match=r"several TU datasets \(ONE, TWO\)"):
        read_tu_arrays(tmp_path / "two")
    assert read_tu_arrays(tmp_path / "two", name="TWO").n_graphs == 2


@pytest.mark.skipif(not MUTAG.is_dir(), reason="shared/data/MUTAG not present")
def test_mutag_counts():
    a = read_tu_arrays(MUTAG)
    assert (a.n_graphs, a.n_nodes, a.n_edges) == (188, 3371, 7442)
    np.testing.assert_array_equal(np.unique(a.graph_labels, return_counts=True)[1], [63, 125])
    assert set(np.unique(a.node_labels)) == set(range(7))
    # cross-check with the .npz conversion shipped beside the text files
    ref = np.load(MUTAG / "MUTAG.npz")
    np.testing.assert_array_equal(a.edge_index.T, ref["A"])
    np.testing.assert_array_equal(a.graph_indicator, ref["graph_indicator"])
    pytest.importorskip("torch_geometric")
    from graphclust.gnn.tu import load_tu_dataset

    ds = load_tu_dataset(MUTAG)
    assert (len(ds), ds.n_nodes, ds.n_edges, ds.num_node_features) == (188, 3371, 7442, 7)
    assert int(ds.y.sum()) == 125


def test_edge_features_sum_incident_edge_labels(tiny_tu, tmp_path):
    pytest.importorskip("torch_geometric")
    from graphclust.gnn.tu import load_tu_dataset, with_edge_features

    ds = load_tu_dataset(tiny_tu, edge_features=True)
    # triangle 1-2 (label 0), 2-3 (label 1), 1-3 (label 0); pair 4-5 (label 2)
    np.testing.assert_array_equal(ds[0].x.numpy(), [[1, 0, 0, 2, 0, 0],
                                                    [0, 1, 0, 1, 1, 0],
                                                    [1, 0, 0, 1, 1, 0]])
    np.testing.assert_array_equal(ds[1].x.numpy(), [[0, 0, 1, 0, 0, 1], [0, 0, 1, 0, 0, 1]])
    np.testing.assert_array_equal(ds[0].node_label.numpy(), [0, 1, 0])
    assert ds.num_node_features == 6 and ds.node_label_values == (0, 1, 2)
    plain = load_tu_dataset(tiny_tu)
    assert plain.num_node_features == 3  # the original dataset is not modified
    bare = write_tu(tmp_path / "bare", edge_labels=None)
    with pytest.raises(GraphclustError, match="no edge labels or edge attributes"):
        with_edge_features(load_tu_dataset(bare))
