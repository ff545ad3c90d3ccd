"""Passage copy: a logits processor that lets the answer quote the passages it was given.

At each step the copy distribution is built from the occurrences, in the passages' tokens, of
the answer's longest suffix (at most ``MAX_MATCH`` tokens): each occurrence votes for the
token that follows it, with the relevance weight of that token's sentence. Before the first
token the suffix is the answer's start, which "occurs" before every sentence that could open
an answer, so the first step votes for sentence starts. The step's distribution is

    p = (1 − λ) · p_model + λ · p_copy,     λ = strength · min(1, m / RAMP)

with m the match length (λ = 0 without a match; at the first step λ = strength). Matching is
incremental: each step extends the previous step's occurrences by the new token through a
token → positions index, never rescanning the passages. The processor receives the passages
as plain text with labels and line numbers; it imports nothing from retrieval.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from typing import Any

import torch
from transformers import LogitsProcessor

from assistant.core.answer_cues import names_subject, refers_back
from assistant.core.grounding_input import GroundingInput, SourceText
from assistant.core.relevance import word_overlap
from assistant.core.sentences import split_sentences
from assistant.core.types import Provenance

MAX_MATCH = 12  # longest answer suffix looked up (tokens)
MAX_INDEX_TOKENS = 8192  # passages beyond this many tokens are not copied from
# Sentence weight = exp(SHARPNESS · relevance / best relevance): the best-matching sentence
# outweighs an unrelated one e^SHARPNESS-fold, so the answer opens on the sentence that answers.
SHARPNESS = 6.0
# A tool result's sentences score this many times the best passage sentence: with a result on
# the screen, the answer opens on it (e^SHARPNESS-fold over the best passage sentence).
TOOL_RELEVANCE = 2.0
# Passage n (1-based, prompt order = retrieval rank) scores ×(1 + PASSAGE_RANK_BOOST / n):
# retrieval put the answer in the first passage for 69 of 82 corpus questions, and a tie
# between sentences should go to the better-ranked passage (answer rate 55 → 62 of 82).
PASSAGE_RANK_BOOST = 2.0
# A definition question's sentence whose subject is the asked-about term ("Logits: the raw,
# unnormalised scores …" for "What are logits?") scores ×(1 + DEFINITION_BOOST).
DEFINITION_BOOST = 2.0
RAMP = 2  # match length at which the copy gets its full strength
MIN_START_WORDS = 3  # shorter sentences (captions, menu items) do not open answers
# A sentence end counts as copied (for grounded_stop) after this many matched tokens.
MIN_COPIED_RUN = 3


@dataclass(frozen=True)
class SparseMix:
    """One step's copy mixture in log space, for the tokens it reorders: a token not in
    ``voted`` has log p_model + ``shift`` (log(1 − λ)); a voted one has ``voted[token]``."""

    shift: float
    voted: dict[int, float]

    def logprob(self, token: int, model_logprob: float) -> float:
        mixed = self.voted.get(token)
        return model_logprob + self.shift if mixed is None else mixed

    def top(self, model_top: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
        """The ``k`` most likely (token, log p) under the mixture, from the model's top ``k``
        (most likely first): the mixture never lowers a voted token below its shifted model
        log p, so every token of the model's top k still outranks every unvoted token outside
        it, and the mixture's top k lies in the model's top k ∪ the voted tokens. Ties go to
        the lower id, as argmax does."""
        candidates = {token: value + self.shift for token, value in model_top}
        candidates.update(self.voted)
        ranked = sorted(candidates.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:k]


class CopyIndex:
    """The passages' tokens, sentence by sentence, with where each token stands.

    Each sentence is encoded on its own as " " + its words, so a copied answer spells it the
    way the model writes text after "Answer:" (space-prefixed tokens), and sentence bounds are
    token bounds in every script. Position -1 stands for the answer's start: it precedes the
    first token of every sentence that may open an answer.
    """

    def __init__(self) -> None:
        self.tokens: list[int] = []
        self.source: list[int] = []  # passage index (0-based) per position
        self.line: list[int] = []  # file line per position
        self.sentence: list[int] = []  # sentence number per position
        self.sentence_last: list[bool] = []  # the last token of its sentence
        self.sentence_weight: list[float] = []  # votes while copying
        self.closes_paragraph: list[bool] = []  # per sentence: a full stop and a blank line follow
        self.opening_weight: list[float] = []  # votes for where the answer opens (first step)
        self.sentence_passage: list[int] = []
        self.labels: list[str] = []
        self.tool: list[bool] = []  # per source: a tool's result (no passage number)
        self.positions: dict[int, list[int]] = {}
        self.starts: list[int] = []  # first positions of sentences that may open an answer

    @classmethod
    def build(
        cls,
        tokenizer: Any,
        grounding: GroundingInput,
        max_tokens: int = MAX_INDEX_TOKENS,
    ) -> CopyIndex:
        index = cls()
        index.labels = [s.label for s in grounding.sources]
        index.tool = [s.tool for s in grounding.sources]
        texts: list[str] = []
        pieces: list[tuple[int, SourceText, int, int, bool]] = []
        for number, source in enumerate(grounding.sources):
            for sentence in split_sentences(_without_blank_lines(source.text)):
                pieces.append((number, source, sentence.start, sentence.end, sentence.structure))
                texts.append(" ".join(source.text[sentence.start : sentence.end].split()))
        if not pieces:
            return index
        scores, opening = _weights(grounding, texts, [piece[0] for piece in pieces])
        previous_source = -1
        newlines: dict[int, list[int]] = {}  # per passage: offsets of its line breaks
        for sentence_no, ((number, source, start, end, structure), text) in enumerate(
            zip(pieces, texts, strict=True)
        ):
            ids, offsets = _encode(tokenizer, " " + text)
            if len(index.tokens) + len(ids) + 1 > max_tokens:
                break
            index.sentence_weight.append(math.exp(SHARPNESS * scores[sentence_no]))
            index.closes_paragraph.append(_closes_paragraph(source.text, end))
            index.opening_weight.append(math.exp(SHARPNESS * opening[sentence_no]))
            index.sentence_passage.append(number)
            if not ids:
                continue
            if number != previous_source and index.tokens:
                index._append(-1, number, 0, -1, True)  # passages never run together
            previous_source = number
            if number not in newlines:
                newlines[number] = [i for i, ch in enumerate(source.text) if ch == "\n"]
            lines = _line_map(source, newlines[number], start, end)
            first = len(index.tokens)
            for i, (token, offset) in enumerate(zip(ids, offsets, strict=True)):
                line = lines[min(offset, len(lines) - 1)]
                index._append(token, number, line, sentence_no, i == len(ids) - 1)
            if not structure and _words(text) >= MIN_START_WORDS:
                index.starts.append(first)
        if not index.starts:  # only headings, tables or fragments: any sentence may open
            index.starts = [p for p in range(len(index.tokens)) if index._opens(p)]
        for position, token in enumerate(index.tokens):
            if token >= 0:
                index.positions.setdefault(token, []).append(position)
        return index

    def _append(self, token: int, source: int, line: int, sentence: int, last: bool) -> None:
        self.tokens.append(token)
        self.source.append(source)
        self.line.append(line)
        self.sentence.append(sentence)
        self.sentence_last.append(last)

    def _opens(self, position: int) -> bool:
        """Whether ``position`` holds a sentence's first token."""
        return self.tokens[position] >= 0 and (
            position == 0 or self.sentence[position - 1] != self.sentence[position]
        )

    def __len__(self) -> int:
        return len(self.tokens)


def _weights(
    grounding: GroundingInput, texts: list[str], source_of: list[int]
) -> tuple[list[float], list[float]]:
    """Each sentence's score while copying and its score as the answer's opening, each
    scaled to its best passage sentence (1): relevance, raised for a better-ranked passage and
    for the subject of a definition question; a sentence that leans on the one before it
    ("This is called …") lends its score to that one as an opening, so the answer starts
    where its topic is named. A tool result's sentences score TOOL_RELEVANCE in both."""
    scores = _scores(grounding, texts)
    defines = names_subject(grounding.question, texts)
    scores = [
        score * (1 + DEFINITION_BOOST * d) * (1 + PASSAGE_RANK_BOOST / (1 + source))
        for score, d, source in zip(scores, defines, source_of, strict=True)
    ]
    tool = [grounding.sources[source].tool for source in source_of]
    opening = list(scores)
    for i, leans in enumerate(refers_back(texts)):
        if leans and i and source_of[i - 1] == source_of[i] and not tool[i]:
            opening[i - 1] = max(opening[i - 1], scores[i - 1] + scores[i])
    return _scaled(scores, tool), _scaled(opening, tool)


def _scaled(scores: list[float], tool: list[bool]) -> list[float]:
    """``scores`` over the best passage sentence's (all 0 when none is relevant), tool
    results at TOOL_RELEVANCE."""
    best = max((s for s, t in zip(scores, tool, strict=True) if not t), default=0.0)
    best = best if best > 0 else 1.0
    return [TOOL_RELEVANCE if t else s / best for s, t in zip(scores, tool, strict=True)]


def _scores(grounding: GroundingInput, texts: list[str]) -> list[float]:
    relevance = grounding.relevance or word_overlap
    try:
        scores = [max(0.0, float(s)) for s in relevance(grounding.question, texts)]
    except Exception:  # a broken scorer must not stop the answer: fall back to word overlap
        scores = word_overlap(grounding.question, texts)
    if len(scores) != len(texts):
        scores = word_overlap(grounding.question, texts)
    return scores


def _stops(ended: str, model_top: int, votes: dict[int, Any]) -> bool:
    """Whether the answer stops here: at the end of a copied paragraph, or after a copied
    sentence when the model's own most likely token is not the passages' next one."""
    return ended == "paragraph" or (ended == "sentence" and model_top not in votes)


_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")
_FULL_STOP = re.compile(r"[.!?…。！？][\"'”’)»」』）\]]*$")


def _without_blank_lines(text: str) -> str:
    """``text`` with each run of blank lines made one line break, padded with spaces to the
    same length (offsets stay valid): sentences split as in one paragraph, so a formula or
    list set off by blank lines stays part of the sentence that introduces it."""
    return _BLANK_LINES.sub(lambda m: " " * (len(m.group()) - 1) + "\n", text)


def _closes_paragraph(text: str, end: int) -> bool:
    """Whether the sentence ending at ``end`` ends a paragraph of ``text``: a full stop, then
    a blank line (not a sentence that introduces what follows, "… is:", and not the end of a
    passage, which the chunker may have cut mid-paragraph)."""
    rest = text[end:]
    gap = rest[: len(rest) - len(rest.lstrip())]
    return bool(rest.strip()) and gap.count("\n") >= 2 and bool(_FULL_STOP.search(text[:end]))


def _words(text: str) -> int:
    """Words of a sentence; a CJK run counts a word per two characters."""
    count = 0
    for word in text.split():
        cjk = sum(1 for ch in word if "\u3040" <= ch <= "\u9fff")
        count += max(1, cjk // 2) if cjk else 1
    return count


def _encode(tokenizer: Any, text: str) -> tuple[list[int], list[int]]:
    """Token ids and the character offset where each token starts (fast tokenizers give
    offsets; otherwise every token is placed at the sentence start)."""
    try:
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(encoded["input_ids"])
        offsets = [int(start) for start, _ in encoded["offset_mapping"]]
    except (NotImplementedError, KeyError, TypeError, ValueError):
        ids = list(tokenizer.encode(text, add_special_tokens=False))
        offsets = [0] * len(ids)
    return ids, offsets


def _line_map(source: SourceText, newlines: list[int], start: int, end: int) -> list[int]:
    """File line of each character of the sentence as encoded (" " + words joined by one
    space), from the offsets of the source text's line breaks."""
    text = source.text
    lines: list[int] = []
    for match in re.finditer(r"\S+", text[start:end]):
        line = source.start_line + bisect.bisect_left(newlines, start + match.start())
        lines.extend([line] * (len(match.group()) + 1))  # the word and the space before it
    return lines or [source.start_line]


class PassageCopyProcessor(LogitsProcessor):
    """Mixes the copy distribution into the scores; remembers each step's provenance.

    Call it once per generated position, in order, with the whole sequence so far (prompt +
    answer), as HF and the engine's decode loop do; batch size 1.
    """

    def __init__(
        self,
        index: CopyIndex,
        prompt_length: int,
        strength: float,
        sentences: int = 2,
        max_match: int = MAX_MATCH,
    ) -> None:
        self.index = index
        self.prompt_length = prompt_length
        self.strength = strength
        self.sentences = sentences
        self.max_match = max_match
        self._restart()

    def _restart(self) -> None:
        self._seen = 0  # answer tokens already folded into the match
        # End position → length of the answer suffix matched there (the start marker counts
        # one); at the start the answer "is" the marker before every opening sentence.
        self._runs: dict[int, int] = {p - 1: 1 for p in self.index.starts}
        self._weight = 0.0
        self._match = 0
        self._votes: dict[int, tuple[float, int]] = {}  # token → (copy prob, best position)
        # The step's model distribution, [1, vocab]: log p or p (``_model_is_log``).
        self._model: torch.Tensor | None = None
        self._model_is_log = True
        self._sentences_copied = 0
        self.stop_here = False  # the answer just finished a copied sentence and the model leaves

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if scores.shape[0] != 1 or not len(self.index):
            # The plain model, normalised like every other return: the sampler reads the copy's
            # output as log-probabilities.
            plain = torch.log_softmax(scores.float(), dim=-1).to(scores.dtype)
            return plain  # type: ignore[return-value]
        ended = self._fold(input_ids)
        rows = scores if scores.dtype == torch.float32 else scores.float()
        # The model's own top token (argmax of the scores) decides whether the answer stops.
        self.stop_here = _stops(ended, int(torch.argmax(rows)), self._votes)
        if not self._votes:
            self._model, self._model_is_log = torch.log_softmax(rows, dim=-1), True
            return self._model.to(scores.dtype)  # type: ignore[return-value]
        self._model, self._model_is_log = torch.softmax(rows, dim=-1), False
        mixed = self._model * (1.0 - self._weight)
        # The few voted tokens get their copy mass through a numpy view of the same memory
        # (two small tensors and an index_add_ cost more than the whole softmax).
        view = mixed.numpy()[0]
        for token, (prob, _) in self._votes.items():
            view[token] += prob * self._weight
        return mixed.log_().to(scores.dtype)  # type: ignore[return-value]

    def mix_sparse(
        self, input_ids: torch.LongTensor, model_logprobs: torch.Tensor, model_top: int
    ) -> SparseMix:
        """What ``__call__`` would return, without touching the vocabulary: the mixture
        changes only the voted tokens' log p; every other token's moves by log(1 − λ).

        ``model_logprobs`` (1-d, float32) is the model's normalised distribution for this
        step and ``model_top`` its most likely token. The sampler's greedy path uses this when
        the copy is the only processor: with a ~0.45 ms bundled-model step, the four
        vocabulary-wide tensor ops of ``__call__`` and the sampler's second top-k were a tenth
        of the step."""
        ended = self._fold(input_ids) if len(self.index) else ""
        self.stop_here = _stops(ended, model_top, self._votes)
        self._model, self._model_is_log = model_logprobs.unsqueeze(0), True
        if not self._votes:
            return SparseMix(0.0, {})
        keep = 1.0 - self._weight
        logp = model_logprobs.numpy()
        voted = {
            token: math.log(keep * math.exp(float(logp[token])) + self._weight * prob)
            for token, (prob, _) in self._votes.items()
        }
        return SparseMix(math.log(keep) if keep > 0 else -math.inf, voted)

    def _fold(self, input_ids: torch.LongTensor) -> str:
        """Advance the match by the answer tokens not seen yet and vote for the next one; how
        the last of them ended a copied sentence ("", "sentence" or "paragraph", see
        ``_ended_copied_sentence``)."""
        if input_ids.shape[1] - self.prompt_length < self._seen:  # a shorter history: restart
            self._restart()
        ended = ""
        for token in input_ids[0, self.prompt_length + self._seen :].tolist():
            ended = self._ended_copied_sentence(token)
            self._advance(token)
            self._seen += 1
        self._vote()
        return ended

    def _ended_copied_sentence(self, token: int) -> str:
        """Whether ``token`` ended a copied sentence after which the answer may stop:
        "paragraph" when a blank line follows that sentence in its passage (a glossary entry,
        a paragraph: the answer stops there), "sentence" for its ``sentences``-th or the
        last of its passage (it stops there when the model leaves the passage: the course notes
        often name the topic in one sentence and state the fact in the next), else ""."""
        vote = self._votes.get(token)
        if vote is None or not self.index.sentence_last[vote[1]] or self._match < MIN_COPIED_RUN:
            return ""
        self._sentences_copied += 1  # counted here: each token is looked at once, in order
        if self.index.closes_paragraph[self.index.sentence[vote[1]]]:
            return "paragraph"
        if self._sentences_copied >= self.sentences or self._passage_ends_after(vote[1]):
            return "sentence"
        return ""

    def _passage_ends_after(self, position: int) -> bool:
        """Whether the sentence at ``position`` is the last of its passage."""
        passage_of, following = self.index.sentence_passage, self.index.sentence[position] + 1
        return following >= len(passage_of) or passage_of[following] != passage_of[following - 1]

    def _advance(self, token: int) -> None:
        runs = self._runs
        cap = self.max_match
        self._runs = {
            p: min(cap, runs.get(p - 1, 0) + 1) for p in self.index.positions.get(token, ())
        }

    def _vote(self) -> None:
        runs = self._runs
        self._votes = {}
        self._match = max(runs.values(), default=0)
        if not self._match:
            self._weight = 0.0
            return
        index, votes = self.index, self._votes
        tokens, sentence = index.tokens, index.sentence
        weights = index.opening_weight if self._seen == 0 else index.sentence_weight
        total = 0.0
        for end, length in runs.items():
            following = end + 1
            if length < self._match or following >= len(tokens) or tokens[following] < 0:
                continue
            weight = weights[sentence[following]]
            token = tokens[following]
            prob, best = votes.get(token, (0.0, following))
            if weight > weights[sentence[best]]:
                best = following
            votes[token] = (prob + weight, best)
            total += weight
        if not votes:
            self._weight = 0.0
            return
        for token, (weight, best) in votes.items():
            votes[token] = (weight / total, best)
        ramp = 1.0 if self._seen == 0 else min(1.0, self._match / RAMP)
        self._weight = self.strength * ramp

    def provenance(self, token: int) -> Provenance:
        """Where ``token`` (just chosen at this step) came from."""
        if self._model is None:  # not called yet
            model_prob = 0.0
        elif self._model_is_log:
            model_prob = math.exp(float(self._model[0, token]))
        else:
            model_prob = float(self._model[0, token])
        vote = self._votes.get(token)
        if vote is None:
            return Provenance(model_prob, 0.0, self._weight, self._match)
        prob, position = vote
        source = self.index.source[position]
        return Provenance(
            model_prob,
            prob,
            self._weight,
            self._match,
            source=self.index.labels[source],
            passage=None if self.index.tool[source] else source + 1,
            line=self.index.line[position],
        )


def same_copy_input(a: GroundingInput, b: GroundingInput) -> bool:
    """Whether ``CopyIndex.build`` makes the same index of both (what it reads is equal).
    Relevance functions compare by identity: a closure made for another turn (an embedding
    relevance) counts as a different scorer."""
    return a is b or (
        a.question == b.question and a.sources == b.sources and a.relevance is b.relevance
    )


def build_copy_processor(
    tokenizer: Any,
    grounding: GroundingInput | None,
    prompt_length: int,
    strength: float,
    sentences: int = 2,
    index: CopyIndex | None = None,
) -> PassageCopyProcessor | None:
    """The copy processor for these passages, or None when there is nothing to copy from.
    ``index``: the passages' copy index when the caller has it already (it is read-only)."""
    if grounding is None or not grounding.sources:
        return None
    if index is None:
        index = CopyIndex.build(tokenizer, grounding)
    if not index.starts and not index.positions:
        return None
    return PassageCopyProcessor(index, prompt_length, strength, sentences)


__all__ = [
    "MAX_MATCH",
    "CopyIndex",
    "GroundingInput",
    "PassageCopyProcessor",
    "SourceText",
    "SparseMix",
    "build_copy_processor",
    "same_copy_input",
]
