"""Sentence counts in half a byte: every count read back as written, 15 and over included, whether read one by
one, whole, after an append at an odd length, or written piece by piece."""

from pathlib import Path

import numpy as np

from retrieval.lexical.counts import CountsWriter, PackedCounts
from retrieval.lexical.storage import read_array

COUNTS = np.array([1, 1, 2, 15, 1, 16, 3, 255, 1, 14, 1, 40, 7], dtype=np.uint8)  # odd length, several over 14


def test_counts_read_back_one_by_one_and_whole() -> None:
    packed = PackedCounts.of(COUNTS)
    assert len(packed.packed) == 7 and packed.over_at.tolist() == [3, 5, 7, 11]
    assert packed.at(np.arange(len(COUNTS))[::-1]).tolist() == COUNTS[::-1].tolist()
    assert packed.all().tolist() == COUNTS.tolist()


def test_appended_counts_follow_an_odd_and_an_even_length() -> None:
    more = np.array([20, 1, 2], dtype=np.uint8)
    for head in (COUNTS, COUNTS[:-1]):
        joined = PackedCounts.of(head).appended(more)
        expected = np.concatenate([head, more])
        assert joined.length == len(expected) and joined.all().tolist() == expected.tolist()
        assert joined.at(np.arange(len(expected))).tolist() == expected.tolist()


def test_counts_written_in_odd_pieces_read_back_as_one_array(tmp_path: Path) -> None:
    writer = CountsWriter(tmp_path, "s_tf")
    for piece in (COUNTS[:3], COUNTS[3:4], COUNTS[4:11], COUNTS[11:]):
        writer.append(piece)
    specs = writer.close()
    arrays = {name.removeprefix("s_tf_"): read_array(tmp_path, name, *spec) for name, spec in specs.items()}
    packed = PackedCounts(arrays["packed"], len(COUNTS), arrays["over_at"], arrays["over"])
    assert packed.all().tolist() == COUNTS.tolist()
    assert packed.packed.tolist() == PackedCounts.of(COUNTS).packed.tolist()
