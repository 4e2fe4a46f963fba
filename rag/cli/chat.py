"""`rag chat`: questions and commands in a loop, over one Answerer whose models stay loaded.

The answerer makes a follow-up self-contained from the previous turn (answer/policy.py).
Ctrl-C cancels the running answer and returns to the prompt; Ctrl-D leaves. Arrow keys
browse the history (readline), which is kept between sessions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import click

from rag.answer.policy import turn_of, understood
from rag.cli.render import StreamPrinter, render_answer, render_passage, render_sources
from rag.errors import RagError
from rag.types import Answer

HELP = """Ask a question in German or English; a follow-up may refer to the previous one.
  /sources     the last answer's sources
  /show N      the whole passage of citation N, the quoted part highlighted
  /k N         retrieve N chunks per question (now {k})
  /model [M]   show the model, or switch to M (a GGUF path or a name from `rag models`)
  /help        this list
  /quit        leave (or Ctrl-D); Ctrl-C cancels a running answer"""


class ChatSession:
    def __init__(self, answerer, color: bool, echo: Callable[[str], None] = click.echo):
        self.answerer = answerer
        self.color = color
        self.echo = echo
        self.k = answerer.settings.k
        self.answers: list[Answer] = []

    @property
    def last(self) -> Answer | None:
        return self.answers[-1] if self.answers else None

    def handle(self, line: str) -> bool:
        """Act on one input line; False when the session should end."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("/"):
            return self.command(line)
        self.ask(line)
        return True

    def ask(self, question: str) -> None:
        # the answerer completes a follow-up and applies the follow-up rule; the completed
        # question is shown before the (possibly long) wait for its answer
        previous = turn_of(self.last) if self.last else None
        asked = understood(question, previous)
        if asked != question:
            self.echo(self._dim(f"(understood as: {asked})"))
        printer = StreamPrinter(enabled=self.color)
        try:
            answer = self.answerer.ask(question, k=self.k, on_text=printer, previous=previous)
        except KeyboardInterrupt:
            printer.finish(self._dim("(cancelled)"))
            return
        except RagError as exc:
            printer.finish(f"Error: {exc}")
            return
        for warning in answer.warnings:
            self.echo(f"warning: {warning}")
        printer.finish(render_answer(answer, self.color))
        self.echo(render_sources(answer, self.color))
        self.answers.append(answer)

    def command(self, line: str) -> bool:
        name, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        name = name.lower()
        if name in ("quit", "exit", "q"):
            return False
        if name in ("help", "h", "?"):
            self.echo(HELP.format(k=self.k))
        elif name == "sources":
            self.echo(
                render_sources(self.last, self.color)
                if self.last and self.last.citations
                else "no sources yet: ask a question first"
            )
        elif name == "show":
            if not self.last:
                self.echo("nothing to show yet: ask a question first")
            elif not arg.isdigit():
                self.echo("usage: /show N, with N a citation number of the last answer")
            else:
                self.echo(render_passage(self.last, int(arg), self.color))
        elif name == "k":
            if not arg.isdigit() or int(arg) < 1:
                self.echo(f"usage: /k N with N ≥ 1 (now {self.k})")
            else:
                self.k = int(arg)
                self.echo(f"k = {self.k}")
        elif name == "model":
            self._model(arg)
        else:
            self.echo(f"unknown command /{name}; /help lists the commands")
        return True

    def _model(self, arg: str) -> None:
        from rag import app

        if arg:
            settings = replace(self.answerer.settings, model=arg, llm_url=None)
            try:
                handle = app.model_handle(settings)
            except RagError as exc:
                self.echo(f"Error: {exc}")
                return
            self.answerer.use_model(settings, handle)
        handle = self.answerer.handle
        info = handle.info
        size = "" if info.n_params is None else f", {info.n_params / 1e6:.0f}M parameters"
        kind = "chat template" if info.chat_template else "completion prompt"
        self.echo(f"model: {handle.path} ({kind}{size})")

    def _dim(self, text: str) -> str:
        return click.style(text, dim=True) if self.color else text


def history_file() -> Path:
    from rag.index.embedders import cache_dir

    return cache_dir() / "chat_history"


def read_lines(interactive: bool):
    """A function reading one line after a prompt; with readline's editing and history
    on a terminal."""
    if not interactive:
        return input
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input
        return input
    path = history_file()
    try:
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(1000)

    def read(prompt: str) -> str:
        line = input(prompt)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)
        except OSError:
            pass  # history is a convenience
        return line

    return read


def run(session: ChatSession, interactive: bool) -> None:
    read = read_lines(interactive)
    prompt = click.style("? ", fg="green", bold=True) if session.color else "? "
    while True:
        try:
            line = read(prompt)
        except EOFError:  # Ctrl-D
            session.echo("")
            return
        except KeyboardInterrupt:  # Ctrl-C at the prompt: a fresh line, as in a shell
            session.echo("")
            continue
        if not session.handle(line):
            return
        if interactive:
            session.echo("")


def banner(answerer) -> str:
    m = answerer.retriever.index.manifest
    return (
        f"rag chat: {len(m['files'])} files, {m['chunks']} chunks in {answerer.settings.index_dir} "
        f"(model {os.path.basename(str(answerer.handle.path))}). /help for commands, Ctrl-D to leave."
    )
