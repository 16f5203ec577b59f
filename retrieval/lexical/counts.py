"""Sentence-row counts in half a byte.

A term's count in a sentence is 1 nine times in ten and 15 or more almost never (SaudiNewsNet: 125 of 66.7
million), yet a byte each made the counts a third of the sentence rows, and the rows are what a serving
process keeps resident (every question reads the rows of a few hundred sentences). Here each count is a
nibble, two a byte, the first of a pair in the low half (``packed``); a nibble of 15 means "see ``over``",
which holds the exact counts of 15 or more with their positions (``over_at``, sorted).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.lexical.storage import ArrayWriter

OVER = 15  # a nibble of this value: the count is in ``over``


def split(counts: np.ndarray, offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(nibbles, positions + ``offset`` of the counts of OVER or more, those counts) of these counts."""
    counts = np.asarray(counts, dtype=np.uint8)
    over_at = np.flatnonzero(counts >= OVER)
    return np.minimum(counts, OVER), over_at.astype(np.int64) + offset, counts[over_at]


def pack(nibbles: np.ndarray) -> np.ndarray:
    """Values below 16, two a byte (an odd last one alone in its byte's low half)."""
    nibbles = np.asarray(nibbles, dtype=np.uint8)
    if len(nibbles) % 2:
        nibbles = np.append(nibbles, np.uint8(0))
    return nibbles[0::2] | (nibbles[1::2] << 4)


@dataclass(frozen=True)
class PackedCounts:
    packed: np.ndarray  # uint8, ⌈length / 2⌉
    length: int
    over_at: np.ndarray  # int64, sorted positions of the counts of OVER or more
    over: np.ndarray  # uint8, those counts

    @classmethod
    def of(cls, counts: np.ndarray) -> PackedCounts:
        nibbles, over_at, over = split(counts)
        return cls(pack(nibbles), len(nibbles), over_at, over)

    def at(self, positions: np.ndarray) -> np.ndarray:
        """The counts at these positions (uint8)."""
        positions = np.asarray(positions, dtype=np.int64)
        values = (self.packed.take(positions >> 1) >> ((positions & 1) << 2).astype(np.uint8)) & 0xF
        big = np.flatnonzero(values == OVER)
        if len(big):
            values[big] = self.over[np.searchsorted(self.over_at, positions[big])]
        return values

    def all(self) -> np.ndarray:
        """Every count, unpacked (for a merge or a rebuild)."""
        values = np.empty(2 * len(self.packed), dtype=np.uint8)
        values[0::2] = self.packed & 0xF
        values[1::2] = self.packed >> 4
        values = values[: self.length]
        values[self.over_at] = self.over
        return values

    def appended(self, counts: np.ndarray) -> PackedCounts:
        """These counts with ``counts`` after them: one copy of the packed bytes, the last one redone when odd."""
        nibbles, over_at, over = split(counts, self.length)
        if self.length % 2:  # the last byte's high half is free: the new counts start there
            packed = np.concatenate([self.packed[:-1], pack(np.concatenate([[self.packed[-1] & 0xF], nibbles]))])
        else:
            packed = np.concatenate([self.packed, pack(nibbles)])
        return PackedCounts(
            packed, self.length + len(nibbles), np.concatenate([self.over_at, over_at]), np.concatenate([self.over, over])
        )


class CountsWriter:
    """Counts written piece by piece into ``<name>_packed``, ``<name>_over_at`` and ``<name>_over``."""

    def __init__(self, folder: Path, name: str) -> None:
        self.name = name
        self.length = 0
        self._pending: np.ndarray = np.zeros(0, dtype=np.uint8)  # an odd piece's last nibble, waiting for its pair
        self._writers = {part: ArrayWriter(folder, f"{name}_{part}", dtype) for part, dtype in
                         (("packed", np.uint8), ("over_at", np.int64), ("over", np.uint8))}

    def append(self, counts: np.ndarray) -> None:
        nibbles, over_at, over = split(counts, self.length)
        self._writers["over_at"].append(over_at)
        self._writers["over"].append(over)
        self.length += len(nibbles)
        nibbles = np.concatenate([self._pending, nibbles])
        even = len(nibbles) - len(nibbles) % 2
        self._writers["packed"].append(pack(nibbles[:even]))
        self._pending = nibbles[even:]

    def close(self) -> dict[str, tuple[str, int]]:
        """Flush to disk; the three arrays' (type, length) for ``meta.json``."""
        if len(self._pending):
            self._writers["packed"].append(pack(self._pending))
            self._pending = self._pending[:0]
        return {f"{self.name}_{part}": writer.close() for part, writer in self._writers.items()}
