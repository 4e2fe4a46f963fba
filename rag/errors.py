"""Domain errors. Each message is one line that says what to do about it."""


class RagError(Exception):
    """Base class: the CLI prints the message and exits non-zero, without a traceback."""

    exit_code = 1


class UsageError(RagError):
    """The user asked for something that cannot work (empty question, bad option value)."""

    exit_code = 2


class IndexMissing(RagError):
    pass


class IndexMismatch(RagError):
    """The index was built with different settings than the ones in use now."""


class IndexCorrupt(RagError):
    pass


class ModelError(RagError):
    """A model file is missing, unreadable or not a model."""


class CorpusError(RagError):
    """Nothing readable to index."""


class IndexBusy(RagError):
    """Another process is writing the index."""


class Cancelled(RagError):
    """The one who asked gave up (a server's client left, or its time limit passed): the
    model stopped at its next token."""
