"""From a question to ranked sentences: candidate articles and passages, their sentences, then "is this an answer?".

1. The question's terms, and at a lower weight those of its related words: the MSA equivalents of its
   colloquial words (``retrieval/text/lexicon.py``) and its synonyms (``retrieval/text/wordnet.py``; its broken plural
   or singular too when ``plural_weight`` is set, off by default: measured, they cost more than they gave).
2. Candidates: the best passages by cosine, and the best articles by BM25 over title and text (an article
   names its topic in the title and lead, which the answering sentence often does not repeat); the
   sentences of the best passages and of the best articles' passages.
3. Each sentence's features (``retrieval/ranking/features.py``) are scored by the fitted ranker (``retrieval/ranking/model.py``):
   P(answers) = σ(ranker · features).
4. The best sentence and the question's features are scored by the answerable model: P(the articles
   answer). At or above the answer threshold the quotes are the answer; below it there is no answer, and
   between the two thresholds the closest sentence is offered as such.

Only the postings of the question's terms and the rows of the candidates are read: nothing per question is
proportional to the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.lexical.index import TfidfIndex, sorted_distinct
from retrieval.lexical.rows import ranges
from retrieval.question.conversation import Context
from retrieval.ranking.features import Best, Candidates, SemanticEvidence, question_features, sentence_matrix
from retrieval.ranking.model import LEXICAL, Models, Variant, sigmoid
from retrieval.semantic.vectors import DenseVectors
from retrieval.text.arabic import CUE_NUMBER, CUE_TIME, as_written, content_tokens, question_type, token_features, tokenize, wanted_cue
from retrieval.text.lexicon import COLLOQUIAL
from retrieval.text.wordnet import WORDNET


@dataclass(frozen=True)
class RankingParams:
    candidate_passages: int = 30
    # Candidate generation reads the postings of the question's rarest terms up to this many, and rescores
    # the best candidates exactly. On SaudiNewsNet (166,672 passages) a title question's terms hold 590,000
    # postings on average, 1.3 million at p99: reading them all took 56 ms at p50, 150 ms at p99.
    posting_budget: int = 30_000
    rescored_passages: int = 150
    candidate_articles: int = 20  # rescored exactly by BM25; their features reach every candidate sentence
    article_posting_budget: int = 10_000  # the rarest terms find candidate articles; the rescoring reads every term
    article_passages: int = 5  # every passage of the best few articles is a candidate too (3: ARCD hit@1 0.645, 5: 0.652)
    # Pivoted length normalization of sentence cosines (1 = plain cosine, which favours very short lines).
    length_pivot: float = 0.5
    # Related words join the question at this share of a word's weight: a colloquial word's MSA equivalents,
    # a noun's broken plural or singular, a word's WordNet synonyms.
    colloquial_weight: float = 0.7
    synonym_weight: float = 0.4
    # Off (0: neither added nor counted as the word). Measured, cross-validated, against synonyms alone:
    # plurals at 0.8 cost ARCD hit@1 0.649 → 0.626 and news-dev 0.395 → 0.389, XQuAD unchanged; counted
    # as the word without joining the query, ARCD 0.639 and news-dev 0.384. AWN's pairs are noisy (قتلى → اقتال).
    plural_weight: float = 0.0
    relative_cutoff: float = 0.1  # later quotes need at least this share of the best quote's probability (بينت finds بينيت at 0.12)
    # The sentences nearest the question's vector join the candidates with their passages (hybrid recall).
    dense_candidates: int = 10
    foreign_dense_candidates: int = 30  # a question in another language: the encoder is its only source of candidates
    # A follow-up's own words weigh 1, the conversation's topic words this much (``retrieval/question/conversation.py``).
    context_weight: float = 0.5
    about_titles: int = 3  # with no answer: the titles nearest the question, to say what the articles are about


@dataclass(frozen=True)
class QueryVector:
    """The question's vector and the corpus vectors to compare it with."""

    vector: np.ndarray
    dense: DenseVectors


@dataclass(frozen=True)
class Ranked:
    sentence_ids: tuple[int, ...]
    scores: tuple[float, ...]  # P(the sentence answers), best first
    confidence: float  # P(the articles answer the question)
    no_answer_reason: str | None = None
    closest: int | None = None  # with no answer: a sentence worth offering as "the closest I found"
    missing: tuple[str, ...] = ()  # question words no article uses in any form
    model: str = LEXICAL  # the variant that answered
    about: tuple[str, ...] = ()  # with no answer: titles of the articles nearest the question


# The title's share in a sentence read under its title (e5_with_title). Measured on news-dev, the cosine alone
# ranking the answer first: sentence alone 0.32, with its title at 0.5 0.385, at 1.0 0.391, but seed-dev 0.651 at
# 0.5 and 0.558 at 1.0.
TITLE_SHARE = 0.5
NO_TERMS = "the question has no words the articles use"
NO_MATCH = "no passage shares the question's words"
NO_ENCODER = "a question in another language needs the sentence vectors of the whole corpus"
MISSING_CUE = {CUE_TIME: "none of the best matches says when", CUE_NUMBER: "none of the best matches gives a number"}


def rank_sentences(
    index: TfidfIndex, question: str, limit: int, params: RankingParams, models: Models, query: QueryVector | None = None,
    context: Context | None = None, foreign: bool = False,
) -> Ranked:
    """Up to ``limit`` sentence ids, best first, or none with the reason. ``foreign``: the question is in another
    language than the articles (English, French): only the encoder can match it."""
    if foreign and query is None:
        return Ranked((), (), 0.0, NO_ENCODER)
    found = gather_candidates(index, question, params, query, context, foreign)
    if isinstance(found, str):
        missing = () if foreign else _as_written(question, unknown_words(index, question))
        return Ranked((), (), 0.0, found, missing=missing, about=nearest_titles(index, query, params.about_titles))
    candidates, words = found
    picked = models.pick(candidates, foreign)
    if picked is None:
        return Ranked((), (), 0.0, NO_ENCODER)
    name, variant = picked
    best = score_candidates(candidates, variant)
    confidence = answer_confidence(best, variant)
    own = set() if foreign else set(content_tokens(question))
    missing = _as_written(question, [w for w, known in zip(words, candidates.word_known.tolist(), strict=True) if not known and w in own])
    top = int(best.order[0])
    probabilities = sigmoid(best.scores)
    if not answers(best, confidence, variant):
        reason = _no_answer_reason(best, missing, confidence)
        closest = int(candidates.sentence_ids[top]) if confidence >= variant.closest_threshold else None
        about = () if closest is not None else nearest_titles(index, query, params.about_titles, best)
        return Ranked((), (), confidence, reason, closest, missing, name, about)
    floor = params.relative_cutoff * probabilities[top]
    kept = [int(i) for i in best.order[:limit] if probabilities[i] >= floor]
    return Ranked(
        tuple(int(candidates.sentence_ids[i]) for i in kept), tuple(float(probabilities[i]) for i in kept), confidence,
        missing=missing, model=name,
    )


def nearest_titles(index: TfidfIndex, query: QueryVector | None, n: int, best: Best | None = None) -> tuple[str, ...]:
    """What the articles are about, near the question: the titles closest to its vector, else those of the
    best-ranked sentences' articles; none when neither says anything."""
    if query is not None and query.dense.titles.has.any():
        cosines = query.dense.titles.cosines(query.vector)
        cosines[~(query.dense.titles.has & index.doc_alive_)] = -1.0
        order = np.argsort(-cosines, kind="stable")[:n]
        return tuple(index.titles_[i] for i in order.tolist() if cosines[i] > 0)
    if best is not None:
        documents = index.sent_doc_[best.candidates.sentence_ids[best.order]].tolist()
        return tuple(index.titles_[d] for d in list(dict.fromkeys(documents))[:n])
    return ()


def _as_written(question: str, tokens: list[str]) -> tuple[str, ...]:
    """These normalized tokens as the question writes them (read only when there are any)."""
    if not tokens:
        return ()
    written = as_written(question)
    return tuple(written.get(token, token) for token in tokens)


def answer_confidence(best: Best, variant: Variant) -> float:
    """P(the articles answer the question), from the answerable model."""
    return float(sigmoid(variant.answerable.score(question_features(best, variant.answerable.features))))


def answers(best: Best, confidence: float, variant: Variant) -> bool:
    """Whether the best sentences are an answer: the model is confident enough, and a when- or how-many
    question has a time or a number among its best CUE_WINDOW sentences (a sentence about the right people
    with no date does not say when; measured before the models: one of XQuAD's 1,190 questions lost)."""
    return not lacks_cue(best) and confidence >= variant.answer_threshold


CUE_WINDOW = 3


def lacks_cue(best: Best) -> bool:
    """A when- or how-many question none of whose best CUE_WINDOW sentences holds a time or a number."""
    c = best.candidates
    return bool(c.wanted_cue & (CUE_TIME | CUE_NUMBER)) and not (c.flags[best.order[:CUE_WINDOW]] & c.wanted_cue).any()


def score_candidates(candidates: Candidates, variant: Variant) -> Best:
    """The ranker's score of every candidate, and the order best first."""
    matrix = sentence_matrix(candidates, variant.ranker.features)
    scores = variant.ranker.score(matrix)
    order = np.argsort(-scores, kind="stable")
    return Best(candidates, scores, order)


def _no_answer_reason(best: Best, missing: tuple[str, ...], confidence: float) -> str:
    if missing:
        return f"the articles never mention {'، '.join(missing)}"
    if lacks_cue(best):
        return MISSING_CUE[best.candidates.wanted_cue]
    return f"no sentence answers it with confidence (best {confidence:.0%})"


def unknown_words(index: TfidfIndex, question: str) -> list[str]:
    """The question's content words of which the corpus uses no form."""
    words = list(dict.fromkeys(content_tokens(question)))
    known = index.vocabulary_.lookup(f for w in words for f in token_features(w))
    return [w for w in words if not any(f in known for f in token_features(w))]


def gather_candidates(
    index: TfidfIndex, question: str, params: RankingParams, query: QueryVector | None = None, context: Context | None = None,
    foreign: bool = False,
) -> tuple[Candidates, list[str]] | str:
    """The question's candidate sentences with everything the features need, and its content words; or why there are none.

    With the question's vector, the sentences nearest it join the candidates (with their passages) and the
    candidates carry their cosines (``SemanticEvidence``). With a conversation's context (a follow-up), its
    topic words join the question at ``context_weight`` and its articles' passages join the candidates.
    """
    words = list(dict.fromkeys(content_tokens(question)))
    topic = [w for w in dict.fromkeys(t for word in (context.words if context else ()) for t in tokenize(word)) if w not in words]
    columns, weights, related, column_of = question_vector(index, question, words, params, {w: params.context_weight for w in topic})
    words += topic
    if not len(columns) and query is None:
        return NO_TERMS
    passage_ids, passage_scores, exact = candidate_passages(index, columns, weights, params)
    keep = params.candidate_passages if exact else params.rescored_passages
    if len(passage_ids) > keep:
        best = np.argpartition(-passage_scores, keep)[:keep]
        passage_ids, passage_scores = passage_ids[best], passage_scores[best]

    # The best articles by BM25 (as their rarest terms score them) lend all their passages to the pool.
    articles, partial_bm25 = candidate_articles(index, columns, weights, params)
    from_articles = articles_passages(index, articles[np.argsort(-partial_bm25, kind="stable")[: params.article_passages]])
    if context is not None:  # the articles the conversation was answered from stay in play
        position = index.doc_position
        previous = np.array([position[d] for d in context.doc_ids if d in position], dtype=np.int64)
        from_articles = sorted_distinct(np.concatenate([from_articles, articles_passages(index, previous)]))
    near_ids, near_cosines = nearest_sentences(query, params.foreign_dense_candidates if foreign else params.dense_candidates)
    from_vectors = sentence_passages(index, near_ids)
    pool = sorted_distinct(np.concatenate([passage_ids, from_articles, from_vectors]))
    if not len(pool):
        return NO_MATCH
    sentence_ids, sentence_tf, passage_tf = index.passage_counts(pool, columns)
    term_weights = weights * index.idf_[columns]
    pool_scores = ((index.tf_weight(passage_tf) @ term_weights) / index.p_norm_[pool]).astype(np.float32)
    # The candidates: the best passages by exact cosine, and every passage of the best articles.
    chosen = np.zeros(len(pool), dtype=bool)
    chosen[np.argsort(-pool_scores, kind="stable")[: params.candidate_passages]] = True
    chosen[np.searchsorted(pool, from_articles)] = True
    chosen[np.searchsorted(pool, from_vectors)] = True
    pool, pool_scores = pool[chosen], pool_scores[chosen]

    # Each sentence takes the cosine of the best candidate passage holding it; sentences of no candidate go.
    best_passage = np.full(len(sentence_ids), -1.0, dtype=np.float32)
    low, high = np.searchsorted(sentence_ids, index.pass_first_[pool]), np.searchsorted(sentence_ids, index.pass_last_[pool] + 1)
    spans = high - low
    members = ranges(low, spans)
    np.maximum.at(best_passage, members, np.repeat(pool_scores, spans))
    kept = best_passage >= 0
    sentence_ids, sentence_tf, best_passage = sentence_ids[kept], sentence_tf[kept], best_passage[kept]
    sentence_scores = (index.tf_weight(sentence_tf) @ term_weights) / index.s_norm_[sentence_ids]
    norms = index.s_norm_[sentence_ids]
    pivot = params.length_pivot
    sentence_scores = sentence_scores * norms / ((1 - pivot) * index.mean_sentence_norm + pivot * norms)

    # Every article in play, scored exactly: the best by BM25 and those of the candidate sentences.
    doc_of_sentence = index.sent_doc_[sentence_ids]
    articles = sorted_distinct(np.concatenate([articles, doc_of_sentence]))
    article_bm25, title_tf, article_tf = index.document_scores(articles, columns, weights)
    forms = word_forms(index, words, columns, related, column_of)
    if topic:  # the topic's words count at their lower weight in every share
        forms.weights[len(words) - len(topic) :] *= params.context_weight
    held_columns = sentence_tf > 0
    candidates = Candidates(
        sentence_ids=sentence_ids,
        sentence_cosine=sentence_scores.astype(np.float32),
        passage_cosine=best_passage,
        held=forms.holds(held_columns, forms.own),
        held_related=forms.holds(held_columns, forms.own | forms.related),
        held_exact=forms.holds(held_columns, forms.exact),
        word_weights=forms.weights,
        word_known=forms.known,
        article=np.searchsorted(articles, doc_of_sentence),
        article_bm25=article_bm25,
        article_held=forms.holds(article_tf > 0, forms.own | forms.related),
        title_held=forms.holds(title_tf > 0, forms.own | forms.related),
        flags=index.s_flags_[sentence_ids],
        wanted_cue=wanted_cue(question_type(question)),
        number=index.sent_number_[sentence_ids],
        chars=(index.sent_end_[sentence_ids] - index.sent_start_[sentence_ids]).astype(np.float32),
        semantic=semantic_evidence(index, query, sentence_ids, articles, near_ids, near_cosines),
    )
    return candidates, words


def nearest_sentences(query: QueryVector | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The sentences nearest the question's vector with a positive cosine (a row without a vector has 0):
    (ids, cosines), best first; none without a question vector."""
    if query is None or k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    ids, cosines = query.dense.nearest(query.vector, k)
    return ids[cosines > 0], cosines[cosines > 0]


def sentence_passages(index: TfidfIndex, sentence_ids: np.ndarray) -> np.ndarray:
    """A passage holding each of these sentences (the last one starting at or before it), sorted and distinct."""
    if not len(sentence_ids):
        return np.zeros(0, np.int64)
    starts = np.searchsorted(index.pass_first_, sentence_ids.astype(index.pass_first_.dtype), side="right")  # needles of its type
    passages = np.clip(starts - 1, 0, max(index.n_passages - 1, 0))
    return sorted_distinct(passages[index.pass_last_[passages] >= sentence_ids]).astype(np.int64)


def semantic_evidence(
    index: TfidfIndex, query: QueryVector | None, sentence_ids: np.ndarray, articles: np.ndarray, near_ids: np.ndarray,
    near_cosines: np.ndarray,
) -> SemanticEvidence | None:
    if query is None:
        return None
    dense = query.dense
    neighbours = np.zeros(len(sentence_ids), dtype=np.float32)
    for step in (-1, 1):
        beside = np.clip(sentence_ids + step, 0, index.n_sentences - 1)
        same = (index.sent_doc_[beside] == index.sent_doc_[sentence_ids]) & (beside != sentence_ids)
        neighbours = np.maximum(neighbours, np.where(same, dense.sentences.cosines(query.vector, beside), 0))
    sentences, titles = dense.sentences.vectors(sentence_ids), dense.titles.vectors(index.sent_doc_[sentence_ids])
    # |s + a·t|² = 1 + a² + 2a s·t for unit vectors (a zero vector, nothing to read, counts as unit: no harm)
    share = TITLE_SHARE
    with_title = (sentences @ query.vector + share * (titles @ query.vector)) / np.sqrt(
        1 + share * share + 2 * share * np.einsum("ij,ij->i", sentences, titles)
    )
    return SemanticEvidence(
        sentence=sentences @ query.vector,
        neighbours=neighbours,
        with_title=with_title.astype(np.float32),
        title=dense.titles.cosines(query.vector, articles),
        nearest=float(near_cosines[0]) if len(near_cosines) else 0.0,
        found=np.isin(sentence_ids, near_ids),
        complete=bool(dense.sentences.has[sentence_ids].all() and dense.titles.has[articles].all()),
        encoder=dense.model,
    )


def candidate_articles(
    index: TfidfIndex, columns: np.ndarray, weights: np.ndarray, params: RankingParams
) -> tuple[np.ndarray, np.ndarray]:
    """The best living articles by BM25 over their word terms, as the rarest terms' postings score them: (ids, scores)."""
    word = index.is_word_[columns]
    if not word.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    ids, scores, _ = index.document_candidates(columns[word], weights[word], params.article_posting_budget)
    if index.has_dead and len(ids):
        alive = index.doc_alive_[ids]
        ids, scores = ids[alive], scores[alive]
    if len(ids) > params.candidate_articles:
        best = np.argpartition(-scores, params.candidate_articles)[: params.candidate_articles]
        ids, scores = ids[best], scores[best]
    return ids.astype(np.int64), scores


def articles_passages(index: TfidfIndex, articles: np.ndarray) -> np.ndarray:
    """Every passage of these articles (passages are stored article by article)."""
    # The needles in the table's own type: another one makes searchsorted convert the whole table each call.
    dtype = index.pass_first_.dtype
    first = np.searchsorted(index.pass_first_, index.doc_first[articles].astype(dtype), side="left")
    last = np.searchsorted(index.pass_first_, index.doc_last[articles].astype(dtype), side="right")
    return np.concatenate([np.arange(f, e) for f, e in zip(first.tolist(), last.tolist(), strict=True)] or [np.zeros(0, np.int64)])


def question_vector(
    index: TfidfIndex, question: str, words: list[str], params: RankingParams, extra: dict[str, float] | None = None
) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[str, ...]], dict[str, int]]:
    """The question's known terms and their weights (sorted columns), each word's related words, and the column
    of every term looked up (-1: not in the vocabulary).

    Related words join the question at a share of a word's weight (``RankingParams``): a colloquial word's
    MSA equivalents, a word's synonyms, a noun's broken plural or singular (off by default); a related word
    held by a sentence counts as the word (``word_forms``). ``extra`` words (a conversation's topic) join
    with their own share, their whole-word terms only.
    """
    terms = index.params.text_analyzer()(question)
    share: dict[str, float] = dict.fromkeys(terms, 1.0)
    for word, weight in (extra or {}).items():
        for term in token_features(word):
            share[term] = max(share.get(term, 0.0), weight)
    related: dict[str, tuple[str, ...]] = {}
    for word in words:
        forms, synonyms = WORDNET.related(word)
        groups = tuple(
            (group, weight)
            for group, weight in ((COLLOQUIAL.equivalents(word), params.colloquial_weight), (forms, params.plural_weight),
                                  (synonyms, params.synonym_weight))
            if weight > 0
        )
        related[word] = tuple(w for group, _ in groups for w in group)
        for group, weight in groups:
            for other in group:
                for term in token_features(other):  # whole-word terms: a related word's n-grams are noise
                    share[term] = max(share.get(term, 0.0), weight)
    looked_up = list(share)
    column_of = dict(zip(looked_up, index.vocabulary_.columns(looked_up).tolist(), strict=True))
    columns, weights = index.weigh([column_of[t] for t in looked_up + terms])  # the question's own terms keep their counts
    if len(columns) and len(share) > len(set(terms)):
        factor = {c: share[t] for t, c in column_of.items() if c >= 0}
        weights = weights * np.array([factor[c] for c in columns.tolist()], dtype=np.float32)
        weights /= np.linalg.norm(weights)
    return columns, weights, related, column_of


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
class WordForms:
    """Which of the query's columns are forms of each question word: its own forms, its related words' forms,
    and the word as written; each word's weight, and whether the corpus knows it."""

    own: np.ndarray  # (query columns × words) bool
    related: np.ndarray
    exact: np.ndarray
    weights: np.ndarray  # max idf of the word's own forms; the highest idf for a word the corpus never uses
    known: np.ndarray

    def holds(self, held_columns: np.ndarray, forms: np.ndarray) -> np.ndarray:
        """(rows × words): the row holds one of the word's ``forms``.

        A product of zeros and ones in float32, exact (a row has far fewer than 2**24 columns): BLAS makes it
        ten times faster than numpy's integer product for a long question's 500 sentences × 150 columns. Its
        floating-point flags are ignored: OpenBLAS can leave a spurious "invalid value" behind, never a wrong sum.
        """
        with np.errstate(all="ignore"):
            return (held_columns.astype(np.float32) @ forms.astype(np.float32)) > 0


def word_forms(
    index: TfidfIndex, words: list[str], columns: np.ndarray, related: dict[str, tuple[str, ...]], column_of: dict[str, int] | None = None
) -> WordForms:
    """Which query columns are forms of each word; ``column_of``: terms already looked up (the rest are looked up here)."""
    shape = (len(columns), len(words))
    own, other, exact = np.zeros(shape, bool), np.zeros(shape, bool), np.zeros(shape, bool)
    weights = np.full(len(words), index.max_idf, dtype=np.float32)
    position = {int(c): i for i, c in enumerate(columns.tolist())}
    features_of = {w: token_features(w) for w in [*words, *(r for word in words for r in related.get(word, ()))]}
    column_of = dict(column_of or {})
    wanted = list(dict.fromkeys(f for features in features_of.values() for f in features if f not in column_of))
    if wanted:
        column_of.update(zip(wanted, index.vocabulary_.columns(wanted).tolist(), strict=True))

    def mark(matrix: np.ndarray, word: int, features: tuple[str, ...]) -> list[int]:
        found = [position[c] for c in map(column_of.get, features) if c in position]
        matrix[found, word] = True
        return found

    for i, word in enumerate(words):
        features = features_of[word]
        mark(exact, i, features[:1])
        found = mark(own, i, features)
        for other_word in related.get(word, ()):
            found += mark(other, i, features_of[other_word])
        if found:  # a word known only through a related word (مات through توفي) weighs what that word weighs
            weights[i] = index.idf_[columns[found]].max()
    other &= ~own
    return WordForms(own, other, exact, weights, (own | other).any(axis=0))
