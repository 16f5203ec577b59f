"""What the models see: named features of a candidate sentence, and of a question's best answer.

A feature is a function of the candidates (``Candidates``, built by ``ranking.gather_candidates``) that
gives one number per candidate sentence; the ranker's score is a weighted sum of them (``retrieval/ranking/model.py``).
Word shares are idf-weighted shares of the question's content words: a rare word missing costs more than a
common one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from retrieval.text.arabic import HEADING


@dataclass(frozen=True)
class SemanticEvidence:
    """What the sentence encoder says of the candidates: cosines between the question's vector and theirs."""

    sentence: np.ndarray  # (sentences,): cos(q, sentence)
    neighbours: np.ndarray  # (sentences,): the better cos(q, ·) of the sentences either side in its article (0: none)
    with_title: np.ndarray  # (sentences,): cos(q, sentence + TITLE_SHARE · its title), the sentence read under its title
    title: np.ndarray  # (articles,): cos(q, the article's title)
    nearest: float  # the best cosine of any sentence in the corpus
    found: np.ndarray  # (sentences,) bool: among the encoder's nearest sentences (dense candidates)
    complete: bool  # every candidate sentence and title has a vector: the semantic model may score them
    encoder: str  # the encoder that made the vectors


@dataclass(frozen=True)
class Candidates:
    """The candidate sentences of one question, with what retrieval measured of them and of their articles."""

    sentence_ids: np.ndarray  # sorted
    sentence_cosine: np.ndarray  # pivoted cos(q, sentence)
    passage_cosine: np.ndarray  # cos(q, the best candidate passage holding the sentence)
    held: np.ndarray  # (sentences × words): the sentence holds a form of the word (surface, stem, skeleton, root)
    held_related: np.ndarray  # (sentences × words): … or a related word (plural, synonym, MSA for colloquial)
    held_exact: np.ndarray  # (sentences × words): the word as written
    word_weights: np.ndarray  # (words,): idf of the word's best form; the highest idf for an unknown word
    word_known: np.ndarray  # (words,): the corpus uses some form of the word
    article: np.ndarray  # (sentences,): index into the candidate articles below
    article_bm25: np.ndarray  # (articles,)
    article_held: np.ndarray  # (articles × words), title included
    title_held: np.ndarray  # (articles × words)
    flags: np.ndarray  # (sentences,): cue and heading bits
    wanted_cue: int  # the cue bit the question asks for (0: none)
    number: np.ndarray  # (sentences,): 1-based sentence number in its article
    chars: np.ndarray  # (sentences,): length in characters
    semantic: SemanticEvidence | None = None  # the encoder's view, when the question and corpus have vectors

    def share(self, held: np.ndarray, known_only: bool = True) -> np.ndarray:
        """Each row's idf-weighted share of the question's words it holds (of the known words, or of all)."""
        weights = (self.word_weights * self.word_known if known_only else self.word_weights).astype(np.float64)
        total = float(weights.sum())
        if not total:
            return np.zeros(len(held), dtype=np.float32)
        # A sum of products, not a BLAS float32 matrix-vector product: OpenBLAS's sgemv raised spurious
        # "invalid value encountered in matmul" warnings here (its results were right). einsum sums them without
        # the (rows × words) temporary: twice as fast, and this runs fifteen times a question.
        return (np.einsum("ij,j->i", held, weights) / total).astype(np.float32)

    @property
    def article_rank(self) -> np.ndarray:
        """Each candidate article's 0-based rank by BM25."""
        ranks = np.empty(len(self.article_bm25), dtype=np.int64)
        ranks[np.argsort(-self.article_bm25, kind="stable")] = np.arange(len(self.article_bm25))
        return ranks


def sentence_cosine(c: Candidates) -> np.ndarray:
    return c.sentence_cosine


def passage_cosine(c: Candidates) -> np.ndarray:
    return c.passage_cosine


def words_held(c: Candidates) -> np.ndarray:
    return c.share(c.held)


def words_held_related(c: Candidates) -> np.ndarray:
    """The share held only through a related word: what the expansions add."""
    return c.share(c.held_related & ~c.held)


def words_exact(c: Candidates) -> np.ndarray:
    return c.share(c.held_exact)


def words_gap(c: Candidates) -> np.ndarray:
    """How far the sentence's word share is below the best candidate's."""
    held = c.share(c.held_related)
    return held - held.max()


def sentence_cosine_relative(c: Candidates) -> np.ndarray:
    best = float(c.sentence_cosine.max())
    return c.sentence_cosine / best if best > 0 else np.zeros(len(c.sentence_cosine), np.float32)


def words_with_title(c: Candidates) -> np.ndarray:
    """The share of the question's words held by the sentence or its article's title: the title names the topic,
    the sentence says the rest."""
    return c.share(c.held_related | c.title_held[c.article])


def words_beyond_title(c: Candidates) -> np.ndarray:
    """Of the question's words the article's title lacks, the share the sentence holds."""
    lacking = ~c.title_held[c.article]
    total = c.share(lacking)
    return np.where(total > 0, c.share(c.held_related & lacking) / np.maximum(total, 1e-6), 1.0).astype(np.float32)


def words_with_neighbours(c: Candidates) -> np.ndarray:
    """The share of the question's words held by the sentence, the sentences either side of it (when they are
    candidates of the same article) and its article's title: a news paragraph is often one sentence, and
    the one before names who the answer is about."""
    held = c.held_related | c.title_held[c.article]
    ids = c.sentence_ids  # sorted: a sentence's neighbour, when a candidate, is next to it
    beside = ((ids[1:] == ids[:-1] + 1) & (c.article[1:] == c.article[:-1]))[:, None]
    held[:-1] |= c.held_related[1:] & beside
    held[1:] |= c.held_related[:-1] & beside
    return c.share(held)


def best_in_article(c: Candidates) -> np.ndarray:
    """The sentence has the highest word share and cosine among its article's candidates."""
    key = c.share(c.held_related) + 0.01 * c.sentence_cosine
    best = np.full(len(c.article_bm25), -np.inf)
    np.maximum.at(best, c.article, key)
    return (key >= best[c.article]).astype(np.float32)


def article_bm25(c: Candidates) -> np.ndarray:
    """The article's BM25 relative to the best candidate article's."""
    best = float(c.article_bm25.max()) if len(c.article_bm25) else 0.0
    return (c.article_bm25[c.article] / best).astype(np.float32) if best > 0 else np.zeros(len(c.article), np.float32)


def article_first(c: Candidates) -> np.ndarray:
    return (c.article_rank[c.article] == 0).astype(np.float32)


def article_top3(c: Candidates) -> np.ndarray:
    return (c.article_rank[c.article] < 3).astype(np.float32)


def article_words(c: Candidates) -> np.ndarray:
    return c.share(c.article_held | c.title_held)[c.article]


def title_words(c: Candidates) -> np.ndarray:
    return c.share(c.title_held)[c.article]


def answer_cue(c: Candidates) -> np.ndarray:
    """The sentence holds what the question word asks for (a time for متى, a number for كم, a cause for لماذا)."""
    return ((c.flags & c.wanted_cue) > 0).astype(np.float32) if c.wanted_cue else np.zeros(len(c.flags), np.float32)


def answer_cue_missing(c: Candidates) -> np.ndarray:
    return ((c.flags & c.wanted_cue) == 0).astype(np.float32) if c.wanted_cue else np.zeros(len(c.flags), np.float32)


def heading(c: Candidates) -> np.ndarray:
    return ((c.flags & HEADING) > 0).astype(np.float32)


def lead(c: Candidates) -> np.ndarray:
    """The article's first two sentences: news puts who, what, when first."""
    return (c.number <= 2).astype(np.float32)


def length(c: Candidates) -> np.ndarray:
    return (np.log1p(c.chars) / 6).astype(np.float32)


def _semantic(c: Candidates) -> SemanticEvidence:
    if c.semantic is None:
        raise ValueError("a semantic feature asked of candidates without vectors")
    return c.semantic


def e5_sentence(c: Candidates) -> np.ndarray:
    """cos(question, sentence) by the encoder: meaning beyond shared words."""
    return _semantic(c).sentence.astype(np.float32)


def e5_gap(c: Candidates) -> np.ndarray:
    """How far the sentence's cosine is below the best candidate's."""
    cosines = _semantic(c).sentence
    return (cosines - cosines.max()).astype(np.float32)


def e5_title(c: Candidates) -> np.ndarray:
    """cos(question, the article's title): the story the sentence belongs to."""
    return _semantic(c).title[c.article].astype(np.float32)


def e5_article_best(c: Candidates) -> np.ndarray:
    """The best cosine among the candidate sentences of the sentence's article."""
    best = np.full(len(c.article_bm25), -1.0)
    np.maximum.at(best, c.article, _semantic(c).sentence)
    return best[c.article].astype(np.float32)


def e5_rank(c: Candidates) -> np.ndarray:
    """1 / (1 + the sentence's rank among the candidates by cosine)."""
    cosines = _semantic(c).sentence
    ranks = np.empty(len(cosines), dtype=np.float32)
    ranks[np.argsort(-cosines, kind="stable")] = np.arange(len(cosines))
    return 1 / (1 + ranks)


def e5_neighbours(c: Candidates) -> np.ndarray:
    """The better cosine of the sentences either side: a news paragraph is often one sentence, and the one
    before says who the answer is about."""
    return _semantic(c).neighbours.astype(np.float32)


def e5_with_title(c: Candidates) -> np.ndarray:
    """The sentence read under its article's title: news sentences lean on their headline («the meeting lasted
    three hours»). On news-dev this cosine alone ranks the answer first for 0.385 of the questions whose answer
    is a candidate, the sentence's alone for 0.32."""
    return _semantic(c).with_title.astype(np.float32)


def e5_z(c: Candidates) -> np.ndarray:
    """The sentence's cosine standardized over the question's candidates: how far it stands out among them."""
    return _standardized(_semantic(c).sentence)


def e5_with_title_z(c: Candidates) -> np.ndarray:
    return _standardized(_semantic(c).with_title)


def _standardized(values: np.ndarray) -> np.ndarray:
    spread = float(values.std())
    return ((values - values.mean()) / spread).astype(np.float32) if spread > 0 else np.zeros(len(values), np.float32)


def e5_found(c: Candidates) -> np.ndarray:
    """The encoder found the sentence among the corpus's nearest (a dense candidate)."""
    return _semantic(c).found.astype(np.float32)


LEXICAL_FEATURES: dict[str, Callable[[Candidates], np.ndarray]] = {
    f.__name__: f
    for f in (
        sentence_cosine, passage_cosine, words_held, words_held_related, words_exact, words_gap, sentence_cosine_relative,
        words_with_title, words_with_neighbours, words_beyond_title, best_in_article,
        article_bm25, article_first, article_top3, article_words, title_words,
        answer_cue, answer_cue_missing, heading, lead, length,
    )
}
SEMANTIC_FEATURES: dict[str, Callable[[Candidates], np.ndarray]] = {
    f.__name__: f
    for f in (e5_sentence, e5_gap, e5_title, e5_article_best, e5_rank, e5_neighbours, e5_with_title, e5_z, e5_with_title_z, e5_found)
}
SENTENCE_FEATURES = {**LEXICAL_FEATURES, **SEMANTIC_FEATURES}


def sentence_matrix(c: Candidates, names: tuple[str, ...]) -> np.ndarray:
    """(candidates × features) in the order of ``names``; every value finite, so no NaN can reach an ordering."""
    matrix = np.empty((len(c.sentence_ids), len(names)), dtype=np.float32)
    for column, name in enumerate(names):
        matrix[:, column] = SENTENCE_FEATURES[name](c)
    return np.nan_to_num(matrix, copy=False, nan=0.0, posinf=0.0, neginf=0.0)


@dataclass(frozen=True)
class Best:
    """The ranked candidates as the answer/no-answer model sees them."""

    candidates: Candidates
    scores: np.ndarray  # the ranker's score of every candidate
    order: np.ndarray  # candidate positions, best first


def best_score(b: Best) -> float:
    return float(b.scores[b.order[0]])


def margin(b: Best) -> float:
    """How far the best sentence is ahead of the next one."""
    return float(b.scores[b.order[0]] - b.scores[b.order[1]]) if len(b.order) > 1 else 1.0


def best_words(b: Best) -> float:
    """The share of the question's words the best sentence holds, related words included."""
    return float(b.candidates.share(b.candidates.held_related)[b.order[0]])


def best_article_all_words(b: Best) -> float:
    """The share of all the question's words (unknown ones weigh most) the best sentence's article holds."""
    c = b.candidates
    return float(c.share(c.article_held | c.title_held | c.held_related.any(axis=0), known_only=False)[c.article[b.order[0]]])


def unknown_words(b: Best) -> float:
    """The share of the question's words the corpus never uses in any form: what the articles cannot answer."""
    c = b.candidates
    return float(c.share(~c.word_known[None, :], known_only=False)[0]) if len(c.word_weights) else 1.0


def best_missing_idf(b: Best) -> float:
    """The rarest question word that neither the best sentence nor its article's title holds, by idf relative
    to the question's rarest word: what the answer would have to say and does not."""
    c, top = b.candidates, b.order[0]
    lacking = ~(c.held_related[top] | c.title_held[c.article[top]])
    return float((c.word_weights * lacking).max() / c.word_weights.max()) if len(c.word_weights) else 1.0


def best_words_with_title(b: Best) -> float:
    return float(words_with_title(b.candidates)[b.order[0]])


def best_passage(b: Best) -> float:
    return float(b.candidates.passage_cosine[b.order[0]])


def best_article(b: Best) -> float:
    return float(article_first(b.candidates)[b.order[0]])


def cue_missing_top3(b: Best) -> float:
    """The question asks when or how many, and none of the best three sentences holds a time or a number."""
    c = b.candidates
    return float(bool(c.wanted_cue) and not (c.flags[b.order[:3]] & c.wanted_cue).any())


def question_words(b: Best) -> float:
    return min(len(b.candidates.word_weights), 12) / 12


def best_e5(b: Best) -> float:
    """cos(question, the best sentence) by the encoder."""
    return float(_semantic(b.candidates).sentence[b.order[0]])


def nearest_e5(b: Best) -> float:
    """The encoder's best cosine over the whole corpus: low when the articles never discuss the question's subject."""
    return _semantic(b.candidates).nearest


def best_e5_title(b: Best) -> float:
    c = b.candidates
    return float(_semantic(c).title[c.article[b.order[0]]])


LEXICAL_QUESTION_FEATURES: dict[str, Callable[[Best], float]] = {
    f.__name__: f
    for f in (
        best_score, margin, best_words, best_words_with_title, best_missing_idf, best_article_all_words, unknown_words,
        best_passage, best_article, cue_missing_top3, question_words,
    )
}
def best_e5_with_title(b: Best) -> float:
    """The best sentence read under its title, by the encoder."""
    return float(_semantic(b.candidates).with_title[b.order[0]])


SEMANTIC_QUESTION_FEATURES: dict[str, Callable[[Best], float]] = {
    f.__name__: f for f in (best_e5, nearest_e5, best_e5_title, best_e5_with_title)
}
QUESTION_FEATURES = {**LEXICAL_QUESTION_FEATURES, **SEMANTIC_QUESTION_FEATURES}


def question_features(b: Best, names: tuple[str, ...]) -> np.ndarray:
    return np.array([QUESTION_FEATURES[name](b) for name in names], dtype=np.float32)
