"""A call journal held in memory, for provider tests (a job keeps one in the store)."""

from __future__ import annotations


class Journal:
    """A call journal held in memory: what a job keeps in the store."""

    def __init__(self, earlier: str | None = None) -> None:
        self.earlier, self.kept = earlier, [] if earlier is None else [earlier]

    def claim(self) -> str | None:
        earlier, self.earlier = self.earlier, None
        return earlier

    async def remember(self, handle: str) -> None:
        self.kept.append(handle)
