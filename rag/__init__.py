"""rag: offline question answering with checked citations over a folder of articles."""

__version__ = "0.1.0"
