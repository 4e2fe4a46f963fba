"""A llama.cpp that crashes the way an AMX build does on a Sapphire Rapids CPU, for machines
that have no such CPU: a `sitecustomize` on PYTHONPATH patches llama_cpp as it is imported
so its system info reports AMX_INT8 and its first decode of more than one token kills the
process with SIGSEGV (what ggml_backend_amx_mul_mat does, llama.cpp#20824). Only child
processes started with `crashing_env()` see it."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

SITECUSTOMIZE = textwrap.dedent("""
    import importlib.abc, importlib.util, os, signal, sys

    class _CrashOnDecode(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "llama_cpp.llama_cpp":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                decode, info = module.llama_decode, module.llama_print_system_info

                def llama_decode(ctx, batch):
                    if batch.n_tokens > 1:
                        os.kill(os.getpid(), signal.SIGSEGV)
                    return decode(ctx, batch)

                module.llama_decode = llama_decode
                module.llama_print_system_info = lambda: info() + b" AMX_INT8 = 1 |"
            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, _CrashOnDecode())
""")


def crashing_env(folder: Path) -> dict:
    """The environment of a process whose llama.cpp crashes like a broken AMX build."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}
