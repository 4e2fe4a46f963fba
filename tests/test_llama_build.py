"""llama.cpp on any CPU: the build flags keep the AMX backend out, the installed build is the
one made for this machine with those flags, and a crashing build is reported in one line by
`make setup`'s smoke check, `rag doctor` and the test run itself."""

from __future__ import annotations

import importlib.util
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from llama_crash import crashing_env

from rag.llm import smoke

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("install_llama", ROOT / "scripts" / "install_llama.py")
install_llama = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install_llama)

NO_AMX = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
X86 = install_llama.is_x86()


# --- build flags ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "user, machine, expected",
    [
        ("", "x86_64", [f"-DCMAKE_C_FLAGS={NO_AMX}", f"-DCMAKE_CXX_FLAGS={NO_AMX}"]),
        ("-DGGML_CUDA=on", "x86_64", ["-DGGML_CUDA=on", f"-DCMAKE_C_FLAGS={NO_AMX}", f"-DCMAKE_CXX_FLAGS={NO_AMX}"]),
        ("-DCMAKE_C_FLAGS=-O3", "AMD64", ["-DCMAKE_C_FLAGS=-O3 " + NO_AMX, f"-DCMAKE_CXX_FLAGS={NO_AMX}"]),
        ("'-DCMAKE_CXX_FLAGS=-g -O2'", "x86_64", [f"-DCMAKE_C_FLAGS={NO_AMX}", f"-DCMAKE_CXX_FLAGS=-g -O2 {NO_AMX}"]),
        ("", "aarch64", []),  # ARM has no AMX, and gcc there rejects the x86 switches
        ("-DGGML_METAL=on", "arm64", ["-DGGML_METAL=on"]),
    ],
)
def test_cmake_args_switch_amx_off_on_x86_only(user, machine, expected):
    assert install_llama.cmake_args(user, machine) == expected


def test_build_key_changes_with_anything_that_shapes_the_build(monkeypatch):
    base = install_llama.build_key("0.3.36", install_llama.cmake_args(""))["key"]
    assert install_llama.build_key("0.3.36", install_llama.cmake_args(""))["key"] == base
    assert install_llama.build_key("0.3.35", install_llama.cmake_args(""))["key"] != base
    assert install_llama.build_key("0.3.36", install_llama.cmake_args("-DGGML_CUDA=on"))["key"] != base
    monkeypatch.setattr(install_llama, "cpu_fingerprint", lambda: "another CPU")
    assert install_llama.build_key("0.3.36", install_llama.cmake_args(""))["key"] != base


def test_pyproject_pins_one_version():
    version = install_llama.pinned_version()
    assert version.count(".") == 2
    import importlib.metadata

    assert importlib.metadata.version("llama-cpp-python") == version


@pytest.mark.skipif(not X86 or shutil.which("gcc") is None, reason="needs gcc on x86-64")
@pytest.mark.parametrize("march", ["sapphirerapids", "graniterapids", "native"])
def test_the_flags_defeat_amx_even_where_the_cpu_has_it(march):
    """What the compiler defines under the build's flags for an AMX CPU: ggml compiles its AMX
    backend only under __AMX_INT8__. Runs on any x86 machine, so CI without AMX still
    catches flags that would let it back in."""
    flags = install_llama.cmake_args("")[0].split("=", 1)[1].split()
    defined = subprocess.run(
        ["gcc", *flags, f"-march={march}", "-dM", "-E", "-"], input="", capture_output=True, text=True
    )
    if defined.returncode:
        pytest.skip(f"this gcc does not know -march={march}")
    assert "__AMX" not in defined.stdout
    assert "__AVX2__" in defined.stdout or march == "native"
    plain = subprocess.run(["gcc", f"-march={march}", "-dM", "-E", "-"], input="", capture_output=True, text=True)
    if march != "native":
        assert "__AMX_INT8__" in plain.stdout  # the CPU has it: the flags are what keeps it out


def test_installed_build_has_no_amx_backend():
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    assert "CPU" in info and not smoke.has_amx(info), info


@pytest.mark.skipif(not X86, reason="AMX flags apply to x86 builds")
def test_installed_build_is_the_one_made_here_with_the_flags():
    """make setup installed llama-cpp-python through scripts/install_llama.py, for this
    machine: not a wheel pip's cache kept from a build with other flags."""
    record = json.loads(install_llama.RECORD.read_text())
    assert install_llama.installed_key() == record["key"], "llama-cpp-python was replaced after make setup"
    args = record["cmake_args"]
    assert any(a.startswith("-DCMAKE_C_FLAGS=") and NO_AMX in a for a in args), args
    assert record["cpu"] == install_llama.cpu_fingerprint(), "built on another CPU"


# --- the smoke check ---------------------------------------------------------------------------

AMX_INFO = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | OPENMP = 1 | REPACK = 1 |"


@pytest.mark.parametrize(
    "info, expected",
    [
        (AMX_INFO, ["SSE3", "AVX2", "AVX512", "AMX_INT8", "OPENMP", "REPACK"]),
        ("CPU : SSE3 = 1 | AVX = 0 | F16C = 1 |", ["SSE3", "F16C"]),
        ("", []),
    ],
)
def test_features_of_a_build(info, expected):
    assert smoke.features(info) == expected
    assert smoke.has_amx(info) == ("AMX_INT8" in expected)


@pytest.mark.parametrize(
    "code, info, stderr, words",
    [
        (-signal.SIGSEGV, AMX_INFO, "", ["crashed (SIGSEGV)", "AMX backend", "llama.cpp#20824", "without AMX"]),
        (-signal.SIGILL, "CPU : AVX2 = 1 |", "", ["crashed (SIGILL)", "instructions this CPU lacks"]),
        (-signal.SIGSEGV, "CPU : AVX2 = 1 |", "", ["crashed (SIGSEGV)"]),
        (None, "", "", ["did not finish"]),
        (1, "", "ModuleNotFoundError: No module named 'llama_cpp'", ["not installed"]),
        (1, "", "Traceback...\nValueError: Failed to load model from file", ["failed to decode", "Failed to load"]),
    ],
)
def test_diagnose_names_the_cause_and_the_fix(code, info, stderr, words):
    detail, fix = smoke.diagnose(code, info, stderr, "m.gguf")
    assert all(w in detail or w in fix for w in words), (detail, fix)
    assert "\n" not in detail and fix.startswith("make ")


@pytest.mark.llm
def test_smoke_check_decodes_with_the_default_model():
    result = smoke.run(smoke.default_model())
    assert result.ok, result.line()
    assert "decoded 64 tokens" in result.detail
    if X86:
        assert "SSE3" in result.features, result.features


@pytest.fixture(scope="module")
def crashing(tmp_path_factory) -> dict:
    return crashing_env(tmp_path_factory.mktemp("crashing-llama"))


def test_setup_stops_with_one_line_on_a_crashing_build(crashing):
    """What `make setup` runs after installing; its exit status stops make."""
    proc = subprocess.run(
        [sys.executable, "-m", "rag.llm.smoke"], capture_output=True, text=True, env=crashing, timeout=300
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "crashed (SIGSEGV)" in lines[0] and "AMX" in lines[0] and "fix: make rebuild-llama" in lines[0]


def test_doctor_reports_a_crashing_build(crashing, seeds_index):
    proc = subprocess.run(
        [sys.executable, "-m", "rag", "doctor", "--index", str(seeds_index)],
        capture_output=True,
        text=True,
        env=crashing,
        timeout=300,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if " llama.cpp " in x)
    assert line.startswith("FAIL") and "crashed (SIGSEGV)" in line and "AMX" in line
    assert "fix: make rebuild-llama" in proc.stdout


def test_test_run_survives_a_crashing_build(crashing, tmp_path):
    """The model tests fail with the smoke check's line; the run goes on and the rest pass."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(ROOT),
            "tests/test_text.py",
            "tests/test_chat.py::test_chat_ends_on_end_of_input",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=crashing,
        timeout=600,
    )
    out = proc.stdout
    assert proc.returncode == 1, out
    assert "Segmentation fault" not in out + proc.stderr and "Fatal Python error" not in proc.stderr
    assert "1 error" in out and " passed" in out and " failed" not in out, out
    assert "llama.cpp crashed (SIGSEGV)" in out and "fix: make rebuild-llama" in out


def test_amx_shim_really_crashes(crashing):
    """The stand-in for an AMX machine is a real crash (the child dies by SIGSEGV), so the
    tests above see what such a machine shows."""
    code = "from rag.llm.smoke import _child, default_model; _child(str(default_model()))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=crashing, timeout=300)
    assert proc.returncode == -signal.SIGSEGV
    assert "AMX_INT8 = 1" in proc.stdout
