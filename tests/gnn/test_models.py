"""Models: batching invariance, seeded determinism, attention top-k, training loop."""
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")
from torch_geometric.data import Batch  # noqa: E402

from .gnn_helpers import toy_graphs  # noqa: E402

from graphclust._validation import GraphclustError  # noqa: E402
from graphclust.gnn.models import NEURAL_MODELS, CommunityGCN, build_model  # noqa: E402
from graphclust.gnn.training import TrainConfig, predict_logits, seeded, train_model  # noqa: E402


def _logits(model, graphs):
    b = Batch.from_data_list(graphs)
    model.eval()
    with torch.no_grad():
        return model(b.x, b.edge_index, b.batch, num_graphs=b.num_graphs, edge_attr=b.edge_attr)


@pytest.mark.parametrize("name,params", [(n, {}) for n in sorted(NEURAL_MODELS)]
                         + [("community", {"conv": "gine"}), ("community", {"conv": "gin"})])
def test_batching_invariance(name, params):
    graphs = toy_graphs(5)
    with seeded(0):
        model = build_model(name, 3, 2, edge_dim=3, **params)
    together = _logits(model, graphs)
    for i in (0, 3, 7):
        alone = _logits(model, [graphs[i]])
        torch.testing.assert_close(alone[0], together[i], rtol=1e-5, atol=1e-6)
    shuffled = [graphs[i] for i in (9, 2, 5)]
    torch.testing.assert_close(_logits(model, shuffled), together[[9, 2, 5]], rtol=1e-5, atol=1e-6)


def test_seeded_training_is_deterministic():
    graphs = toy_graphs(8)
    cfg = TrainConfig(epochs=3, batch_size=4, patience=5)
    results = []
    for _ in range(2):
        with seeded(7):
            model = build_model("community", 3, 2)
        fit = train_model(model, graphs[:12], graphs[12:], cfg, seed=7)
        results.append((fit, predict_logits(model, graphs), model.state_dict()))
    (f1, l1, s1), (f2, l2, s2) = results
    assert torch.equal(l1, l2)
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert f1.history == f2.history and f1.best_epoch == f2.best_epoch
    # the caller's global RNG is left alone
    torch.manual_seed(3)
    a = torch.rand(1)
    torch.manual_seed(3)
    with seeded(11):
        torch.rand(5)
    assert torch.equal(a, torch.rand(1))


def test_attention_top_k_slots():
    graphs = toy_graphs(3)
    with seeded(0):
        model = CommunityGCN(3, 2, hidden=8, k=4)
    b = Batch.from_data_list(graphs)
    model.eval()
    with torch.no_grad():
        logits, det = model(b.x, b.edge_index, b.batch, num_graphs=b.num_graphs,
                            return_details=True)
        counts = det["communities"].counts
        h = model.embed(b.x, b.edge_index)
        from graphclust.gnn.models import readout

        g = readout(h, b.batch, b.num_graphs, model.readout)
        s = model.sub_conv2(model.sub_conv1(h.relu(), model.pool.connect(b.edge_index, det["cluster"])).relu(),
                            model.pool.connect(b.edge_index, det["cluster"]))
        pooled = model.pool.reduce(s, det["cluster"], int(counts.sum()))
        slots, alpha = model.attend(g, pooled, det["cluster_batch"], counts)
    assert logits.shape == (len(graphs), 2) and slots.shape == (len(graphs), 4, 8)
    # softmax weights sum to one per graph
    sums = torch.zeros(len(graphs)).index_add_(0, det["cluster_batch"], alpha)
    torch.testing.assert_close(sums, torch.ones(len(graphs)))
    # slots beyond a graph's number of communities are zero; filled slots are non-zero
    for gi, c in enumerate(counts.tolist()):
        assert (slots[gi, c:] == 0).all()
        assert (slots[gi, :min(c, 4)].abs().sum(1) > 0).all()


def test_attention_gets_gradients():
    graphs = toy_graphs(4)
    with seeded(0):
        model = CommunityGCN(3, 2, hidden=8, k=1)
    b = Batch.from_data_list(graphs)
    out = model(b.x, b.edge_index, b.batch, num_graphs=b.num_graphs)
    torch.nn.functional.cross_entropy(out, b.y).backward()
    for layer in (model.query, model.key, model.value, model.sub_conv1.lin):
        assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0


def test_training_learns_the_toy_task():
    graphs = toy_graphs(16)
    with seeded(0):
        model = build_model("community", 3, 2, hidden=16)
    fit = train_model(model, graphs[:24], graphs[24:28], TrainConfig(epochs=30, patience=30), seed=0)
    acc = (predict_logits(model, graphs[28:]).argmax(1) == torch.cat([g.y for g in graphs[28:]]))
    assert float(acc.float().mean()) == 1.0
    assert fit.community_convergence is not None and 0.0 <= fit.community_convergence <= 1.0
    assert 0 <= fit.best_epoch <= fit.epochs_run <= 30


@pytest.mark.parametrize("select_by", ["accuracy", "loss"])
def test_kept_epoch_follows_the_selection_rule(select_by):
    graphs = toy_graphs(16)
    with seeded(1):
        model = build_model("base", 3, 2, hidden=8)
    cfg = TrainConfig(epochs=12, patience=100, batch_size=8, select_by=select_by)
    fit = train_model(model, graphs[:20], graphs[20:28], cfg, seed=1)
    hist = fit.history
    if select_by == "loss":
        want = min(hist, key=lambda r: r["val_loss"])  # first minimum
    else:
        want = min(hist, key=lambda r: (-r["val_accuracy"], r["val_loss"]))
    assert fit.best_epoch == want["epoch"]
    assert fit.val_loss == want["val_loss"] and fit.val_accuracy == want["val_accuracy"]


def test_cosine_schedule_sets_each_epochs_step_size(monkeypatch):
    """Every optimiser step of training epoch e uses lr * (1 + cos(pi e / epochs)) / 2."""
    import math

    used = []

    class Recording(torch.optim.Adam):
        def step(self, closure=None):
            used.append(self.param_groups[0]["lr"])
            return super().step(closure)

    monkeypatch.setattr(torch.optim, "Adam", Recording)
    graphs = toy_graphs(8)  # 16 graphs: 12 train in batches of 4 -> 3 steps per epoch
    with seeded(0):
        model = build_model("base", 3, 2, hidden=8)
    cfg = TrainConfig(epochs=4, patience=100, batch_size=4, lr=0.02, lr_schedule="cosine")
    train_model(model, graphs[:12], graphs[12:], cfg, seed=0)
    want = [0.02 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4) for _ in range(3)]
    assert used == pytest.approx(want)
    assert want[0] == pytest.approx(0.02) and want[-1] < 0.003
    used.clear()
    with seeded(0):
        model = build_model("base", 3, 2, hidden=8)
    constant = TrainConfig(epochs=4, patience=100, batch_size=4, lr=0.02, lr_schedule="constant")
    train_model(model, graphs[:12], graphs[12:], constant, seed=0)
    assert used == [0.02] * 12


def test_community_gin_layers_ignore_edge_features():
    from torch_geometric.nn import GINConv

    graphs = toy_graphs(4)
    with seeded(0):
        model = build_model("community", 3, 2, hidden=8, conv="gin")
    assert all(isinstance(c, GINConv) for c in (model.conv1, model.conv2, model.sub_conv1,
                                                model.sub_conv2))
    b = Batch.from_data_list(graphs)
    model.eval()
    with torch.no_grad():
        with_attr = model(b.x, b.edge_index, b.batch, num_graphs=b.num_graphs, edge_attr=b.edge_attr)
        without = model(b.x, b.edge_index, b.batch, num_graphs=b.num_graphs)
    torch.testing.assert_close(with_attr, without)


def test_parameter_errors():
    with pytest.raises(GraphclustError, match=r"model must be one of 'base'"):
        build_model("gat", 3, 2)
    with pytest.raises(GraphclustError, match=r"k must be >= 1, got 0"):
        CommunityGCN(3, 2, k=0)
    with pytest.raises(GraphclustError, match=r"readout must be one of 'mean', 'sum', 'mean\+sum'"):
        build_model("community", 3, 2, readout="max")
    with pytest.raises(GraphclustError, match=r"num_classes must be >= 2"):
        build_model("base", 3, 1)
    with pytest.raises(GraphclustError, match=r"epochs must be >= 1"):
        TrainConfig(epochs=0)
    with pytest.raises(GraphclustError, match=r"select_by must be one of 'accuracy', 'loss'"):
        TrainConfig(select_by="f1")
    with pytest.raises(GraphclustError, match=r"lr_schedule must be one of 'constant', 'cosine'"):
        TrainConfig(lr_schedule="step")


@pytest.mark.parametrize("name,params", [("gine", {}), ("community", {"conv": "gine"})])
def test_edge_features_reach_the_output(name, params):
    """GINE layers read edge_attr: changing one bond type changes the logits; GCN layers don't."""
    graphs = toy_graphs(2)
    with seeded(0):
        model = build_model(name, 3, 2, edge_dim=3, **params)
        plain = build_model("community", 3, 2, edge_dim=3)
    g = graphs[1].clone()
    g.edge_attr = g.edge_attr.clone()
    g.edge_attr[:, :] = torch.tensor([0.0, 0.0, 1.0])  # every bond of type 2
    assert not torch.allclose(_logits(model, [graphs[1]]), _logits(model, [g]))
    torch.testing.assert_close(_logits(plain, [graphs[1]]), _logits(plain, [g]))


def test_community_gine_subgraph_layers_get_the_intra_community_bonds():
    """The subgraph layers see exactly the edge features of the kept (intra-community) edges."""
    graphs = toy_graphs(2)
    with seeded(0):
        model = CommunityGCN(3, 2, hidden=8, conv="gine", edge_dim=3)
    seen = []
    model.sub_conv1.register_forward_hook(lambda m, args, out: seen.append(args))
    b = Batch.from_data_list(graphs)
    model.eval()
    with torch.no_grad():
        _, det = model(b.x, b.edge_index, b.batch, num_graphs=b.num_graphs, edge_attr=b.edge_attr,
                       return_details=True)
    _, sub_index, sub_attr = seen[0]
    cl = det["cluster"]
    keep = cl[b.edge_index[0]] == cl[b.edge_index[1]]
    assert torch.equal(sub_index, b.edge_index[:, keep])
    assert torch.equal(sub_attr, b.edge_attr[keep])


def test_edge_feature_models_need_edge_features():
    with pytest.raises(GraphclustError, match=r"uses edge features, but the graphs have none"):
        build_model("gine", 3, 2)
    with pytest.raises(GraphclustError, match=r"conv must be one of 'gcn', 'gin', 'gine'"):
        CommunityGCN(3, 2, conv="gat")
    graphs = toy_graphs(1)
    with seeded(0):
        model = build_model("gine", 3, 2, edge_dim=3)
    b = Batch.from_data_list(graphs)
    with pytest.raises(GraphclustError, match=r"carry no edge_attr"):
        model(b.x, b.edge_index, b.batch, num_graphs=b.num_graphs)
