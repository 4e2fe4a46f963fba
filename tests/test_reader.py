"""The reader: its feature table for fixed inputs, scoring with a reader.json written here, and
the pick it makes over real candidates (HanTa tags, no model)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rag.answer import reader
from rag.answer.candidates import AnswerCandidate
from rag.answer.evidence import Candidate
from rag.answer.extract import Extracted
from rag.answer.question import Question
from rag.lang.tagger import Token


def question(text: str) -> Question:
    return Question.parse(text, lambda t: 1.0)


def sentence(text: str, score: float = 1.0, start: int = 0) -> Candidate:
    return Candidate("a.txt", start, start + len(text), text, 0.5, 0.8, 1.0, 1.0, score, 0.8, text)


# "Ihn ersetzt der neue Interims-CEO Jason Droege ." with "Interims-CEO" a question term
TOKENS = [
    Token("Ihn", 0, 3, "PPER", "er"),
    Token("ersetzt", 4, 11, "VVFIN", "ersetzen"),
    Token("der", 12, 15, "ART", "der"),
    Token("neue", 16, 20, "ADJA", "neu"),
    Token("Interims-CEO", 21, 33, "NE", "Interims-CEO"),
    Token("Jason", 34, 39, "NE", "Jason"),
    Token("Droege", 40, 46, "NE", "Droege"),
    Token(".", 46, 47, "$.", "."),
]
ASKED = [frozenset({"interims-ceo"}) if i == 4 else frozenset() for i in range(8)]


@pytest.mark.parametrize(
    "cand, kind_asked, compatible, distance, near, share, length",
    [
        # the name right after the question's word: near, nothing of it asked
        (AnswerCandidate("Jason Droege", 34, 46, "person", "Droege"), "person", 1.0, 1 / 20, 1.0, 0.0, 0.2),
        # the question's own word: all of it asked, and no other question word to be near
        (AnswerCandidate("Interims-CEO", 21, 33, "name", "Interims-CEO"), "person", 1.0, 1.0, 0.0, 1.0, 0.1),
        # half of it repeats the question
        (AnswerCandidate("Interims-CEO Jason", 21, 39, "name", "Jason"), "person", 1.0, 1.0, 0.0, 0.5, 0.2),
        # a name cannot answer "wie viel"
        (AnswerCandidate("Jason Droege", 34, 46, "person", "Droege"), "number", 0.0, 1 / 20, 1.0, 0.0, 0.2),
    ],
)
def test_candidate_features(cand, kind_asked, compatible, distance, near, share, length):
    q = Question("q", "de", kind_asked, None, {"interims-ceo": 1.0})
    f = reader.candidate_features(q, cand, TOKENS, ASKED, 47)
    assert (f["compatible"], f["distance"], f["near"], f["question_share"], f["length"]) == pytest.approx(
        (compatible, distance, near, share, length)
    )
    assert f[f"kind_{cand.kind}"] == 1.0 and sum(f[f"kind_{k}"] for k in reader.KINDS) == 1.0


@pytest.mark.parametrize(
    "rank, score, top, relative",
    [(0, 2.0, 1.0, 0.0), (2, 1.5, 0.0, -0.5)],
)
def test_sentence_features(rank, score, top, relative):
    f = reader.sentence_features(sentence("Ein Satz mit Wörtern.", score), rank, 2.0)
    assert f["top"] == top and f["evidence"] == pytest.approx(relative)
    assert f["sentence_rank"] == pytest.approx(rank / reader.SENTENCES)


def write_reader(tmp_path, coef: dict[str, float], intercept: float = 0.0, threshold: float = 0.5):
    path = tmp_path / "reader.json"
    path.write_text(
        json.dumps(
            {
                "features": list(coef),
                "coef": list(coef.values()),
                "intercept": intercept,
                "abstain": {"coef": {"best": 4.0, "unknown": -2.0}, "intercept": -1.0, "threshold": threshold},
            }
        ),
        encoding="utf-8",
    )
    return reader.load_reader(path)


@pytest.mark.parametrize(
    "features, expected",
    [
        ({"compatible": 1.0, "near": 1.0}, 1 / (1 + math.exp(-(-1.0 + 2.0 + 1.0)))),
        ({"compatible": 0.0, "near": 0.0}, 1 / (1 + math.exp(1.0))),
        ({}, 1 / (1 + math.exp(1.0))),  # a missing feature counts as 0
    ],
)
def test_reader_probability(tmp_path, features, expected):
    r = write_reader(tmp_path, {"compatible": 2.0, "near": 1.0}, intercept=-1.0)
    assert r.probability(features) == pytest.approx(expected)
    pair = reader.Pair(
        sentence("Ein Satz mit Wörtern."), AnswerCandidate("Wörtern", 13, 20, "noun_phrase", "Wort"), features
    )
    assert r.probabilities([pair]) == pytest.approx([expected])


def test_reader_json_must_name_every_coefficient(tmp_path):
    path = tmp_path / "reader.json"
    path.write_text(json.dumps({"features": ["a", "b"], "coef": [1.0], "intercept": 0, "abstain": {}}))
    with pytest.raises(ValueError, match="2 features but 1"):
        reader.load_reader(path)


def test_best_of_no_pairs_is_none(tmp_path):
    assert write_reader(tmp_path, {"near": 1.0}).best([]) == (None, 0.0)


def test_the_reader_picks_the_name_near_the_questions_words(tmp_path):
    """Over real candidates: a reader that likes candidates near the question's words and
    dislikes ones that repeat them picks the new CEO, not the question's own words."""
    q = question("Wer wird Interims-CEO von Scale AI?")
    s = [
        sentence("Ihn ersetzt der neue Interims-CEO Jason Droege.", 2.0, start=100),
        sentence("Scale AI wurde 2016 in San Francisco gegründet.", 1.0, start=200),
    ]
    found = reader.pairs(q, s)
    assert "Jason Droege" in {p.candidate.text for p in found}
    # only kinds that can answer "wer"
    assert {p.candidate.kind for p in found} <= {"person", "org", "name"}
    r = write_reader(tmp_path, {"near": 2.0, "question_share": -3.0, "top": 1.0, "kind_person": 1.0})
    best, probability = r.best(found)
    assert best is not None and best.candidate.text == "Jason Droege" and best.sentence is s[0]
    assert best.candidate.start == 134 and 0.5 < probability < 1.0


DROEGE = sentence("Ihn ersetzt der neue Interims-CEO Jason Droege.", 2.0, start=100)
OTHER = sentence("Scale AI wurde 2016 in San Francisco gegründet.", 1.0, start=200)


@pytest.mark.parametrize(
    "cand, got, expected",
    [
        # the copied span itself
        (
            AnswerCandidate("Jason Droege", 134, 146, "person", "Droege"),
            Extracted("Jason Droege", 134, 146),
            {"gen_sentence": 1.0, "gen_f1": 1.0, "gen_span": 1.0, "gen_inside": 1.0, "gen_covers": 1.0},
        ),
        # a part of a longer copied span
        (
            AnswerCandidate("Jason Droege", 134, 146, "person", "Droege"),
            Extracted("Interims-CEO Jason Droege", 121, 146),
            {"gen_sentence": 1.0, "gen_f1": 0.8, "gen_span": 0.0, "gen_inside": 1.0, "gen_covers": 0.0},
        ),
        # words the sentence does not hold: only their overlap counts
        (
            AnswerCandidate("Jason Droege", 134, 146, "person", "Droege"),
            Extracted("Herr Droege", None, None),
            {"gen_sentence": 1.0, "gen_f1": 0.5},
        ),
        (AnswerCandidate("Jason Droege", 134, 146, "person", "Droege"), None, {}),
    ],
)
def test_generated_features(cand, got, expected):
    assert reader.generated_features(cand, DROEGE, got, DROEGE) == pytest.approx(expected)
    assert reader.generated_features(cand, OTHER, got, DROEGE) == {}  # another sentence than the model read


def test_the_copied_span_joins_the_candidates():
    q = question("Wer wird Interims-CEO von Scale AI?")
    texts = lambda got: [p.candidate.text for p in reader.pairs(q, [DROEGE, OTHER], generated=got)]  # noqa: E731
    assert "neue Interims-CEO Jason" not in texts(None)
    assert texts(Extracted("neue Interims-CEO Jason", 117, 140)).count("neue Interims-CEO Jason") == 1
    # a span a tagged candidate already has is not proposed twice
    assert texts(Extracted("Jason Droege", 134, 146)).count("Jason Droege") == 1


@pytest.mark.parametrize(
    "best, unknown, confidence",
    [
        (1.0, 0, 1 / (1 + math.exp(-3.0))),  # -1 + 4 * 1.0
        (0.0, 0, 1 / (1 + math.exp(1.0))),
        (0.5, 2, 1 / (1 + math.exp(1.0))),  # -1 + 4 * 0.5 - 2 * 1.0
    ],
)
def test_abstention_confidence(tmp_path, best, unknown, confidence):
    r = write_reader(tmp_path, {"near": 1.0})
    assert r.confidence(best, unknown, sentence("Ein Satz mit Wörtern."), {"window": 0.5}) == pytest.approx(confidence)


def test_shipped_reader_matches_its_features():
    r = reader.default_reader()
    assert r.features == reader.FEATURES and len(r.coef) == len(r.features)
    assert set(r.abstain_coef) == set(reader.ABSTAIN_FEATURES) and 0.0 <= r.threshold <= 1.0


def _pair(s: Candidate, text: str, kind: str) -> reader.Pair:
    start = s.start + s.text.index(text)
    return reader.Pair(s, AnswerCandidate(text, start, start + len(text), kind, text.split()[-1]), {})


@pytest.mark.parametrize(
    "chosen, others, expected",
    [
        (("Droege", "name"), [("Jason Droege", "person")], "Jason Droege"),  # a surname becomes the full name
        (("Droege", "person"), [("Jason Droege", "person")], "Jason Droege"),
        (("Droege", "name"), [("Interims-CEO Jason Droege", "name")], "Droege"),  # only a two-word person name
        (("Jason Droege", "person"), [("Interims-CEO Jason Droege", "person")], "Jason Droege"),  # whole names stay
        (("Droege", "name"), [], "Droege"),
        (("Jason", "name"), [("Jason Droege", "person")], "Jason"),  # it must end where the surname ends
    ],
)
def test_a_surname_becomes_the_whole_name(chosen, others, expected):
    s = sentence("Ihn ersetzt der neue Interims-CEO Jason Droege.", start=100)
    c = _pair(s, *chosen)
    found = [c] + [_pair(s, *o) for o in others]
    assert reader.whole_name(c, found).candidate.text == expected


def test_a_whole_name_comes_from_the_same_sentence():
    s, t = sentence("Droege kam von Uber.", start=0), sentence("Jason Droege leitet Scale AI.", start=50)
    c = _pair(s, "Droege", "name")
    assert reader.whole_name(c, [c, _pair(t, "Jason Droege", "person")]) is c


@pytest.mark.parametrize("pool, reached", [(5, False), (6, True), (12, True)])
def test_the_reader_reads_past_sentences_that_cannot_answer(pool, reached):
    """Five sentences without a number, then the one with it: a pool beyond five reads it."""
    q = question("Wie viele Mitarbeiter hat Scale AI?")
    s = [sentence("Scale AI setzt freie Mitarbeiter ein.", 2.0 - i / 10, start=100 * i) for i in range(5)]
    s.append(sentence("Das Unternehmen beschäftigt etwa 900 Mitarbeiter.", 1.0, start=600))
    found = reader.pairs(q, s, pool=pool)
    assert ("900 Mitarbeiter" in {p.candidate.text for p in found}) is reached
    assert all(p.features["sentence_rank"] < 1.0 for p in found)  # ranks beyond the fitted range are capped


@pytest.mark.parametrize(
    "texts, probs, n, expected",
    [
        (["Droege", "Wang", "Guo"], [0.2, 0.9, 0.5], 3, [1, 2, 0]),
        (["Droege", "droege", "Wang"], [0.9, 0.8, 0.1], 2, [0, 2]),  # the same words are one answer
        (["Jason Droege", "Jason  Droege"], [0.3, 0.6], 3, [1]),  # whichever pair is more probable
        ([], [], 3, []),
    ],
)
def test_shortlist(texts, probs, n, expected):
    assert reader.shortlist(texts, probs, n) == expected


def test_rerank_features():
    f = reader.rerank_features(0.5, -6.0, 3)
    assert f == pytest.approx({"logit": 0.0, "logprob": -6.0, "logprob_token": -2.0})
    assert math.isfinite(reader.rerank_features(1.0, 0.0, 0)["logit"])  # no division by zero


def _with_rerank(tmp_path, rerank: dict[str, float]) -> reader.Reader:
    r = write_reader(tmp_path, {"near": 1.0})
    path = tmp_path / "reader.json"
    path.write_text(json.dumps({**r.to_json(), "rerank": rerank}))
    return reader.load_reader(path)


@pytest.mark.parametrize(
    "rerank, likely, expected",
    [
        # the scorer prefers Droege (near); the model finds Wang far likelier
        ({"logit": 1.0, "logprob": 1.0}, {"Jason Droege": -9.0, "Wang": -1.0}, "Wang"),
        ({"logit": 1.0, "logprob": 0.1}, {"Jason Droege": -9.0, "Wang": -1.0}, "Jason Droege"),
        ({}, {"Jason Droege": -9.0, "Wang": -1.0}, "Jason Droege"),  # no rerank fitted: the scorer's order
        ({"logit": 1.0, "logprob": 1.0}, None, "Jason Droege"),  # a model that cannot score
    ],
)
def test_rerank_weighs_the_scorer_and_the_models_likelihood(tmp_path, rerank, likely, expected):
    r = _with_rerank(tmp_path, rerank)
    s = sentence("Wang ging, es kam Jason Droege.", start=0)
    found = [_pair(s, "Jason Droege", "person"), _pair(s, "Wang", "name")]
    found[0].features["near"], found[1].features["near"] = 2.0, 0.0
    likelihood = None if likely is None else (lambda p: (likely[p.candidate.text], 2))
    assert r.rerank(found, likelihood).candidate.text == expected
    assert reader.load_reader(tmp_path / "reader.json").rerank_coef == rerank  # written and read back


def test_rerank_of_no_pairs_is_none(tmp_path):
    assert _with_rerank(tmp_path, {"logit": 1.0}).rerank([], lambda p: (0.0, 1)) is None


@pytest.mark.parametrize(
    "asked, names",
    [
        ("Wie viele Mitarbeiter beschäftigt Meta?", ("Meta",)),
        ("Wie hoch war der Umsatz von Meta im Jahr 2019?", ("Meta", "2019")),
        # in English every capitalised word after the first: the tagger misses "Adept"
        ("How much did Amazon pay in its deal with the startup Adept?", ("Amazon", "Adept")),
        ("Wie viele Mitarbeiter hat das Unternehmen?", ()),
    ],
)
def test_question_names(asked, names):
    assert reader.question_names(question(asked)) == names


@pytest.mark.parametrize(
    "names, text, missing",
    [
        (("Meta",), "Metas Umsatz stieg.", 0.0),  # a name at the start of a word
        (("Wangs",), "Wang gründete es.", 0.0),  # a genitive in the question
        (("Wang's",), "Wang gründete es.", 0.0),
        (("Los",), "Los Alamos", 0.0),
        (("AI",), "Es geschah im Mai.", 1.0),  # ... not inside one
        (("Amazon", "Adept"), "Amazon zahlte.", 0.5),
        (("2019",), "Im Jahr 2019 stieg er.", 0.0),
        ((), "Nichts.", 0.0),
    ],
)
def test_names_missing(names, text, missing):
    assert reader.names_missing(names, text) == missing


def test_the_abstention_reads_the_names_the_chosen_sentence_lacks():
    asked = question("Wie viele Mitarbeiter beschäftigt Meta?")
    text = "Scale AI beschäftigt 900 Mitarbeiter."
    chunk = "Meta investiert in Scale AI. " + text
    s = Candidate("a.txt", 29, 29 + len(text), text, 0.5, 0.8, 1.0, 1.0, 1.0, 0.8, chunk)
    (pair,) = [p for p in reader.pairs(asked, [s]) if p.candidate.text == "900"]
    feats = reader.question_features(0.5, 0, s, pair.features)
    assert (feats["names_sentence"], feats["names_chunk"]) == (1.0, 0.0)
    # no pair: nothing of the question was found
    assert reader.question_features(0.0, 0, s, None)["names_sentence"] == 1.0


@pytest.mark.parametrize(
    "asked, text, missing",
    [
        ("Wie hoch war der Umsatz von Meta im Jahr 2019?", "Meta machte 2019 einen Umsatz von 70 Milliarden.", 0.0),
        ("Wie hoch war der Umsatz von Meta im Jahr 2019?", "LeCun gewann 2018 den Preis.", 1.0),
        ("Was geschah 2014 und 2019?", "Im Jahr 2014 kaufte Meta WhatsApp.", 0.5),
        # a number that is no year is not asked as one
        ("Wer bekam 300 Stimmen?", "Niemand bekam Stimmen.", 0.0),
        ("Wie viele Mitarbeiter hat Scale AI?", "Scale AI hat 900 Mitarbeiter.", 0.0),
    ],
)
def test_years_missing(asked, text, missing):
    assert reader.years_missing(question(asked), text) == missing


def test_the_abstention_reads_the_years_the_chosen_chunk_lacks():
    asked = question("Wie viele Mitarbeiter hatte Scale AI 2019?")
    text = "Scale AI beschäftigt 900 Mitarbeiter."
    s = Candidate("a.txt", 0, len(text), text, 0.5, 0.8, 1.0, 1.0, 1.0, 0.8, "Im Jahr 2025. " + text)
    (pair,) = [p for p in reader.pairs(asked, [s]) if p.candidate.text == "900"]
    assert reader.question_features(0.5, 0, s, pair.features)["years_chunk"] == 1.0


def _tokens(tagged: str) -> tuple[str, list[Token]]:
    """'Er/PPER ging/VVFIN ./$.' -> its text with single spaces, and its tokens."""
    toks, at = [], 0
    for item in tagged.split():
        word, pos = item.rsplit("/", 1)
        toks.append(Token(word, at, at + len(word), pos, word))
        at += len(word) + 1
    return " ".join(t.text for t in toks), toks


@pytest.mark.parametrize(
    "tagged, expected",
    [
        # a conjunction before a finite verb starts a clause...
        (
            "Es/PPER beschäftigt/VVFIN etwa/ADV 900/CARD Mitarbeiter/NN"
            " und/KON hat/VAFIN 1,35/CARD Milliarden/NN erhalten/VVPP ./$.",
            ["Es beschäftigt etwa 900 Mitarbeiter", "und hat 1,35 Milliarden erhalten ."],
        ),
        # ...one joining names does not
        (
            "Scale/FM wurde/VAFIN von/APPR Wang/NE und/KON Lucy/NE Guo/NE gegründet/VVPP ./$.",
            ["Scale wurde von Wang und Lucy Guo gegründet ."],
        ),
        # a comma does; a short piece joins the clause before it
        (
            "Guo/NE hat/VAFIN Scale/NE verlassen/VVPP ,/$,"
            " ist/VAFIN aber/ADV noch/ADV Milliardärin/NN ,/$, sagt/VVFIN er/PPER ./$.",
            ["Guo hat Scale verlassen", ", ist aber noch Milliardärin , sagt er ."],
        ),
        # a short first piece joins the one after it
        ("Laut/APPR Forbes/NE ,/$, ist/VAFIN sie/PPER Milliardärin/NN ./$.", ["Laut Forbes , ist sie Milliardärin ."]),
        ("Er/PPER ging/VVFIN ./$.", ["Er ging ."]),
        ("", []),
    ],
)
def test_clauses(tagged, expected):
    text, toks = _tokens(tagged)
    assert [text[toks[a].start : toks[b - 1].end] for a, b in reader.clauses(toks)] == expected


def test_a_candidate_is_weighed_by_the_clause_that_holds_it():
    # a clause is as similar to the question as their vectors: the staff clause matches, the
    # funding one does not
    text = "Scale AI beschäftigt etwa 900 Mitarbeiter und hat bislang 1,35 Milliarden Dollar erhalten."
    s = sentence(text)
    seen: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        seen.append(texts)
        return np.array([[0.8, 0.6] if "Mitarbeiter" in t else [0.0, 1.0] for t in texts])

    asked = question("Wie viele Mitarbeiter hat Scale AI?")
    similarity = reader.similarity_to(embed, np.array([1.0, 0.0]))  # [1, 0]: the question's vector
    found = {p.candidate.text: p.features for p in reader.pairs(asked, [s], similarity=similarity)}
    assert seen == [
        [
            "Scale AI beschäftigt etwa 900 Mitarbeiter",
            "und hat bislang 1,35 Milliarden Dollar erhalten.",
        ]
    ]
    assert found["900"]["clause_dense"] == pytest.approx(0.8)
    assert found["1,35 Milliarden Dollar"]["clause_dense"] == pytest.approx(0.0)
    # the abstention reads the chosen candidate's
    assert reader.question_features(0.5, 0, s, found["900"])["chosen_clause"] == pytest.approx(0.8)
    # without an embedder, clauses are not weighed
    assert all("clause_dense" not in p.features for p in reader.pairs(asked, [s]))


def test_weights_that_round_to_zero_are_written_without_a_sign(tmp_path):
    r = write_reader(tmp_path, {"near": -4e-9, "far": 1.23456789})
    written = r.to_json()
    assert written["coef"] == [0.0, 1.234568]
    assert math.copysign(1.0, written["coef"][0]) == 1.0  # not -0.0: refits compare byte for byte
    assert "-0.0" not in json.dumps(written)
