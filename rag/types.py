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
    start: int  # character offsets into the text rag indexed: the file itself for .txt/.md,
    end: int  # the extracted text (stored with the index) for HTML, PDF, DOCX and EPUB
    quote: str
    page: int | None = None  # the PDF page the quote starts on
    section: str | None = None  # heading path ("Article › Subheading") or EPUB chapter
    title: str | None = None  # the document's title, where its format records one

    @classmethod
    def of(cls, passage: Passage) -> Citation:
        return cls(passage.id, passage.source, passage.start, passage.end, passage.text)

    def to_json(self) -> dict:
        """The citation as JSON; page, section and title only where known, so a text
        file's citation keeps the five members it always had."""
        return {k: v for k, v in asdict(self).items() if v is not None or k not in LOCATION_FIELDS}


LOCATION_FIELDS = ("page", "section", "title")


@dataclass(frozen=True)
class DocumentInfo:
    """What the index keeps of a document beyond its chunks: its format, its metadata and
    the map from its text back to pages and sections (rag/ingest/layout.py)."""

    source: str
    format: str  # "text", "html", "pdf", "docx", "epub"
    sha256: str  # of the original file; its extracted text is stored under this name
    title: str | None = None
    author: str | None = None
    date: str | None = None
    pages: tuple[int, ...] = ()  # offset where each page starts
    sections: tuple[tuple[int, str], ...] = ()  # (offset, heading path) where each section starts
    chars: int = 0  # length of the extracted text

    def to_json(self) -> dict:
        d = asdict(self)
        d["pages"], d["sections"] = list(self.pages), [list(s) for s in self.sections]
        return d

    @classmethod
    def from_json(cls, d: dict) -> DocumentInfo:
        return cls(
            **{
                **d,
                "pages": tuple(d.get("pages", ())),
                "sections": tuple((int(o), str(p)) for o, p in d.get("sections", ())),
            }
        )


@dataclass(frozen=True)
class Query:
    """A question as retrieval reads it: parsed once, before retrieval, by the answer stage."""

    text: str
    lang: str  # detected once; retrieval weighs BM25 down for a question in another language
    terms: tuple[str, ...]  # lexical query terms, through every analyser the index uses


@dataclass(frozen=True)
class Turn:
    """The previous turn of a conversation, which a follow-up may refer to."""

    question: str  # self-contained, as it was answered
    answer: str | None = None  # what it answered (names a following "er" may mean); None: abstained


@dataclass(frozen=True)
class ShortAnswer:
    """A number, date, place or name read off the quoted evidence, leading the quote."""

    text: str
    start: int | None = None  # document offsets in the quoted passage's source, where known
    end: int | None = None


@dataclass(frozen=True)
class Quote:
    text: str  # the evidence sentence, cut to the clauses around the short answer
    citation: int  # the citation it is quoted from


@dataclass(frozen=True)
class ConflictValue:
    value: str
    citation: int


@dataclass
class Answer:
    """An answer in parts; cli/render.py turns it into text (and JSON)."""

    question: str  # as answered: self-contained, cut to fit the model's context
    text: str  # the model's own words with citation markers, when they are the answer; else ""
    abstained: bool
    mode: str  # "generated" | "extractive" | "abstained"
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[Hit] = field(default_factory=list)
    lang: str = "en"  # of the question: the language the answer is given in
    short: ShortAnswer | None = None
    quote: Quote | None = None
    conflict_values: list[ConflictValue] = field(default_factory=list)  # the sources disagree
    reason: str = ""  # why it abstained
    rewritten_from: str | None = None  # a follow-up as asked, when .question was completed from the previous turn
    timings: dict = field(default_factory=dict)
    confidence: float | None = None  # evidence confidence behind answering or abstaining
    trace: dict = field(default_factory=dict)  # why: question kind, features, decision (for -v and eval)
    warnings: list[str] = field(default_factory=list)  # e.g. the question was cut to fit

    @property
    def conflict(self) -> bool:
        return bool(self.conflict_values)

    def passage_of(self, cited: Citation) -> Chunk | None:
        """The retrieved chunk a citation quotes from (None for an answer from a server, whose
        chunks come without their text)."""
        return next(
            (
                h.chunk
                for h in self.retrieved
                if h.chunk.text
                and h.chunk.source == cited.source
                and h.chunk.start <= cited.start
                and cited.end <= h.chunk.end
            ),
            None,
        )

    def to_json(self) -> dict:
        """The parts as JSON. cli/render.answer_json adds the rendered "answer" text: the
        object `rag ask --json` prints, `rag serve` sends and `rag eval` stores."""
        return {
            "question": self.question,
            "abstained": self.abstained,
            "mode": self.mode,
            "conflict": self.conflict,
            "confidence": None if self.confidence is None else round(self.confidence, 3),
            "citations": [c.to_json() for c in self.citations],
            "retrieved": [
                {
                    "source": h.chunk.source,
                    "start": h.chunk.start,
                    "end": h.chunk.end,
                    "score": round(float(h.score), 6),
                }
                for h in self.retrieved
            ],
            "timings": self.timings,
            "warnings": self.warnings,
            "lang": self.lang,
            "text": self.text,
            "short": None if self.short is None else asdict(self.short),
            "quote": None if self.quote is None else asdict(self.quote),
            "conflict_values": [asdict(v) for v in self.conflict_values],
            "reason": self.reason,
            "rewritten_from": self.rewritten_from,
        }


def answer_from_json(d: dict) -> Answer:
    """An Answer rebuilt from `rag ask --json` output (what `rag serve` sends), for display.
    Retrieved chunks come back without their text. From a server without the parts (older
    than them), the rendered "answer" is kept as the answer's text."""
    structured = "text" in d
    return Answer(
        d["question"],
        d["text"] if structured else d["answer"],
        d["abstained"],
        d.get("mode", ""),
        [Citation(**c) for c in d.get("citations", [])],
        [Hit(Chunk(r["source"], r["start"], r["end"], ""), r["score"]) for r in d.get("retrieved", [])],
        lang=d.get("lang", "en"),
        short=ShortAnswer(**d["short"]) if d.get("short") else None,
        quote=Quote(**d["quote"]) if d.get("quote") else None,
        conflict_values=[ConflictValue(**v) for v in d.get("conflict_values", [])],
        reason=d.get("reason", ""),
        rewritten_from=d.get("rewritten_from"),
        timings=d.get("timings", {}),
        confidence=d.get("confidence"),
        warnings=d.get("warnings", []),
    )
