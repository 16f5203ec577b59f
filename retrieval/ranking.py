"""From a question to ranked sentences: best passages first, then their sentences, then "is this an answer?".

score(sentence) = w_s · pivoted cos(q, sentence) + w_p · max cos(q, passage ∋ sentence) + w_w · words + cue,
where q holds the question's terms and, at a lower weight, those of the MSA equivalents of its colloquial
words (``retrieval/lexicon.py``); ``words`` is the idf-weighted share of the question's words the sentence
holds in any form (an MSA equivalent included); and the cue bonus rewards a sentence holding what the
question word asks for (a time for متى, a number for كم); headlines are scaled down. Only the postings of
the question's terms and the sentences of the best passages are touched.

No answer: the question's content words, weighted by idf (a word the corpus never uses weighs the most),
must be found in the best sentence's passage for at least ``min_coverage`` of their weight, and the best
sentence must score at least ``min_score``; below that a quote would only be loosely related. A when- or
how-many question also needs a time or a number in one of its best ``required_cue_window`` sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.arabic import CUE_NUMBER, CUE_TIME, HEADING, content_tokens, question_type, token_terms, wanted_cue
from retrieval.index import TfidfIndex
from retrieval.lexicon import COLLOQUIAL, word_features


@dataclass(frozen=True)
class RankingParams:
    candidate_passages: int = 30
    # Candidate generation reads the postings of the question's rarest terms up to this many, and rescores
    # the best candidates exactly. On SaudiNewsNet (166,672 passages) a title question's terms hold 590,000
    # postings on average, 1.3 million at p99: reading them all took 56 ms at p50, 150 ms at p99.
    posting_budget: int = 30_000
    rescored_passages: int = 150
    sentence_weight: float = 0.65
    passage_weight: float = 0.35
    cue_bonus: float = 0.12
    # Calibrated on seed-dev (README, "No answer"): the highest thresholds that keep false abstentions
    # on answerable questions under 10%. Below them the best sentence is only loosely related.
    min_coverage: float = 0.2
    min_score: float = 0.2
    relative_cutoff: float = 0.2  # later quotes must score at least this share of the best one (0.4 lost بينيت for بينت)
    # Pivoted length normalization of sentence scores (1 = plain cosine, which favours very short lines).
    length_pivot: float = 0.5
    # Share of the question's words a sentence holds in any form: بينت matches بينيت only by its skeleton,
    # a weaker term than an exact word, yet it is the same name and counts as a whole word here.
    word_coverage_weight: float = 0.2
    heading_factor: float = 0.8  # headlines name a topic, they rarely answer: their scores are scaled by this
    colloquial_weight: float = 0.7  # the MSA equivalents of a colloquial word, relative to the words asked
    # A when- or how-many question is answered only if one of its best few sentences holds a time or a number:
    # a sentence about the right people that gives no date does not say when. Measured: one of seed-dev's 7
    # unanswerable questions caught, none of its answerable ones lost; one of XQuAD's 1,190 lost.
    required_cue_window: int = 3


@dataclass(frozen=True)
class Ranked:
    sentence_ids: tuple[int, ...]
    scores: tuple[float, ...]
    coverage: float
    no_answer_reason: str | None = None


NO_TERMS = "the question has no words the articles use"
NO_MATCH = "no passage shares the question's words"
MISSING_CUE = {CUE_TIME: "none of the best matches says when", CUE_NUMBER: "none of the best matches gives a number"}


def rank_sentences(index: TfidfIndex, question: str, limit: int, params: RankingParams) -> Ranked:
    """Up to ``limit`` sentence ids, best first, or none with the reason."""
    words_asked = list(dict.fromkeys(content_tokens(question)))
    columns, weights = question_vector(index, question, words_asked, params)
    if not len(columns):
        return Ranked((), (), 0.0, NO_TERMS)
    passage_ids, passage_scores, exact = candidate_passages(index, columns, weights, params)
    if not len(passage_ids):
        return Ranked((), (), 0.0, NO_MATCH)
    keep = params.candidate_passages if exact else params.rescored_passages
    if len(passage_ids) > keep:
        best = np.argpartition(-passage_scores, keep)[:keep]
        passage_ids, passage_scores = passage_ids[best], passage_scores[best]
    term_weights = weights * index.idf_[columns]
    sentence_ids, sentence_tf, passage_tf = index.passage_counts(passage_ids, columns)
    if not exact:  # the exact cosine over every term, from the passages' own rows
        passage_scores = ((index.tf_weight(passage_tf) @ term_weights) / index.p_norm_[passage_ids]).astype(np.float32)
    if len(passage_ids) > params.candidate_passages:
        best = np.argpartition(-passage_scores, params.candidate_passages)[: params.candidate_passages]
        passage_ids, passage_scores, passage_tf = passage_ids[best], passage_scores[best], passage_tf[best]

    # Each candidate sentence takes the score of the best candidate passage holding it.
    best_passage: dict[int, tuple[float, int]] = {}
    for at, (pid, pscore) in enumerate(zip(passage_ids.tolist(), passage_scores.tolist(), strict=True)):
        for sid in range(int(index.pass_first_[pid]), int(index.pass_last_[pid]) + 1):
            if sid not in best_passage or best_passage[sid][0] < pscore:
                best_passage[sid] = (pscore, at)
    chosen = np.fromiter(best_passage, dtype=np.int64, count=len(best_passage))
    tf = sentence_tf[np.searchsorted(sentence_ids, chosen)]
    sentence_ids = chosen
    sentence_scores = (index.tf_weight(tf) @ term_weights) / index.s_norm_[sentence_ids]
    if params.length_pivot < 1:
        norms = index.s_norm_[sentence_ids]
        sentence_scores = sentence_scores * norms / ((1 - params.length_pivot) * index.mean_sentence_norm + params.length_pivot * norms)
    context_scores = np.array([best_passage[s][0] for s in sentence_ids.tolist()], dtype=np.float32)
    scores = params.sentence_weight * sentence_scores + params.passage_weight * context_scores
    words = QuestionWords.of(index, words_asked, columns)
    if params.word_coverage_weight:
        scores = scores + params.word_coverage_weight * words.held_share(tf > 0)

    cue = wanted_cue(question_type(question))
    if cue and params.cue_bonus:
        has_cue = (index.s_flags_[sentence_ids] & cue) > 0
        scores = scores + params.cue_bonus * has_cue * (sentence_scores > 0)

    if params.heading_factor != 1:
        scores = np.where(index.s_flags_[sentence_ids] & HEADING, scores * params.heading_factor, scores)
    order = np.argsort(-scores, kind="stable")
    coverage = words.coverage(passage_tf[best_passage[int(sentence_ids[order[0]])][1]] > 0)
    if scores[order[0]] < params.min_score:
        return Ranked((), (), coverage, f"the best match scores {scores[order[0]]:.2f}, below {params.min_score}")
    if coverage < params.min_coverage:
        return Ranked((), (), coverage, f"the best passage covers {coverage:.0%} of the question's words")
    floor = params.relative_cutoff * scores[order[0]]
    kept = [i for i in order[: max(limit, params.required_cue_window)] if scores[i] >= floor]
    if cue & (CUE_TIME | CUE_NUMBER) and params.required_cue_window:
        best = sentence_ids[kept[: params.required_cue_window]]
        if not (index.s_flags_[best] & cue).any():
            return Ranked((), (), coverage, MISSING_CUE[cue])
    kept = kept[:limit]
    return Ranked(tuple(int(sentence_ids[i]) for i in kept), tuple(float(scores[i]) for i in kept), coverage)


def question_vector(index: TfidfIndex, question: str, words: list[str], params: RankingParams) -> tuple[np.ndarray, np.ndarray]:
    """The question's known terms and their weights (sorted columns); the MSA equivalents of its colloquial
    ``words`` join it at ``colloquial_weight`` of a word's weight."""
    terms = index.params.text_analyzer()(question)
    own = set(terms)
    equivalents = (word for token in words for word in COLLOQUIAL.equivalents(token))
    extra = [t for word in equivalents for t in token_terms(word, index.params.ngrams) if t not in own]
    columns, weights = index.term_ids(terms + list(dict.fromkeys(extra)))
    if extra and len(columns):
        own_columns = {index.vocabulary_[t] for t in own if t in index.vocabulary_}
        weights = weights * np.array([1.0 if c in own_columns else params.colloquial_weight for c in columns.tolist()], dtype=np.float32)
        weights /= np.linalg.norm(weights)
    return columns, weights


def candidate_passages(
    index: TfidfIndex, columns: np.ndarray, weights: np.ndarray, params: RankingParams
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Passages sharing the question's rarer terms, their (partial) cosine to the question, and whether it is exact.

    The rarest terms, up to ``posting_budget`` postings, find the candidates and score them; the caller
    rescores the best ``rescored_passages`` exactly from their own rows when frequent terms were left out.
    A passage holding none of the rare terms is not considered. When all postings fit the budget (every
    corpus of a few thousand passages), the scores are exact for every passage sharing a term.
    """
    frequencies = index.passage_frequencies(columns)
    order = np.argsort(frequencies, kind="stable")
    essential = max(1, int(np.searchsorted(np.cumsum(frequencies[order]), params.posting_budget, side="right")))
    rare = np.sort(order[:essential])
    passage_ids, scores = index.passage_scores(columns[rare], weights[rare])
    if index.has_dead:  # articles retired by an incremental sync are never answered
        alive = index.doc_alive_[index.sent_doc_[index.pass_first_[passage_ids]]]
        passage_ids, scores = passage_ids[alive], scores[alive]
    return passage_ids, scores, essential == len(columns)


@dataclass(frozen=True)
class QuestionWords:
    """The question's content words: which of the query's columns are forms of each, and each word's weight."""

    forms: np.ndarray  # (query columns × words), 1 where the column is a form of the word
    weights: np.ndarray  # max idf of the word's forms; the highest idf for a word the corpus never uses
    known: np.ndarray  # the words with at least one form in the corpus

    @classmethod
    def of(cls, index: TfidfIndex, tokens: list[str], columns: np.ndarray) -> QuestionWords:
        """``tokens``: the question's distinct content words; ``columns``: its query's sorted columns."""
        forms = np.zeros((len(columns), len(tokens)), dtype=np.float32)
        weights = np.full(len(tokens), index.max_idf, dtype=np.float32)
        for word, token in enumerate(tokens):
            known = [c for c in map(index.vocabulary_.get, word_features(token, COLLOQUIAL)) if c is not None]
            if known:
                forms[np.searchsorted(columns, known), word] = 1
                weights[word] = index.idf_[known].max()
        return cls(forms, weights, forms.any(axis=0))

    def held_share(self, held_columns: np.ndarray) -> np.ndarray:
        """For each row, the idf-weighted share of the words the corpus knows that the row holds in some form."""
        if not self.known.any():
            return np.zeros(len(held_columns), dtype=np.float32)
        held = (held_columns.astype(np.float32) @ self.forms[:, self.known]) > 0
        weights = self.weights[self.known]
        return (held @ weights / weights.sum()).astype(np.float32)

    def coverage(self, held_columns: np.ndarray) -> float:
        """The idf-weighted share of all the words (unknown ones weigh most) that one row holds."""
        if not len(self.weights):
            return 0.0
        held = (held_columns.astype(np.float32) @ self.forms) > 0
        return float(held @ self.weights / self.weights.sum())
