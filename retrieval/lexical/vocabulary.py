"""The index's vocabulary (term -> column) as memory-mapped arrays of term hashes instead of a dict of Python strings.

A dict of SaudiNewsNet's 537,058 terms held 80 of the 163 MiB a serving process kept of its own. Here each term
of up to ``WIDTH`` characters (99.6% of that vocabulary) is two 64-bit polynomial hashes of its code points,
stored sorted by the first with its column beside them: 20 bytes a term, mapped from disk. A question's terms
are hashed together (numpy, a row of code points per term) and found by one binary search. A term matches
when both hashes do: the bases exceed every code point, so two different terms share a hash only through
wrap-around modulo 2**64, and both at once by a chance of about 2**-128 a term. Longer terms, terms with a
NUL (fixed-width strings drop trailing ones) and terms whose first hash collides at build time are kept in a
small dict. The terms themselves are stored too, in column order, and read only to merge a sync's vocabulary.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from retrieval.lexical.storage import read_array, read_range, write_array

WIDTH = 12  # characters of a term kept in the arrays; longer ones go to the dict
# Odd bases above the highest code point (0x10FFFF), so the hash of up to WIDTH code points is exact before wrap-around.
BASES = (0x100000001B3, 0x9E3779B97F4A7C15)  # FNV's 64-bit prime, and 2**64 over the golden ratio
POWERS = np.array([[pow(base, i, 1 << 64) for base in BASES] for i in range(WIDTH)], dtype=np.uint64)  # (WIDTH, 2)
LONG_NAME = "vocabulary_long.pkl"


def hashes(terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first hashes, second hashes, whether the arrays can hold the term) of each term."""
    points = np.array(terms, dtype=f"U{WIDTH + 1}").view(np.uint32).reshape(len(terms), WIDTH + 1)
    fits = points[:, WIDTH] == 0  # a longer term has a character past WIDTH
    if "\0" in "".join(terms):
        fits &= np.array(["\0" not in term for term in terms], dtype=bool)
    both = points[:, :WIDTH].astype(np.uint64) @ POWERS  # integer arithmetic: modulo 2**64
    return both[:, 0], both[:, 1], fits


class Vocabulary(Mapping[str, int]):
    """Term -> column: sorted hashes and their columns (memory-mapped when loaded), a dict of the terms they
    cannot hold, and where the terms themselves are kept (read for a merge)."""

    def __init__(
        self, first: np.ndarray, second: np.ndarray, columns: np.ndarray, long: dict[str, int],
        terms: list[str] | tuple[Path, Mapping[str, Sequence]],
    ) -> None:
        self._first, self._second, self._columns, self._long = first, second, columns, long
        # The first hashes two terms of the dict share (none, as a rule): only a term with one of them, or one
        # the arrays cannot hold, is looked up in the dict.
        shared = [term for term in long if len(term) <= WIDTH and "\0" not in term]
        self._shared = np.unique(hashes(shared)[0]) if shared else np.zeros(0, np.uint64)
        self._terms = terms  # in column order, or the folder they are saved in and its arrays' specs

    @classmethod
    def of(cls, terms: Mapping[str, int] | Sequence[str]) -> Vocabulary:
        """From a term -> column mapping whose columns are 0…n-1, or the terms in column order."""
        ordered = [""] * len(terms)
        if isinstance(terms, Mapping):
            for term, column in terms.items():
                ordered[column] = term
        else:
            ordered = list(terms)
        first, second, fits = hashes(ordered) if ordered else (np.zeros(0, np.uint64),) * 2 + (np.zeros(0, bool),)
        fitting = first[fits]  # a longer term's hash is of its first WIDTH characters: it collides with nothing
        _, at, count = np.unique(fitting, return_index=True, return_counts=True)
        collides = fits & np.isin(first, fitting[at[count > 1]])
        kept = np.flatnonzero(fits & ~collides)
        order = kept[np.argsort(first[kept], kind="stable")]
        long = {ordered[i]: i for i in np.flatnonzero(~fits | collides).tolist()}
        return cls(first[order], second[order], order.astype(np.int32), long, ordered)

    def save(self, folder: Path) -> dict[str, tuple[str, int]]:
        """Write the arrays, the dict and the terms into ``folder``; the arrays' specs for ``meta.json``."""
        with open(Path(folder) / LONG_NAME, "wb") as handle:
            pickle.dump(self._long, handle, protocol=pickle.HIGHEST_PROTOCOL)
        encoded = [term.encode("utf-8", "surrogatepass") for term in self.terms()]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return {
            "vocabulary_first": write_array(folder, "vocabulary_first", self._first),
            "vocabulary_second": write_array(folder, "vocabulary_second", self._second),
            "vocabulary_columns": write_array(folder, "vocabulary_columns", self._columns),
            "vocabulary_terms": write_array(folder, "vocabulary_terms", np.frombuffer(b"".join(encoded), dtype=np.uint8)),
            "vocabulary_offsets": write_array(folder, "vocabulary_offsets", offsets),
        }

    @classmethod
    def load(cls, folder: Path, arrays: Mapping[str, Sequence]) -> Vocabulary:
        with open(Path(folder) / LONG_NAME, "rb") as handle:
            long = pickle.load(handle)
        first, second, columns = (
            read_array(folder, f"vocabulary_{name}", *arrays[f"vocabulary_{name}"]) for name in ("first", "second", "columns")
        )
        if not len(first) == len(second) == len(columns):
            raise ValueError("the vocabulary's arrays differ in length")
        return cls(first, second, columns, long, (Path(folder), arrays))

    def columns(self, terms: Sequence[str]) -> np.ndarray:
        """Each term's column (int64), -1 for a term not in the vocabulary: hashed together, one binary search."""
        found = np.full(len(terms), -1, dtype=np.int64)
        if not len(terms):
            return found
        first, second, fits = hashes(terms)
        if len(self._first):
            position = np.minimum(np.searchsorted(self._first, first), len(self._first) - 1)
            hit = fits & (self._first[position] == first) & (self._second[position] == second)
            found[hit] = self._columns[position[hit]]
        if self._long:
            in_dict = ~fits
            if len(self._shared):
                at = np.minimum(np.searchsorted(self._shared, first), len(self._shared) - 1)
                in_dict |= self._shared[at] == first
            for i in np.flatnonzero(in_dict).tolist():
                found[i] = self._long.get(terms[i], -1)
        return found

    def lookup(self, terms: Iterable[str]) -> dict[str, int]:
        """The known ones of these terms, with their columns (one search for all)."""
        distinct = list(dict.fromkeys(terms))
        return {term: column for term, column in zip(distinct, self.columns(distinct).tolist(), strict=True) if column >= 0}

    def terms(self) -> list[str]:
        """Every term, in column order (read from disk for a loaded vocabulary: a sync's merge, tests)."""
        if isinstance(self._terms, list):
            return self._terms
        folder, spec = self._terms
        offsets = read_range(folder, "vocabulary_offsets", spec["vocabulary_offsets"][0], 0, spec["vocabulary_offsets"][1])
        blob = read_range(folder, "vocabulary_terms", spec["vocabulary_terms"][0], 0, spec["vocabulary_terms"][1]).tobytes()
        return [blob[a:b].decode("utf-8", "surrogatepass") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)]

    def extended(self, new_terms: Sequence[str]) -> Vocabulary:
        """This vocabulary with ``new_terms`` (none of them in it) as the next columns."""
        return Vocabulary.of(self.terms() + list(new_terms))

    # -- Mapping ---------------------------------------------------------------------------------------------
    def get(self, term: str, default: int | None = None) -> int | None:  # type: ignore[override]
        column = int(self.columns([term])[0])
        return default if column < 0 else column

    def __getitem__(self, term: str) -> int:
        column = self.get(term)
        if column is None:
            raise KeyError(term)
        return column

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.get(term) is not None

    def __len__(self) -> int:
        return len(self._first) + len(self._long)

    def __iter__(self) -> Iterator[str]:
        return iter(self.terms())
