"""The language-model engine: next-token tables, streamed generation, beam search, scoring.

Every decision is visible: each TokenStep carries the raw and processed probability of the
chosen token, its rank, and the top alternatives. Decoding uses the KV cache and HF's logits
processors; greedy output equals HF ``generate`` token for token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import replace
from typing import Any, cast

import torch

from assistant.core.beam import BeamWatch, beam_steps
from assistant.core.conversation_memo import ConversationMemo
from assistant.core.decode_plan import DecodePlan
from assistant.core.decoding import DecodingSettings
from assistant.core.grounding import (
    CopyIndex,
    GroundingInput,
    PassageCopyProcessor,
    build_copy_processor,
    same_copy_input,
)
from assistant.core.models import LoadedModel, load_model
from assistant.core.prefix_store import PrefixStore
from assistant.core.processors import build_processors
from assistant.core.request import DecodeRequest
from assistant.core.runner import Runner
from assistant.core.runners import RunnerSet
from assistant.core.sampler import sample_steps
from assistant.core.textstream import StopMatcher
from assistant.core.thread_policy import PhaseThreads, ThreadPolicy
from assistant.core.tokens import TokenTexts
from assistant.core.types import FinishReason, Generation, Score, TokenProb, TokenStep
from assistant.errors import ContextLengthError, UsageError


class Engine:
    """A loaded GPT-2-family model plus everything needed to decode it transparently."""

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        truncate_prompt: bool = True,
        threads: ThreadPolicy | None = None,
        runner: str = "auto",
    ) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.truncate_prompt = truncate_prompt
        self.token_texts = TokenTexts(self.tokenizer)
        self.eos_token_id: int | None = self.tokenizer.eos_token_id
        self.bos_token_id: int | None = self.tokenizer.bos_token_id
        # One forward pass at a time: held per step, never across a stream's yield, so a
        # stream its caller abandons cannot block the next one.
        self.lock = threading.Lock()
        self.thread_policy = threads or ThreadPolicy()
        self.runners = RunnerSet(loaded, prefer=runner)
        # The last prompt + answer's KV cache per conversation (``cache_key``), reused by the
        # next decode that shares its prefix: regenerate, fork, /compare.
        self.prefixes = PrefixStore()
        # Per conversation too: the last prompt's ids and its passages' copy index.
        self.prompt_ids: ConversationMemo[str, list[int]] = ConversationMemo()
        self.copy_indexes: ConversationMemo[GroundingInput, CopyIndex] = ConversationMemo(
            same_copy_input
        )

    @classmethod
    def load(
        cls,
        name: str | None = None,
        *,
        allow_fallback: bool = True,
        quantize: str = "none",
        threads: int = 0,
        truncate_prompt: bool = True,
        prefill_threads: int = 0,
        decode_threads: int = 0,
        runner: str = "auto",
    ) -> Engine:
        """Load an HF id, preset, local directory, or (None) the bundled model. ``threads``
        > 0 fixes both phases' thread count; otherwise the phase caps apply (0 = auto)."""
        loaded = load_model(name, allow_fallback=allow_fallback, quantize=quantize, threads=threads)
        policy = ThreadPolicy(fixed=threads, prefill=prefill_threads, decode=decode_threads)
        return cls(loaded, truncate_prompt=truncate_prompt, threads=policy, runner=runner)

    @classmethod
    def from_settings(cls, settings: Any) -> Engine:
        return cls.load(
            settings.model,
            allow_fallback=settings.allow_fallback,
            quantize=settings.quantize,
            threads=settings.torch_threads,
            truncate_prompt=settings.truncate_prompt,
            prefill_threads=settings.prefill_threads,
            decode_threads=settings.decode_threads,
            runner=settings.forward,
        )

    # ------------------------------------------------------------------ basics
    @property
    def context_length(self) -> int:
        return self.loaded.context_length

    @property
    def name(self) -> str:
        return self.loaded.name

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text))

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=True))

    def _require_text(self, text: str, what: str = "prompt") -> None:
        if not isinstance(text, str) or not text.strip():
            raise UsageError(f"empty {what}: give some text")

    # ------------------------------------------------------------------ next token
    @torch.inference_mode()
    def next_token_distribution(self, text: str, k: int = 10) -> list[TokenProb]:
        """The k most likely next tokens after ``text`` (the classic probability table)."""
        self._require_text(text, "text")
        if not 1 <= k <= 1000:
            raise UsageError(f"invalid k: must be ≥ 1 and ≤ 1000 (got {k})")
        ids = self.encode(text)[-self.context_length :]
        with self.lock:
            out = self.model(input_ids=torch.tensor([ids]), logits_to_keep=1, use_cache=False)
        logprobs = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
        return list(self.token_texts.top(logprobs, min(k, logprobs.numel())))

    # ------------------------------------------------------------------ prompt fitting
    def prompt_ids_of(self, prompt: str, cache_key: str | None = None) -> list[int]:
        """``encode(prompt)``; the conversation's last prompt is not tokenised again."""
        return list(self.prompt_ids.get(cache_key, prompt, lambda: self.encode(prompt)))

    def fit_prompt(
        self,
        prompt: str,
        max_new_tokens: int,
        cache_key: str | None = None,
        ids: Sequence[int] | None = None,
    ) -> tuple[list[int], int]:
        """Token ids of ``prompt`` that fit with ``max_new_tokens``, and how many were cut
        (``cache_key``: the conversation's last prompt is not tokenised again; ``ids``: the
        prompt's ids, given by the caller)."""
        self._require_text(prompt)
        if max_new_tokens >= self.context_length:
            raise UsageError(
                f"invalid decoding setting 'max_new_tokens': must be < the model's context of "
                f"{self.context_length} tokens (got {max_new_tokens})"
            )
        ids = list(ids) if ids is not None else self.prompt_ids_of(prompt, cache_key)
        room = self.context_length - max_new_tokens
        if len(ids) <= room:
            return ids, 0
        if not self.truncate_prompt:
            raise ContextLengthError(
                f"prompt of {len(ids)} tokens + max_new_tokens {max_new_tokens} exceeds the "
                f"model's context of {self.context_length} tokens; shorten it or allow truncation"
            )
        return ids[-room:], len(ids) - room

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
        """Iterate TokenSteps as they are decided; the stream object keeps the outcome.

        ``grounding`` (the question and the prompt's passages) is used when
        ``settings.grounding`` is not "off": each step then carries its provenance.
        ``cache_key`` (a conversation) keeps this decode's KV cache for the next decode with
        the same key, which then feeds only the ids after the prefix they share.
        ``answer_start``: where in the prompt's ids the answer begins, for a prompt that ends
        with the start of an answer (a fork): grounding reads those ids as answered so far
        (default: the answer begins after the prompt). ``prompt_ids``: the prompt as token
        ids, when the caller has them (a fork: the prompt's, then the answer's own tokens,
        which its text might tokenise differently); ``prompt`` is then its text."""
        settings = settings or DecodingSettings()
        ids, truncated = self.fit_prompt(prompt, settings.max_new_tokens, cache_key, prompt_ids)
        start = (
            len(ids) if answer_start is None else max(0, min(len(ids), answer_start - truncated))
        )
        copy, guidance = self._grounding(settings, grounding, start, cache_key, ids[start:])
        plan = self._plan(ids, settings, cache_key)
        request = DecodeRequest(
            model=self.model,
            prompt_ids=ids,
            settings=settings,
            stop_event=stop_event or threading.Event(),
            token_texts=self.token_texts,
            decode=self.decode,
            eos_token_id=self.eos_token_id,
            processors=build_processors(settings, guidance=guidance, copy=copy),
            plan=plan,
            copy=copy,
        )
        return GenerationStream(self.lock, request, truncated)

    def precision_of(self, settings: DecodingSettings) -> str:
        """What will compute the probabilities (a key of decode_plan.STEP_PROBABILITIES)."""
        return "int8-model" if self.loaded.quantized else settings.precision

    def _plan(
        self, ids: list[int], settings: DecodingSettings, cache_key: str | None
    ) -> DecodePlan:
        precision = self.precision_of(settings)
        if settings.strategy == "beam":
            # HF's beam search runs the fp32 model (or the loaded int8 one); the plan's exact
            # runner only prefills the prompt it starts from, so a kept prefix serves it too.
            precision = "int8-model" if self.loaded.quantized else "exact"
        prefill: Runner = self.runners.exact
        decode: Runner = self.runners.exact
        if precision in ("fast-prefill", "fast"):
            prefill = self.runners.int8()
            decode = prefill if precision == "fast" else decode
        capacity = len(ids) + settings.max_new_tokens
        cache, reused = (None, 0)
        if cache_key is not None:
            cache, reused = self.prefixes.take(cache_key, ids, precision)
        release = None
        if cache_key is not None:
            key = cache_key

            def release(held: list[int], kept: Any) -> None:
                self.prefixes.give_back(key, held, kept, precision)

        return DecodePlan(
            prefill=prefill,
            decode=decode,
            cache=cache if cache is not None else decode.new_cache(capacity),
            threads=self.thread_policy.choose(),
            precision=precision,
            release=release,
            reused=reused,
        )

    def forget_prefix(self, cache_key: str | None = None) -> None:
        """Drop what a conversation kept for its next decode: KV cache, prompt ids, copy index
        (None: every conversation's)."""
        self.prefixes.drop(cache_key)
        self.prompt_ids.drop(cache_key)
        self.copy_indexes.drop(cache_key)

    def _grounding(
        self,
        settings: DecodingSettings,
        grounding: GroundingInput | None,
        answer_start: int,
        cache_key: str | None,
        answer_so_far: Sequence[int] = (),
    ) -> tuple[PassageCopyProcessor | None, Any]:
        """The copy processor and the context-aware guidance processor, where they apply;
        the conversation's last copy index serves again when its passages are the same.
        ``answer_so_far`` (a fork's kept answer ids) follows the guidance's passage-less
        prompt as it follows the real one, so both sides continue the same answer."""
        if settings.grounding == "off" or grounding is None or settings.strategy == "beam":
            return None, None
        found = grounding
        index = self.copy_indexes.get(
            cache_key, found, lambda: CopyIndex.build(self.tokenizer, found)
        )
        copy = build_copy_processor(
            self.tokenizer,
            grounding,
            answer_start,
            settings.copy_strength,
            settings.grounded_sentences,
            index=index,
        )
        guidance = None
        negative = grounding.unconditional_prompt
        if settings.grounding == "copy+cad" and negative and negative.strip():
            from transformers import UnbatchedClassifierFreeGuidanceLogitsProcessor

            room = self.context_length - settings.max_new_tokens
            negative_ids = (self.encode(negative) + list(answer_so_far))[-room:]
            guidance = UnbatchedClassifierFreeGuidanceLogitsProcessor(
                1.0 + settings.cad_alpha,
                self.model,
                cast(torch.LongTensor, torch.tensor([negative_ids])),
            )
        return copy, guidance

    def generate(
        self,
        prompt: str,
        settings: DecodingSettings | None = None,
        stop_event: threading.Event | None = None,
        grounding: GroundingInput | None = None,
        cache_key: str | None = None,
        answer_start: int | None = None,
        prompt_ids: Sequence[int] | None = None,
    ) -> Generation:
        stream = self.stream(
            prompt, settings, stop_event, grounding, cache_key, answer_start, prompt_ids
        )
        for _ in stream:
            pass
        return stream.result()

    # ------------------------------------------------------------------ scoring
    @torch.inference_mode()
    def score(self, text: str, stride: int | None = None) -> Score:
        """Log-probability of every token of ``text``; long texts use a sliding window so every
        token is scored once with as much left context as fits."""
        self._require_text(text, "text")
        ids = self.encode(text)
        start = [self.bos_token_id] if self.bos_token_id is not None else []
        full = start + ids
        if len(full) < 2:
            raise UsageError("text too short to score: need at least two tokens")
        window = self.context_length
        # Each window must overlap the last by ≥ 1 token so every token has left context.
        stride = min(stride or max(1, window // 2), window - 1)
        logprobs: list[float] = []
        scored_until, windows, begin = 1, 0, 0  # position 0 (BOS or first token) is context only
        with self.lock:
            while True:
                end = min(begin + window, len(full))
                chunk = torch.tensor([full[begin:end]])
                logits = self.model(input_ids=chunk, use_cache=False).logits[0, :-1].float()
                token_lp = torch.log_softmax(logits, dim=-1).gather(1, chunk[0, 1:, None])[:, 0]
                logprobs.extend(token_lp[scored_until - (begin + 1) :].tolist())
                scored_until, windows = end, windows + 1
                if end == len(full):
                    break
                begin += stride
        scored_ids = full[len(full) - len(logprobs) :]
        return Score(
            token_ids=tuple(scored_ids),
            tokens=tuple(self.token_texts.text(i) for i in scored_ids),
            logprobs=tuple(logprobs),
            windows=windows,
        )


class GenerationStream:
    """Iterator of TokenSteps for one generation; afterwards ``result()`` is the Generation."""

    def __init__(self, lock: threading.Lock, request: DecodeRequest, truncated: int) -> None:
        self.lock = lock  # the engine's: one generation at a time
        self.request = request
        self.prompt_ids = request.prompt_ids
        self.truncated_prompt_tokens = truncated
        self.settings = request.settings
        self.stop_event = request.stop_event
        self.precision = request.plan.precision
        self.reused_prompt_tokens = request.plan.reused
        self.threads: PhaseThreads = request.plan.threads
        self.steps: list[TokenStep] = []
        self.finish_reason: FinishReason | None = None
        self.sequence_score: float | None = None
        self.first_token_seconds: float | None = None
        self.seconds = 0.0
        self._started = 0.0
        self._iter: Generator[TokenStep, None, None] | None = None
        # Beam search only: sees the running beams at every step, before any token is final
        # (set it before iterating; a UI shows the search as it goes).
        self.beam_watch: BeamWatch | None = None

    def __iter__(self) -> Generator[TokenStep, None, None]:
        if self._iter is None:
            self._iter = self._run()
        return self._iter

    def __next__(self) -> TokenStep:
        return next(iter(self))

    def result(self) -> Generation:
        if self.finish_reason is None:
            raise RuntimeError("generation has not finished")
        return Generation(
            text="".join(step.text for step in self.steps),
            steps=tuple(self.steps),
            finish_reason=self.finish_reason,
            prompt_tokens=len(self.prompt_ids),
            truncated_prompt_tokens=self.truncated_prompt_tokens,
            sequence_score=self.sequence_score,
            seconds=self.seconds,
        )

    def close(self) -> None:
        """End the decode now (a stream left unfinished also ends when it is collected)."""
        if self._iter is not None:
            self._iter.close()

    def __enter__(self) -> GenerationStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _run(self) -> Generator[TokenStep, None, None]:
        started = self._started = time.perf_counter()
        if self.settings.strategy == "beam":
            with self.lock:
                steps, reason, self.sequence_score = beam_steps(self.request, self.beam_watch)
            self.finish_reason = yield from self._apply_stops(iter(steps), reason)
        else:
            raw = self._one_step_at_a_time(sample_steps(self.request))
            self.finish_reason = yield from self._apply_stops(raw)
        self.seconds = time.perf_counter() - started

    def _one_step_at_a_time(
        self, steps: Generator[TokenStep, None, FinishReason]
    ) -> Generator[TokenStep, None, FinishReason]:
        """The strategy's steps, the engine's lock held while each is computed and released
        before it is handed out: a caller that stops iterating holds nothing."""
        try:
            while True:
                with self.lock:
                    try:
                        step = next(steps)
                    except StopIteration as end:
                        return cast(FinishReason, end.value)
                yield step
        finally:
            steps.close()  # gives the cache back to its store when abandoned

    def _apply_stops(
        self, raw_steps: Iterator[TokenStep], reason: FinishReason = "length"
    ) -> Generator[TokenStep, None, FinishReason]:
        """Release steps only once no stop string can still begin inside their text; returns
        the finish reason (the strategy's, or "stop")."""
        matcher = StopMatcher(self.settings.stop)
        pending: list[TokenStep] = []
        released = 0
        while True:
            try:
                step = next(raw_steps)
            except StopIteration as end:
                reason = end.value or reason
                break
            if self.first_token_seconds is None:
                self.first_token_seconds = time.perf_counter() - self._started
            pending.append(step)
            allowed, stopped = matcher.feed(step.text)
            while pending and (released + len(pending[0].text) <= allowed):
                out = pending.pop(0)
                released += len(out.text)
                self.steps.append(out)
                yield out
            if stopped:
                if pending and allowed > released:  # the step in which the stop string begins
                    first = pending[0]
                    cut = replace(first, text=first.text[: allowed - released])
                    self.steps.append(cut)
                    yield cut
                return "stop"
        for out in pending:  # generation ended while text was held back: release it
            self.steps.append(out)
            yield out
        return reason


__all__ = ["Engine", "GenerationStream"]
