"""The shared torch foundation: devices, generators, MLP builder, training loop, checkpoints."""
import numpy as np
import pytest
import torch

from graphclust._validation import GraphclustError
from graphclust.deep import History, TrainingLoop, build_mlp, make_generator, resolve_device
from graphclust.deep.training import TrainingDiverged, load_checkpoint, save_checkpoint


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")).type == "cpu"
    auto = resolve_device("auto")
    assert auto.type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(GraphclustError, match="only 'cpu' and 'cuda'"):
        resolve_device("meta")
    with pytest.raises(GraphclustError, match="device must be"):
        resolve_device(3)


def test_generators_are_seeded_and_independent():
    a = torch.rand(4, generator=make_generator(5))
    b = torch.rand(4, generator=make_generator(5))
    c = torch.rand(4, generator=make_generator(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_build_mlp_shapes_and_seeded_init():
    net = build_mlp((7, 16, 8, 2), generator=make_generator(0))
    assert [m.__class__.__name__ for m in net] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert net(torch.zeros(3, 7)).shape == (3, 2)
    net2 = build_mlp((7, 16, 8, 2), generator=make_generator(0))
    for p, q in zip(net.parameters(), net2.parameters()):
        assert torch.equal(p, q)
    with pytest.raises(GraphclustError, match="at least two"):
        build_mlp((5,))


class ToyTask:
    """A least-squares fit whose 'labels' follow a scripted sequence."""

    def __init__(self, labels_per_epoch, nan_at=None, seed=0):
        g = make_generator(seed)
        self.w = torch.nn.Parameter(torch.randn(3, generator=g))
        self.target = torch.tensor([1.0, -2.0, 0.5])
        self.opt = torch.optim.SGD([self.w], lr=0.1)
        self.labels = labels_per_epoch
        self.nan_at = nan_at

    def fingerprint(self):
        return "toy"

    def n_steps(self, epoch):
        return 4

    def begin_epoch(self, epoch):
        pass

    def step(self, epoch, step):
        loss = (self.w - self.target).pow(2).sum()
        if self.nan_at is not None and epoch == self.nan_at:
            loss = loss * float("nan")
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"loss": loss.detach()}

    def end_epoch(self, epoch):
        return {"labels": np.asarray(self.labels[min(epoch, len(self.labels) - 1)])}

    def tolerance_active(self, epoch):
        return True

    def state_dict(self):
        return {"w": self.w.detach().clone(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state):
        with torch.no_grad():
            self.w.copy_(state["w"])
        self.opt.load_state_dict(state["opt"])


def test_loop_history_and_label_tolerance_stop():
    seq = [[0, 0, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 0]]
    loop = TrainingLoop(name="toy", epochs=10, tol=0.1, patience=2, truth=[0, 1, 1, 1])
    hist = loop.run(ToyTask(seq))
    assert len(hist) == 4  # epochs 3 and 4 unchanged -> stop after 4
    assert "label change below tol" in loop.stop_reason
    np.testing.assert_allclose(hist.column("label_change")[1:], [0.25, 0.0, 0.0])
    assert hist[-1]["acc"] == 1.0
    assert np.all(np.diff(hist.column("loss")) < 0)
    assert isinstance(hist, History) and "seconds" in hist.keys()


def test_loop_fails_on_nan_loss():
    loop = TrainingLoop(name="toy", epochs=5, tol=0)
    with pytest.raises(TrainingDiverged, match="epoch 3 .*term\\(s\\): loss"):
        loop.run(ToyTask([[0]], nan_at=2))


def test_loop_callback_stop_and_checkpoint_resume(tmp_path):
    ck = tmp_path / "toy.pt"
    seq = [[0, 1]] * 10
    full = TrainingLoop(name="toy", epochs=6, tol=0).run(ToyTask(seq))
    task = ToyTask(seq)
    loop = TrainingLoop(name="toy", epochs=6, tol=0, checkpoint=ck, checkpoint_every=2,
                        callbacks=[lambda e, r: e == 3])
    loop.run(task)
    assert loop.stop_reason == "callback"
    task2 = ToyTask(seq, seed=99)  # different initial weights: all state comes from the file
    loop2 = TrainingLoop(name="toy", epochs=6, tol=0, checkpoint=ck)
    start, hist, prev, stable = loop2.resume_state(task2)
    assert start == 3 and len(hist) == 3
    hist = loop2.run(task2, history=hist, start_epoch=start, prev_labels=prev, stable=stable)
    np.testing.assert_array_equal(hist.column("loss"), full.column("loss"))
    with pytest.raises(GraphclustError, match="belongs to 'toy'"):
        TrainingLoop(name="other", epochs=6, checkpoint=ck).resume_state(ToyTask(seq))


def test_checkpoint_files(tmp_path):
    path = save_checkpoint(tmp_path / "sub" / "c.pt",
                           {"format": "graphclust-deep-checkpoint/1", "x": torch.ones(2)})
    assert torch.equal(load_checkpoint(path)["x"], torch.ones(2))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(GraphclustError, match="cannot be read"):
        load_checkpoint(bad)
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(GraphclustError, match="not a graphclust deep checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
