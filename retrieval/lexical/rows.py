"""Lists of sorted ids in two bytes an id instead of four: sentence rows (term ids) and passage postings
(passage ids).

Each id c is split into c >> 16 (its block) and c & 0xFFFF (its low half). A list, sorted, is its ids' low
halves in order (``lo``, uint16) plus how many of them fall in each block (``blocks``, n_blocks a list,
n_blocks = ⌈n_ids / 65536⌉: 9 for SaudiNewsNet's 537,000 terms, 3 for its 166,672 passages; uint32 for
postings, uint16 for sentence rows, none of which holds 65,536 terms). A sentence's row of about 200 n-gram and
word terms goes from 800 to 400 bytes plus 18; a list is decoded by repeating each block number its count of
times.
"""

from __future__ import annotations

import numpy as np

BLOCK_BITS = 16


def narrowest(counts: np.ndarray) -> np.ndarray:
    """Block counts as uint16 when they all fit (a sentence row's always do, short of a 65,536-term sentence)."""
    return counts.astype(np.uint16) if not len(counts) or int(counts.max()) < 1 << 16 else counts


def high_blocks(n_columns: int) -> int:
    """How many blocks of 65,536 columns cover ``n_columns`` (at least one)."""
    return max(1, -(-n_columns // (1 << BLOCK_BITS)))


def encode_rows(indptr: np.ndarray, indices: np.ndarray, n_blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """(low halves, per-row block counts) of CSR rows whose columns are sorted within each row."""
    n_rows = len(indptr) - 1
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(indptr))
    keys = rows * n_blocks + (np.asarray(indices, dtype=np.int64) >> BLOCK_BITS)
    blocks = np.bincount(keys, minlength=n_rows * n_blocks).astype(np.uint32)
    return (np.asarray(indices) & 0xFFFF).astype(np.uint16), blocks


def join_halves(lo: np.ndarray, blocks: np.ndarray, list_ids: np.ndarray, n_blocks: int) -> np.ndarray:
    """The ids (int32) of the lists ``list_ids`` in turn, from their low halves ``lo`` (gathered in that order)."""
    if n_blocks == 1:
        return lo.astype(np.int32)
    counts = blocks.reshape(-1, n_blocks)[list_ids].ravel()
    ids = np.repeat(np.tile(np.arange(n_blocks, dtype=np.int32) << BLOCK_BITS, len(list_ids)), counts)
    ids |= lo
    return ids


def widen_blocks(blocks: np.ndarray, n_blocks: int, new_blocks: int, n_lists: int | None = None) -> np.ndarray:
    """Block counts of ``n_blocks`` a list as ``new_blocks`` a list (the new blocks empty), for ``n_lists`` lists
    (the lists past the old ones empty too); a new, writable array of the same type."""
    old = np.asarray(blocks).reshape(-1, n_blocks)
    widened = np.zeros((old.shape[0] if n_lists is None else n_lists, new_blocks), dtype=old.dtype)
    widened[: old.shape[0], :n_blocks] = old
    return widened.ravel()


def decode_rows(indptr: np.ndarray, lo: np.ndarray, blocks: np.ndarray, n_blocks: int) -> np.ndarray:
    """Every list's ids (int32), for rebuilding the lists whole."""
    return join_halves(np.asarray(lo), blocks, np.arange(len(indptr) - 1), n_blocks)


def find_in_lists(values: np.ndarray, starts: np.ndarray, counts: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each target is in its own sorted list ``values[start : start + count]``: (positions, found).

    One binary search for all the (list, target) pairs at once, a step a power of two, so a question's few
    thousand lookups cost about seventeen passes over small arrays instead of a numpy call a list; it reads the
    pages a search reads, never a whole list. A target not found has the position of its first larger value.
    """
    position = np.asarray(starts, dtype=np.int64).copy()
    end = position + counts
    if not len(position) or not len(values):
        return position, np.zeros(len(position), dtype=bool)
    step = 1 << max(int(np.max(counts)).bit_length() - 1, 0)
    last = end - 1
    while step:  # invariant: every value before ``position`` in its list is below its target
        probe = position + (step - 1)  # the last value a step ahead would pass
        ahead = values.take(probe, mode="clip") < targets
        ahead &= probe <= last
        np.add(position, step, out=position, where=ahead)
        step >>= 1
    found = (position < end) & (values.take(position, mode="clip") == targets)
    return position, found


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions start, start + 1, …, start + length - 1 of each (start, length) in turn."""
    ends = np.cumsum(lengths)
    return np.arange(int(ends[-1]) if len(ends) else 0) + np.repeat(starts - (ends - lengths), lengths)
