"""One Settings object, built at the edge from: defaults < config file < ASSISTANT_* env < flags.

Paths come from platformdirs; ``ASSISTANT_HOME`` moves every user directory under one folder
(tests point it at a tmp dir so nothing touches the real home).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.errors import SettingsError

APP_NAME = "course-assistant"
ENV_PREFIX = "ASSISTANT_"
REPO_ROOT = Path(__file__).resolve().parent.parent


def _user_dirs() -> dict[str, Path]:
    home = os.environ.get(ENV_PREFIX + "HOME")
    if home:
        root = Path(home).expanduser()
        return {
            "config_dir": root / "config",
            "data_dir": root / "data",
            "cache_dir": root / "cache",
            "log_dir": root / "logs",
        }
    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    return {
        "config_dir": Path(dirs.user_config_dir),
        "data_dir": Path(dirs.user_data_dir),
        "cache_dir": Path(dirs.user_cache_dir),
        "log_dir": Path(dirs.user_log_dir),
    }


def default_documents() -> list[Path]:
    """The course notes shipped with the project (``corpus/`` beside the package)."""
    corpus = REPO_ROOT / "corpus"
    return [corpus] if corpus.is_dir() else []


_SWITCHES = {"true": "all", "1": "all", "yes": "all", "false": "off", "0": "off", "no": "off"}


class Settings(BaseModel):
    """Everything configurable. Field names double as config keys and ASSISTANT_<NAME> vars."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    # Language model
    model: str = Field("gpt2", description="HF id, preset name or local directory")
    allow_fallback: bool = Field(True, description="use the bundled model if `model` fails")
    offline: bool = Field(
        False, description="never contact the model hub (as HF_HUB_OFFLINE=1): no download offers"
    )
    torch_threads: int = Field(
        0, ge=0, le=256, description="> 0: every phase uses exactly this many (0 = by phase)"
    )
    prefill_threads: int = Field(
        0, ge=0, le=256, description="most threads for reading a prompt (0 = every free core)"
    )
    decode_threads: int = Field(
        0, ge=0, le=256, description="most threads for each new token (0 = 1, measured fastest)"
    )
    forward: Literal["auto", "hf", "lean"] = Field(
        "auto", description="the model's forward: lean GPT-2 where it applies, or HF's own"
    )
    quantize: Literal["none", "int8"] = "none"
    truncate_prompt: bool = Field(True, description="left-truncate prompts that do not fit")
    max_prompt_tokens: int = Field(
        0, ge=0, description="chat prompts use at most this many tokens (0 = fill the context)"
    )
    grounding_relevance: Literal["overlap", "bm25", "embedding", "hybrid"] = Field(
        "overlap",
        description="how grounding scores passage sentences: overlap = weighted word overlap; "
        "hybrid adds the retriever's embedder (with e5: +1-2 answers of 82, ~0.9 s per turn)",
    )
    router_similarity: bool = Field(
        False,
        description="also guess tool intents by similarity to example requests (MiniLM only); "
        "off by default: on held-out messages it made 2 false calls, no new right one",
    )

    # Retrieval
    embed_model: str = Field(
        "multilingual-e5-small-q4",
        description="multilingual-e5-small-q4 (bundled, multilingual), all-MiniLM-L6-v2 "
        "(bundled, English), or a sentence-transformers id or path",
    )
    embed_threads: int = Field(1, ge=1, le=256)
    sparse_terms: Literal["cross-lingual", "all", "off"] = Field(
        "cross-lingual",
        description="the embedder's sparse latent terms (multilingual-e5-small-q4 has them) as "
        "a third retrieval list. cross-lingual: kept for chunks not in English and used for "
        "English questions only, in place of BM25 where they rank a chunk higher (seed "
        "held-out recall@4 0.709 -> 0.782; English notes beside the seed pages 0.436 -> 0.564, "
        "their own answers unchanged); all: every chunk, every question, a third vote (true "
        "means this); off (false). An index gets them when it is built or rebuilt",
    )
    documents: list[Path] = Field(default_factory=default_documents)
    chunk_tokens: int = Field(200, ge=16, le=8192)
    chunk_overlap: int = Field(32, ge=0, le=4096)
    hnsw_threshold: int = Field(50_000, ge=1)
    index_commit_seconds: float = Field(
        30.0, ge=0, description="commit a long indexing run this often"
    )
    max_file_mb: float = Field(25.0, gt=0, description="larger documents are skipped")

    # User directories
    config_dir: Path = Field(default_factory=lambda: _user_dirs()["config_dir"])
    data_dir: Path = Field(default_factory=lambda: _user_dirs()["data_dir"])
    cache_dir: Path = Field(default_factory=lambda: _user_dirs()["cache_dir"])
    log_dir: Path = Field(default_factory=lambda: _user_dirs()["log_dir"])
    index_dir: Path | None = Field(None, description="default: <data_dir>/index")

    @field_validator("sparse_terms", mode="before")
    @classmethod
    def _sparse_terms_switch(cls, value: Any) -> Any:
        """``true`` / ``false`` (what the setting took before it had three values)."""
        if isinstance(value, bool):
            return "all" if value else "off"
        if isinstance(value, str) and value.lower() in _SWITCHES:
            return _SWITCHES[value.lower()]
        return value

    @field_validator(
        "documents", "config_dir", "data_dir", "cache_dir", "log_dir", "index_dir", mode="after"
    )
    @classmethod
    def _expand_home(cls, value: Any) -> Any:
        """``~`` in a config file or variable means the user's home, as in a shell."""
        if isinstance(value, list):
            return [Path(v).expanduser() for v in value]
        return Path(value).expanduser() if isinstance(value, Path) else value

    @property
    def index_path(self) -> Path:
        return self.index_dir if self.index_dir is not None else self.data_dir / "index"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def mcp_config_file(self) -> Path:
        return self.config_dir / "mcp.json"

    @property
    def history_db(self) -> Path:
        return self.data_dir / "history.sqlite3"


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read config file {path}: {exc}") from exc


def _read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is None:
            continue
        origin = field.annotation
        # Lists of paths are written like PATH: "a:b" (os.pathsep).
        values[name] = raw.split(os.pathsep) if "list" in str(origin) else raw
    return values


def _describe(exc: ValidationError, sources: dict[str, str]) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "settings"
    where = sources.get(str(err["loc"][0]) if err["loc"] else "", "")
    suffix = f" (from {where})" if where else ""
    return f"invalid setting {field!r}{suffix}: {err['msg']}"


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Merge defaults, the config file, ASSISTANT_* variables and explicit overrides."""
    env = os.environ if environ is None else environ
    dirs = _user_dirs()
    cfg_path = config_file or Path(
        env.get(ENV_PREFIX + "CONFIG", dirs["config_dir"] / "config.toml")
    )
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for label, layer in (
        (str(cfg_path), _read_config_file(cfg_path)),
        ("environment", _read_env(env)),
        ("command line", {k: v for k, v in (overrides or {}).items() if v is not None}),
    ):
        merged.update(layer)
        sources.update(dict.fromkeys(layer, label))
    try:
        return Settings(**merged)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, sources)) from exc
