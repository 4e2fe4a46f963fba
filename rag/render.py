"""Answers for people: the streamed answer, then a numbered list of sources."""

from __future__ import annotations

import shutil
import sys

import click

from rag.types import Answer

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


def render_sources(answer: Answer, color: bool = True) -> str:
    lines = []
    note = MODE_NOTE.get(answer.mode) if not answer.conflict else None
    if note:
        lines.append(click.style(f"({note})", fg="yellow") if color else f"({note})")
    if answer.conflict:
        msg = "(the sources disagree: each value is cited with its source)"
        lines.append(click.style(msg, fg="yellow") if color else msg)
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            ref = f"[{c.id}] {c.source}:{c.start}-{c.end}"
            lines.append(click.style(ref, fg="cyan") if color else ref)
            if c.quote[:60] not in answer.answer:  # a quote the answer shows already is not repeated
                lines.append(f"    „{c.quote}“")
    return "\n".join(lines)
