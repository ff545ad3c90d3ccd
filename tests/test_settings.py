"""Settings: defaults < config file < ASSISTANT_* env < flags; invalid values named clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import SettingsError
from assistant.settings import load_settings


def test_layers_override_in_order(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('model = "distilgpt2"\ntorch_threads = 3\nembed_threads = 2\n')
    env = {"ASSISTANT_MODEL": "gpt2-medium", "ASSISTANT_TORCH_THREADS": "2"}
    settings = load_settings({"torch_threads": 1}, environ=env, config_file=config)
    assert settings.model == "gpt2-medium"  # env beats file
    assert settings.torch_threads == 1  # flag beats env
    assert settings.embed_threads == 2  # file beats default


def test_user_dirs_follow_assistant_home(isolated_home: Path) -> None:
    settings = load_settings()
    for path in (settings.config_dir, settings.data_dir, settings.cache_dir, settings.log_dir):
        assert isolated_home in path.parents
    assert settings.index_path == settings.data_dir / "index"


def test_list_settings_from_env_use_pathsep(tmp_path: Path) -> None:
    env = {"ASSISTANT_DOCUMENTS": f"{tmp_path / 'a'}:{tmp_path / 'b'}"}
    settings = load_settings(environ=env)
    assert settings.documents == [tmp_path / "a", tmp_path / "b"]


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        ({"torch_threads": -1}, "invalid setting 'torch_threads' (from command line)"),
        ({"quantize": "int4"}, "invalid setting 'quantize' (from command line)"),
        ({"no_such_setting": 1}, "invalid setting 'no_such_setting'"),
    ],
)
def test_invalid_values_name_the_field_and_source(layer: dict[str, object], expected: str) -> None:
    with pytest.raises(SettingsError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_settings(layer, environ={})


def test_invalid_env_and_broken_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"'embed_threads' \(from environment\)"):
        load_settings(environ={"ASSISTANT_EMBED_THREADS": "many"})
    broken = tmp_path / "config.toml"
    broken.write_text("model = [unclosed")
    with pytest.raises(SettingsError, match="cannot read config file"):
        load_settings(environ={}, config_file=broken)


def test_paths_expand_the_home_directory() -> None:
    settings = load_settings({"documents": ["~/notes"], "index_dir": "~/idx"}, environ={})
    assert settings.documents == [Path("~/notes").expanduser()]
    assert settings.index_path == Path("~/idx").expanduser()


def test_sparse_terms_takes_its_scopes_and_the_old_switch(tmp_path: Path) -> None:
    assert load_settings().sparse_terms == "cross-lingual"  # the default
    config = tmp_path / "config.toml"
    config.write_text("sparse_terms = true\n")  # what the setting took before it had scopes
    assert load_settings(config_file=config).sparse_terms == "all"
    config.write_text("sparse_terms = false\n")
    assert load_settings(config_file=config).sparse_terms == "off"
    assert load_settings(environ={"ASSISTANT_SPARSE_TERMS": "all"}).sparse_terms == "all"
    assert load_settings(environ={"ASSISTANT_SPARSE_TERMS": "false"}).sparse_terms == "off"
    with pytest.raises(SettingsError, match="sparse_terms"):
        load_settings({"sparse_terms": "some"})
