"""Run the tests that use the real models with llama.cpp built for a lesser CPU than this one.

    python scripts/test_other_cpu.py                 # AVX2, no AVX-512: most laptops
    python scripts/test_other_cpu.py --isa sse4      # no AVX at all
    python scripts/test_other_cpu.py -- -k browser   # pytest arguments after --

A green run on this machine proves little about a CPU it lacks: each instruction set takes
other kernels in ggml, whose floating-point sums differ in the last bits, and a small model's
copied answer, and with it the reader's choice, can flip on such a hair (CI once answered
"Droege" where this machine answered "Jason Droege"). This builds llama-cpp-python without
native optimisation for the chosen instruction set (once; cached beside install_llama.py's
builds), loads it ahead of the installed one, checks that it is the one loaded and what it
uses, and runs `pytest -m "llm or e2e"` with it. The installed build is not touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import install_llama  # noqa: E402

_ON = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF"
ISAS = {"avx2": _ON.split(), "sse4": _ON.replace("=ON", "=OFF").split()}
# what llama_print_system_info() must not report for each build
ABSENT = {"avx2": ["AVX512 = 1"], "sse4": ["AVX = 1", "AVX2 = 1", "AVX512 = 1"]}


def build(isa: str, rebuild: bool) -> Path:
    """The unpacked build for isa: a folder to put first on PYTHONPATH."""
    version = install_llama.pinned_version()
    key = install_llama.build_key(version, ISAS[isa])
    folder = install_llama.cache_root() / f"{install_llama.PACKAGE}-{version}-{key['key']}"
    site = folder / "site"
    wheels = sorted(folder.glob("*.whl")) if folder.is_dir() else []
    if rebuild or not wheels:
        print(f"compiling llama.cpp for {isa} (5-10 minutes on 2 cores, once): {' '.join(ISAS[isa])}", flush=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        wheels = [install_llama.build_wheel(version, ISAS[isa], folder, verbose=False)]
    if rebuild or not (site / "llama_cpp").is_dir():
        tmp = folder / ".site"
        shutil.rmtree(tmp, ignore_errors=True)
        with zipfile.ZipFile(wheels[-1]) as z:
            z.extractall(tmp)
        shutil.rmtree(site, ignore_errors=True)
        os.replace(tmp, site)  # a killed unpack leaves .site, never a half site
    return site


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, pytest_args = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--isa", choices=sorted(ISAS), default="avx2")
    ap.add_argument("--rebuild", action="store_true", help="compile again even if the build is cached")
    opts = ap.parse_args(ours)
    site = build(opts.isa, opts.rebuild)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    probe = "import llama_cpp; print(llama_cpp.__file__); print(llama_cpp.llama_print_system_info().decode())"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
    where, info = out.splitlines()[0], out.splitlines()[-1]
    if not where.startswith(str(site)) or any(flag in info for flag in ABSENT[opts.isa]):
        print(f"error: the {opts.isa} build is not the one loaded ({where}: {info}); use --rebuild", file=sys.stderr)
        return 1
    print(f"llama.cpp for {opts.isa}: {info}", flush=True)
    cmd = [sys.executable, "-m", "pytest", "-m", "llm or e2e", "-p", "no:cacheprovider", *pytest_args]
    return subprocess.run(cmd, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
