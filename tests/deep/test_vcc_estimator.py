"""The VCC estimator: quality on an easy set, determinism, resume, inference, bad input."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from .conftest import TINY, make_blobs
from graphclust._validation import GraphclustError
from graphclust.deep import VCC
from graphclust.deep.training import TrainingDiverged
from graphclust.metrics import adjusted_rand_index


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_three_blobs_ari(seed):
    X, y = make_blobs(seed=seed)
    model = VCC(3, random_state=seed, **{**TINY, "epochs": 30, "warmup_epochs": 8})
    labels = model.fit_predict(X)
    assert adjusted_rand_index(y, labels) >= 0.95
    assert model.embedding_.shape == (300, 2)
    assert model.cluster_centers_.shape == (3, 2)
    assert model.soft_labels_.shape == (300, 3)
    np.testing.assert_allclose(model.soft_labels_.sum(1), 1.0, rtol=1e-5)


def test_history_records_losses_and_metrics(blobs3):
    X, y = blobs3
    model = VCC(3, random_state=0, tol=0, **TINY).fit(X, y)
    h = model.history_
    assert len(h) == model.n_epochs_ == TINY["epochs"]
    assert model.stop_reason_ == "max epochs"
    for key in ("loss", "bps", "contraction", "expansion", "seconds", "beta"):
        assert np.isfinite(h.column(key)).all()
    # the clustering term and the metrics start once the centres exist (after warm-up)
    w = TINY["warmup_epochs"]
    assert np.isnan(h.column("acc")[: w - 1]).all() and np.isfinite(h.column("acc")[w - 1:]).all()
    assert np.isfinite(h.column("clustering")[w:]).all()
    assert h[-1]["beta"] == pytest.approx(0.01 * (TINY["epochs"] - 1))


def test_same_seed_same_labels_and_embedding(blobs3):
    X, _ = blobs3
    a = VCC(3, random_state=7, **TINY).fit(X)
    b = VCC(3, random_state=7, **TINY).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    c = VCC(3, random_state=8, **TINY).fit(X)
    assert not np.array_equal(a.embedding_, c.embedding_)


def test_fit_leaves_global_torch_state_alone(blobs3):
    X, _ = blobs3
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    VCC(3, random_state=0, **TINY).fit(X)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()


class _Interrupt:
    def __init__(self, at):
        self.at = at

    def __call__(self, epoch, record):
        if epoch == self.at:
            raise KeyboardInterrupt


def test_checkpoint_resume_equals_uninterrupted_run(blobs3, tmp_path):
    X, _ = blobs3
    params = dict(TINY, tol=0, random_state=3, checkpoint_every=100)
    full = VCC(3, **params).fit(X)
    ck = tmp_path / "vcc.pt"
    with pytest.raises(KeyboardInterrupt):
        VCC(3, checkpoint=ck, callbacks=[_Interrupt(9)], **params).fit(X)
    assert ck.is_file()  # written on the interrupt although checkpoint_every is 100
    resumed = VCC(3, checkpoint=ck, **params).fit(X, resume=True)
    np.testing.assert_array_equal(resumed.labels_, full.labels_)
    np.testing.assert_array_equal(resumed.embedding_, full.embedding_)
    assert len(resumed.history_) == len(full.history_)
    np.testing.assert_array_equal(resumed.history_.column("loss"), full.history_.column("loss"))


def test_resume_refuses_other_data(blobs3, tmp_path):
    X, _ = blobs3
    ck = tmp_path / "vcc.pt"
    VCC(3, checkpoint=ck, random_state=0, **TINY).fit(X)
    with pytest.raises(GraphclustError, match="fingerprint mismatch"):
        VCC(3, checkpoint=ck, random_state=0, **TINY).fit(X + 1.0, resume=True)
    with pytest.raises(GraphclustError, match="does not exist"):
        VCC(3, checkpoint=tmp_path / "none.pt", random_state=0, **TINY).fit(X, resume=True)
    with pytest.raises(GraphclustError, match="needs checkpoint"):
        VCC(3, random_state=0, **TINY).fit(X, resume=True)


def test_resume_can_extend_epochs(blobs3, tmp_path):
    X, _ = blobs3
    params = dict(TINY, tol=0, random_state=1)
    full = VCC(3, **params).fit(X)
    ck = tmp_path / "vcc.pt"
    VCC(3, checkpoint=ck, **{**params, "epochs": 9}).fit(X)
    more = VCC(3, checkpoint=ck, **params).fit(X, resume=True)
    np.testing.assert_array_equal(more.embedding_, full.embedding_)


def test_predict_and_transform_new_points(blobs3):
    X, y = blobs3
    model = VCC(3, random_state=0, **{**TINY, "epochs": 20}).fit(X)
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    np.testing.assert_allclose(model.transform(X), model.embedding_, rtol=1e-6, atol=1e-6)
    X2, y2 = make_blobs(n=90, seed=0)  # same centres, new draws
    assert adjusted_rand_index(y2, model.predict(X2)) >= 0.95
    with pytest.raises(GraphclustError, match="features"):
        model.transform(X[:, :3])


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted"):
        VCC(3).predict(np.zeros((2, 2)))


def test_nan_loss_fails_with_clear_message(blobs3):
    X, _ = blobs3
    with pytest.raises(TrainingDiverged, match="NaN or infinite"):
        VCC(3, random_state=0, **{**TINY, "lr": 1e6, "momentum": 0.0}).fit(X)


@pytest.mark.parametrize("X, kwargs, match", [
    (np.zeros((2, 3)) + np.arange(3), {"n_clusters": 3}, "n_clusters must be <= 2"),
    (np.random.default_rng(0).normal(size=(8, 2)), {"n_neighbors": 8, "n_clusters": 2}, "n_neighbors must be <= 7"),
    (np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]]), {"n_neighbors": 1, "n_clusters": 2}, "NaN or infinite"),
    (np.array([[0.0, np.inf], [1.0, 2.0], [1.0, 1.0]]), {"n_neighbors": 1, "n_clusters": 2}, "NaN or infinite"),
    (np.ones((20, 3)), {"n_clusters": 2, "n_neighbors": 3}, "no varying column"),
    (np.ones((20, 3)), {"n_clusters": 2, "temperature": -1.0}, "temperature must be >"),
    (np.ones((20, 3)), {"n_clusters": 2, "similarity": "cosine"}, "similarity must be one of"),
    (np.ones((20, 3)), {"n_clusters": 2, "edges_per_epoch": "ten"}, "'ten' is not understood"),
    (np.ones((20, 3)), {"n_clusters": 2, "edges_per_epoch": "-2n"}, "'<x>n' such as '10n'"),
])
def test_bad_input(X, kwargs, match):
    with pytest.raises(GraphclustError, match=match):
        VCC(**{**TINY, **kwargs}).fit(X)


def test_constant_columns_are_harmless():
    X, y = make_blobs()
    X = np.hstack([X, np.full((X.shape[0], 4), 3.0)])
    model = VCC(3, random_state=0, **{**TINY, "epochs": 30, "warmup_epochs": 8}).fit(X)
    assert adjusted_rand_index(y, model.labels_) >= 0.95


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_requested_without_cuda(blobs3):
    X, _ = blobs3
    with pytest.raises(GraphclustError, match="no CUDA device.*device='auto'"):
        VCC(3, device="cuda", **TINY).fit(X)
    model = VCC(3, device="auto", random_state=0, **{**TINY, "epochs": 2}).fit(X)
    assert str(model.device_) == "cpu"


def test_bad_device_string():
    from graphclust.deep import resolve_device

    with pytest.raises(GraphclustError, match="device must be"):
        resolve_device("gpu please")


def test_collapse_warning_and_empty_clusters():
    # two distinct points repeated: at most 2 of 3 clusters can be non-empty
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0]]), 30, axis=0)
    with pytest.warns(UserWarning, match="only 2 of 3 clusters"):
        VCC(3, random_state=0, **{**TINY, "epochs": 3, "n_neighbors": 3}).fit(X)
    est = VCC(2)
    est.labels_ = np.zeros(10, dtype=np.int64)
    est._k = 2
    with pytest.warns(UserWarning, match="latent collapse: all 10 points fell into ONE cluster"):
        est._warn_collapse()


def test_presets():
    m = VCC.preset("paper", epochs=3)
    assert m.hidden == (500, 500, 2000) and m.temperature == 1.0 and m.epochs == 3
    assert m.lr == 0.01 and m.momentum == 0.9 and m.weight_decay == 5e-4 and m.batch_size == 200
    with pytest.raises(GraphclustError, match="preset must be one of"):
        VCC.preset("slow")
    fast = VCC.preset("fast")
    assert fast.latent_dim == 10 and fast.bps_repulsion == "negatives"
    assert fast.edges_per_epoch == "10n" and fast.epochs == 40
    assert fast.similarity == "umap" and fast.init == "spectral"
    assert fast.lr_schedule == "linear" and fast.bps_weight == 0.1 and fast.warmup_epochs == 20
    assert m.bps_weight == 1.0 and m.lr_schedule == "constant"  # the paper's weights and step


def test_bad_bps_weight_and_schedule(blobs3):
    X, _ = blobs3
    with pytest.raises(GraphclustError, match="bps_weight"):
        VCC(3, bps_weight=-1.0, **TINY).fit(X)
    with pytest.raises(GraphclustError, match="lr_schedule must be one of"):
        VCC(3, lr_schedule="cosine", **TINY).fit(X)


@pytest.mark.parametrize("spec, draws", [("auto", 300), ("2.5n", 750), (128, 128)])
def test_edges_per_epoch_sets_the_steps(blobs3, spec, draws):
    X, _ = blobs3
    assert X.shape[0] == 300
    m = VCC(**{**TINY, "epochs": 1, "edges_per_epoch": spec}).fit(X)
    assert m._task.steps_per_epoch == -(-draws // m.batch_size)


def test_ablation_switches_drop_terms(blobs3):
    X, _ = blobs3
    m = VCC(3, contraction=False, expansion=False, random_state=0, **TINY).fit(X)
    assert np.all(m.history_.column("contraction") == 0)
    assert np.all(m.history_.column("expansion") == 0)


def test_import_graphclust_does_not_import_torch():
    code = ("import sys, graphclust, graphclust.deep, graphclust.deep.cli; "
            "assert 'torch' not in sys.modules, 'torch imported'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_missing_torch_names_the_extra():
    code = ("import sys; sys.modules['torch'] = None\n"
            "try:\n    from graphclust.deep import VCC\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "pip install 'graphclust[deep]'" in out.stdout, out.stdout + out.stderr


@pytest.mark.parametrize("weight", [1.0, 0.1])
def test_bps_negatives_step_matches_hand_computation(blobs3, weight):
    """bps_repulsion="negatives": L_bps = mean_{E-} d - negative_rate * mean_neg log(1 - e^-d),
    and the step's loss is bps_weight * L_bps (L_c and L_e off)."""
    from graphclust.deep.vcc import _VCCTask, latent_graph

    X, _ = blobs3
    X = X.astype(np.float32)
    est = VCC(3, hidden=(8,), batch_size=16, contraction=False, expansion=False,
              bps_repulsion="negatives", negative_rate=5, bps_weight=weight, n_jobs=1)
    est._validate(X)
    graph = latent_graph(X, 10, random_state=0, n_jobs=1)
    task = _VCCTask(est, X, graph, torch.device("cpu"), {"init": 1, "sample": 2, "kmeans": 3}, "fp")
    g = torch.Generator()
    g.set_state(task.gen.get_state())
    u = torch.randint(task.r_minus_total, (16,), generator=g)
    e = torch.searchsorted(task.cum_minus, u, right=True).numpy()
    rnd = torch.randint(X.shape[0], (16,), generator=g).numpy()
    with torch.no_grad():
        H = task.model(torch.as_tensor(X)).double().numpy()
    i, j = graph.rows[e], graph.cols[e]
    d_pos = np.sqrt(((H[i] - H[j]) ** 2).sum(1) + 1e-8)
    edges = set(zip(graph.rows.tolist(), graph.cols.tolist()))
    edges |= {(b, a) for a, b in edges}
    neg = [np.sqrt(((H[a] - H[b]) ** 2).sum() + 1e-8) for a in i for b in rnd
           if a != b and (int(a), int(b)) not in edges]
    neg = np.array(neg)
    expected = d_pos.mean() - 5 * np.log(-np.expm1(-neg)).mean()
    out = task.step(0, 0)
    assert float(out["bps"]) == pytest.approx(expected, rel=1e-4)
    assert float(out["loss"]) == pytest.approx(weight * expected, rel=1e-4)
    assert float(out["expansion"]) == 0.0 and float(out["contraction"]) == 0.0


def test_bps_negatives_ablation_separates_blobs():
    X, y = make_blobs()
    m = VCC(3, contraction=False, expansion=False, bps_repulsion="negatives", random_state=0,
            **TINY).fit(X)
    assert adjusted_rand_index(y, m.labels_) >= 0.95
    with pytest.raises(GraphclustError, match="bps_repulsion must be one of"):
        VCC(3, bps_repulsion="both", **TINY).fit(X)


def test_default_settings_separate_small_easy_blobs():
    # Regression: with lr=0.01 as the default the latent cloud kept spreading and, once the
    # centres existed, all 300 points fell into one cluster (ARI 0); the defaults must separate.
    X, y = make_blobs(n=300, centers=3, d=5, seed=0)
    m = VCC(3, random_state=0, n_jobs=1, epochs=25).fit(X)
    assert adjusted_rand_index(y, m.labels_) >= 0.95


def test_spectral_init_regresses_the_layout_and_is_reproducible(blobs3):
    from graphclust.deep.vcc import spectral_layout

    X, y = blobs3
    params = dict(TINY, init="spectral", init_epochs=30, epochs=1, warmup_epochs=1, tol=0)
    a = VCC(3, random_state=0, **params).fit(X)
    b = VCC(3, random_state=0, **params).fit(X)
    assert 0.0 <= a.init_error_ < 0.2  # the network reproduces the spectral layout
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    assert "vcc: spectral initialisation" in a.timings_
    assert VCC(3, random_state=0, **dict(TINY, epochs=1, warmup_epochs=1)).fit(X).init_error_ is None
    # after one epoch the embedding still carries the layout: the blobs are already apart
    assert adjusted_rand_index(y, a.labels_) >= 0.95
    full = VCC(3, random_state=0, **dict(TINY, init="spectral")).fit(X)
    assert adjusted_rand_index(y, full.labels_) >= 0.95
    with pytest.raises(GraphclustError, match="init must be one of"):
        VCC(3, init="pca", **TINY).fit(X)
    with pytest.raises(GraphclustError, match="more than latent_dim"):
        VCC(2, init="spectral", latent_dim=5, n_neighbors=2, **TINY).fit(X[:6])
    assert spectral_layout(a.graph_, 2, random_state=0).shape == (X.shape[0], 2)


def test_linear_lr_schedule_anneals_and_resumes(blobs3, tmp_path, monkeypatch):
    import graphclust.deep.vcc as vcc_mod

    X, y = blobs3
    params = dict(TINY, tol=0, random_state=2, checkpoint_every=100, lr_schedule="linear")
    lrs = []
    original = vcc_mod._VCCTask.begin_epoch

    def spy(task, epoch):
        original(task, epoch)
        lrs.append([g["lr"] for g in task.optimizer.param_groups])

    with monkeypatch.context() as m:
        m.setattr(vcc_mod._VCCTask, "begin_epoch", spy)
        model = VCC(3, **params).fit(X, y)
    E, lr = params["epochs"], params.get("lr", 1e-3)
    expected = [lr * (1 - e / E) for e in range(E)]
    np.testing.assert_allclose([g[0] for g in lrs], expected)
    assert all(len(set(g)) == 1 for g in lrs)  # the centres follow the same schedule
    assert adjusted_rand_index(y, model.labels_) >= 0.95
    # the schedule depends on the epoch only, so an interrupted run resumes to the same result
    ck = tmp_path / "vcc.pt"
    with pytest.raises(KeyboardInterrupt):
        VCC(3, checkpoint=ck, callbacks=[_Interrupt(E // 2)], **params).fit(X)
    resumed = VCC(3, checkpoint=ck, **params).fit(X, resume=True)
    np.testing.assert_array_equal(resumed.labels_, model.labels_)
    np.testing.assert_array_equal(resumed.embedding_, model.embedding_)


def test_cosine_metric_builds_the_graph_on_unit_rows(blobs3):
    X, _ = blobs3
    params = dict(TINY, epochs=1, warmup_epochs=1, tol=0, random_state=0)
    cos = VCC(3, metric="cosine", **params).fit(X)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    ref = VCC(3, **params).fit(unit)
    np.testing.assert_array_equal(cos.graph_.rows, ref.graph_.rows)
    np.testing.assert_array_equal(cos.graph_.cols, ref.graph_.cols)
    np.testing.assert_allclose(cos.graph_.weights, ref.graph_.weights)
    # ... while the network still sees X itself
    assert not np.array_equal(cos.embedding_, ref.embedding_)
    Z = X.copy()
    Z[5] = 0.0
    with pytest.raises(GraphclustError, match="all-zero rows"):
        VCC(3, metric="cosine", **params).fit(Z)
    with pytest.raises(GraphclustError, match="metric must be one of"):
        VCC(3, metric="manhattan", **params).fit(X)
