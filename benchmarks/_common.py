"""Shared helpers for the benchmark scripts (never imported by the library or the tests)."""
from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "benchmarks" / "_cache"


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            mem = f"{int(fh.readline().split()[1]) / 1024**2:.0f} GiB RAM"
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {mem}, Python {platform.python_version()}"


def load() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "load unknown"


class EpochBudget:
    """Training callback ``cb(epoch, record)`` for the deep estimators: prints one line per epoch
    (wall and CPU seconds since :meth:`start`, loss, the scores present), keeps the CPU seconds
    per epoch in ``cpu_at`` (all threads, load-free), and stops training at the first epoch end
    past ``budget`` wall seconds (None: never)."""

    def __init__(self, budget: float | None):
        self.budget = budget
        self.cpu_at: dict = {}
        self.start()

    def start(self) -> None:
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    def __call__(self, epoch, record) -> bool:
        el = time.perf_counter() - self.t0
        self.cpu_at[epoch] = time.process_time() - self.c0
        scores = " ".join(f"{k} {record[k]:.4f}" for k in ("acc", "nmi", "ari") if k in record)
        print(f"      epoch {epoch} {el:7.1f} s loss {record.get('loss', float('nan')):.4f} "
              f"{scores} cpu {self.cpu_at[epoch]:.0f} s", flush=True)
        return self.budget is not None and el > self.budget


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_worker(script: Path, args: list[str], timeout: int = 1800) -> dict:
    """Run ``script --worker ARGS`` in a fresh process; return the JSON it prints last."""
    cmd = [sys.executable, str(script), "--worker", *args]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1],
                "wall": time.perf_counter() - t}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def md_table(header: list[str], rows: list[list]) -> str:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)
