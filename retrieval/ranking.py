"""From a question to ranked sentences: best passages first, then their sentences, then "is this an answer?".

score(sentence) = w_s · cos(q, sentence) + w_p · max cos(q, passage ∋ sentence) + cue bonus, where the cue
bonus rewards a sentence holding what the question word asks for (a time for متى, a number for كم).
Only the postings of the question's terms and the sentences of the best passages are touched.

No answer: the question's content words, weighted by idf (a word the corpus never uses weighs the most),
must be found in the best sentence's passage for at least ``min_coverage`` of their weight; a question
about a gift when the articles never mention one is not answered with a sentence about the meeting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from retrieval.arabic import HEADING, content_tokens, question_type, token_features, wanted_cue
from retrieval.index import TfidfIndex


@dataclass(frozen=True)
class RankingParams:
    candidate_passages: int = 30
    # Candidate generation reads the postings of the question's rarest terms up to this many, and rescores
    # the best candidates exactly. On SaudiNewsNet (166,672 passages) a title question's terms hold 590,000
    # postings on average, 1.3 million at p99: reading them all took 56 ms at p50, 150 ms at p99.
    posting_budget: int = 30_000
    rescored_passages: int = 300
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
    document_weight: float = 0.0  # a passage is also judged by its whole article
    # Share of the question's words a sentence holds in any form: بينت matches بينيت only by its skeleton,
    # a weaker term than an exact word, yet it is the same name and counts as a whole word here.
    word_coverage_weight: float = 0.2
    heading_factor: float = 0.8  # headlines name a topic, they rarely answer: their scores are scaled by this


@dataclass(frozen=True)
class Ranked:
    sentence_ids: tuple[int, ...]
    scores: tuple[float, ...]
    coverage: float
    no_answer_reason: str | None = None


NO_TERMS = "the question has no words the articles use"
NO_MATCH = "no passage shares the question's words"


def rank_sentences(index: TfidfIndex, question: str, limit: int, params: RankingParams) -> Ranked:
    """Up to ``limit`` sentence ids, best first, or none with the reason."""
    columns, weights = index.term_ids(index.params.text_analyzer()(question))
    if not len(columns):
        return Ranked((), (), 0.0, NO_TERMS)
    passage_ids, passage_scores = candidate_passages(index, columns, weights, params)
    if not len(passage_ids):
        return Ranked((), (), 0.0, NO_MATCH)
    if len(passage_ids) > params.candidate_passages:
        keep = np.argpartition(-passage_scores, params.candidate_passages)[: params.candidate_passages]
        passage_ids, passage_scores = passage_ids[keep], passage_scores[keep]

    # Each candidate sentence takes the score of the best candidate passage holding it.
    best_passage: dict[int, tuple[float, int]] = {}
    for pid, pscore in zip(passage_ids.tolist(), passage_scores.tolist(), strict=True):
        for sid in range(int(index.pass_first_[pid]), int(index.pass_last_[pid]) + 1):
            if sid not in best_passage or best_passage[sid][0] < pscore:
                best_passage[sid] = (pscore, pid)
    sentence_ids = np.fromiter(best_passage, dtype=np.int64, count=len(best_passage))
    rows = index.sentence_rows(sentence_ids)
    query = np.zeros(rows.shape[1], dtype=np.float32)
    query[columns] = weights
    sentence_scores = rows @ query
    if params.length_pivot < 1:
        norms = index.s_norm_[sentence_ids]
        sentence_scores = sentence_scores * norms / ((1 - params.length_pivot) * index.mean_sentence_norm + params.length_pivot * norms)
    context_scores = np.array([best_passage[s][0] for s in sentence_ids.tolist()], dtype=np.float32)
    scores = params.sentence_weight * sentence_scores + params.passage_weight * context_scores
    if params.word_coverage_weight:
        scores = scores + params.word_coverage_weight * _sentence_word_coverage(index, question, rows)

    cue = wanted_cue(question_type(question))
    if cue and params.cue_bonus:
        has_cue = (index.s_flags_[sentence_ids] & cue) > 0
        scores = scores + params.cue_bonus * has_cue * (sentence_scores > 0)

    if params.heading_factor != 1:
        scores = np.where(index.s_flags_[sentence_ids] & HEADING, scores * params.heading_factor, scores)
    order = np.argsort(-scores, kind="stable")
    best = int(sentence_ids[order[0]])
    coverage = question_coverage(index, question, _passage_columns(index, best_passage[best][1]))
    if scores[order[0]] < params.min_score:
        return Ranked((), (), coverage, f"the best match scores {scores[order[0]]:.2f}, below {params.min_score}")
    if coverage < params.min_coverage:
        return Ranked((), (), coverage, f"the best passage covers {coverage:.0%} of the question's words")
    floor = params.relative_cutoff * scores[order[0]]
    kept = [i for i in order[:limit] if scores[i] >= floor]
    return Ranked(
        tuple(int(sentence_ids[i]) for i in kept), tuple(float(scores[i]) for i in kept), coverage
    )


def candidate_passages(
    index: TfidfIndex, columns: np.ndarray, weights: np.ndarray, params: RankingParams
) -> tuple[np.ndarray, np.ndarray]:
    """Passages sharing the question's rarer terms, each scored cos(q, passage) + document_weight · cos(q, its article).

    The rarest terms, up to ``posting_budget`` postings, find the candidates; the best ``rescored_passages`` of
    them then get the exact score over every term, the frequent ones looked up by binary search. A passage
    holding none of the rare terms is not considered. When all postings fit the budget (every corpus of a
    few thousand passages), this is the exact score of every passage sharing a term.
    """
    frequencies = index.passage_frequencies(columns)
    order = np.argsort(frequencies, kind="stable")
    essential = max(1, int(np.searchsorted(np.cumsum(frequencies[order]), params.posting_budget, side="right")))
    rare, frequent = order[:essential], order[essential:]
    passage_ids, scores = index.passage_scores(columns[rare], weights[rare])
    if params.document_weight and len(passage_ids):
        doc_ids, doc_scores = index.document_scores(columns[rare], weights[rare])
        scores = scores + params.document_weight * doc_scores[np.searchsorted(doc_ids, index.pass_doc_[passage_ids])]
    if not len(frequent) or not len(passage_ids):
        return passage_ids, scores
    if len(passage_ids) > params.rescored_passages:
        keep = np.argpartition(-scores, params.rescored_passages)[: params.rescored_passages]
        passage_ids, scores = passage_ids[keep], scores[keep]
    scores = scores + index.passage_values(columns[frequent], weights[frequent], passage_ids)
    if params.document_weight:
        docs = index.pass_doc_[passage_ids]
        scores = scores + params.document_weight * index.document_values(columns[frequent], weights[frequent], docs)
    return passage_ids, scores.astype(np.float32)


def question_coverage(index: TfidfIndex, question: str, context_columns: set[int]) -> float:
    """Share of the question's content words (idf-weighted; unknown words weigh most) found in the context."""
    total = found = 0.0
    for token in dict.fromkeys(content_tokens(question)):
        columns = [c for c in (index.vocabulary_.get(f) for f in token_features(token)) if c is not None]
        weight = max((float(index.idf_[c]) for c in columns), default=index.max_idf)
        total += weight
        if any(c in context_columns for c in columns):
            found += weight
    return found / total if total else 0.0


def _sentence_word_coverage(index: TfidfIndex, question: str, rows: sparse.csr_matrix) -> np.ndarray:
    """For each row, the idf-weighted share of the question's content words it holds in some form."""
    token_columns, token_weights = [], []
    for token in dict.fromkeys(content_tokens(question)):
        columns = [c for c in (index.vocabulary_.get(f) for f in token_features(token)) if c is not None]
        if columns:
            token_columns.append(columns)
            token_weights.append(max(float(index.idf_[c]) for c in columns))
    if not token_columns:
        return np.zeros(rows.shape[0], dtype=np.float32)
    forms = sparse.csr_matrix(
        (
            np.ones(sum(map(len, token_columns)), dtype=np.float32),
            np.concatenate(token_columns),
            np.concatenate([[0], np.cumsum([len(c) for c in token_columns])]),
        ),
        shape=(len(token_columns), rows.shape[1]),
    )
    held = np.asarray((rows @ forms.T).todense()) > 0
    weights = np.asarray(token_weights, dtype=np.float32)
    return (held @ weights / weights.sum()).astype(np.float32)


def _passage_columns(index: TfidfIndex, passage_id: int) -> set[int]:
    first, last = int(index.pass_first_[passage_id]), int(index.pass_last_[passage_id])
    return set(index.s_indices_[index.s_indptr_[first] : index.s_indptr_[last + 1]].tolist())
