"""The exceptions retrieval raises; callers at the edge (CLI, bot) turn them into clear messages."""


class RetrievalError(RuntimeError):
    """Base of everything retrieval raises on purpose."""


class StoreError(RetrievalError):
    """The database cannot be opened, is from a newer isnad, or the data folder is missing."""


class IndexMismatch(RetrievalError):
    """A saved index was built with other parameters, analyzer or corpus: rebuild, never reuse."""


class ModelMismatch(RetrievalError):
    """The model file is missing, damaged, or was fitted with another analyzer or other features: refit, never guess."""


class IndexWriteError(RetrievalError):
    """The index could not be written (a full or read-only disk): the previous index is kept and still serves."""
