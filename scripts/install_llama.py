"""Install llama-cpp-python built for this machine, safely, and reuse the build.

    python scripts/install_llama.py [--cmake-args "-DGGML_CUDA=on"] [--rebuild]

Why not a plain `pip install llama-cpp-python`:
- it compiles llama.cpp with GGML_NATIVE, so on a CPU with AMX (Intel Sapphire Rapids and
  later) ggml compiles its AMX backend, which crashes in the first matrix multiply
  (ggml-org/llama.cpp#20824). The AMX instructions are switched off here; every other
  native optimisation (AVX-512, VNNI) stays.
- pip caches the wheel it compiled keyed by the source package alone, not by CMAKE_ARGS or
  the CPU, and silently reuses a wheel built with other flags or on another machine.
  Wheels are kept here instead under a key of everything that shaped them (version, flags,
  CPU, compiler, Python), built with pip's cache off.

Standard library only: it runs in a fresh virtual environment before rag is installed.
Prints one line; exits non-zero with one line when the build fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "llama-cpp-python"
# gcc and clang honour an explicit -mno-* over what -march=native turns on, in any order
NO_AMX = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
RECORD = Path(sys.prefix) / "llama-build.json"


def pinned_version(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The one version of llama-cpp-python rag is tested with (pyproject.toml pins it)."""
    m = re.search(r'"llama-cpp-python==([\w.]+)"', pyproject.read_text(encoding="utf-8"))
    if not m:
        raise SystemExit(f"error: {pyproject} does not pin {PACKAGE}==X.Y.Z; pin it there")
    return m.group(1)


def is_x86(machine: str | None = None) -> bool:
    return (machine or platform.machine()).lower() in ("x86_64", "amd64", "i386", "i686", "x86")


def cmake_args(user: str, machine: str | None = None) -> list[str]:
    """The CMake arguments of the build: the user's (a GPU backend, say) plus AMX switched
    off on x86. A user's own CMAKE_C_FLAGS/CMAKE_CXX_FLAGS are kept, the switches appended."""
    args = shlex.split(user)
    if not is_x86(machine):
        return args
    for var in ("CMAKE_C_FLAGS", "CMAKE_CXX_FLAGS"):
        prefix = f"-D{var}="
        mine = [a for a in args if a.startswith(prefix)]
        args = [a for a in args if not a.startswith(prefix)]
        theirs = " ".join(a[len(prefix) :] for a in mine)
        args.append(f"{prefix}{(theirs + ' ' + NO_AMX).strip()}")
    return args


def cpu_fingerprint() -> str:
    """What a native build depends on: the CPU model and its instruction set flags."""
    try:
        info = Path("/proc/cpuinfo").read_text()
        model = re.search(r"^model name\s*:\s*(.*)$", info, re.M)
        flags = re.search(r"^(?:flags|Features)\s*:\s*(.*)$", info, re.M)
        return f"{model.group(1) if model else ''}|{' '.join(sorted(flags.group(1).split())) if flags else ''}"
    except OSError:  # macOS and others
        out = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.brand_string", "machdep.cpu.features"], capture_output=True, text=True
        )
        return out.stdout.strip() or platform.processor()


def compiler_version() -> str:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    try:
        out = subprocess.run([*shlex.split(cc)[:1], "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.splitlines()[0] if out.stdout else cc
    except (OSError, subprocess.SubprocessError):
        return cc


def build_key(version: str, args: list[str]) -> dict:
    parts = {
        "package": f"{PACKAGE}=={version}",
        "cmake_args": args,
        "python": sysconfig.get_platform() + "-" + sys.implementation.cache_tag,
        "machine": platform.machine(),
        "cpu": cpu_fingerprint(),
        "compiler": compiler_version(),
    }
    parts["key"] = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    return parts


def cache_root() -> Path:
    base = (
        os.environ.get("RAG_WHEEL_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag" / "wheels"
    )
    return Path(base)


def installed_key() -> str | None:
    """The key of the build installed here, if it is still the one this script installed (a
    later `pip install llama-cpp-python` replaces the files but not the record)."""
    import importlib.metadata as metadata

    try:
        record = json.loads(RECORD.read_text())
        direct = json.loads(metadata.distribution(PACKAGE).read_text("direct_url.json") or "{}")
    except (OSError, ValueError, metadata.PackageNotFoundError):
        return None
    return record.get("key") if direct.get("url", "").endswith("/" + Path(record.get("wheel", "")).name) else None


def pip(*args: str, env: dict | None = None, quiet: bool = True) -> None:
    cmd = [sys.executable, "-m", "pip", *args] + (["--quiet"] if quiet else [])
    subprocess.run(cmd, check=True, env=env)


def build_wheel(version: str, args: list[str], into: Path, verbose: bool) -> Path:
    """Compile the pinned sdist with these CMake arguments, bypassing pip's wheel cache."""
    env = {**os.environ, "CMAKE_ARGS": " ".join(shlex.quote(a) for a in args)}
    env.pop("FORCE_CMAKE", None)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=into.parent))
    try:
        pip(
            "wheel",
            "--no-deps",
            "--no-cache-dir",
            "--no-binary",
            PACKAGE,
            f"{PACKAGE}=={version}",
            "--wheel-dir",
            str(tmp),
            env=env,
            quiet=not verbose,
        )
        wheels = list(tmp.glob("*.whl"))
        if len(wheels) != 1:
            raise SystemExit(f"error: building {PACKAGE} gave {len(wheels)} wheels; see the output above")
        into.mkdir(parents=True, exist_ok=True)
        target = into / wheels[0].name
        os.replace(wheels[0], target)  # whole or not at all: a killed build leaves no wheel here
        return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--cmake-args",
        default=os.environ.get("LLAMA_CMAKE_ARGS", ""),
        help="extra CMake arguments, e.g. -DGGML_CUDA=on (default: $LLAMA_CMAKE_ARGS)",
    )
    ap.add_argument("--rebuild", action="store_true", help="compile again even if a matching wheel is cached")
    ap.add_argument("--print-args", action="store_true", help="print the CMake arguments and exit")
    ap.add_argument("--verbose", action="store_true", help="show the compiler's output")
    opts = ap.parse_args(argv)

    version = pinned_version()
    args = cmake_args(opts.cmake_args)
    if opts.print_args:
        print(" ".join(shlex.quote(a) for a in args))
        return 0
    key = build_key(version, args)
    if not opts.rebuild and installed_key() == key["key"]:
        print(f"{PACKAGE} {version}: installed build {key['key']} matches this machine and these flags")
        return 0
    folder = cache_root() / f"{PACKAGE}-{version}-{key['key']}"
    wheels = sorted(folder.glob("*.whl")) if folder.is_dir() else []
    if opts.rebuild or not wheels:
        print(
            f"{PACKAGE} {version}: compiling llama.cpp for this machine (5-10 minutes on 2 cores, once; "
            f"CMAKE_ARGS {' '.join(args) or 'none'})",
            flush=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            wheel = build_wheel(version, args, folder, opts.verbose)
        except subprocess.CalledProcessError:
            print(
                f"error: compiling {PACKAGE} {version} failed; run `{sys.executable} {Path(__file__).name} "
                "--rebuild --verbose` to see the compiler's output (a C++ compiler and cmake are needed)",
                file=sys.stderr,
            )
            return 1
        (folder / "build.json").write_text(json.dumps(key, indent=1))
        how = "compiled"
    else:
        wheel, how = wheels[-1], "reused the cached build"
    # --force-reinstall: a wheel with the same version but other flags may be installed
    pip("install", "--no-deps", "--force-reinstall", str(wheel))
    pip("install", str(wheel))  # its dependencies (numpy, jinja2, diskcache), if missing
    RECORD.write_text(json.dumps({**key, "wheel": str(wheel)}, indent=1))
    print(f"{PACKAGE} {version}: {how} {key['key']} ({wheel})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
