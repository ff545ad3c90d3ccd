"""Tokenization for the lexical (BM25) side of retrieval.

Words of alphabetic scripts become lower-cased tokens; runs of Han, Kana or Hangul characters
(written without spaces) become overlapping character bigrams, so a Chinese or Japanese query
matches documents without a language-specific segmenter.
"""

from __future__ import annotations

import re
import unicodedata

# Han (incl. extension A and compatibility ideographs), Hiragana, Katakana, Hangul.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u1100-\u11ff\u31f0-\u31ff"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_CJK_RE = re.compile(rf"[{_CJK}]")


def lexical_tokens(text: str) -> list[str]:
    """Split ``text`` into BM25 terms: words, and bigrams inside CJK runs."""
    tokens: list[str] = []
    for run in _TOKEN_RE.findall(unicodedata.normalize("NFKC", text).casefold()):
        if _CJK_RE.match(run):
            if len(run) == 1:
                tokens.append(run)
            else:
                tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            tokens.append(run)
    return tokens
