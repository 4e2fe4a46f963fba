"""Chunks in, a searchable index out: embedders, the lexical index, the on-disk store, building, search."""
