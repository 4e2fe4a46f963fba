"""The `rag` command. Parses options, calls one function, prints. Domain errors become one
line on stderr and a non-zero exit; heavy libraries are imported inside the commands so
`rag --help` stays instant."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from rag import __version__
from rag.config import Settings, load_settings
from rag.errors import RagError


def fail_cleanly(fn):
    """Turn domain errors and Ctrl-C into one line and an exit code, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RagError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    return wrapper


index_option = click.option(
    "--index", "index_dir", type=click.Path(path_type=Path), help="Index folder (default: indexes/default)."
)
model_option = click.option(
    "--model",
    help="GGUF model file, or a name `rag models` lists (default: models/*.gguf, else the packaged Gemma 3 270M).",
)
gpu_option = click.option("--n-gpu-layers", type=int, help="Layers to offload to a GPU (0 = none, -1 = all).")
llm_url_option = click.option(
    "--llm-url",
    help="OpenAI-compatible server (llama-server, vLLM, Ollama) to use "
    "instead of the in-process model, e.g. http://gpu-box:8080.",
)
k_option = click.option("-k", "k", type=click.IntRange(min=1), help="Chunks to retrieve (default 5).")
plain_option = click.option(
    "--plain", is_flag=True, help="No colours or live updates (automatic when output is not a terminal)."
)
html_option = click.option(
    "--html",
    type=click.Path(path_type=Path),
    help="Also write a self-contained HTML report: plots and a table of every question.",
)
retriever_option = click.option(
    "--retriever",
    type=click.Choice(["hybrid", "dense", "lexical"]),
    default="hybrid",
    show_default=True,
    help="Retrieval method (the others are for comparison).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rag")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    help="Settings file (default: ./rag.toml, else $RAG_HOME/rag.toml); `rag config` shows them.",
)
@click.pass_context
def main(ctx, config_file):
    """Ask questions about a folder of articles; get short answers with checked citations."""
    ctx.obj = config_file  # read by command_settings(), so each command's load is where its errors are caught


def command_settings(**options) -> Settings:
    """This command's settings: its options over RAG_* over the rag.toml (--config or found)."""
    return load_settings(config=click.get_current_context().find_root().obj, **options)


@main.command("index")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@index_option
@click.option("--embedder", help="'use' (default, multilingual), 'minilm', or a sentence-transformers model folder.")
@click.option("--full", is_flag=True, help="Re-embed every file, not only the added and changed ones.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes that embed, each on its share of the cores (README: Speed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@fail_cleanly
def index_cmd(paths, index_dir, embedder, full, workers, as_json):
    """Index articles under PATHS (default: seeds/): .txt, .md, .html, .pdf, .docx, .epub."""
    from rag import app

    settings = command_settings(index=index_dir, embedder=embedder)
    paths = list(paths) or [settings.home / "seeds"]
    bars: dict[str, Any] = {}  # click's ProgressBar, by label

    def bar_for(label: str, least: int) -> Callable[[int, int], None]:
        """progress(done, total) as a bar on stderr, on a terminal and for `least` items or more."""

        def progress(done: int, total: int) -> None:
            if not sys.stderr.isatty() or total < least:
                return
            bar = bars.get(label)
            if bar is None:
                bar = bars[label] = click.progressbar(length=total, label=label, file=sys.stderr)
                bar.__enter__()
            bar.update(done - bar.pos)

        return progress

    try:
        report = app.index(
            paths, settings, bar_for("Embedding chunks", 1), full, bar_for("Reading documents", 10), workers=workers
        )
    finally:
        for bar in bars.values():
            bar.__exit__(None, None, None)
    for s in report.skipped:
        click.echo(f"warning: skipped {s.source}: {s.reason}", err=True)
    for s in report.notes:
        click.echo(f"note: {s.source}: {s.reason}", err=True)
    if as_json:
        from dataclasses import asdict

        out = {**asdict(report), "skipped_by_kind": report.skipped_by_kind, "index": str(settings.index_dir)}
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    counts = f"{report.added} added, {report.changed} changed, {report.removed} removed, {report.unchanged} unchanged"
    if not report.written:
        click.echo(
            f"Index {settings.index_dir} is up to date ({report.files} files, {report.chunks} chunks; {counts})."
        )
    else:
        click.echo(
            f"Indexed {report.files} files ({report.chunks} chunks) into {settings.index_dir} "
            f"in {report.seconds:.1f} s: {counts}; {report.embedded} texts embedded."
        )
    click.echo(format_counts(report.formats, report.skipped_by_kind))


def format_counts(formats: dict[str, int], skipped: dict[str, int]) -> str:
    """ "By format: 5 html, 1 pdf. Skipped 3: 2 not supported, 1 encrypted." """
    line = "By format: " + ", ".join(f"{n} {fmt}" for fmt, n in formats.items()) + "."
    if skipped:
        line += f" Skipped {sum(skipped.values())}: " + ", ".join(f"{n} {kind}" for kind, n in skipped.items()) + "."
    return line


@main.command("ask")
@click.argument("question")
@index_option
@k_option
@model_option
@gpu_option
@click.option("--embedder", help="Expected embedder; it must be the one the index was built with.")
@retriever_option
@llm_url_option
@click.option("--server", help="Ask a running `rag serve` at this URL instead of loading the models here.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object and nothing else.")
@plain_option
@click.option("-v", "--verbose", is_flag=True, help="Say which model and index are used, and timings.")
@fail_cleanly
def ask_cmd(question, index_dir, k, model, n_gpu_layers, embedder, retriever, llm_url, server, as_json, plain, verbose):
    """Answer QUESTION from the indexed articles, with citations."""
    from rag.cli.render import StreamPrinter, answer_json, render_answer, render_sources
    from rag.errors import UsageError

    if not question.strip():
        raise UsageError('the question is empty; ask e.g. rag ask "Wer leitet Scale AI?"')
    tty = sys.stdout.isatty() and not as_json and not plain
    if server:
        from rag.serve.client import ask_server
        from rag.types import answer_from_json

        reply = ask_server(server, question, k, retriever)
        if as_json:
            click.echo(json.dumps(reply, ensure_ascii=False))
        else:
            answer = answer_from_json(reply)
            click.echo(render_answer(answer, color=tty))
            click.echo(render_sources(answer, color=tty))
        return
    from rag import app

    settings = command_settings(
        index=index_dir, k=k, model=model, n_gpu_layers=n_gpu_layers, embedder=embedder, llm_url=llm_url
    )
    answerer = app.open_answerer(settings)
    printer = StreamPrinter(enabled=tty)
    answer = answerer.ask(question, retriever=retriever, on_text=printer)
    for warning in answer.warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(answer_json(answer), ensure_ascii=False))
        return
    printer.finish(render_answer(answer, color=tty))
    click.echo(render_sources(answer, color=tty))
    if verbose:
        _describe(answerer, answer)


@main.command("chat")
@index_option
@k_option
@model_option
@gpu_option
@llm_url_option
@plain_option
@fail_cleanly
def chat_cmd(index_dir, k, model, n_gpu_layers, llm_url, plain):
    """Ask questions one after another; models stay loaded, follow-ups may refer back."""
    from rag import app
    from rag.cli import chat

    settings = command_settings(index=index_dir, k=k, model=model, n_gpu_layers=n_gpu_layers, llm_url=llm_url)
    answerer = app.open_answerer(settings)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    session = chat.ChatSession(answerer, color=sys.stdout.isatty() and not plain)
    click.echo(chat.banner(answerer))
    chat.run(session, interactive)


def _describe(answerer, answer) -> None:
    from rag.llm.llama import gpu_offload_supported

    m = answerer.retriever.index.manifest
    t = answer.timings
    info = answerer.handle.info
    size = "size unknown" if info.n_params is None else f"{info.n_params / 1e6:.0f}M parameters"
    role = (
        "writes answers"
        if answerer.generates()
        else "answers come from the evidence; the model translates questions and copies the answer span"
    )
    lines = [
        f"index: {answerer.settings.index_dir} ({m['chunks']} chunks, embedder {m['embedder']['name']}, "
        f"{m.get('vector_index', 'flat-ip')})",
        f"model: {answerer.handle.path} ({'chat template' if info.chat_template else 'completion prompt'}, "
        f"{size}, {role})",
        f"gpu offload: {'available' if gpu_offload_supported() else 'not available in this llama.cpp build'}"
        f" (n_gpu_layers={answerer.settings.n_gpu_layers})",
        f"mode: {answer.mode}; retrieve {t['retrieve_ms']:.0f} ms, model {t['generate_ms']:.0f} ms, "
        f"load {t.get('load_ms', 0):.0f} ms; {t['prompt_tokens']} prompt tokens "
        f"({t.get('prompt_tokens_evaluated', 0)} evaluated, the rest cached) + {t['completion_tokens']} written"
        + (
            " over "
            + ", ".join(
                f"{kind} {p['prompt_tokens']}+{p['completion_tokens']} in {p['ms']:.0f} ms"
                for kind, p in t.get("prompts", {}).items()
            )
            if t.get("prompts")
            else ""
        ),
        f"why: {answer.trace.get('reason') or 'evidence confidence'} "
        f"{'' if answer.confidence is None else f'{answer.confidence:.2f}'}; question kind {answer.trace.get('kind')}",
    ]
    for line in lines:
        click.echo(click.style(line, dim=True), err=True)


@main.command("eval")
@click.argument("gold", type=click.Path(path_type=Path))
@index_option
@model_option
@k_option
@gpu_option
@retriever_option
@llm_url_option
@click.option("--retrieval-only", is_flag=True, help="Skip generation; report retrieval figures only (fast).")
@click.option(
    "--strategy",
    type=click.Choice(["checked", "baseline"]),
    default="checked",
    show_default=True,
    help="baseline: top-k chunks into the prompt and the model trusted, for comparison.",
)
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate only the first N questions.")
@click.option("--sample", type=click.IntRange(min=1), help="Evaluate N questions spread evenly over the file.")
@click.option("--out", type=click.Path(path_type=Path), help="Write the whole report (summary + items) as JSON.")
@click.option("--compare", type=click.Path(path_type=Path), help="An earlier report: print each figure beside it.")
@html_option
@fail_cleanly
def eval_cmd(
    gold,
    index_dir,
    model,
    k,
    n_gpu_layers,
    retriever,
    llm_url,
    retrieval_only,
    strategy,
    limit,
    sample,
    out,
    compare,
    html,
):
    """Score rag against a gold question set (JSON Lines)."""
    from rag import app
    from rag.eval import run as evaluate

    items = evaluate.sample(evaluate.load_gold(gold), sample)[:limit]
    old_report = evaluate.load_report(compare) if compare else None
    check_writable(html)
    settings = command_settings(index=index_dir, k=k, model=model, n_gpu_layers=n_gpu_layers, llm_url=llm_url)
    report = app.evaluate(items, settings, retrieval_only, retriever, strategy, progress=_eval_progress(len(items)))
    report["config"]["gold"] = str(gold)
    click.echo(evaluate.table(report["summary"], old_report and old_report["summary"]))
    if out:
        app.write_json(out, report)
        click.echo(f"Report written to {out}", err=True)
    if html:
        write_html(html, report, old_report)


def check_writable(path: Path | None) -> None:
    """Fail before a long run, not after it, when the report cannot be written there."""
    from rag.errors import UsageError

    if path is not None and (path.is_dir() or not path.resolve().parent.is_dir()):
        raise UsageError(f"cannot write {path}: give a file name in an existing folder")


def write_html(path: Path, report: dict, before: dict | None) -> None:
    from rag import app
    from rag.report.html import render

    app.write_text(path, render(report, before))
    click.echo(f"HTML report written to {path}", err=True)


@main.command("report")
@click.argument("report_file", metavar="REPORT", type=click.Path(path_type=Path))
@click.option("--compare", type=click.Path(path_type=Path), help="An earlier report: show what changed since then.")
@html_option
@fail_cleanly
def report_cmd(report_file, compare, html):
    """Show a saved `rag eval --out` report: its figures, or as an HTML page (--html)."""
    from rag.eval import run as evaluate

    report = evaluate.load_report(report_file)
    before = evaluate.load_report(compare) if compare else None
    check_writable(html)
    click.echo(evaluate.table(report["summary"], before and before["summary"]))
    if html:
        write_html(html, report, before)


def _eval_progress(total: int) -> Callable[[int, int, float | None], None] | None:
    """A progress bar with the running accuracy, on a terminal only."""
    if not sys.stderr.isatty():
        return None

    def show(accuracy: float | None) -> str:
        return "" if accuracy is None else f"accuracy {accuracy:.2f}"

    bar = click.progressbar(length=total, label="Evaluating", file=sys.stderr, item_show_func=show)

    def progress(done: int, n: int, accuracy: float | None) -> None:
        if done == 1:
            bar.__enter__()
        bar.current_item = accuracy
        bar.update(1)
        if done == n:
            bar.__exit__(None, None, None)

    return progress


@main.command("doctor")
@index_option
@model_option
@click.option("--json", "as_json", is_flag=True, help="Print the checks as a JSON list and nothing else.")
@fail_cleanly
def doctor_cmd(index_dir, model, as_json):
    """Check that packages, models and the index are in place, intact and offline."""
    from rag.cli import doctor

    checks = doctor.run_all(command_settings(index=index_dir, model=model))
    if as_json:
        click.echo(json.dumps([c.to_json() for c in checks], ensure_ascii=False, indent=1))
    else:
        _print_checks(checks)
    sys.exit(1 if doctor.failed(checks) else 0)


def _print_checks(checks) -> None:
    """One line per check; marks and colour on a UTF-8 terminal, plain words when piped."""
    fancy = sys.stdout.isatty() and "utf" in (sys.stdout.encoding or "").lower()
    marks = {"ok": "✓", "warn": "!", "fail": "✗"} if fancy else {"ok": "ok", "warn": "warn", "fail": "FAIL"}
    colours = {"ok": "green", "warn": "yellow", "fail": "red"}
    mark_width = max(len(m) for m in marks.values())
    width = max(len(c.name) for c in checks)
    for c in checks:
        mark = click.style(marks[c.status].ljust(mark_width), fg=colours[c.status], bold=c.status != "ok")
        click.echo(f"{mark} {c.name.ljust(width)}  {c.detail}")
        if c.fix and c.status != "ok":
            click.echo(f"{' ' * (mark_width + width + 3)}{'→' if fancy else '->'} fix: {c.fix}")
    n = {s: sum(c.status == s for c in checks) for s in marks}
    click.echo(
        f"{len(checks)} checks: {n['ok']} ok, {n['warn']} warning{'' if n['warn'] == 1 else 's'}, {n['fail']} failed"
    )


@main.command("serve")
@index_option
@model_option
@gpu_option
@llm_url_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--max-queue",
    default=64,
    show_default=True,
    type=click.IntRange(min=1),
    help="Requests admitted at once (waiting for the model or being answered); more get 503 + Retry-After.",
)
@click.option(
    "--timeout",
    "time_limit",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds a request may wait and be answered; 504 after.",
)
@fail_cleanly
def serve_cmd(index_dir, model, n_gpu_layers, llm_url, host, port, max_queue, time_limit):
    """Keep the models warm: a page to ask in at /, and POST /ask answered with the `rag ask --json` object.

    GET /health and GET /metrics (requests, errors, queue, latency) report on it; a rebuilt
    index is switched to between answers; SIGTERM or Ctrl-C answers what was admitted, then
    exits 0."""
    from rag import app
    from rag.serve.http import RagHTTPServer, serve
    from rag.serve.service import AnswerService

    settings = command_settings(index=index_dir, model=model, n_gpu_layers=n_gpu_layers, llm_url=llm_url)
    answerer = app.open_answerer(settings)
    answerer.warm_up()
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host}: anyone who can reach it can query the index", err=True)
    try:
        server = RagHTTPServer(AnswerService(answerer), host, port, max_queue, time_limit)
    except OSError as exc:
        raise RagError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port") from None
    click.echo(
        f'rag serve: open {server.url}/ in a browser, or POST {{"question": ...}} to /ask; /health, /metrics; '
        f"up to {max_queue} requests queued, {time_limit:g} s each; Ctrl-C stops",
        err=True,
    )
    try:
        code = serve(server)
    finally:
        server.server_close()
    sys.exit(code)


@main.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object and nothing else.")
@fail_cleanly
def models_cmd(as_json):
    """List the GGUF models here, by the names --model takes.

    The packaged default, models/, and the GGUF files Ollama, LM Studio and the Hugging Face
    cache downloaded; only their headers are read."""
    from dataclasses import asdict

    from rag.llm.catalog import choose_model, discover

    settings = command_settings()
    found, skipped = discover(models_dir=settings.models_dir)
    try:
        default = choose_model(settings.model, settings.models_dir)
    except RagError as exc:  # a bad RAG_MODEL: the list is what helps to fix it
        default = None
        click.echo(f"warning: {exc}", err=True)
    marks = [default is not None and m.path.resolve() == default.path.resolve() for m in found]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "models": [{**m.to_json(), "default": d} for m, d in zip(found, marks)],
                    "skipped": [asdict(s) for s in skipped],
                },
                ensure_ascii=False,
            )
        )
        return
    for s in skipped:
        click.echo(f"note: skipped {s.where}: {s.reason}", err=True)
    click.echo(_models_table(found, marks))
    if default is not None:
        click.echo(f"* = what `rag ask` uses without --model ({default.origin}); pass another name with --model NAME")


def _models_table(found, marks) -> str:
    def size(n: int) -> str:
        return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"

    def params(n: int) -> str:
        return "?" if not n else f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M"

    rows = [("", "NAME", "SOURCE", "SIZE", "QUANT", "CTX", "PARAMS", "CHAT TEMPLATE")]
    rows += [
        (
            "*" if mark else "",
            m.name,
            m.source,
            size(m.size),
            m.quantization,
            str(m.context_length or "?"),
            params(m.n_params),
            "yes" if m.chat_template else "no",
        )
        for m, mark in zip(found, marks)
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


@main.command("import-squad")
@click.argument("squad_file", type=click.Path(path_type=Path))
@click.option(
    "--corpus",
    "corpus_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for one text file per article.",
)
@click.option(
    "--gold", "gold_file", type=click.Path(path_type=Path), required=True, help="Gold JSON Lines file to write."
)
@fail_cleanly
def import_squad_cmd(squad_file, corpus_dir, gold_file):
    """Turn a SQuAD-format file (SQuAD, XQuAD, GermanQuAD) into a corpus and a gold file."""
    from rag.eval.squad import convert

    articles, questions = convert(squad_file, corpus_dir, gold_file)
    click.echo(f"Wrote {articles} articles to {corpus_dir} and {questions} questions to {gold_file}.")


@main.command("config")
@index_option
@k_option
@model_option
@gpu_option
@click.option("--embedder", help="Embedder, as `rag index --embedder` takes it.")
@llm_url_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object and nothing else.")
@fail_cleanly
def config_cmd(index_dir, k, model, n_gpu_layers, embedder, llm_url, as_json):
    """Show the effective settings and where each comes from (default, rag.toml, RAG_*, option)."""
    from dataclasses import asdict

    from rag.config import explain_settings

    found = explain_settings(
        config=click.get_current_context().find_root().obj,
        index=index_dir,
        k=k,
        model=model,
        n_gpu_layers=n_gpu_layers,
        embedder=embedder,
        llm_url=llm_url,
    )
    values = {
        name: None if v is None else v if isinstance(v, (bool, int)) else str(v)
        for name, v in asdict(found.settings).items()
    }
    if as_json:
        click.echo(
            json.dumps(
                {
                    "config_file": found.config_file and str(found.config_file),
                    "settings": {n: {"value": v, "source": found.sources[n]} for n, v in values.items()},
                },
                ensure_ascii=False,
            )
        )
        return
    if found.config_file:
        click.echo(f"config file: {found.config_file}")
    else:
        click.echo(f"config file: none (looked for {', '.join(map(str, found.looked_for))})")
    width = max(map(len, values))
    for name, value in values.items():
        shown = "-" if value is None else json.dumps(value, ensure_ascii=False)
        click.echo(f"{name:<{width}}  {shown:<24}  {found.sources[name]}")
