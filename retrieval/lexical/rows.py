"""Rows of sorted column ids in two bytes a column instead of four.

Each column c is split into c >> 16 (its block) and c & 0xFFFF (its low half). A row, sorted by column, is
its columns' low halves in order (``lo``, uint16) plus how many of them fall in each block (``blocks``,
uint32, n_blocks a row, n_blocks = ⌈n_columns / 65536⌉, 9 for SaudiNewsNet's 537,000 terms). A sentence's
row of about 200 n-gram and word terms goes from 800 to 400 bytes plus 36; a row is decoded by repeating
each block number its count of times.
"""

from __future__ import annotations

import numpy as np

BLOCK_BITS = 16


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


def row_columns(lo: np.ndarray, blocks: np.ndarray, row_ids: np.ndarray, positions: np.ndarray, n_blocks: int) -> np.ndarray:
    """The columns at ``positions``, which are every position of the rows ``row_ids`` in turn (int32)."""
    counts = blocks.reshape(-1, n_blocks)[row_ids].ravel()
    high = np.repeat(np.tile(np.arange(n_blocks, dtype=np.int32), len(row_ids)), counts)
    return (high << BLOCK_BITS) | lo[positions]


def decode_rows(indptr: np.ndarray, lo: np.ndarray, blocks: np.ndarray, n_blocks: int) -> np.ndarray:
    """Every row's columns (int32), for rebuilding the rows whole."""
    n_rows = len(indptr) - 1
    return row_columns(lo, blocks, np.arange(n_rows), np.arange(len(lo)), n_blocks)
