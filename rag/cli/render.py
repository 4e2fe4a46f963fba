"""Answers for people: the streamed answer, then a numbered list of sources."""

from __future__ import annotations

import os
import re
import shutil
import sys

import click

from rag.answer.prompts import NO_ANSWER
from rag.lang.lexicon import CITATION_MARKER
from rag.lang.text import marker_ids
from rag.types import Answer, Citation

MODE_NOTE = {
    "extractive": "quoted from the source",
    "abstained": "no source answers this",
}


class StreamPrinter:
    """Prints model output as it arrives (on a terminal), and replaces it with the checked
    answer if the check changed it: unchecked text must not stay on screen."""

    def __init__(self, enabled: bool, out=None):
        self.enabled = enabled
        self.out = out or sys.stdout
        self.shown = ""

    def __call__(self, piece: str) -> None:
        if not self.enabled:
            return
        piece = piece.replace("\n", " ") if not self.shown.strip() else piece
        self.shown += piece
        self.out.write(click.style(piece, dim=True))
        self.out.flush()

    def finish(self, final: str) -> None:
        if self.enabled and self.shown:
            width = shutil.get_terminal_size((80, 24)).columns
            rows = sum(max(1, -(-len(line) // width)) for line in self.shown.split("\n"))
            # move to the start of the first streamed row and clear to the end of the screen
            self.out.write("\r" + (f"\x1b[{rows - 1}F" if rows > 1 else "") + "\x1b[J")
        click.echo(final, file=self.out)


# one colour per citation number, the same in the answer's markers and the source list
COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "red")


def colour_of(n: int) -> str:
    return COLOURS[(n - 1) % len(COLOURS)]


QUOTE_MARKS = {"de": ("„", "“")}  # other languages: straight double quotes
CONFLICT_NOTE = {"de": "Die Quellen nennen unterschiedliche Werte: ", "en": "The sources give different figures: "}


def answer_text(answer: Answer) -> str:
    """The answer as one line of text with citation markers: the sources' differing values,
    or a short answer before the quoted evidence, or the model's own words, or that the
    sources don't say."""
    if answer.conflict_values:
        values = "; ".join(f"{v.value} [{v.citation}]" for v in answer.conflict_values)
        return f"{CONFLICT_NOTE[answer.lang]}{values}."
    if answer.quote is not None:
        open_q, close_q = QUOTE_MARKS.get(answer.lang, ('"', '"'))
        lead = f"{answer.short.text} – " if answer.short else ""
        return f"{lead}{open_q}{answer.quote.text}{close_q} [{answer.quote.citation}]"
    return answer.text or NO_ANSWER[answer.lang]


def answer_json(answer: Answer) -> dict:
    """The object `rag ask --json` prints, `rag serve` sends and `rag eval` stores: the
    answer's parts and, as "answer", its text."""
    parts = answer.to_json()
    return {"question": parts.pop("question"), "answer": answer_text(answer), **parts}


def render_answer(answer: Answer, color: bool = True) -> str:
    """The answer text with each citation marker in its source's colour."""
    text = answer_text(answer)
    if not color:
        return text

    def paint(m: re.Match) -> str:
        inner = ", ".join(click.style(str(i), fg=colour_of(i), bold=True) for i in marker_ids(m))
        return f"[{inner}]"

    return CITATION_MARKER.sub(paint, text)


def short_path(source: str) -> str:
    """A source as the reader would type it: relative to here when it is below here."""
    try:
        return os.path.relpath(source) if not os.path.relpath(source).startswith("..") else source
    except ValueError:  # another drive (Windows)
        return source


def readable_name(source: str) -> bool:
    """Whether a file name tells a reader what the file is: "dossier.pdf" does,
    "001_6b933f934256e5b5.pdf" (digits and a hash) does not."""
    stem = os.path.splitext(os.path.basename(source))[0].lower()
    return bool(re.search(r"[^\W\d_]{3,}", re.sub(r"[0-9a-f]{8,}", " ", stem)))


def citation_ref(c: Citation) -> str:
    """Where a citation points: "file.txt:120-250" for a text file; for a document, its page
    or section, and its title when the file name says nothing: "dossier.pdf p. 3 (120-250)"."""
    path = short_path(c.source)
    where = f" p. {c.page}" if c.page is not None else f" § {c.section}" if c.section else ""
    named = ""
    if c.title and not readable_name(c.source) and not (c.section or "").startswith(c.title):
        named = f" „{c.title}“"
    if not (where or named):
        return f"{path}:{c.start}-{c.end}"
    return f"{path}{named}{where} ({c.start}-{c.end})"


def one_line(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(1, width - 1)].rstrip() + "…"


def render_sources(answer: Answer, color: bool = True, width: int | None = None) -> str:
    """A note on how the answer was made, then one line per source: number, file:span and
    the quoted passage cut to the terminal's width."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    lines = []
    note = MODE_NOTE.get(answer.mode) if not answer.conflict else None
    if answer.conflict:
        note = "the sources disagree: each value is cited with its source"
    if note:
        lines.append(click.style(f"({note})", fg="yellow") if color else f"({note})")
    if answer.citations:
        lines.append("")
        lines.append(click.style("Sources:", bold=True) if color else "Sources:")
        for c in answer.citations:
            ref = f"[{c.id}] {citation_ref(c)}"
            room = width - len(ref) - 4
            quote = f"„{one_line(c.quote, max(room - 2, 20))}“"
            if color:
                ref = click.style(f"[{c.id}]", fg=colour_of(c.id), bold=True) + click.style(
                    f" {citation_ref(c)}", fg=colour_of(c.id)
                )
                quote = click.style(quote, dim=True)
            lines.append(f"{ref}  {quote}")
    return "\n".join(lines)


def cited_passages(answer: Answer) -> list[dict]:
    """Each citation's whole passage with its document offsets, as the page and the eval
    report show it (the cited span is the citation's start-end inside it)."""
    out = []
    for c in answer.citations:
        chunk = answer.passage_of(c)
        if chunk is not None:
            out.append(
                {"citation": c.id, "source": chunk.source, "start": chunk.start, "end": chunk.end, "text": chunk.text}
            )
    return out


def render_passage(answer: Answer, n: int, color: bool = True) -> str:
    """Citation n's whole retrieved passage, the quoted span highlighted (`/show N`)."""
    cited = next((c for c in answer.citations if c.id == n), None)
    if cited is None:
        have = ", ".join(str(c.id) for c in answer.citations) or "none"
        return f"no citation [{n}] in the last answer (citations: {have})"
    chunk = answer.passage_of(cited)
    head = f"[{n}] {citation_ref(cited)}"
    if chunk is None:  # the answer came from a server: only the quote is known
        return f"{head}\n{cited.quote}"
    a, b = cited.start - chunk.start, cited.end - chunk.start
    before, span, after = chunk.text[:a], chunk.text[a:b], chunk.text[b:]
    if color:
        head = click.style(head, fg=colour_of(n), bold=True)
        span = click.style(span, fg=colour_of(n), bold=True, underline=True)
    else:
        span = f">>>{span}<<<"
    return f"{head} (passage {chunk.start}-{chunk.end})\n{before}{span}{after}"
