"""Killing the indexer at any moment leaves the previous or the new index.

``assistant index add`` (tiny embedder, a commit after every file) is killed with SIGKILL at
random moments of its writing phase; after every kill the index must load (vectors and rows
agree) and answer searches, and a final uninterrupted run must produce exactly what a clean
build of the same folder produces. The real ``python -m assistant`` process is killed a few
times; the twenty-odd further kills hit children forked from a process that has already
imported torch, which keeps the test to seconds per kill instead of an import per kill.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import IndexStoreError
from assistant.rag import Indexer, IndexStore, Retriever
from tests.rag_support import REPO_ROOT, rag_settings, tiny_embedder, tiny_embedder_path

N_FILES = 16
FORKED_KILLS = 20
REAL_KILLS = 2
WORDS = ["attention", "decoder", "token", "beam", "search", "sampling", "vector", "chunk"]

pytestmark = pytest.mark.slow


def _write_folder(folder: Path, version: int, rng: random.Random) -> None:
    """Every version changes every file, and one extra file comes while another goes."""
    folder.mkdir(exist_ok=True)
    for i in range(N_FILES):
        body = "\n\n".join(
            " ".join(rng.choice(WORDS) for _ in range(40)) + f" v{version}" for _ in range(4)
        )
        (folder / f"note{i:02d}.md").write_text(f"# Note {i}\n\n{body}\n", encoding="utf-8")
    (folder / f"extra{(version - 1) % 3}.txt").unlink(missing_ok=True)
    (folder / f"extra{version % 3}.txt").write_text(f"extra file {version}\n", encoding="utf-8")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ASSISTANT_EMBED_MODEL=str(tiny_embedder_path()),
        ASSISTANT_INDEX_COMMIT_SECONDS="0",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        OMP_NUM_THREADS="1",
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


def _argv(folder: Path, index: Path) -> list[str]:
    return ["index", "add", str(folder), "--index", str(index), "--json"]


def _start_cli(folder: Path, index: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "assistant", *_argv(folder, index)]
    return subprocess.Popen(
        cmd, env=_env(), cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _wait_for_lock(pid: int, alive: object, index: Path, timeout: float = 300) -> float:
    """Block until process ``pid`` holds the writer lock (its pid is in the lock file)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():  # type: ignore[operator]
        try:
            if (index / "lock").read_text().strip() == str(pid):
                break
        except OSError:
            pass
        time.sleep(0.002)
    return time.monotonic()


def _check_loadable(index: Path) -> None:
    if not IndexStore.exists(index):
        return
    store = IndexStore.open(index)  # verifies vectors against rows, refuses a mismatch
    rows = store.chunks(store.chunk_ids())
    assert sum(d.n_chunks for d in store.documents()) == store.count == len(rows)
    retriever = Retriever(rag_settings(index), store, tiny_embedder())
    assert retriever.search("attention beam", k=3)
    # A commit made mid-run (slow machine) may hold only files without either word.
    if any(w in r.text.lower() for r in rows.values() for w in ("attention", "beam")):
        assert retriever.search("attention beam", k=3, mode="lexical")
    store.close()


def _snapshot(index: Path) -> dict[tuple[str, int], tuple[str, np.ndarray]]:
    store = IndexStore.open(index)
    rows = store.chunks(store.chunk_ids())
    return {(Path(r.path).name, r.ord): (r.text, store.vector(cid)) for cid, r in rows.items()}


def _assert_matches_clean_build(folder: Path, index: Path, clean: Path) -> None:
    Indexer(rag_settings(clean), embedder=tiny_embedder()).add([folder])
    resumed, fresh = _snapshot(index), _snapshot(clean)
    assert resumed.keys() == fresh.keys()
    for key, (text, vector) in fresh.items():
        assert resumed[key][0] == text
        np.testing.assert_allclose(resumed[key][1], vector, atol=1e-5)
    leftovers = [p.name for p in index.iterdir() if p.name.startswith("work-") or ".tmp" in p.name]
    assert not leftovers


class _ForkServer:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "tests" / "rag_fork_server.py")],
            env=_env(),
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.exited: dict[int, int] = {}

    def start(self, argv: list[str]) -> int:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(argv) + "\n")
        self.proc.stdin.flush()
        kind, pid = self.proc.stdout.readline().split()
        assert kind == "pid"
        return int(pid)

    def alive(self, pid: int) -> bool:
        # The child is the server's; a zombie still accepts signals, so ask /proc.
        try:
            return Path(f"/proc/{pid}/stat").read_text().split()[2] not in ("Z", "X")
        except OSError:
            return False

    def wait(self, pid: int) -> int:
        assert self.proc.stdout
        kind, child, status = self.proc.stdout.readline().split()
        assert (kind, int(child)) == ("exit", pid)
        return int(status)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def test_sigkill_at_random_moments_leaves_a_consistent_index(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    folder, index = tmp_path / "course", tmp_path / "index"
    _write_folder(folder, 0, rng)
    server = _ForkServer()
    try:
        # Calibrate: how long does the writing phase of a full run take?
        pid = server.start(_argv(folder, index))
        locked = _wait_for_lock(pid, lambda: server.alive(pid), index)
        assert server.wait(pid) == 0
        work = max(time.monotonic() - locked, 0.05)
        _check_loadable(index)

        kills = version = 0
        while kills < FORKED_KILLS and version < FORKED_KILLS * 3:
            version += 1
            _write_folder(folder, version, rng)
            pid = server.start(_argv(folder, index))
            _wait_for_lock(pid, lambda p=pid: server.alive(p), index)
            time.sleep(rng.uniform(0, work))
            if server.alive(pid):
                os.kill(pid, signal.SIGKILL)
                kills += 1
            server.wait(pid)
            _check_loadable(index)
        assert kills >= FORKED_KILLS
    finally:
        server.close()

    # The real command line, killed too; then one run to the end.
    real_kills = 0
    for _ in range(REAL_KILLS * 3):
        version += 1
        _write_folder(folder, version, rng)
        proc = _start_cli(folder, index)
        _wait_for_lock(proc.pid, lambda p=proc: p.poll() is None, index)
        time.sleep(rng.uniform(0, work))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            real_kills += 1
        proc.wait(timeout=300)
        _check_loadable(index)
        if real_kills >= REAL_KILLS:
            break
    assert real_kills >= 1
    proc = _start_cli(folder, index)
    assert proc.wait(timeout=300) == 0
    _check_loadable(index)
    _assert_matches_clean_build(folder, index, tmp_path / "clean")


def test_two_writer_processes(tmp_path: Path) -> None:
    rng = random.Random(7)
    folder, index = tmp_path / "course", tmp_path / "index"
    _write_folder(folder, 0, rng)
    proc = _start_cli(folder, index)
    _wait_for_lock(proc.pid, lambda: proc.poll() is None, index)
    second = Indexer(rag_settings(index), embedder=tiny_embedder(), lock_timeout=0.1)
    if proc.poll() is None:  # still writing: the second writer gives up with a message
        with pytest.raises(IndexStoreError, match=rf"another process \(pid {proc.pid}\)"):
            second.add([folder])
        _check_loadable(index)  # readers are never blocked
    assert proc.wait(timeout=300) == 0
    report = second.add([folder])
    assert report.unchanged == N_FILES + 1 and not report.changed
