"""Plain data passed between the stages of the pipeline."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Document:
    source: str  # the path as it was indexed, e.g. "seeds/004_a2122adb65b12522.txt"
    text: str
    sha256: str


@dataclass(frozen=True)
class Chunk:
    source: str
    start: int  # character offsets into the document: text[start:end] == self.text
    end: int
    text: str


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # the fused score that ranked it
    dense: float | None = None
    lexical: float | None = None
    # the chunk's sentences: (start, end, cosine similarity to the question), document offsets
    sentences: tuple[tuple[int, int, float], ...] = ()


@dataclass(frozen=True)
class Passage:
    """A numbered piece of evidence as shown to the model: [id] source: text."""

    id: int
    source: str
    start: int
    end: int
    text: str
    score: float = 0.0


@dataclass(frozen=True)
class Citation:
    id: int
    source: str
    start: int
    end: int
    quote: str

    @classmethod
    def of(cls, passage: Passage) -> "Citation":
        return cls(passage.id, passage.source, passage.start, passage.end, passage.text)


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    mode: str  # "generated" | "extractive" | "abstained"
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[Hit] = field(default_factory=list)
    conflict: bool = False
    timings: dict = field(default_factory=dict)
    confidence: float | None = None  # evidence confidence behind answering or abstaining
    trace: dict = field(default_factory=dict)  # why: question kind, features, decision (for -v and eval)
    warnings: list[str] = field(default_factory=list)  # e.g. the question was cut to fit

    def to_json(self) -> dict:
        """The object `rag ask --json` prints (and `rag eval` stores per question)."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "mode": self.mode,
            "conflict": self.conflict,
            "confidence": None if self.confidence is None else round(self.confidence, 3),
            "citations": [asdict(c) for c in self.citations],
            "retrieved": [
                {"source": h.chunk.source, "start": h.chunk.start, "end": h.chunk.end,
                 "score": round(float(h.score), 6)}
                for h in self.retrieved
            ],
            "timings": self.timings,
            "warnings": self.warnings,
        }


def answer_from_json(d: dict) -> Answer:
    """An Answer rebuilt from `rag ask --json` output (what `rag serve` sends), for display."""
    return Answer(d["question"], d["answer"], d["abstained"], d.get("mode", ""),
                  [Citation(**c) for c in d.get("citations", [])], [], d.get("conflict", False),
                  d.get("timings", {}), d.get("confidence"), warnings=d.get("warnings", []))
