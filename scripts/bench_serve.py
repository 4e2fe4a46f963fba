#!/usr/bin/env python
"""`rag serve` under load on loopback: throughput, latency and errors at 1, 8, 32 and 64
concurrent clients, beside the single client as the baseline; and a soak run.

    python scripts/bench_serve.py                    # load: 1, 8, 32, 64 clients (about 5 min)
    python scripts/bench_serve.py --soak 2000        # 2,000 requests in a row (about 20 min)
    python scripts/bench_serve.py --clients 1,8 --requests 2 --json

A real `rag serve` process (default model, the seeds index: `rag index seeds` builds
indexes/default when it is missing) on a free port, with its default limits. Load: each
client sends a fixed number of requests, one after another, over a fresh connection each,
and the run stops by itself. Throughput is answers per second of wall time; the ratio is
against the single client's rate in the same run, after one untimed serial pass over the
questions (it warms the caches and gives the reference answers). A wrong answer is one
whose text or citations differ from the serial answer to the same question; errors are
counted by kind: HTTP 503/504/other statuses, connection resets, refusals, client time-outs.

Soak: N requests in a row from one client; the server's peak RSS (VmHWM) after request 200
and after request N, and every answer compared with `rag ask --json`'s (answer text and
citations), each question asked once through the CLI first.

Targets (issue #16): 0 resets and 0 wrong answers at 64 clients; throughput at 8 clients
>= 0.9 x the single-client rate; peak RSS after N within 5 % of that after 200.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENT_TIMEOUT = 600  # seconds: far beyond the server's own time limit, only against a hang


def questions_from(gold: Path, n: int) -> list[str]:
    lines = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [g["question"] for g in lines][:n]


def key(reply: dict) -> tuple:
    """What must not differ between two answers to one question."""
    return reply["answer"], reply["abstained"], tuple((c["source"], c["start"], c["end"]) for c in reply["citations"])


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask(url: str, question: str) -> tuple[str, dict | None]:
    """(outcome, reply): "ok" with the reply, else the kind of error."""
    req = urllib.request.Request(
        url + "/ask", data=json.dumps({"question": question}).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=CLIENT_TIMEOUT) as resp:
            return "ok", json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        exc.read()
        return f"http {exc.code}", None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ConnectionResetError):
            return "reset", None
        if isinstance(reason, ConnectionRefusedError):
            return "refused", None
        if isinstance(reason, TimeoutError):
            return "client timeout", None
        return f"error {type(reason).__name__}", None
    except ConnectionResetError:
        return "reset", None
    except TimeoutError:
        return "client timeout", None
    except (OSError, ValueError) as exc:  # a connection cut mid-reply, a broken body
        return f"error {type(exc).__name__}", None


class Server:
    """A `rag serve` child process on a free port."""

    def __init__(self, index: Path, extra: list[str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_serve.{self.port}.log", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rag", "serve", "--index", str(index), "--port", str(self.port), *extra],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        end = time.monotonic() + 300
        while True:
            if self.proc.poll() is not None:
                self.log.seek(0)
                sys.exit(f"rag serve exited: {self.log.read()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5):
                    break
            except OSError:
                if time.monotonic() > end:
                    self.stop()
                    sys.exit("rag serve did not start within 300 s")
                time.sleep(0.2)

    def status(self, field: str) -> int:
        """A VmHWM / VmRSS line of the server's /proc status, in kB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise RuntimeError(f"no {field} in /proc/{self.proc.pid}/status")

    def metrics(self) -> dict:
        with urllib.request.urlopen(self.url + "/metrics", timeout=30) as resp:
            return json.loads(resp.read())

    def stop(self) -> int:
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def load_round(url: str, clients: int, per_client: int, questions: list[str], serial: dict[str, tuple]) -> dict:
    """clients threads, per_client requests each, one after another; returns the figures."""
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    wrong: list[tuple[str, tuple, tuple]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(c: int) -> None:
        barrier.wait()
        for i in range(per_client):
            q = questions[(c * per_client + i) % len(questions)]
            t = time.perf_counter()
            outcome, reply = ask(url, q)
            dt = time.perf_counter() - t
            with lock:
                outcomes[outcome] += 1
                if reply is not None:
                    latencies.append(dt)
                    got = key(reply)
                    if q not in serial:
                        serial[q] = got  # the single-client round fills the reference
                    elif got != serial[q]:
                        wrong.append((q, serial[q], got))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ok = outcomes.pop("ok", 0)
    return {
        "clients": clients,
        "requests": clients * per_client,
        "answered": ok,
        "seconds": round(wall, 2),
        "throughput": round(ok / wall, 3) if wall else None,
        "p50_ms": _ms(percentile(latencies, 50)),
        "p95_ms": _ms(percentile(latencies, 95)),
        "p99_ms": _ms(percentile(latencies, 99)),
        "errors": dict(outcomes),
        "resets": outcomes.get("reset", 0),
        "wrong": len(wrong),
        "wrong_examples": [{"question": q, "serial": s[0], "got": g[0]} for q, s, g in wrong[:3]],
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows)


def run_load(args, index: Path, log) -> dict:
    questions = questions_from(args.gold, args.questions)
    counts = [int(c) for c in args.clients.split(",")]
    server = Server(index, args.serve_args)
    serial: dict[str, tuple] = {}
    rounds = []
    try:
        # each question once, one after another, untimed: the serial reference answers, and
        # every cache warm (the single client's rate is then not charged for first questions)
        log(f"serial reference: each of {len(questions)} questions once")
        load_round(server.url, 1, len(questions), questions, serial)
        log(f"1 client x {args.baseline_requests} requests (baseline)")
        base = load_round(server.url, 1, args.baseline_requests, questions, serial)
        rounds.append(base)
        for c in counts:
            if c == 1:
                continue
            log(f"{c} clients x {args.requests} requests")
            rounds.append(load_round(server.url, c, args.requests, questions, serial))
        metrics = server.metrics()
    finally:
        code = server.stop()
    for r in rounds:
        r["ratio"] = round(r["throughput"] / base["throughput"], 3) if base["throughput"] else None
    at = {r["clients"]: r for r in rounds}
    targets = {}
    if 64 in at:
        targets["64 clients: 0 resets and 0 wrong answers"] = at[64]["resets"] == 0 and at[64]["wrong"] == 0
    if 8 in at:
        targets["8 clients: throughput >= 0.9 x single client"] = (at[8]["ratio"] or 0) >= 0.9
    return {
        "mode": "load",
        "questions": len(questions),
        "rounds": rounds,
        "server_metrics": metrics,
        "server_exit_code": code,
        "targets": targets,
    }


def run_soak(args, index: Path, log) -> dict:
    questions = questions_from(args.gold, args.questions)
    log(f"reference: `rag ask --json` once per question ({len(questions)})")
    reference = {}
    for q in questions:
        out = subprocess.run(
            [sys.executable, "-m", "rag", "ask", q, "--index", str(index), "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        reference[q] = key(json.loads(out.stdout))
    server = Server(index, args.serve_args)
    outcomes: Counter[str] = Counter()
    differ: list[tuple[str, tuple, tuple]] = []
    checkpoints: dict[int, dict] = {}
    marks = sorted({min(200, args.soak), args.soak})
    latencies: list[float] = []
    t0 = time.perf_counter()
    try:
        log(f"{args.soak} requests in a row")
        for i in range(1, args.soak + 1):
            q = questions[(i - 1) % len(questions)]
            t = time.perf_counter()
            outcome, reply = ask(server.url, q)
            latencies.append(time.perf_counter() - t)
            outcomes[outcome] += 1
            if reply is not None and key(reply) != reference[q]:
                differ.append((q, reference[q], key(reply)))
            if i in marks:
                checkpoints[i] = {"peak_rss_mb": server.status("VmHWM") / 1024, "rss_mb": server.status("VmRSS") / 1024}
                log(f"after request {i}: peak RSS {checkpoints[i]['peak_rss_mb']:.1f} MB")
        wall = time.perf_counter() - t0
    finally:
        code = server.stop()
    first, last = checkpoints[marks[0]], checkpoints[marks[-1]]
    growth = last["peak_rss_mb"] / first["peak_rss_mb"] - 1
    ok = outcomes.pop("ok", 0)
    return {
        "mode": "soak",
        "requests": args.soak,
        "answered": ok,
        "seconds": round(wall, 1),
        "p50_ms": _ms(percentile(latencies, 50)),
        "p95_ms": _ms(percentile(latencies, 95)),
        "errors": dict(outcomes),
        "identical_to_rag_ask": ok - len(differ),
        "different": [{"question": q, "rag_ask": r[0], "served": g[0]} for q, r, g in differ[:3]],
        "checkpoints": {str(k): {m: round(v, 1) for m, v in c.items()} for k, c in checkpoints.items()},
        "peak_rss_growth": round(growth, 4),
        "server_exit_code": code,
        "targets": {
            f"peak RSS after {marks[-1]} within 5 % of after {marks[0]}": abs(growth) <= 0.05,
            "every answer identical to rag ask --json's": not differ and ok == args.soak,
        },
    }


def print_load(report: dict) -> None:
    rows = [
        ["clients", "requests", "answered", "answers/s", "x single", "p50 ms", "p95 ms", "p99 ms", "errors", "wrong"]
    ]
    for r in report["rounds"]:
        errors = ", ".join(f"{n} {kind}" for kind, n in r["errors"].items()) or "0"
        rows.append(
            [str(r["clients"]), str(r["requests"]), str(r["answered"]), f"{r['throughput']:.2f}", f"{r['ratio']:.2f}"]
            + [str(r[k]) for k in ("p50_ms", "p95_ms", "p99_ms")]
            + [errors, str(r["wrong"])]
        )
    print(table(rows))
    m = report["server_metrics"]
    print(
        f"server /metrics at the end: {m['answered']} answered, errors {m['errors']}, "
        f"model time per answer p50 {m['service_ms']['p50']} ms; exit code {report['server_exit_code']}"
    )
    for r in report["rounds"]:
        for ex in r["wrong_examples"]:
            print(f"wrong at {r['clients']} clients: {ex}")


def print_soak(report: dict) -> None:
    c = report["checkpoints"]
    marks = list(c)
    print(
        f"soak: {report['requests']} requests in a row in {report['seconds']} s, {report['answered']} answered "
        f"(p50 {report['p50_ms']} ms, p95 {report['p95_ms']} ms), errors {report['errors'] or 0}; "
        f"{report['identical_to_rag_ask']} identical to rag ask --json"
    )
    print(
        f"server peak RSS after request {marks[0]}: {c[marks[0]]['peak_rss_mb']} MB, after {marks[-1]}: "
        f"{c[marks[-1]]['peak_rss_mb']} MB ({report['peak_rss_growth']:+.2%}); RSS now "
        f"{c[marks[0]]['rss_mb']} -> {c[marks[-1]]['rss_mb']} MB; exit code {report['server_exit_code']}"
    )
    for ex in report["different"]:
        print(f"different from rag ask: {ex}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", type=Path, default=ROOT / "indexes" / "default", help="built from seeds/ if missing")
    p.add_argument("--gold", type=Path, default=ROOT / "gold" / "seeds.jsonl", help="questions to ask")
    p.add_argument("--questions", type=int, default=24, help="how many of the gold questions (cycled)")
    p.add_argument("--clients", default="1,8,32,64", help="concurrent clients per round")
    p.add_argument("--requests", type=int, default=4, help="requests per client (rounds above one client)")
    p.add_argument("--baseline-requests", type=int, default=32, help="requests of the single client")
    p.add_argument("--soak", type=int, default=0, help="instead: this many requests in a row (e.g. 2000)")
    p.add_argument("--serve-arg", dest="serve_args", action="append", default=[], help="passed to rag serve")
    p.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    args = p.parse_args()
    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))
    index = args.index
    if not (index / "manifest.json").exists():
        log(f"building {index} from seeds/")
        subprocess.run([sys.executable, "-m", "rag", "index", "seeds", "--index", str(index)], cwd=ROOT, check=True)
    report = run_soak(args, index, log) if args.soak else run_load(args, index, log)
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
    else:
        (print_soak if args.soak else print_load)(report)
        for target, met in report["targets"].items():
            print(f"target {'met' if met else 'MISSED'}: {target}")
    return 0 if all(report["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
