"""Cross-validation protocol, baselines and the paired comparison."""
import numpy as np
import pytest

pytest.importorskip("torch_geometric")

from .gnn_helpers import toy_graphs  # noqa: E402

from graphclust._validation import GraphclustError  # noqa: E402
from graphclust.gnn.cv import cross_validate, fold_table, paired_comparison  # noqa: E402
from graphclust.gnn.training import TrainConfig  # noqa: E402

FAST = TrainConfig(epochs=3, patience=3, batch_size=8)


def test_protocol_on_toy_graphs():
    graphs = toy_graphs(10)
    res = cross_validate(graphs, ["majority", "counts", "base", "community"], folds=3,
                         seeds=(0, 1), config=FAST)
    assert len(res.runs) == 3 * 2 * 4
    # folds partition the graphs and are stratified
    test = np.concatenate(res.folds)
    assert sorted(test.tolist()) == list(range(20))
    y = np.array([int(g.y) for g in graphs])
    for f in res.folds:
        assert abs(y[f].mean() - 0.5) < 0.2
    for r in res.runs:
        assert r["n_train"] + r["n_val"] + r["n_test"] == 20 and r["n_val"] >= 2
        assert 0.0 <= r["test_accuracy"] <= 1.0
    # atom counts separate the toy classes (type-1 atoms only in class 1)
    assert res.summary["counts"]["mean"] == 1.0
    s = res.summary["community"]
    assert len(s["fold_means"]) == 3 and s["n_runs"] == 6
    np.testing.assert_allclose(s["mean"], np.mean(s["fold_means"]))
    np.testing.assert_allclose(s["std"], np.std(s["fold_means"]))
    assert [c["versus"] for c in res.comparisons] == ["majority", "counts", "base"]
    assert res.example is not None and len(res.example["communities"]) > 0
    table = fold_table(res)
    assert [row["fold"] for row in table] == [1, 2, 3]
    assert set(table[0]) == {"fold", "n_test", "majority", "counts", "base", "community"}


def test_same_result_for_same_seed_and_any_n_jobs():
    graphs = toy_graphs(8)
    a = cross_validate(graphs, ["counts", "base"], folds=2, seeds=(0, 1), config=FAST)
    b = cross_validate(graphs, ["counts", "base"], folds=2, seeds=(0, 1), config=FAST, n_jobs=2)
    timing = ("seconds", "cpu_seconds")
    strip = [{k: v for k, v in r.items() if k not in timing} for r in a.runs]
    assert strip == [{k: v for k, v in r.items() if k not in timing} for r in b.runs]


def test_paired_comparison():
    a = np.array([0.9, 0.8, 0.85, 0.9])
    b = np.array([0.8, 0.8, 0.80, 0.7])
    c = paired_comparison(a, b, "a", "b")
    assert (c["wins"], c["ties"], c["losses"]) == (3, 1, 0)
    np.testing.assert_allclose(c["mean_difference"], 0.0875)
    assert 0 < c["t_test_p"] < 0.2 and c["wilcoxon_p"] is not None
    same = paired_comparison(a, a, "a", "a")
    assert same["ties"] == 4 and same["t_test_p"] is None


@pytest.mark.parametrize("kwargs, match", [
    ({"models": ["svm"]}, r"unknown model 'svm'"),
    ({"models": []}, r"models is empty"),
    ({"models": ["base", "base"]}, r"lists a model twice"),
    ({"folds": 1}, r"folds must be >= 2"),
    ({"folds": 12}, r"folds=12 is more than the 10 graphs of the smallest class"),
    ({"seeds": ()}, r"seeds is empty"),
    ({"seeds": (1, 1)}, r"seeds repeats a seed"),
    ({"val_fraction": 0.9}, r"val_fraction must be <= 0.5"),
])
def test_errors(kwargs, match):
    graphs = toy_graphs(10)
    args = {"models": ["majority"], **kwargs}
    with pytest.raises(GraphclustError, match=match):
        cross_validate(graphs, args.pop("models"), **args)


def test_graph_ids_required():
    graphs = toy_graphs(5)
    graphs[1].graph_id = graphs[0].graph_id
    with pytest.raises(GraphclustError, match=r"unique graph_id"):
        cross_validate(graphs, ["majority"], folds=2)


def test_counts_baseline_chooses_c_by_inner_cv_like_gridsearch():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from graphclust.gnn.cv import COUNTS_C_GRID, _counts_model

    rng = np.random.default_rng(3)
    X = rng.poisson(3.0, size=(60, 4)).astype(float)
    y = (X[:, 0] + rng.normal(0, 1.5, 60) > 3).astype(int)
    pred, score, C = _counts_model(X[:50], y[:50], X[50:], seed=4)
    grid = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)),
                        {"logisticregression__C": list(COUNTS_C_GRID)},
                        cv=StratifiedKFold(5, shuffle=True, random_state=4)).fit(X[:50], y[:50])
    assert C == grid.best_params_["logisticregression__C"]
    assert score == pytest.approx(grid.best_score_)
    np.testing.assert_array_equal(pred, grid.predict(X[50:]))


def test_inner_fold_ensemble_is_the_mean_of_its_members_probabilities():
    """inner_folds=K: K members per run, member j validated on inner fold j, the test graphs
    classified by the members' mean softmax; rebuilt here by hand from the documented splits."""
    from sklearn.model_selection import StratifiedKFold

    from graphclust.gnn.models import build_model, edge_dim_of
    from graphclust.gnn.training import member_seed, predict_logits, seeded, train_model

    graphs = toy_graphs(8)
    y = np.array([int(g.y) for g in graphs])
    res = cross_validate(graphs, ["counts", "base"], folds=2, seeds=(3,), inner_folds=2,
                         config=FAST)
    assert res.settings["inner_folds"] == 2 and res.settings["val_fraction"] is None
    outer = list(StratifiedKFold(2, shuffle=True, random_state=0).split(y, y))
    for f, (train_idx, test_idx) in enumerate(outer):
        row = next(r for r in res.runs if r["model"] == "base" and r["fold"] == f)
        assert row["members"] == 2
        assert row["n_train"] + row["n_val"] + row["n_test"] == len(graphs)
        inner = StratifiedKFold(2, shuffle=True, random_state=3 * 1000 + f)
        proba, vals = 0.0, []
        for j, (a, b) in enumerate(inner.split(train_idx, y[train_idx])):
            s = member_seed(3, j)
            with seeded(s):
                m = build_model("base", 3, 2, edge_dim=edge_dim_of(graphs))
            fit = train_model(m, [graphs[i] for i in train_idx[a]],
                              [graphs[i] for i in train_idx[b]], FAST, seed=s)
            vals.append(fit.val_accuracy)
            proba = proba + predict_logits(m, [graphs[i] for i in test_idx]).softmax(1)
        pred = proba.argmax(1).numpy()
        assert row["test_accuracy"] == pytest.approx(float((pred == y[test_idx]).mean()))
        assert row["val_accuracy"] == pytest.approx(float(np.mean(vals)))


@pytest.mark.parametrize("inner, match", [
    (1, r"inner_folds must be >= 2"),
    (9, r"inner_folds=9 is more than the 5 training graphs of the smallest class in outer "
        r"fold 1; use inner_folds <= 5"),
])
def test_inner_folds_errors(inner, match):
    with pytest.raises(GraphclustError, match=match):
        cross_validate(toy_graphs(10), ["base"], folds=2, inner_folds=inner, config=FAST)


def test_counts_baseline_depends_on_the_training_graphs_not_on_their_split():
    """The counts baseline fits all of a fold's training graphs in graph order: the validation
    share, or inner folds, of the neural models do not change its C or its predictions."""
    import torch

    graphs = toy_graphs(15)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(graphs), 7, replace=False):  # label noise, so C matters
        graphs[i].y = torch.tensor([1 - int(graphs[i].y)])
    keys = ("fold", "seed", "test_accuracy", "val_accuracy", "C")
    runs = [[{k: r[k] for k in keys} for r in cross_validate(graphs, ["counts"], folds=3,
                                                           seeds=(0, 1), **kw).runs]
            for kw in ({"val_fraction": 0.1}, {"val_fraction": 0.4}, {"inner_folds": 3})]
    assert runs[0] == runs[1] == runs[2]
    assert len({r["val_accuracy"] for r in runs[0]}) > 1
