"""The engine for a model served elsewhere (``openai:<base_url>#<model>``), behind the same
interface as the in-process Engine: stream, generate, score, next-token tables, tokens.

Every step is filled from what the server returns: the chosen token's log-probability and the
top alternatives under the model's own distribution ("server-raw"; neither llama.cpp nor vLLM
reports the sampled-from distribution alongside it). What needs the weights here — grounding
(per-step control of the distribution), the logit lens, attention, the pipeline view — is
local-only and says so in one line.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from typing import Any, NoReturn

from assistant.core.decoding import MAX_TOP_LOGPROBS, DecodingSettings
from assistant.core.engine import Engine, GenerationStream
from assistant.core.grounding_input import GroundingInput
from assistant.core.models import LoadedModel
from assistant.core.openai_client import DEFAULT_TIMEOUT, OpenAIClient, RemoteServerError
from assistant.core.remote_params import check_supported, completion_body
from assistant.core.remote_server import ServerInfo, ServerTokenizer, probe_server
from assistant.core.remote_spec import GROUNDING_NOTICE, RemoteSpec, parse_remote_model
from assistant.core.remote_tokens import ServerToken, choice_of, tokens_of_choice
from assistant.core.thread_policy import PhaseThreads
from assistant.core.tokens import TokenTexts
from assistant.core.types import FinishReason, Score, TokenProb, TokenStep
from assistant.errors import UsageError

LOCAL_ONLY = "needs the model's weights in this process: it is local-only with a remote model"
PROBABILITIES = "server-raw"


class LocalOnlyError(UsageError):
    """Something asked a remote engine for its weights: a one-line refusal. Not an
    AttributeError, so a view probing the model (``getattr(model, "transformer", None)``)
    says why it cannot run instead of "not a GPT-2 model"."""


class MissingLocalPart(LocalOnlyError, AttributeError):
    """A local engine's part (runners, KV-cache store) asked of a remote engine; an
    AttributeError too, so a ``hasattr`` probe of the engine stays a plain False."""


class NoWeights:
    """Stands in for the model object: any use of it is a one-line LocalOnlyError."""

    def __getattr__(self, name: str) -> NoReturn:
        raise LocalOnlyError(f"this view {LOCAL_ONLY}")

    def __call__(self, *args: object, **kwargs: object) -> NoReturn:
        raise LocalOnlyError(f"this view {LOCAL_ONLY}")


class ServerTokenTexts(TokenTexts):
    """Token texts from the server's tokenizer, primed with the pieces the stream sends."""

    def remember(self, token_id: int, text: str) -> None:
        self._cache.setdefault(token_id, text)


class Utf8Joiner:
    """Joins token bytes into text, holding back an incomplete character until it ends."""

    def __init__(self) -> None:
        self.pending = b""

    def push(self, data: bytes) -> str:
        self.pending += data
        for cut in range(len(self.pending), max(-1, len(self.pending) - 4), -1):
            try:
                text = self.pending[:cut].decode("utf-8")
            except UnicodeDecodeError:
                continue
            self.pending = self.pending[cut:]
            return text
        text = self.pending.decode("utf-8", errors="replace")  # not UTF-8 at all
        self.pending = b""
        return text


class RemoteEngine(Engine):
    """An Engine whose forward passes happen on an OpenAI-compatible server."""

    is_remote = True

    def __init__(
        self,
        spec: RemoteSpec,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        truncate_prompt: bool = True,
    ) -> None:
        # No Engine.__init__: there are no weights, runners or KV caches here.
        self.spec = spec
        self.client = OpenAIClient(spec.root_url, api_key=spec.api_key(), timeout=timeout)
        self.server: ServerInfo = probe_server(self.client, spec)
        self.tokenizer = ServerTokenizer(self.client, self.server)
        self.server_texts = ServerTokenTexts(self.tokenizer)
        self.token_texts = self.server_texts
        self.eos_token_id = self.server.eos_token_id
        self.bos_token_id = self.server.bos_token_id
        self.truncate_prompt = truncate_prompt
        self.lock = threading.Lock()
        self.model = NoWeights()
        self.loaded = LoadedModel(
            model=self.model,
            tokenizer=self.tokenizer,
            name=spec.display_name if spec.model else f"openai:{spec.api_url}#{self.server.model}",
            source=f"{spec.api_url} ({self.server.kind}: {self.server.model})",
        )

    @classmethod
    def from_name(cls, name: str, *, timeout: float = DEFAULT_TIMEOUT) -> RemoteEngine:
        return cls(parse_remote_model(name), timeout=timeout)

    def __getattr__(self, name: str) -> NoReturn:
        # The local engine's runners, prefix store and thread policy have no remote meaning.
        raise MissingLocalPart(f"this view {LOCAL_ONLY} (it asked for {name!r})")

    @property
    def context_length(self) -> int:
        return self.server.context_length

    def precision_of(self, settings: DecodingSettings) -> str:
        return "server"  # the server's own arithmetic; no int8 twin here

    def forget_prefix(self, cache_key: str | None = None) -> None:
        """The server keeps its own prompt cache."""

    def prompt_ids_of(self, prompt: str, cache_key: str | None = None) -> list[int]:
        return self.encode(prompt)  # the server's tokenizer; nothing kept per conversation

    # ------------------------------------------------------------------ requests
    def _body(
        self, settings: DecodingSettings, prompt_ids: list[int], max_tokens: int | None = None
    ) -> dict[str, Any]:
        """The /v1/completions request for this server's model and context."""
        return completion_body(
            settings,
            prompt_ids=prompt_ids,
            model=self.server.model,
            kind=self.server.kind,
            max_tokens=max_tokens,
            context_length=self.server.context_length,
        )

    def _events(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        return self.client.post_stream("/v1/completions", body)

    def one_step(self, prompt_ids: list[int], settings: DecodingSettings) -> list[ServerToken]:
        """The server's single next token after ``prompt_ids`` (with its alternatives)."""
        body = self._body(settings, prompt_ids, max_tokens=1)
        tokens: list[ServerToken] = []
        for event in self._events(body):
            tokens.extend(tokens_of_choice(choice_of(event, self.client.where), self.client.where))
        if not tokens:
            raise RemoteServerError(f"{self.client.where} returned no token logprobs")
        return tokens

    def _prob(
        self, token_id: int | None, text: str | None, logprob: float, data: bytes | None = None
    ) -> TokenProb:
        if token_id is None:
            raise RemoteServerError(f"{self.client.where} named a token without its id")
        if text is not None:
            self.server_texts.remember(token_id, text)
        if data is not None:
            self.tokenizer.token_bytes.setdefault(token_id, data)
        shown = text if text is not None else self.token_texts.text(token_id)
        return TokenProb(token_id, shown, math.exp(logprob), logprob)

    def step_of(self, token: ServerToken, index: int, text: str, k: int) -> TokenStep:
        """A TokenStep from what the server said about one token."""
        chosen = self._prob(token.token_id, token.piece, token.logprob, token.piece_bytes)
        top = tuple(self._prob(a.token_id, a.text, a.logprob) for a in token.top)
        ids = [p.token_id for p in top]
        rank = ids.index(chosen.token_id) + 1 if chosen.token_id in ids else len(ids) + 1
        return TokenStep(
            index=index,
            token_id=chosen.token_id,
            text=text,
            logprob=chosen.logprob,
            processed_logprob=chosen.logprob,
            rank=rank,
            top=top[:k],
            token=chosen.text,
            probabilities=PROBABILITIES,
        )

    # ------------------------------------------------------------------ next token
    def next_token_distribution(self, text: str, k: int = 10) -> list[TokenProb]:
        self._require_text(text, "text")
        if not 1 <= k <= MAX_TOP_LOGPROBS:
            raise UsageError(
                f"invalid k: must be ≥ 1 and ≤ {MAX_TOP_LOGPROBS} with a remote model (got {k})"
            )
        ids = self.encode(text)[-(self.context_length - 1) :]
        token = self.one_step(ids, DecodingSettings(top_logprobs=k, max_new_tokens=1))[0]
        return [self._prob(a.token_id, a.text, a.logprob) for a in token.top][:k]

    # ------------------------------------------------------------------ generation
    def stream(
        self,
        prompt: str,
        settings: DecodingSettings | None = None,
        stop_event: threading.Event | None = None,
        grounding: GroundingInput | None = None,
        cache_key: str | None = None,
        answer_start: int | None = None,
        prompt_ids: Sequence[int] | None = None,
    ) -> GenerationStream:
        """As Engine.stream. Grounding is local-only: it is left off (GROUNDING_NOTICE; the
        stream's ``grounding_skipped`` and ``settings`` say so), and with it
        ``answer_start``; ``cache_key`` is the server's business."""
        settings = settings or DecodingSettings()
        check_supported(settings, self.server.kind)
        ids, truncated = self.fit_prompt(prompt, settings.max_new_tokens, ids=prompt_ids)
        skipped = settings.grounding != "off" and grounding is not None
        ran = settings.replace(grounding="off") if skipped else settings  # stream.settings
        return RemoteGenerationStream(
            self, ids, truncated, ran, stop_event or threading.Event(), skipped
        )

    def remote_steps(
        self, ids: list[int], settings: DecodingSettings, stop: threading.Event
    ) -> Generator[TokenStep, None, FinishReason]:
        events = self._events(self._body(settings, ids))
        joiner = Utf8Joiner()
        index = 0
        try:
            for event in events:
                if stop.is_set():
                    return "cancelled"
                choice = choice_of(event, self.client.where)
                tokens = tokens_of_choice(choice, self.client.where)
                text_field = choice.get("text")
                chunk_text = text_field if isinstance(text_field, str) else ""
                for position, token in enumerate(tokens):
                    is_eos = token.token_id is not None and token.token_id == self.eos_token_id
                    if is_eos:
                        text = ""
                    elif token.piece_bytes is not None:
                        text = joiner.push(token.piece_bytes)
                    else:  # no bytes: the chunk's text belongs to its last token
                        text = chunk_text if position == len(tokens) - 1 else ""
                    yield self.step_of(token, index, text, settings.top_logprobs)
                    index += 1
                    if is_eos:
                        return "eos"
                reason = choice.get("finish_reason")
                if reason:
                    return "length" if reason == "length" else "eos"
            return "length"
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()

    # ------------------------------------------------------------------ scoring
    def score(self, text: str, stride: int | None = None) -> Score:
        """Log-probability of every token of ``text`` under the served model, one window.

        llama.cpp's /v1/completions has no prompt logprobs (it ignores ``echo``), so each
        token is scored as a forced one-token step: the prefix as prompt (its prompt cache
        makes that one new position a request), the token pushed to the top with a logit bias,
        and the log-probability the server reports for it, which is taken before any sampler.
        Other servers answer ``echo`` with the prompt's own logprobs in one request."""
        self._require_text(text, "text")
        ids = self.encode(text)
        start = [self.bos_token_id] if self.bos_token_id is not None else []
        full = start + ids
        if len(full) < 2:
            raise UsageError("text too short to score: need at least two tokens")
        if len(full) > self.context_length:
            raise UsageError(
                f"text of {len(full)} tokens is longer than the server's context of "
                f"{self.context_length}: a remote model scores one window"
            )
        if self.server.kind == "llama.cpp":
            logprobs = [self._forced_logprob(full[:i], full[i]) for i in range(1, len(full))]
        else:
            logprobs = self._echo_logprobs(full)
        scored = full[1:]
        return Score(
            token_ids=tuple(scored),
            tokens=tuple(self.token_texts.text(i) for i in scored),
            logprobs=tuple(logprobs),
            windows=1,
        )

    def _forced_logprob(self, prefix: list[int], token_id: int) -> float:
        body = self._body(DecodingSettings(top_logprobs=1, max_new_tokens=1), prefix, max_tokens=1)
        body["logit_bias"] = [[token_id, 1000.0]]
        for event in self._events(body):
            for token in tokens_of_choice(choice_of(event, self.client.where), self.client.where):
                if token.token_id != token_id:
                    raise RemoteServerError(
                        f"{self.client.where} ignored the logit bias used to score a token"
                    )
                return token.logprob
        raise RemoteServerError(f"{self.client.where} returned no logprob to score a token")

    def _echo_logprobs(self, full: list[int]) -> list[float]:
        body: dict[str, Any] = {
            "model": self.server.model,
            "prompt": full,
            "max_tokens": 1,
            "echo": True,
            "logprobs": 0,
            "temperature": 0.0,
            "return_tokens_as_token_ids": True,
        }
        answer = self.client.post_json("/v1/completions", body)
        if not isinstance(answer, dict):
            raise RemoteServerError(f"{self.client.where} answered the score request oddly")
        tokens = tokens_of_choice(choice_of(answer, self.client.where), self.client.where)
        if len(tokens) < len(full):
            raise RemoteServerError(
                f"{self.client.where} did not echo the prompt's logprobs (it cannot score text)"
            )
        return [t.logprob for t in tokens[1 : len(full)]]


class RemoteGenerationStream(GenerationStream):
    """A GenerationStream whose steps come from the server's event stream."""

    def __init__(
        self,
        engine: RemoteEngine,
        prompt_ids: list[int],
        truncated: int,
        settings: DecodingSettings,
        stop_event: threading.Event,
        grounding_skipped: bool,
    ) -> None:
        # No GenerationStream.__init__: there is no local DecodeRequest.
        self.engine = engine
        self.lock = engine.lock
        self.prompt_ids = prompt_ids
        self.truncated_prompt_tokens = truncated
        self.settings = settings
        self.stop_event = stop_event
        self.precision = "server"
        self.reused_prompt_tokens = 0
        self.threads = PhaseThreads(prefill=0, decode=0)
        self.grounding_skipped = grounding_skipped
        self.notice = GROUNDING_NOTICE if grounding_skipped else None
        self.steps: list[TokenStep] = []
        self.finish_reason: FinishReason | None = None
        self.sequence_score: float | None = None
        self.first_token_seconds: float | None = None
        self.seconds = 0.0
        self._started = 0.0
        self._iter: Generator[TokenStep, None, None] | None = None

    def __getattr__(self, name: str) -> NoReturn:
        # A local decode's request (model, processors, KV cache) has no remote counterpart.
        raise MissingLocalPart(f"this view {LOCAL_ONLY} (it asked for {name!r})")

    def _run(self) -> Generator[TokenStep, None, None]:
        started = self._started = time.perf_counter()
        raw = self.engine.remote_steps(self.prompt_ids, self.settings, self.stop_event)
        try:
            self.finish_reason = yield from self._apply_stops(raw)
        finally:
            raw.close()
        self.seconds = time.perf_counter() - started
