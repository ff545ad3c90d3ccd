"""Grounding's embedding relevance asks an asymmetric embedder (e5) for a query vector for the
question and passage vectors for the sentences."""

from __future__ import annotations

import numpy as np

from assistant.chat.relevance import embedding_relevance


class KindRecorder:
    """An embedder that records the kind of each call; a question embedded as a passage lands
    in the wrong half of its space, so a wrong kind also changes the scores."""

    def __init__(self) -> None:
        self.kinds: list[tuple[str, int]] = []

    def encode(self, texts: list[str], *, kind: str = "passage") -> np.ndarray:
        self.kinds.append((kind, len(texts)))
        rows = np.zeros((len(texts), 2), dtype=np.float32)
        for i, text in enumerate(texts):
            about_nucleus = "nucleus" in text.lower()
            question_as_passage = kind == "passage" and text.endswith("?")
            rows[i, 0 if about_nucleus and not question_as_passage else 1] = 1.0
        return rows


def test_the_question_is_a_query_and_the_sentences_are_passages() -> None:
    embedder = KindRecorder()
    scores = embedding_relevance(embedder)(
        "What does nucleus sampling keep?", ["Nucleus sampling keeps a set.", "Beam search."]
    )
    assert embedder.kinds == [("query", 1), ("passage", 2)]
    assert scores == [1.0, 0.0]
