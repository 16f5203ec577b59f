"""isnad retrieval: Arabic articles in, verbatim cited answer sentences out. No Telegram here.

    from retrieval import Retriever
    retriever = Retriever.open(Path("isnad.db"))
    retriever.sync(Path("data"))
    answer = retriever.ask("متى زار بينيت موسكو؟")

Data flow: articles.py (read files) → chunking.py / sentences.py (spans) → store.py (SQLite)
→ index.py (TF-IDF passages, BM25 articles; arabic.py analyzer) → ranking.py (candidates; lexicon.py and
wordnet.py for related words) → features.py → model.py (fitted with training.py) → engine.py (the API).
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
