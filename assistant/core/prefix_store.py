"""The KV cache of the last prompt and answer per conversation, for the next decode to reuse.

Regenerate, a fork from an alternative token, continuing an answer and each preset of
``/compare`` feed the model a prompt that begins with one it has just seen. The keys and
values of the common prefix depend only on those ids and the weights, so they are kept and
the next decode with the same key feeds only what differs. Bounded: one entry per key, a few
keys, all gone with the engine (a model change builds a new one).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.core.runner import KVCache

MAX_KEYS = 4


@dataclass
class Prefix:
    ids: list[int]  # exactly the ids whose keys and values the cache holds
    cache: KVCache
    kind: str  # who computed it ("exact", "int8 prefill", …): never mixed with another


def common_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class PrefixStore:
    """Take a conversation's cache for one decode, give it back when the decode ends.

    A taken entry is out of the store, so a second decode with the same key at the same time
    starts fresh instead of sharing (and corrupting) it; an abandoned decode simply never
    gives it back."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.max_keys = max_keys
        self._entries: OrderedDict[str, Prefix] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, ids: Sequence[int], kind: str) -> tuple[KVCache | None, int]:
        """The key's cache cropped to the longest prefix it shares with ``ids`` (always
        leaving at least the last id to feed, whose logits the decode needs), and that
        length; (None, 0) when there is nothing reusable."""
        with self._lock:
            entry = self._entries.pop(key, None)
        if entry is None or entry.kind != kind:
            return None, 0
        keep = min(common_length(entry.ids, ids), len(ids) - 1, entry.cache.length)
        entry.cache.crop(keep)
        return entry.cache, keep

    def give_back(self, key: str, ids: Sequence[int], cache: KVCache, kind: str) -> None:
        if cache.length != len(ids):  # not what it claims to hold: never store it
            return
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = Prefix(list(ids), cache, kind)
            while len(self._entries) > self.max_keys:
                self._entries.popitem(last=False)

    def drop(self, key: str | None = None) -> None:
        """Forget one key's cache, or (None) all of them."""
        with self._lock:
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

    def lengths(self) -> dict[str, int]:
        with self._lock:
            return {key: len(entry.ids) for key, entry in self._entries.items()}
