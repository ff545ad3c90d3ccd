"""What a conversation's last decode computed from its prompt, for the next decode to reuse.

Regenerate, a fork and each ``/compare`` preset decode exactly the prompt (and ground on
exactly the passages) a conversation has just used. Tokenising a 900-token prompt takes
about a millisecond and building its copy index a few (more with an embedding relevance):
most of what such a decode waits for once the KV prefix is kept (``prefix_store.py``). Both
are pure functions of their input, so an entry is used only when the new input is the same
as the stored one. One entry per conversation (``cache_key``), a few conversations; per
conversation, so two conversations never serve each other.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from assistant.core.prefix_store import MAX_KEYS

In = TypeVar("In")
Out = TypeVar("Out")


class ConversationMemo(Generic[In, Out]):
    """``get(key, input, build)``: the key's stored output when ``same(stored input,
    input)``, else ``build()``'s, which then replaces it (no key: built, never kept)."""

    def __init__(
        self, same: Callable[[In, In], bool] | None = None, max_keys: int = MAX_KEYS
    ) -> None:
        self.same: Callable[[In, In], bool] = same or (lambda a, b: a == b)
        self.max_keys = max_keys
        self._entries: OrderedDict[str, tuple[In, Out]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str | None, value: In, build: Callable[[], Out]) -> Out:
        if key is None:
            return build()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is not None and self.same(entry[0], value):
            return entry[1]
        built = build()  # outside the lock: another conversation need not wait for it
        with self._lock:
            self._entries[key] = (value, built)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_keys:
                self._entries.popitem(last=False)
        return built

    def drop(self, key: str | None = None) -> None:
        """Forget one key's entry, or (None) all of them."""
        with self._lock:
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


__all__ = ["ConversationMemo"]
