"""The fitted models, as data: the sentence ranker and the answer/no-answer decision (``retrieval/ranking/model.json``).

Two variants, lexical and semantic (with the sentence encoder's cosines), each a ranker and an answerable
model. All are scikit-learn logistic regressions over named features (``retrieval/ranking/features.py``), standardized
inside a pipeline; the file keeps each one's feature names, the weights and intercept with the
standardization folded in (score = x · coef + intercept, a log-odds), the analyzer version the features
were computed with, what they were fitted on and their cross-validated scores. ``isnad train`` refits
them (``retrieval/evaluation/training.py``); a file written for another analyzer is refused.

    P(this sentence answers) = σ(ranker · features(sentence))
    P(the articles answer)   = σ(answerable · features(best sentence, the question))
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval.errors import ModelMismatch
from retrieval.text.arabic import ANALYZER_VERSION

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from retrieval.ranking.features import Candidates

MODEL_FILE = Path(__file__).with_name("model.json")


@dataclass(frozen=True)
class LinearModel:
    """A fitted logistic regression: feature names, weights and intercept on the raw features."""

    features: tuple[str, ...]
    coef: np.ndarray
    intercept: float

    def score(self, x: np.ndarray) -> np.ndarray:
        """The log-odds of each row (or of one vector)."""
        return x @ self.coef + self.intercept

    @classmethod
    def from_pipeline(cls, features: tuple[str, ...], pipeline: Pipeline) -> LinearModel:
        """Fold a fitted StandardScaler → LogisticRegression pipeline into weights on the raw features."""
        scaler, regression = pipeline[0], pipeline[-1]
        coef = regression.coef_[0] / scaler.scale_
        intercept = float(regression.intercept_[0] - coef @ scaler.mean_)
        return cls(features, coef.astype(np.float64), intercept)

    def to_json(self) -> dict:
        return {
            "features": list(self.features),
            "coef": [round(float(c), 6) for c in self.coef],
            "intercept": round(self.intercept, 6),
        }

    @classmethod
    def from_json(cls, data: dict) -> LinearModel:
        return cls(tuple(data["features"]), np.array(data["coef"], dtype=np.float64), float(data["intercept"]))


@dataclass(frozen=True)
class Variant:
    """One way of answering: the ranker, the answerable model and its two probability thresholds."""

    ranker: LinearModel
    answerable: LinearModel
    answer_threshold: float  # P(answerable) at or above this: the quotes are the answer
    closest_threshold: float  # between this and answer_threshold: no answer, but the closest sentence is offered

    def to_json(self) -> dict:
        return {
            "ranker": self.ranker.to_json(),
            "answerable": self.answerable.to_json(),
            "answer_threshold": round(self.answer_threshold, 4),
            "closest_threshold": round(self.closest_threshold, 4),
        }

    @classmethod
    def from_json(cls, data: dict) -> Variant:
        return cls(
            LinearModel.from_json(data["ranker"]), LinearModel.from_json(data["answerable"]),
            float(data["answer_threshold"]), float(data["closest_threshold"]),
        )


LEXICAL, SEMANTIC, CROSSLINGUAL = "lexical", "semantic", "crosslingual"


@dataclass(frozen=True)
class Models:
    """Two variants fitted on the same questions: ``lexical`` (words only: a corpus without vectors, or a
    platform without the encoder) and ``semantic`` (words and the encoder's cosines). A question is answered
    by the semantic one only when every one of its candidates has a vector of the encoder it was fitted with."""

    lexical: Variant
    semantic: Variant | None = None
    crosslingual: Variant | None = None  # a question in another language than the articles' (words cannot match)
    analyzer: str = ANALYZER_VERSION
    encoder: str | None = None  # the encoder whose vectors the semantic variant was fitted on
    fitted_on: dict = field(default_factory=dict)
    cross_validated: dict = field(default_factory=dict)

    def pick(self, candidates: Candidates, foreign: bool = False) -> tuple[str, Variant] | None:
        """The variant that answers these candidates, and its name: the semantic one when each candidate has a
        vector of the encoder it was fitted with, else the lexical one; for a question in another language, the
        crosslingual one with vectors, else none."""
        semantic = candidates.semantic
        embedded = semantic is not None and semantic.complete and semantic.encoder == self.encoder
        if foreign:
            return (CROSSLINGUAL, self.crosslingual) if embedded and self.crosslingual is not None else None
        if embedded and self.semantic is not None:
            return SEMANTIC, self.semantic
        return LEXICAL, self.lexical

    def to_json(self) -> dict:
        return {
            "analyzer": self.analyzer,
            "encoder": self.encoder,
            LEXICAL: self.lexical.to_json(),
            SEMANTIC: self.semantic.to_json() if self.semantic else None,
            CROSSLINGUAL: self.crosslingual.to_json() if self.crosslingual else None,
            "fitted_on": self.fitted_on,
            "cross_validated": self.cross_validated,
        }

    def save(self, path: Path = MODEL_FILE) -> None:
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = MODEL_FILE, analyzer: str = ANALYZER_VERSION) -> Models:
        """The models in ``path``; ModelMismatch if unreadable, fitted for another analyzer, naming features this
        version does not compute, or with a lexical variant that needs vectors."""
        from retrieval.ranking.features import (
            LEXICAL_FEATURES,
            LEXICAL_QUESTION_FEATURES,
            QUESTION_FEATURES,
            SENTENCE_FEATURES,
        )

        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            optional = {name: Variant.from_json(data[name]) if data.get(name) else None for name in (SEMANTIC, CROSSLINGUAL)}
            models = cls(
                Variant.from_json(data[LEXICAL]), optional[SEMANTIC], optional[CROSSLINGUAL],
                data["analyzer"], data.get("encoder"), data.get("fitted_on", {}), data.get("cross_validated", {}),
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ModelMismatch(f"no readable model at {path}: {error}") from error
        if models.analyzer != analyzer:
            raise ModelMismatch(f"the model at {path} was fitted with analyzer {models.analyzer}, not {analyzer}; run `isnad train`")
        checks = [(models.lexical, LEXICAL_FEATURES, LEXICAL_QUESTION_FEATURES)]
        checks += [(v, SENTENCE_FEATURES, QUESTION_FEATURES) for v in (models.semantic, models.crosslingual) if v is not None]
        for variant, sentence_names, question_names in checks:
            unknown = [f for f in variant.ranker.features if f not in sentence_names]
            unknown += [f for f in variant.answerable.features if f not in question_names]
            shapes = [len(m.coef) == len(m.features) for m in (variant.ranker, variant.answerable)]
            if unknown or not all(shapes):
                raise ModelMismatch(f"the model at {path} does not match the features this version computes ({unknown}); run `isnad train`")
        return models


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1 / (1 + np.exp(-np.clip(x, -30, 30)))
