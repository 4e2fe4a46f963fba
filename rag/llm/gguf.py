"""Read a GGUF file's header (metadata and tensor shapes) without loading the model.

Used to decide how a model is prompted and how far it is trusted before paying for
loading it, and to describe models (`rag models`). Format:
https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
# ggml tensor types -> quantisation names (the common ones)
_QUANT = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    6: "Q5_0",
    7: "Q5_1",
    8: "Q8_0",
    10: "Q2_K",
    11: "Q3_K",
    12: "Q4_K",
    13: "Q5_K",
    14: "Q6_K",
    15: "Q8_K",
    30: "BF16",
}
# general.file_type -> the name people know a GGUF by
_FILE_TYPE = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    32: "BF16",
}
_SKIP_ARRAYS_LONGER_THAN = 64  # token lists: skipped, only their length is kept


class GGUFError(ValueError):
    pass


@dataclass
class GGUFInfo:
    path: Path
    metadata: dict = field(default_factory=dict)
    n_params: int = 0

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name") or self.path.stem)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "?"))

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if value is not None else None

    @property
    def chat_template(self) -> str | None:
        return self.metadata.get("tokenizer.chat_template")

    @property
    def quantization(self) -> str:
        ft = self.metadata.get("general.file_type")
        return _FILE_TYPE.get(ft, f"type {ft}") if ft is not None else "?"


class _Reader:
    """Sequential reads over a memory-mapped file (header parsing touches only the pages it
    reads; a 262k-entry token list is skipped in ~50 ms)."""

    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def read(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise GGUFError("file ends inside its header")
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += size
        return value

    def string(self) -> str:
        n = self.read("<Q")
        if n > 1 << 24 or self.pos + n > len(self.buf):
            raise GGUFError("implausible string length in header")
        text = bytes(self.buf[self.pos : self.pos + n]).decode("utf-8", "replace")
        self.pos += n
        return text

    def skip_strings(self, n: int) -> None:
        buf, pos, unpack = self.buf, self.pos, struct.unpack_from
        for _ in range(n):
            pos += 8 + unpack("<Q", buf, pos)[0]
        if pos > len(buf):
            raise GGUFError("file ends inside its header")
        self.pos = pos

    def value(self, vtype: int):
        if vtype in _SCALARS:
            return self.read(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype, n = self.read("<I"), self.read("<Q")
            if n > _SKIP_ARRAYS_LONGER_THAN:
                if etype in _SCALARS:
                    self.pos += n * struct.calcsize(_SCALARS[etype])
                elif etype == _STRING:
                    self.skip_strings(n)
                else:
                    for _ in range(n):
                        self.value(etype)
                return f"<{n} items>"
            return [self.value(etype) for _ in range(n)]
        raise GGUFError(f"unknown metadata value type {vtype}")


def read_info(path: Path) -> GGUFInfo:
    import mmap

    path = Path(path)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        r = _Reader(buf)
        if buf[:4] != b"GGUF":
            raise GGUFError(f"{path} is not a GGUF file")
        r.pos = 4
        version = r.read("<I")
        if version < 2:
            raise GGUFError(f"{path}: GGUF version {version} is too old")
        n_tensors, n_kv = r.read("<Q"), r.read("<Q")
        info = GGUFInfo(path)
        for _ in range(n_kv):
            key = r.string()
            info.metadata[key] = r.value(r.read("<I"))
        for _ in range(n_tensors):
            r.string()
            dims = [r.read("<Q") for _ in range(r.read("<I"))]
            r.read("<I")  # tensor type
            r.read("<Q")  # offset
            count = 1
            for d in dims:
                count *= d
            info.n_params += count
        del r  # release the buffer before the mapping closes
    return info
