"""Is a text English? A cheap guess that decides where the sparse latent terms bridge languages.

The guess only needs to separate English prose and code (which BM25 and the embedder already
match well for an English question) from text in other languages. A few letters of another
script than Latin (Cyrillic, CJK…) mark the text as not English; in Latin script, common
function words of English and of a few other European languages decide, and where they tie
(none of either: code, tables, numbers, a short phrase) a share of accented letters marks the
text as not English.
"""

from __future__ import annotations

import re
import unicodedata

_WORD_RE = re.compile(r"[^\W\d_]+")
# Letters of another script than Latin (Cyrillic, Greek, CJK…): English course text has none, and
# a page's code with comments or output in Japanese or Russian is that page's language.
_OTHER_SCRIPT_SHARE = 0.02
# Without function words to go by: Polish prose has ~3-8% letters outside ASCII, French and
# Spanish 2-4%, German ~1-2%; English with a borrowed "naïve" stays below in all but short text.
_ACCENT_SHARE = 0.03
_ENGLISH_TEXT = (
    "the of and to in is that for it as with are this be on by an which or from at can not "
    "we you our these its their have has was were will each what how does why"
)
_ENGLISH = frozenset(_ENGLISH_TEXT.split())
_OTHER_TEXT = (
    # Polish, German, French, Spanish, Italian, Portuguese: frequent words English lacks.
    "się nie jest że na jak co czy od po za dla przez przy oraz który która które są "
    "der die das und ist nicht mit ein eine den dem des sich auf für wird von zu "
    "le la les et est une des du dans pour que qui sur pas au aux "
    "el los las y es una del por con para se lo como más "
    "il di che della sono gli nel non "
    "da em um uma não são"
)
_OTHER = frozenset(_OTHER_TEXT.split())


def _other_script(char: str) -> bool:
    return not char.isascii() and not unicodedata.name(char, "").startswith("LATIN")


def is_english(text: str) -> bool:
    """True for English prose and for text no language can be told from (code, numbers)."""
    words = _WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold())
    letters = sum(len(w) for w in words)
    if not letters:
        return True
    if sum(_other_script(c) for w in words for c in w) / letters > _OTHER_SCRIPT_SHARE:
        return False
    non_ascii = sum(not c.isascii() for w in words for c in w) / letters
    english = sum(w in _ENGLISH for w in words)
    other = sum(w in _OTHER for w in words)
    if english != other:
        return english > other
    return non_ascii <= _ACCENT_SHARE
