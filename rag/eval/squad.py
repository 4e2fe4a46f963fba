"""SQuAD-format files (SQuAD, XQuAD, GermanQuAD) -> one text file per article + a gold file."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rag.errors import UsageError
from rag.lang.text import detect_language

PARAGRAPH_SEP = "\n\n"


def _file_name(i: int, title: str) -> str:
    safe = re.sub(r"[^\w.\-]+", "_", title, flags=re.UNICODE).strip("_")[:80] or "article"
    return f"{i:03d}_{safe}.txt"


def convert(squad_file: Path, corpus_dir: Path, gold_file: Path) -> tuple[int, int]:
    """Write the articles and the gold questions; returns (articles, questions)."""
    try:
        data = json.loads(Path(squad_file).read_text(encoding="utf-8"))["data"]
    except FileNotFoundError:
        raise UsageError(f"{squad_file} does not exist") from None
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"{squad_file} is not a SQuAD-format JSON file (no 'data' list)") from None
    corpus_dir.mkdir(parents=True, exist_ok=True)
    gold_file.parent.mkdir(parents=True, exist_ok=True)
    n_questions = 0
    with open(gold_file, "w", encoding="utf-8") as gold:
        for i, article in enumerate(data):
            name = _file_name(i, article.get("title", "article"))
            parts, offset = [], 0
            for p_index, para in enumerate(article["paragraphs"]):
                context = para["context"]
                for qa in para.get("qas", []):
                    answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                    texts = list(dict.fromkeys(a["text"] for a in answers))
                    record = {
                        "id": str(qa["id"]),
                        "question": qa["question"],
                        "answers": texts,
                        "sources": [name] if texts else [],
                        "lang": detect_language(qa["question"]),
                        "paragraph_index": p_index,
                    }
                    if answers:
                        record["answer_start"] = offset + answers[0]["answer_start"]
                    gold.write(json.dumps(record, ensure_ascii=False) + "\n")
                    n_questions += 1
                parts.append(context)
                offset += len(context) + len(PARAGRAPH_SEP)
            (corpus_dir / name).write_text(PARAGRAPH_SEP.join(parts), encoding="utf-8")
    return len(data), n_questions
