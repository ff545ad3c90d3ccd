"""Intent by similarity to a labelled set of example requests.

The examples (resources/router_examples.jsonl: a text and its intent, in English, Polish and
Russian) are embedded once with the chat's own sentence embedder; a clause takes the intent
of the examples nearest to it. The guess names the example it resembles, so the router can
say why. It is only a guess about *what kind* of request a clause is: the arguments are
still read from the clause by rules, and a guess that is not clearly ahead of every other
intent is no guess at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EXAMPLES_FILE = Path(__file__).resolve().parent.parent / "resources" / "router_examples.jsonl"
INTENTS = ("calculator", "list_files", "search_files", "read_file", "none")

# Unit-length vectors, one row per text (assistant.rag.embedder.Embedder.encode).
Embed = Callable[[list[str]], np.ndarray]

# Tuned on the dev set (tests/data/routing_dev.jsonl) with all-MiniLM-L6-v2: the nearest
# example must be this similar, and this far ahead of the nearest example of another intent
# (the margin separates intents better than the similarity, which follows the topic).
MIN_SIMILARITY = 0.45
MIN_MARGIN = 0.15
# The embedding model those figures hold for (assistant.rag.embedder's name for it).
CALIBRATED_EMBED_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Example:
    text: str
    intent: str


@dataclass(frozen=True)
class IntentGuess:
    intent: str
    similarity: float  # to the nearest example of that intent
    margin: float  # ahead of the nearest example of any other intent
    example: str  # the example it resembles

    @property
    def why(self) -> str:
        return f"like {self.example!r}, similarity {self.similarity:.2f}"


def load_examples(path: Path = EXAMPLES_FILE) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("intent") not in INTENTS or not str(row.get("text", "")).strip():
            raise ValueError(f"{path.name} line {number}: needs a text and one of {INTENTS}")
        examples.append(Example(row["text"], row["intent"]))
    return examples


class ExampleIntents:
    """Nearest-example intent guesses; the examples are embedded on first use."""

    def __init__(
        self,
        embed: Embed,
        examples: Sequence[Example] | None = None,
        *,
        min_similarity: float = MIN_SIMILARITY,
        min_margin: float = MIN_MARGIN,
    ) -> None:
        self._embed = embed
        self.examples = list(examples) if examples is not None else load_examples()
        self.min_similarity = min_similarity
        self.min_margin = min_margin
        self._vectors: np.ndarray | None = None
        self._labels = np.array([INTENTS.index(e.intent) for e in self.examples])

    def _example_vectors(self) -> np.ndarray:
        if self._vectors is None:
            self._vectors = self._checked(self._embed([e.text for e in self.examples]))
        return self._vectors

    def _checked(self, vectors: np.ndarray) -> np.ndarray:
        array = np.asarray(vectors, dtype=np.float32)
        if array.ndim != 2:
            raise ValueError(f"the embedder returned shape {array.shape}, not (texts, dim)")
        norms = np.linalg.norm(array, axis=1, keepdims=True)
        return array / np.maximum(norms, 1e-12)

    def guess(self, texts: Sequence[str]) -> list[IntentGuess | None]:
        """One guess per text; None where no intent is clearly nearest."""
        if not texts:
            return []
        examples = self._example_vectors()
        queries = self._checked(self._embed(list(texts)))
        similarities = queries @ examples.T
        return [self._decide(row) for row in similarities]

    def _decide(self, similarities: np.ndarray) -> IntentGuess | None:
        best_per_intent = np.full(len(INTENTS), -1.0)
        nearest = np.zeros(len(INTENTS), dtype=int)
        for index, (similarity, label) in enumerate(zip(similarities, self._labels, strict=True)):
            if similarity > best_per_intent[label]:
                best_per_intent[label], nearest[label] = similarity, index
        order = np.argsort(best_per_intent)[::-1]
        first, second = int(order[0]), int(order[1])
        similarity = float(best_per_intent[first])
        margin = similarity - float(best_per_intent[second])
        if similarity < self.min_similarity or margin < self.min_margin:
            return None
        return IntentGuess(
            INTENTS[first], similarity, margin, self.examples[int(nearest[first])].text
        )
