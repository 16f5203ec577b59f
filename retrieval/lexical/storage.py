"""The saved index's folder: raw little-endian arrays, appended chunk by chunk and memory-mapped when read,
``meta.json`` naming each array's type and length, and an atomic swap of a finished folder into place.

A folder is built as ``<index>.new-XXXX`` beside the index and holds a lock while its builder runs, so a
build killed half-way leaves a folder that the next build recognizes as abandoned and removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import mmap
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from retrieval.lexical.vocabulary import Vocabulary

LOCK_NAME = ".lock"


class ArrayWriter:
    """One array written to ``<name>.bin`` piece by piece; ``length`` counts the values written."""

    def __init__(self, folder: Path, name: str, dtype: np.dtype | type) -> None:
        self.name = name
        self.dtype = np.dtype(dtype)
        self.length = 0
        self._file: IO[bytes] = open(Path(folder) / f"{name}.bin", "wb")  # noqa: SIM115 (closed by close())

    def append(self, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values, dtype=self.dtype)
        self._file.write(memoryview(values).cast("B"))
        self.length += len(values)

    def close(self) -> tuple[str, int]:
        """Flush to disk; the array's (type, length) for ``meta.json``."""
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        return self.dtype.str, self.length


def write_array(folder: Path, name: str, values: np.ndarray) -> tuple[str, int]:
    """A whole array at once; its (type, length)."""
    writer = ArrayWriter(folder, name, values.dtype)
    try:
        writer.append(values)
    finally:
        spec = writer.close()
    return spec


def read_array(folder: Path, name: str, dtype: str, length: int) -> np.ndarray:
    """An array of the folder, memory-mapped read-only (a plain ndarray: slicing an np.memmap costs microseconds
    in its Python hooks).

    The map is advised random access: a question reads a few scattered pages of each array, and a fault would
    otherwise read the device's whole read-ahead window around its page (8 MiB on the machine we measure on),
    filling memory with pages no question asked for. Under a 400 MB memory cap that read-ahead made SaudiNewsNet
    1× answer in 308 ms at p50; advised random, 20 ms.
    """
    dtype_ = np.dtype(dtype)
    if length == 0:
        return np.zeros(0, dtype=dtype_)
    with open(Path(folder) / f"{name}.bin", "rb") as handle:
        mapped = mmap.mmap(handle.fileno(), length * dtype_.itemsize, access=mmap.ACCESS_READ)
    _advise([mapped], "MADV_RANDOM")
    return np.frombuffer(mapped, dtype=dtype_, count=length)


@contextlib.contextmanager
def read_whole(arrays: Iterable[np.ndarray]) -> Iterator[None]:
    """While a pass reads these arrays whole (an incremental sync copying the index), their maps get the
    kernel's default read-ahead back, then random advice again: with random advice and a cold cache, a sync of
    10 articles into SaudiNewsNet 1× read its 585 MiB a page a fault and took 21–22 s instead of 5–7. (Copying
    the 127 MiB of sentence rows from a cold cache: 3.1 s advised random, 5.7 s sequential, 0.16 s normal.)"""
    maps = [base.obj for base in (np.asarray(a).base for a in arrays) if isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)]
    _advise(maps, "MADV_NORMAL")
    try:
        yield
    finally:
        _advise(maps, "MADV_RANDOM")


def _advise(maps: list[mmap.mmap], advice: str) -> None:
    if hasattr(mmap, advice):
        for mapped in maps:
            if not mapped.closed:
                mapped.madvise(getattr(mmap, advice))


class ReadFile:
    """A file of the index read with ``pread``, advised random access: a read leaves its pages in the OS's cache
    (reclaimable, shared with other processes) instead of mapping them and, as a fault does, the cached pages
    around them (64 KiB) into the process."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 (open while the index serves; closed with it)
        if hasattr(os, "posix_fadvise"):  # scattered reads: no read-ahead around them (see read_array)
            os.posix_fadvise(self._file.fileno(), 0, 0, os.POSIX_FADV_RANDOM)


class TextFile(ReadFile):
    """The sentences' UTF-8 texts: a question reads four of them (its quotes). As a memory map, 1,050 questions
    had 64 of SaudiNewsNet's 96 MiB of text mapped."""

    def read(self, start: int, end: int) -> str:
        return self.read_bytes(start, end).decode("utf-8")

    def read_bytes(self, start: int, end: int) -> bytes:
        return os.pread(self._file.fileno(), end - start, start)


class ArrayFile(ReadFile):
    """An array of the folder read a few ranges at a time: posting lists, a question's few dozen of them scattered
    over the largest arrays of the index. Mapped, SaudiNewsNet 1×'s 1,050 questions kept 159 of its passage
    postings' 194 MiB in the serving process; read, none, and what they read stays in the OS's cache."""

    def __init__(self, path: Path, dtype: np.dtype | str) -> None:
        super().__init__(path)
        self.dtype = np.dtype(dtype)

    def gather(self, starts: list[int], stops: list[int]) -> np.ndarray:
        """Values ``start:stop`` of each (start, stop) in turn, in one array."""
        size, fd = self.dtype.itemsize, self._file.fileno()
        pieces = [os.pread(fd, (stop - start) * size, start * size) for start, stop in zip(starts, stops, strict=True)]
        data = b"".join(pieces)
        if len(data) != (sum(stops) - sum(starts)) * size:
            raise OSError(f"{self._file.name} ends before the ranges read from it: the index is damaged")
        return np.frombuffer(data, dtype=self.dtype)


def read_range(folder: Path, name: str, dtype: str, start: int, stop: int) -> np.ndarray:
    """Values ``start:stop`` of an array, read rather than mapped: a build reads its spills back a block at a
    time, and mapped pages would stay in its RSS until the end."""
    dtype_ = np.dtype(dtype)
    return np.fromfile(Path(folder) / f"{name}.bin", dtype=dtype_, count=stop - start, offset=start * dtype_.itemsize)


def new_staging(folder: Path) -> tuple[Path, IO[bytes]]:
    """A fresh, locked staging folder beside ``folder`` (abandoned ones removed first); the lock's handle."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(folder)
    staging = Path(tempfile.mkdtemp(prefix=folder.name + ".new-", dir=folder.parent))
    lock = open(staging / LOCK_NAME, "wb")  # noqa: SIM115 (held until the folder is swapped in or removed)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return staging, lock


def remove_abandoned(folder: Path) -> None:
    """Remove the staging folders of builds that died (no process holds their lock)."""
    for staging in Path(folder).parent.glob(folder.name + ".new-*"):
        try:
            with open(staging / LOCK_NAME, "rb") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(staging, ignore_errors=True)
        except BlockingIOError:
            continue  # another process is building into it
        except FileNotFoundError:
            shutil.rmtree(staging, ignore_errors=True)


def swap_in(staging: Path, folder: Path) -> None:
    """Replace ``folder`` with the finished ``staging`` folder: two renames, the old one removed after."""
    (staging / LOCK_NAME).unlink(missing_ok=True)
    retired = folder.with_name(folder.name + f".old-{os.getpid()}")
    shutil.rmtree(retired, ignore_errors=True)
    if folder.exists():
        folder.rename(retired)
    staging.rename(folder)
    shutil.rmtree(retired, ignore_errors=True)


def write_metadata(
    folder: Path, params: dict, corpus_version: str, stale_documents: int, arrays: dict[str, tuple[str, int]],
    vocabulary: Vocabulary, documents: dict[str, list],
) -> None:
    """The vocabulary, the articles' ids, titles and urls, and ``meta.json`` with the parameters and each array's
    type and length (written last: a folder without it is no index)."""
    arrays = arrays | vocabulary.save(folder)
    with open(folder / "documents.json", "w", encoding="utf-8") as handle:
        json.dump(documents, handle, ensure_ascii=False)
    meta = {"params": params, "corpus_version": corpus_version, "stale_documents": stale_documents, "arrays": arrays}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
