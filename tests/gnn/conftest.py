import pytest

from .gnn_helpers import write_tu


@pytest.fixture
def tiny_tu(tmp_path):
    return write_tu(tmp_path / "tiny")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The graphs are tiny: one torch thread is faster and avoids OpenMP stalls on a busy
    machine (the library's CLI, cross_validate and GraphClassifier do the same)."""
    try:
        import torch
    except ImportError:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
