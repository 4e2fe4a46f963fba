"""Does llama.cpp work on this CPU? Load a GGUF and decode a 64-token prompt in a child
process, so a crash (a build with the AMX backend on a Sapphire Rapids Xeon, a wheel compiled
for another CPU) becomes one line naming the cause and the fix instead of killing the caller.

`make setup` runs it after installing (`python -m rag.llm.smoke`), `rag doctor` reports it, and the
test suite runs it first and fails the model tests with its line while the rest still run.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PROMPT_TOKENS = 64
REBUILD = "make rebuild-llama"  # compiles llama.cpp again with rag's flags (scripts/install_llama.py)
_INFO, _DONE = "system_info:", "decoded:"


@dataclass(frozen=True)
class SmokeResult:
    ok: bool
    detail: str  # one line
    fix: str | None = None
    system_info: str = ""
    seconds: float = 0.0

    @property
    def features(self) -> list[str]:
        return features(self.system_info)

    def line(self) -> str:
        """One line for a person: what llama.cpp did, and what to run when it failed."""
        return f"llama.cpp ok: {self.detail}" if self.ok else f"llama.cpp {self.detail}; fix: {self.fix}"


def features(system_info: str) -> list[str]:
    """The CPU features a llama.cpp build uses, from llama_print_system_info():
    'CPU : SSE3 = 1 | AVX2 = 1 | AMX_INT8 = 1 | ...' -> ['SSE3', 'AVX2', 'AMX_INT8']."""
    return re.findall(r"(\w+) = 1\b", system_info)


def has_amx(system_info: str) -> bool:
    return any(f.startswith("AMX") for f in features(system_info))


def signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def diagnose(returncode: int | None, system_info: str, stderr: str, model: str) -> tuple[str, str]:
    """(what went wrong, the command that fixes it) for a child that failed, as one line
    that follows "llama.cpp ". returncode None: it timed out."""
    if returncode is None:
        return f"did not finish decoding {PROMPT_TOKENS} tokens with {model} in time (hung?)", REBUILD
    if returncode < 0:
        crash = f"crashed ({signal_name(returncode)}) decoding a {PROMPT_TOKENS}-token prompt with {model}"
        if has_amx(system_info):
            return (
                f"{crash}: this build uses ggml's AMX backend (AMX_INT8 = 1), which crashes on this CPU "
                "(llama.cpp#20824)",
                f"{REBUILD} (compiles it without AMX)",
            )
        if -returncode == signal.SIGILL:
            return (
                f"{crash}: the build uses instructions this CPU lacks (compiled on another machine?)",
                f"{REBUILD} (compiles it for this CPU)",
            )
        return crash, REBUILD
    if "No module named 'llama_cpp'" in stderr:
        return "is not installed (llama-cpp-python)", "make setup"
    last = next((line for line in reversed(stderr.strip().splitlines()) if line.strip()), "no output")
    return f"failed to decode with {model} ({last.strip()[:200]})", REBUILD


def run(model: Path, timeout: float = 300, env: dict | None = None) -> SmokeResult:
    """Load `model` and decode a 64-token prompt in a child process."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "rag.llm.smoke", "--child", str(model)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        returncode, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        returncode = None
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    info = next((line[len(_INFO) :].strip() for line in out.splitlines() if line.startswith(_INFO)), "")
    done = next((line for line in out.splitlines() if line.startswith(_DONE)), None)
    seconds = time.perf_counter() - t0
    if returncode == 0 and done:
        used = " ".join(f for f in features(info) if f not in ("REPACK", "LLAMAFILE")) or "none reported"
        return SmokeResult(
            True,
            f"decoded {PROMPT_TOKENS} tokens with {model.name} in {done.split()[1]} s; build uses {used}",
            None,
            info,
            seconds,
        )
    detail, fix = diagnose(returncode if returncode != 0 else 1, info, err, model.name)
    return SmokeResult(False, detail, fix, info, seconds)


def default_model() -> Path:
    """The packaged default, assembled if it is not yet (make setup runs this right after
    installing it)."""
    from rag.llm.catalog import assemble_packaged

    return assemble_packaged()


def _child(model: str) -> None:
    """The work, in the child: report the build first (it survives a crash), then decode."""
    from rag.llm.llama import import_llama, silence_llama_log

    llama_cpp = import_llama()
    print(_INFO, llama_cpp.llama_print_system_info().decode("utf-8", "replace").replace("\n", " "), flush=True)
    silence_llama_log()
    llm = llama_cpp.Llama(model_path=model, n_ctx=256, n_batch=PROMPT_TOKENS, verbose=False, seed=0)
    text = " ".join(f"Satz {i}: Die Quelle nennt eine Zahl und einen Namen." for i in range(40))
    tokens = llm.tokenize(text.encode(), add_bos=True)[:PROMPT_TOKENS]
    t0 = time.perf_counter()
    llm.eval(tokens)
    print(_DONE, f"{time.perf_counter() - t0:.2f}", flush=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        _child(argv[1])
        return 0
    from rag.errors import RagError

    try:
        model = Path(argv[0]) if argv else default_model()
    except RagError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    result = run(model)
    print(result.line(), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
