"""The remote engine against a real llama.cpp server (llama-server, built into .venv by
`make test`) serving an f32 GGUF converted from the bundled model: the same weights as the
in-process engine, so greedy tokens must be equal and log-probabilities agree within LOGPROB_TOL.
Measured on 8 prompts x 48 greedy tokens (2,297 chosen and top-5 log-probabilities): median
|Δ| 3.9e-4, p99 2.2e-3, max 5.7e-3. Not f32 rounding: ggml's CPU GELU rounds its input to
fp16 and reads an fp16 table (GGML_GELU_FP16 in ggml-cpu/vec.h), which moves every MLP output.

Skipped when no llama-server binary exists, except under CI, where its absence fails."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.chat.events import Notice, TokenGenerated, TurnDone, TurnError
from assistant.chat.session import ChatSession
from assistant.core.decoding import DecodingSettings
from assistant.core.engine import Engine
from assistant.core.engine_factory import REMOTE_NOTICES
from assistant.core.models import BUNDLED_MODEL_DIR
from assistant.core.openai_client import OpenAIClient
from assistant.core.remote_engine import LocalOnlyError, RemoteEngine
from assistant.errors import AssistantError, UsageError
from tests.chat_support import chat_settings, of_type, write_docs
from tests.gguf_convert import convert
from tests.remote_support import PROMPTS, bad_server, llama_server, llama_server_binary

LOGPROB_TOL = 1e-2  # |Δ log p| allowed between llama.cpp (f32 GGUF) and PyTorch (f32)

BINARY = llama_server_binary()
if BINARY is None:
    if os.environ.get("CI"):
        pytest.fail(
            "llama-server is missing: `make test` builds it (scripts/build_llama_server.sh)",
            pytrace=False,
        )
    pytest.skip(
        "no llama-server: run scripts/build_llama_server.sh (make test does)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def server_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert BINARY is not None
    root = tmp_path_factory.mktemp("llama")
    gguf = convert(BUNDLED_MODEL_DIR, root / "bundled-f32.gguf")
    with llama_server(BINARY, gguf, log=root / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def remote(server_root: str) -> RemoteEngine:
    return RemoteEngine.from_name(f"openai:{server_root}/v1#bundled-gguf", timeout=30)


@pytest.fixture(scope="module")
def local() -> Engine:
    return Engine.load(None, allow_fallback=False, threads=1)


def test_server_is_recognised_with_its_context_and_special_tokens(
    remote: RemoteEngine, local: Engine
) -> None:
    assert remote.server.kind == "llama.cpp"
    assert remote.context_length == local.context_length == 1024
    assert remote.eos_token_id == local.eos_token_id
    assert remote.name.startswith("openai:") and "bundled-gguf" in remote.name


@pytest.mark.parametrize("text", [*PROMPTS, "  two  spaces\n\ttab", "<|endoftext|> after"])
def test_server_tokenizer_counts_like_the_local_one(
    remote: RemoteEngine, local: Engine, text: str
) -> None:
    assert remote.encode(text) == local.encode(text)
    assert remote.decode(local.encode(text)) == local.decode(local.encode(text))


def test_greedy_tokens_equal_the_local_engines_with_logprobs_in_tolerance(
    remote: RemoteEngine, local: Engine
) -> None:
    settings = DecodingSettings(max_new_tokens=24, top_logprobs=5)
    worst = 0.0
    for prompt in PROMPTS:
        there = remote.generate(prompt, settings)
        here = local.generate(prompt, settings)
        assert [s.token_id for s in there.steps] == [s.token_id for s in here.steps], prompt
        assert there.text == here.text
        assert there.finish_reason == here.finish_reason
        for a, b in zip(there.steps, here.steps, strict=True):
            worst = max(worst, abs(a.logprob - b.logprob))
            assert a.probabilities == "server-raw" and b.probabilities == "local"
            assert a.rank == 1 and len(a.top) == 5
            for x, y in zip(a.top, b.top, strict=True):
                assert abs(x.logprob - y.logprob) < LOGPROB_TOL
    assert worst < LOGPROB_TOL, worst


def test_next_token_table_matches(remote: RemoteEngine, local: Engine) -> None:
    for prompt in PROMPTS[:4]:
        there = remote.next_token_distribution(prompt, k=10)
        here = local.next_token_distribution(prompt, k=10)
        assert len(there) == 10
        for x, y in zip(there, here, strict=True):
            assert abs(x.logprob - y.logprob) < LOGPROB_TOL
            assert x.token_id == y.token_id or abs(x.logprob - y.logprob) < LOGPROB_TOL


def test_scores_match_the_local_engines(remote: RemoteEngine, local: Engine) -> None:
    text = "Greedy decoding picks the most probable token at every step."
    there, here = remote.score(text), local.score(text)
    assert there.token_ids == here.token_ids
    assert max(abs(a - b) for a, b in zip(there.logprobs, here.logprobs, strict=True)) < (
        LOGPROB_TOL
    )


def test_repetition_penalty_decodes_as_locally(remote: RemoteEngine, local: Engine) -> None:
    settings = DecodingSettings(max_new_tokens=24, repetition_penalty=1.5, top_logprobs=2)
    for prompt in PROMPTS[:4]:
        there = remote.generate(prompt, settings)
        here = local.generate(prompt, settings)
        assert [s.token_id for s in there.steps] == [s.token_id for s in here.steps], prompt


def test_stop_strings_end_the_stream_as_locally(remote: RemoteEngine, local: Engine) -> None:
    settings = DecodingSettings(max_new_tokens=24)
    full = local.generate(PROMPTS[0], settings).text
    stop = full.strip().split()[1] if len(full.split()) > 1 else full.strip()[:2]
    stopped = DecodingSettings(max_new_tokens=24, stop=(stop,))
    there, here = remote.generate(PROMPTS[0], stopped), local.generate(PROMPTS[0], stopped)
    assert there.finish_reason == here.finish_reason == "stop"
    assert there.text == here.text and stop not in there.text


def test_seeded_sampling_is_reproducible(remote: RemoteEngine) -> None:
    settings = DecodingSettings(strategy="sample", temperature=0.9, top_p=0.95, seed=7)
    first = remote.generate(PROMPTS[2], settings.replace(max_new_tokens=16))
    second = remote.generate(PROMPTS[2], settings.replace(max_new_tokens=16))
    assert [s.token_id for s in first.steps] == [s.token_id for s in second.steps]
    assert all(math.isfinite(s.logprob) and s.logprob <= 0 for s in first.steps)


@pytest.mark.parametrize(
    ("changes", "name"),
    [({"strategy": "beam"}, "strategy"), ({"no_repeat_ngram_size": 2}, "no_repeat_ngram_size")],
)
def test_unsupported_settings_are_refused_by_name(
    remote: RemoteEngine, changes: dict[str, object], name: str
) -> None:
    with pytest.raises(UsageError) as info:
        remote.stream(PROMPTS[0], DecodingSettings(**changes))  # type: ignore[arg-type]
    assert repr(name) in str(info.value)


def test_a_stopped_stream_is_cancelled(remote: RemoteEngine) -> None:
    stop = threading.Event()
    stream = remote.stream(PROMPTS[0], DecodingSettings(max_new_tokens=200), stop)
    for count, _ in enumerate(stream, start=1):
        if count == 3:
            stop.set()
    assert stream.finish_reason == "cancelled" and len(stream.steps) <= 4


def test_weight_views_are_local_only(remote: RemoteEngine) -> None:
    with pytest.raises(LocalOnlyError) as info:
        remote.model.config  # noqa: B018 - what the lens and attention views read first
    assert "local-only with a remote model" in str(info.value)
    assert isinstance(info.value, UsageError) and not hasattr(remote, "runners")


def test_chat_answers_through_the_server_and_survives_it_going_bad(
    remote: RemoteEngine, server_root: str, tmp_path: Path
) -> None:
    settings = chat_settings(
        tmp_path / "home",
        tmp_path,
        write_docs(tmp_path / "docs"),
        model=f"openai:{server_root}/v1#bundled-gguf",
    )
    decoding = DecodingSettings(max_new_tokens=6, top_logprobs=3, grounding="copy")
    session = ChatSession(settings)
    try:
        events = list(session.turn("What does greedy decoding pick?", decoding=decoding))
        (done,) = of_type(events, TurnDone)
        # Stored as it ran: the server did not copy from the passages.
        assert session.last_turn is not None
        assert session.last_turn.decoding.grounding == "off"
        assert done.decoding is not None and done.decoding.grounding == "off"  # the TUI's label
        store = session.history_store()
        assert store is not None and done.message_id is not None
        assert store.message(done.message_id).decoding["grounding"] == "off"
        info = session.model_info()
        assert info is not None and info.remote and info.to_dict()["remote"] is True
        # int8 cannot be honoured by a server: the turn is refused by name, in one line.
        fast = decoding.replace(precision="fast-prefill")
        (refused,) = of_type(list(session.turn("and top-k?", decoding=fast)), TurnError)
        assert "precision" in refused.message and "\n" not in refused.message
        tokens = of_type(events, TokenGenerated)
        assert tokens and all(t.step.probabilities == "server-raw" for t in tokens)
        notices = [n.text for n in of_type(events, Notice)]
        assert all(text in notices for text in REMOTE_NOTICES)
        engine = session.parts.engine()
        good = engine.client
        for mode in ("garbage", "slow"):
            with bad_server(mode, delay=3.0) as url:
                engine.client = OpenAIClient(url, timeout=0.5)
                engine.tokenizer.client = engine.client
                failed = list(session.turn("and beam search?", decoding=decoding))
            (error,) = of_type(failed, TurnError)
            assert ("not JSON" in error.message) or ("timed out" in error.message)
            assert "\n" not in error.message
            engine.client = engine.tokenizer.client = good
            assert of_type(list(session.turn("and sampling?", decoding=decoding)), TurnDone)
    finally:
        session.close()


def test_errors_are_assistant_errors(remote: RemoteEngine) -> None:
    with pytest.raises(AssistantError):
        remote.next_token_distribution("hello", k=50)


def test_tokenization_view_matches_the_local_one(remote: RemoteEngine, local: Engine) -> None:
    from assistant.core.tokenization import tokenize

    text = "hello wörld, 你好 <|endoftext|>"
    there = tokenize(remote.tokenizer, text, remote.context_length).to_dict()
    here = tokenize(local.tokenizer, text, local.context_length).to_dict()
    assert there == here


@pytest.mark.parametrize(
    "argv",
    [
        ["lens", "hello world"],
        ["attention", "hello world", "--layer", "1"],
        ["generate", "hello", "--max-new-tokens", "2", "--explain-step", "1"],
    ],
)
def test_cli_weight_views_refuse_in_one_line(
    server_root: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    from assistant.cli import main

    code = main(["--model", f"openai:{server_root}/v1#bundled-gguf", *argv])
    _, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1, err
    assert "local-only with a remote model" in errors[0] and "Traceback" not in err
