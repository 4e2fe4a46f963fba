"""Offline switches for the libraries rag imports.

They must be in the environment before huggingface_hub / transformers are imported,
because those libraries read them once at import time. rag/__init__ cannot do this
for `import rag.x` from a user's script, so every module that imports one of them
calls `ensure()` first.
"""

import os

_SWITCHES = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "DO_NOT_TRACK": "1",
    # progress bars and info logs of model loading would mix into rag's own output
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    # tokenizers forks threads that warn after fork(); we never need its parallelism
    "TOKENIZERS_PARALLELISM": "false",
}


def ensure() -> None:
    for name, value in _SWITCHES.items():
        os.environ[name] = value
