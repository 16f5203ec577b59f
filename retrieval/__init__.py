"""isnad retrieval: Arabic articles in, verbatim cited answer sentences out. No Telegram here.

    from retrieval import Retriever
    retriever = Retriever.open(Path("isnad.db"))
    retriever.sync(Path("data"))
    answer = retriever.ask("متى زار بينيت موسكو؟")

Data flow, a sub-package a stage:
    corpus/     articles.py (read files) → chunking.py (paragraphs, sentences, passages) → store.py (SQLite)
    text/       arabic.py (normalization, analyzer; isri.py roots), sentences.py, lexicon.py and wordnet.py (related words)
    lexical/    index.py (TF-IDF over passages and sentences, BM25 over articles)
    semantic/   encoder.py (sentence encoder) → vectors.py (stored, served) ← worker.py (embeds in the background)
    question/   language.py (which language), conversation.py (a follow-up and what it leans on)
    ranking/    rank.py (candidates, scoring, the answer decision) → features.py → model.py (model.json)
    evaluation/ scoring.py (hit@k on question sets), training.py (isnad train), bench.py (isnad bench)
    engine.py   Retriever: the one API the bot calls
"""

from retrieval.answers import Answer, CorpusStats, IngestReport, Problem, Quote
from retrieval.engine import Retriever
from retrieval.errors import IndexMismatch, RetrievalError, StoreError

__all__ = [
    "Answer",
    "CorpusStats",
    "IndexMismatch",
    "IngestReport",
    "Problem",
    "Quote",
    "RetrievalError",
    "Retriever",
    "StoreError",
]
