"""The remote engine's pure parts, no server: the model spec, SSE parsing, the decoding
settings as request parameters (and the refusals by name), both logprobs dialects, UTF-8
joining of token bytes, and TokenStep's probability label in stored history."""

from __future__ import annotations

import json

import pytest

from assistant.core.decoding import DecodingSettings
from assistant.core.openai_client import RemoteServerError, parse_sse
from assistant.core.remote_engine import Utf8Joiner
from assistant.core.remote_params import check_supported, completion_body
from assistant.core.remote_spec import is_remote_model, parse_remote_model
from assistant.core.remote_tokens import choice_of, tokens_of_choice
from assistant.core.types import PROBABILITY_SOURCES, TokenProb, TokenStep
from assistant.errors import UsageError

WHERE = "the test server"


# ---------------------------------------------------------------- model spec
@pytest.mark.parametrize(
    ("name", "root", "model"),
    [
        ("openai:http://127.0.0.1:8000/v1#gpt2-xl", "http://127.0.0.1:8000", "gpt2-xl"),
        ("openai:http://gpu.local:8080#", "http://gpu.local:8080", ""),
        (
            "openai:https://x.example/llm/v1/#openai-community/gpt2-xl",
            "https://x.example/llm",
            "openai-community/gpt2-xl",
        ),
    ],
)
def test_remote_spec_parses_base_url_and_model(name: str, root: str, model: str) -> None:
    spec = parse_remote_model(name)
    assert (spec.root_url, spec.model) == (root, model)
    assert spec.api_url == root + "/v1"
    assert is_remote_model(name)


@pytest.mark.parametrize(
    "name", ["openai:", "openai:ftp://h/v1#m", "openai:http://#m", "openai:http://h:99999#m"]
)
def test_malformed_remote_spec_is_a_one_line_usage_error(name: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_remote_model(name)
    assert "\n" not in str(info.value) and "openai:" in str(info.value)


def test_local_names_are_not_remote() -> None:
    assert not any(is_remote_model(n) for n in ("gpt2", "bundled", "/models/openai:x", None))


def test_api_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = parse_remote_model("openai:http://h:1/v1#m")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert spec.api_key() is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert spec.api_key() == "sk-test"


# ---------------------------------------------------------------- SSE
def lines(text: str) -> list[bytes]:
    return [line.encode() for line in text.splitlines(keepends=True)]


def test_sse_events_comments_multiline_data_and_done() -> None:
    stream = (
        ": keep-alive\n\n"
        'data: {"a": 1}\n\n'
        'data: {"b":\ndata: 2}\n\n'
        "event: message\nid: 7\n"
        'data: {"c": 3}\r\n\r\n'
        "data: [DONE]\n\n"
        'data: {"after": "done"}\n\n'
    )
    assert list(parse_sse(lines(stream), WHERE)) == [{"a": 1}, {"b": 2}, {"c": 3}]


def test_sse_stream_without_done_ends_with_its_last_event() -> None:
    assert list(parse_sse(lines('data: {"a": 1}\n\ndata: {"b": 2}'), WHERE)) == [
        {"a": 1},
        {"b": 2},
    ]


@pytest.mark.parametrize(
    ("stream", "words"),
    [
        ("data: not json\n\n", "not JSON"),
        ('error: {"code": 500, "message": "slot unavailable"}\n\n', "slot unavailable"),
        ('data: {"error": {"message": "context full"}}\n\n', "context full"),
        ("<html>bad gateway</html>\n", "event stream"),
        ("data: [1, 2]\n\n", "not an object"),
    ],
)
def test_sse_failures_are_one_line_errors(stream: str, words: str) -> None:
    with pytest.raises(RemoteServerError) as info:
        list(parse_sse(lines(stream), WHERE))
    message = str(info.value)
    assert words in message and WHERE in message and "\n" not in message


# ---------------------------------------------------------------- parameters
def test_greedy_for_llama_cpp_switches_its_default_samplers_off() -> None:
    body = completion_body(
        DecodingSettings(max_new_tokens=7, top_logprobs=3),
        prompt_ids=[1, 2],
        model="m",
        kind="llama.cpp",
    )
    assert body["prompt"] == [1, 2] and body["max_tokens"] == 7 and body["stream"] is True
    assert body["temperature"] == 0.0 and body["top_k"] == 0 and body["top_p"] == 1.0
    assert body["min_p"] == 0.0 and body["typical_p"] == 1.0 and body["repeat_penalty"] == 1.0
    assert body["n_probs"] == 3 and body["logprobs"] == 3 and body["post_sampling_probs"] is False
    assert body["dry_multiplier"] == 0.0 and body["xtc_probability"] == 0.0
    assert "stop" not in body  # stop strings are matched here, as for the local engine


def test_sampling_settings_map_to_each_dialect() -> None:
    settings = DecodingSettings(
        strategy="sample", temperature=0.7, top_k=40, top_p=0.9, repetition_penalty=1.2, seed=5
    )
    llama = completion_body(settings, prompt_ids=[1], model="", kind="llama.cpp")
    assert (llama["temperature"], llama["top_k"], llama["top_p"]) == (0.7, 40, 0.9)
    assert llama["repeat_penalty"] == 1.2 and llama["repeat_last_n"] == 1024
    assert llama["seed"] == 5 and "model" not in llama
    vllm = completion_body(settings.replace(top_k=0), prompt_ids=[1], model="gpt2", kind="openai")
    assert vllm["top_k"] == -1 and vllm["repetition_penalty"] == 1.2
    assert vllm["return_tokens_as_token_ids"] is True and vllm["model"] == "gpt2"
    assert "n_probs" not in vllm and "repeat_penalty" not in vllm


def test_zero_alternatives_still_ask_for_the_chosen_tokens_logprob() -> None:
    body = completion_body(
        DecodingSettings(top_logprobs=0), prompt_ids=[1], model="", kind="llama.cpp"
    )
    assert body["logprobs"] == 1


@pytest.mark.parametrize(
    ("changes", "kind", "name"),
    [
        ({"strategy": "beam"}, "llama.cpp", "strategy"),
        ({"no_repeat_ngram_size": 3}, "llama.cpp", "no_repeat_ngram_size"),
        ({"strategy": "sample", "typical_p": 0.9}, "openai", "typical_p"),
        ({"precision": "fast"}, "openai", "precision"),
    ],
)
def test_settings_the_server_cannot_honour_are_refused_by_name(
    changes: dict[str, object], kind: str, name: str
) -> None:
    with pytest.raises(UsageError) as info:
        check_supported(DecodingSettings(**changes), kind)  # type: ignore[arg-type]
    assert f"{name!r}" in str(info.value) and "remote model" in str(info.value)
    assert "\n" not in str(info.value)


def test_typical_p_is_honoured_by_llama_cpp() -> None:
    check_supported(DecodingSettings(strategy="sample", typical_p=0.9), "llama.cpp")


# ---------------------------------------------------------------- logprobs dialects
def test_llama_cpp_logprobs_shape() -> None:
    choice = {
        "text": " the",
        "logprobs": {
            "content": [
                {
                    "id": 262,
                    "token": " the",
                    "bytes": [32, 116, 104, 101],
                    "logprob": -0.5,
                    "top_logprobs": [
                        {"id": 262, "token": " the", "bytes": [32, 116, 104, 101], "logprob": -0.5},
                        {"id": 257, "token": " a", "bytes": [32, 97], "logprob": -1.5},
                    ],
                }
            ]
        },
    }
    (token,) = tokens_of_choice(choice, WHERE)
    assert (token.token_id, token.piece, token.piece_bytes, token.logprob) == (
        262,
        " the",
        b" the",
        -0.5,
    )
    assert [(a.token_id, a.text, a.logprob) for a in token.top] == [
        (262, " the", -0.5),
        (257, " a", -1.5),
    ]


def test_partial_character_bytes_show_as_escapes() -> None:
    choice = {
        "logprobs": {
            "content": [
                {"id": 9, "token": "", "bytes": [0xE5, 0x8F], "logprob": -2.0, "top_logprobs": []}
            ]
        }
    }
    (token,) = tokens_of_choice(choice, WHERE)
    assert token.piece == "\\xe5\\x8f" and token.piece_bytes == b"\xe5\x8f"


def test_openai_legacy_logprobs_shape_with_token_ids() -> None:
    choice = {
        "text": " the",
        "logprobs": {
            "tokens": ["token_id:262"],
            "token_logprobs": [-0.5],
            "top_logprobs": [{"token_id:257": -1.5, "token_id:262": -0.5}],
            "text_offset": [0],
        },
    }
    (token,) = tokens_of_choice(choice, WHERE)
    assert token.token_id == 262 and token.piece is None and token.logprob == -0.5
    assert [(a.token_id, a.logprob) for a in token.top] == [(262, -0.5), (257, -1.5)]


def test_echoed_first_prompt_token_has_no_logprob() -> None:
    choice = {
        "logprobs": {
            "tokens": ["a", "b"],
            "token_logprobs": [None, -1.0],
            "top_logprobs": [None, None],
        }
    }
    first, second = tokens_of_choice(choice, WHERE)
    assert first.logprob == float("-inf") and second.logprob == -1.0


@pytest.mark.parametrize(
    "logprobs",
    [
        "nope",
        {"something": []},
        {"content": "x"},
        {"content": [{"id": "x", "logprob": -1}]},
        {"tokens": ["a"], "token_logprobs": [], "top_logprobs": []},
        {"content": [{"id": 1, "logprob": "high"}]},
    ],
)
def test_unknown_logprobs_shapes_are_one_line_errors(logprobs: object) -> None:
    with pytest.raises(RemoteServerError) as info:
        tokens_of_choice({"logprobs": logprobs}, WHERE)
    assert WHERE in str(info.value) and "\n" not in str(info.value)


# ---------------------------------------------------------------- text and records
def test_utf8_joiner_holds_an_incomplete_character() -> None:
    joiner = Utf8Joiner()
    data = "héllo 你".encode()
    pieces = [joiner.push(data[i : i + 1]) for i in range(len(data))]
    assert "".join(pieces) == "héllo 你"
    assert pieces[1] == "" and pieces[2] == "é"
    assert pieces[-3:] == ["", "", "你"]


def test_token_step_probability_label_round_trips_and_defaults_to_local() -> None:
    step = TokenStep(
        index=0,
        token_id=5,
        text="a",
        logprob=-1.0,
        processed_logprob=-1.0,
        rank=1,
        top=(TokenProb(5, "a", 0.37, -1.0),),
        token="a",
        probabilities="server-raw",
    )
    data = json.loads(json.dumps(step.to_dict()))
    assert data["probabilities"] == "server-raw"
    assert TokenStep.from_dict(data) == step
    del data["probabilities"]  # a step stored before the label existed
    assert TokenStep.from_dict(data).probabilities == "local"
    assert {"local", "server-raw"} <= set(PROBABILITY_SOURCES)


def test_a_usage_only_event_has_no_tokens_and_a_choiceless_one_is_an_error() -> None:
    assert (
        tokens_of_choice(choice_of({"choices": [], "usage": {"total_tokens": 3}}, WHERE), WHERE)
        == []
    )
    with pytest.raises(RemoteServerError) as info:
        choice_of({"id": "x", "object": "text_completion"}, WHERE)
    assert "without choices" in str(info.value)
