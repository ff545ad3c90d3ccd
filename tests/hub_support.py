"""Fixtures for the first-run download tests: a real HTTP hub stand-in (tests/fake_hub.py)
serving the bundled model's files as ``openai-community/gpt2``, and an empty HF cache.

huggingface_hub reads HF_ENDPOINT, HF_HUB_OFFLINE and HF_HOME once, at import; in this
process they are set here on its ``constants`` module (what its functions read at call
time), and subprocesses get them as environment variables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.core.models import BUNDLED_MODEL_DIR
from tests.fake_hub import FakeHub

REPO_ID = "openai-community/gpt2"  # what the default model, "gpt2", resolves to


@dataclass
class OnlineHub:
    hub: FakeHub
    hf_home: Path

    @property
    def cache(self) -> Path:
        return self.hf_home / "hub"

    def env(self) -> dict[str, str]:
        """The environment of a subprocess that sees this hub (and nothing else)."""
        env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_HUB_CACHE")}
        env.pop("TRANSFORMERS_OFFLINE", None)
        env.update(HF_ENDPOINT=self.hub.endpoint, HF_HOME=str(self.hf_home), OMP_NUM_THREADS="1")
        return env

    def blobs(self) -> list[Path]:
        """Every file in the cache's blob store (complete or partial)."""
        return sorted(p for p in self.cache.rglob("blobs/*") if p.is_file())


def start_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: object) -> OnlineHub:
    from huggingface_hub import constants

    hub = FakeHub.of_directory(BUNDLED_MODEL_DIR, REPO_ID, **kwargs).start()  # type: ignore[arg-type]
    online = OnlineHub(hub, tmp_path / "hf-home")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    template = constants.HUGGINGFACE_CO_URL_TEMPLATE.replace(constants.ENDPOINT, hub.endpoint)
    monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(online.cache))
    return online


@pytest.fixture
def online_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OnlineHub]:
    online = start_hub(tmp_path, monkeypatch)
    yield online
    online.hub.close()
