"""The embedding worker: a background thread that embeds what the corpus has no vector for yet, a round at a
time, while questions are answered (lexically where vectors are missing). It never stops the bot: a failed
round is logged and retried later.

    worker = EmbeddingWorker(retriever, E5Encoder)
    worker.start()      # a small corpus is embedded before start returns; a large one in the background
    worker.poke()       # after a sync: there is new work
    worker.stop()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from retrieval.engine import Retriever
from retrieval.semantic.encoder import Encoder, EncoderUnavailable

log = logging.getLogger(__name__)
# A corpus missing at most this many vectors is embedded in the foreground (~25 s on two cores); past it, in
# the background.
FOREGROUND_TEXTS = 500
ROUND_SECONDS = 30.0  # a round ends after this long, so that a new index's texts are picked up
RETRY_SECONDS = 60.0  # after a failed round


class EmbeddingWorker:
    """Embeds the retriever's missing vectors with an encoder of its own (a question never waits behind a batch)."""

    def __init__(self, retriever: Retriever, make_encoder: Callable[[], Encoder]) -> None:
        self.retriever = retriever
        self.make_encoder = make_encoder
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._encoder: Encoder | None = None

    def start(self, foreground_texts: int = FOREGROUND_TEXTS) -> None:
        """Embed now if little is missing, then keep embedding in the background whatever comes later."""
        have, total = self.retriever.vector_coverage
        if 0 < total - have <= foreground_texts:
            self._round(seconds=None)
        self._thread = threading.Thread(target=self._run, name="isnad-embedding", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """There may be new texts (a sync, an upload): look again."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            have, total = self.retriever.vector_coverage
            if have < total:
                ok = self._round(ROUND_SECONDS)
                if ok:
                    continue
                self._wake.wait(RETRY_SECONDS)
            else:
                self._encoder = None  # nothing left: give its memory back until there is work again
                self._wake.wait()
            self._wake.clear()

    def _round(self, seconds: float | None) -> bool:
        """One round of embedding; False when it failed (logged)."""
        try:
            if self._encoder is None:
                self._encoder = self.make_encoder()
            report = self.retriever.embed(self._encoder, seconds=seconds, stop=self._stopping)
        except EncoderUnavailable as why:
            log.warning("the embedding worker has no encoder (%s); answers use words only", why)
            self._stopping.set()
            return False
        except Exception:  # the worker must never take the bot down: logged, retried later
            log.exception("embedding failed; retrying in %.0f s, answers use words meanwhile", RETRY_SECONDS)
            return False
        if report.embedded:
            log.info(
                "embedded %d texts in %.1f s (%.1f/s); %d of %d still without a vector",
                report.embedded, report.seconds, report.rate, report.remaining, report.total,
            )
        return True
