"""Tokenization for the lexical (BM25) side of retrieval.

Words of alphabetic scripts become lower-cased tokens; runs of Han, Kana or Hangul characters
(written without spaces) become overlapping character bigrams, so a Chinese or Japanese query
matches documents without a language-specific segmenter.

Queries also drop common English, Polish and Russian function words: an English question over
a Polish page otherwise matches its code comments and English asides on "the", "what" and
"does", which are rare there and so weigh a lot. Documents keep every word (the stored postings
do not depend on this list). Stemming (prefix truncation, Snowball) and character n-grams were
measured too and did not help fused retrieval (docs/retrieval.md).
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


_STOP_WORDS_TEXT = """
a an the of in on at to for from by with about into over after before between through during
and or but not no nor is are was were be been being am do does did doing have has had having
it its this that these those there here what which who whom whose when where why how much many
can could should would will shall may might must i you he she we they me him her us them my
your his our their as if than then so such too very s t just also only one
w z i a o u na do się nie to jest że jak co czy od po za dla przez przy jaki jaka jakie jakiej
który która które ile
и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне
было вот от меня о из ему ли если уже или ни быть был него до вас нибудь опять уж вам ведь там
потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто
чего раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом один
почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец два об другой хоть
после над больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо
свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю между сколько
какую какие каким каких
"""
QUERY_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


def lexical_query_tokens(text: str) -> list[str]:
    """BM25 terms of a query: :func:`lexical_tokens` less the stop words, unless nothing
    else is left (a question of function words alone still searches for them)."""
    tokens = lexical_tokens(text)
    content = [t for t in tokens if t not in QUERY_STOP_WORDS]
    return content or tokens
