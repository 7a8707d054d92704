"""A plain MLP autoencoder (DEC / N2D's D-500-500-2000-d) trained with the shared loop.

Used by the benchmark baselines (autoencoder + k-means, N2D = autoencoder -> UMAP -> GMM) and
available to the deep estimators that start from a pretrained encoder.
"""
from __future__ import annotations

import math

import numpy as np

from graphclust._validation import check_int, check_points, check_random_state, seed_from
from graphclust.deep._torch import build_mlp, make_generator, require_torch, resolve_device, torch_runtime

torch = require_torch()

from graphclust.deep.training import History, TrainingLoop  # noqa: E402

__all__ = ["train_autoencoder"]


class _AETask:
    def __init__(self, X, dims, device, seeds, batch_size, lr):
        self.X = torch.as_tensor(X, dtype=torch.float32).to(device)
        self.n = X.shape[0]
        g = make_generator(seeds[0])
        self.encoder = build_mlp(dims, generator=g).to(device)
        self.decoder = build_mlp(tuple(reversed(dims)), generator=g).to(device)
        params = list(self.encoder.parameters()) + list(self.decoder.parameters())
        self.optimizer = torch.optim.Adam(params, lr=lr)
        self.gen = make_generator(seeds[1], device)
        self.device = device
        self.batch_size = batch_size
        self.perm = None

    def fingerprint(self):
        return "autoencoder"

    def n_steps(self, epoch):
        return math.ceil(self.n / self.batch_size)

    def tolerance_active(self, epoch):
        return False

    def begin_epoch(self, epoch):
        self.perm = torch.randperm(self.n, generator=self.gen, device=self.device)

    def step(self, epoch, step):
        idx = self.perm[step * self.batch_size:(step + 1) * self.batch_size]
        x = self.X[idx]
        loss = (self.decoder(self.encoder(x)) - x).pow(2).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"reconstruction": loss.detach(), "loss": loss.detach()}

    def end_epoch(self, epoch):
        return {}

    @torch.no_grad()
    def encode(self):
        self.encoder.eval()
        return torch.cat([self.encoder(self.X[s:s + 8192]) for s in range(0, self.n, 8192)])

    def state_dict(self):
        return {"encoder": self.encoder.state_dict(), "decoder": self.decoder.state_dict(),
                "optimizer": self.optimizer.state_dict(), "generator": self.gen.get_state()}

    def load_state_dict(self, s):
        self.encoder.load_state_dict(s["encoder"])
        self.decoder.load_state_dict(s["decoder"])
        self.optimizer.load_state_dict(s["optimizer"])
        self.gen.set_state(s["generator"])


def train_autoencoder(X, *, hidden=(500, 500, 2000), code_dim: int = 10, epochs: int = 100,
                      batch_size: int = 256, lr: float = 1e-3, device="auto", n_jobs=None,
                      random_state=None, callbacks=()):
    """Train a symmetric MLP autoencoder with MSE loss (Adam); return the code of every point.

    Returns
    -------
    codes : ndarray (n_samples, code_dim), float32
    encoder : torch.nn.Sequential
    history : History (per-epoch ``reconstruction`` loss and seconds)
    """
    X = check_points(X, min_samples=2)
    epochs = check_int(epochs, "epochs", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    rng = check_random_state(random_state)
    seeds = (seed_from(rng), seed_from(rng))
    dev = resolve_device(device)
    dims = (X.shape[1], *hidden, check_int(code_dim, "code_dim", low=1))
    with torch_runtime(n_jobs, device=dev):
        task = _AETask(X.astype(np.float32), dims, dev, seeds, batch_size, lr)
        loop = TrainingLoop(name="autoencoder", epochs=epochs, tol=0, callbacks=callbacks)
        history = loop.run(task, history=History())
        codes = task.encode().cpu().numpy()
    return codes, task.encoder, history
