"""Shared builders: a private copy of the seed corpus and a retriever over it, on real SQLite files."""

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from retrieval import Retriever
from retrieval.ranking.model import Models
from retrieval.semantic.encoder import E5Encoder

PROJECT = Path(__file__).resolve().parent.parent
SEEDS = PROJECT / "data"
SEED_DEV = PROJECT.parent / "shared" / "eval" / "seed-dev.jsonl"
XQUAD = PROJECT.parent / "shared" / "eval" / "xquad.ar.json"
NEWS_DEV = PROJECT.parent / "shared" / "eval" / "news-dev.jsonl"
NEWS_CORPUS = PROJECT.parent / "shared" / "eval" / "news-corpus"
CONVERSATIONS = PROJECT.parent / "shared" / "eval" / "conversations-dev.jsonl"
OFF_TOPIC = PROJECT / "tests" / "data" / "offtopic-seeds.jsonl"  # written for issue 15, never fitted on


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A writable copy of the seed articles."""
    target = tmp_path / "data"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def open_retriever(tmp_path: Path) -> Callable[[Path], Retriever]:
    """Open a retriever on a database in tmp_path and sync it with the given folder."""

    def build(folder: Path) -> Retriever:
        retriever = Retriever.open(tmp_path / "isnad.db")
        retriever.sync(folder)
        return retriever

    return build


@pytest.fixture(scope="session")
def seed_retriever(tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    """One retriever over the seed corpus for read-only tests."""
    retriever = Retriever.open(tmp_path_factory.mktemp("seeds") / "isnad.db")
    retriever.sync(SEEDS)
    return retriever


@pytest.fixture(scope="session")
def semantic_seed_retriever(tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    """One retriever over the seed corpus with the real sentence encoder, every sentence embedded (~5 s)."""
    retriever = Retriever.open(tmp_path_factory.mktemp("semantic-seeds") / "isnad.db", encoder=E5Encoder())
    retriever.sync(SEEDS)
    retriever.embed()
    return retriever


def with_thresholds(models: Models, answer: float, closest: float) -> Models:
    """The same models with both variants' thresholds set (to force "no answer" or "closest")."""
    semantic = replace(models.semantic, answer_threshold=answer, closest_threshold=closest) if models.semantic else None
    return replace(models, lexical=replace(models.lexical, answer_threshold=answer, closest_threshold=closest), semantic=semantic)
