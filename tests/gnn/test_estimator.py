"""GraphClassifier: fit / predict / score, determinism and input errors."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")
from torch_geometric.data import Data  # noqa: E402

from .gnn_helpers import toy_graphs  # noqa: E402

from graphclust._validation import GraphclustError  # noqa: E402
from graphclust.gnn.estimator import GraphClassifier  # noqa: E402


def test_fit_predict_score():
    graphs = toy_graphs(14)
    clf = GraphClassifier("community", hidden=16, epochs=25, patience=25, random_state=0)
    assert clf.fit(graphs[:20]) is clf
    assert clf.score(graphs[20:]) == 1.0
    proba = clf.predict_proba(graphs[20:])
    assert proba.shape == (8, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    # string labels through y=
    names = np.where([int(g.y) for g in graphs[:20]], "mutagen", "inert")
    clf2 = GraphClassifier("base", epochs=20, patience=20, random_state=0).fit(graphs[:20], names)
    assert set(clf2.predict(graphs[20:])) <= {"mutagen", "inert"}
    assert clf.get_params()["k"] == 2 and clf.set_params(k=3).k == 3


@pytest.mark.parametrize("model,conv", [("community", "gine"), ("gine", "gcn")])
def test_edge_feature_models_fit_and_predict(model, conv):
    graphs = toy_graphs(14)
    clf = GraphClassifier(model, conv=conv, hidden=16, epochs=25, patience=25, random_state=0)
    assert clf.fit(graphs[:20]).score(graphs[20:]) == 1.0
    bare = [Data(x=g.x, edge_index=g.edge_index, y=g.y) for g in graphs[:20]]
    with pytest.raises(GraphclustError, match=r"uses edge features, but the graphs have none"):
        GraphClassifier(model, conv=conv, epochs=1).fit(bare)


def test_same_seed_same_predictions():
    graphs = toy_graphs(8)
    p = [GraphClassifier("community", hidden=8, epochs=3, random_state=5).fit(graphs)
         .predict_proba(graphs) for _ in range(2)]
    np.testing.assert_array_equal(p[0], p[1])


def test_inner_fold_ensemble():
    """inner_folds=3: three members, each validated on its own stratified fold; the
    probabilities are the members' mean."""
    graphs = toy_graphs(14)
    clf = GraphClassifier("base", hidden=16, epochs=20, patience=20, inner_folds=3,
                          random_state=2).fit(graphs[:20])
    assert len(clf.models_) == len(clf.fit_results_) == 3 and clf.model_ is clf.models_[0]
    assert all(np.isfinite(r.val_accuracy) for r in clf.fit_results_)  # each has a val fold
    from graphclust.gnn.estimator import _with_ids
    from graphclust.gnn.training import predict_logits

    data = _with_ids(graphs[20:])
    members = np.stack([torch.softmax(predict_logits(m, data), 1).numpy() for m in clf.models_])
    np.testing.assert_allclose(clf.predict_proba(graphs[20:]), members.mean(0), rtol=1e-6)
    assert clf.score(graphs[20:]) == 1.0
    assert clf.get_params()["inner_folds"] == 3
    with pytest.raises(GraphclustError, match=r"inner_folds=11 is more than the 10 graphs of "
                                              r"the smallest class"):
        GraphClassifier("base", epochs=1, inner_folds=11).fit(graphs[:20])
    with pytest.raises(GraphclustError, match=r"inner_folds must be >= 2"):
        GraphClassifier("base", epochs=1, inner_folds=1).fit(graphs[:20])


def test_input_errors():
    graphs = toy_graphs(4)
    clf = GraphClassifier(epochs=1)
    with pytest.raises(GraphclustError, match=r"not fitted yet"):
        clf.predict(graphs)
    with pytest.raises(GraphclustError, match=r"graphs is empty"):
        clf.fit([])
    with pytest.raises(GraphclustError, match=r"model must be one of"):
        GraphClassifier("svm").fit(graphs)
    bad = Data(x=torch.ones(3), edge_index=torch.zeros(2, 0, dtype=torch.long), y=torch.tensor([0]))
    with pytest.raises(GraphclustError, match=r"Expected 'x' of graphs\[0\] to be 2-D \(got 1 dimensions\)"):
        clf.fit([bad])
    bad = Data(x=torch.ones(3, 2), edge_index=torch.tensor([[0, 5], [5, 0]]), y=torch.tensor([0]))
    with pytest.raises(GraphclustError, match=r"edge_index of graphs\[0\] refers to node ids outside 0..2"):
        clf.fit([bad])
    with pytest.raises(GraphclustError, match=r"y must be 1-D with one label per graph \(8\)"):
        clf.fit(graphs, y=[0, 1])
    with pytest.raises(GraphclustError, match=r"at least two classes"):
        clf.fit(graphs, y=[1] * 8)
    with pytest.raises(GraphclustError, match=r"unknown parameter 'depth'"):
        clf.set_params(depth=3)
