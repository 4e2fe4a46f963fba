"""The answering stage: abstention rules, conflicts and the checks on the model's output."""

import pytest

from rag.answer.candidates import AnswerCandidate
from rag.answer.compose import find_conflict, named_pair, only_question_words
from rag.answer.evidence import Candidate
from rag.answer.policy import YEAR_UNNAMED, judge_evidence
from rag.answer.question import Question
from rag.answer.reader import Pair
from rag.answer.spans import ScoredSpan, Span
from rag.answer.translate import plausible_translation
from rag.types import Passage


def question(text):
    return Question.parse(text, lambda t: 1.0)


def cand(text, overlap=0.8, context=0.8, dense=0.5, chunk=None, source="a.txt", start=0):
    return Candidate(source, start, start + len(text), text, dense, overlap, 1.0, 1.0, 1.0, context, chunk or text)


@pytest.mark.parametrize(
    "confidence, threshold, abstain",
    [(0.9, 0.5, False), (0.5, 0.5, False), (0.49, 0.5, True), (0.0, 0.2, True)],
)
def test_the_readers_probability_below_its_threshold_abstains(confidence, threshold, abstain):
    verdict = judge_evidence([cand("Meta investiert, weil es aufholen will.")], confidence, threshold)
    assert verdict.abstain is abstain and verdict.confidence == confidence
    assert ("below" in verdict.reason) is abstain


@pytest.mark.parametrize("missing, abstain", [(1.0, True), (0.5, False), (0.0, False)])
def test_evidence_that_names_none_of_the_years_asked_about_abstains(missing, abstain):
    verdict = judge_evidence([cand("Meta rechnet mit zwei Milliarden Dollar Umsatz.")], 0.9, 0.5, None, missing)
    assert verdict.abstain is abstain
    assert (verdict.reason == YEAR_UNNAMED) is abstain


def test_nothing_retrieved_abstains():
    assert judge_evidence([], 1.0, 0.5).abstain


def scored(pid, text, sentence):
    start = sentence.index(text)
    return ScoredSpan(pid, Span(text, start, start + len(text)), 0, 1.0)


def test_conflicting_figures_are_reported_with_each_source():
    q = question("Wie viel investiert Meta in Scale AI?")
    s1 = "Meta investiert 14,3 Milliarden Dollar in Scale AI."
    s2 = "Meta investiert laut Quellen 14,8 Milliarden Dollar in Scale AI."
    s3 = "Scale AI wurde mit 29 Milliarden Dollar bewertet."
    pool = [
        Passage(1, "a.txt", 0, len(s1), s1),
        Passage(2, "b.txt", 0, len(s2), s2),
        Passage(3, "c.txt", 0, len(s3), s3),
    ]
    cands = [cand(s1, source="a.txt"), cand(s2, source="b.txt"), cand(s3, context=0.2, source="c.txt")]
    found = find_conflict(q, scored(1, "14,3 Milliarden Dollar", s1), pool, cands)
    assert [(v, p.source) for v, p in found] == [
        ("14,3 Milliarden Dollar", "a.txt"),
        ("14,8 Milliarden Dollar", "b.txt"),
    ]


def test_values_of_another_magnitude_are_another_fact():
    q = question("Wie hoch wurde Scale AI bewertet?")
    s1 = "Scale AI wurde nun mit 29 Milliarden Dollar bewertet."
    s2 = "Vor einem Jahr wurde Scale AI mit knapp 14 Milliarden Dollar bewertet."
    pool = [Passage(1, "a.txt", 0, len(s1), s1), Passage(2, "b.txt", 0, len(s2), s2)]
    assert (
        find_conflict(
            q, scored(1, "29 Milliarden Dollar", s1), pool, [cand(s1, source="a.txt"), cand(s2, source="b.txt")]
        )
        == []
    )


@pytest.mark.parametrize(
    "answer, empty",
    [
        ("Jason Droege [1]", True),
        ("Chief Strategy Officer [1]", False),
        ("", False),
    ],
)
def test_answers_made_of_the_question_words_say_nothing(answer, empty):
    q = question("What position did Jason Droege hold?")
    assert only_question_words(answer, q) is empty


@pytest.mark.parametrize(
    "original, translated, ok",
    [
        ("Who becomes interim CEO of Scale AI?", "Wer wird Interims-CEO von Scale AI?", True),
        (
            "Who becomes interim CEO of Scale AI?",
            "Wirklichkeit der Kommission der Apex ist die Kommission der Apex.",
            False,
        ),
        ("In which year did Meta buy WhatsApp?", "In welchem Jahr kaufte Meta WhatsApp?", True),
        ("In which year did Meta buy WhatsApp?", "Which year did Meta buy WhatsApp?", False),  # not German
        ("How many points?", "", False),
    ],
)
def test_plausible_translation(original, translated, ok):
    assert plausible_translation(original, translated, "de") is ok


SENTENCE = "Yann LeCun gewann 2019 den Turing Award."
LECUN = Candidate("a.txt", 100, 100 + len(SENTENCE), SENTENCE, 0.5, 0.5, 1.0, 1.0, 1.0)
ELSEWHERE = Candidate("b.txt", 0, len(SENTENCE), SENTENCE, 0.5, 0.5, 1.0, 1.0, 1.0)


def pair(sentence: Candidate, text: str) -> Pair:
    at = sentence.start + SENTENCE.index(text)
    return Pair(sentence, AnswerCandidate(text, at, at + len(text), "name", text), {})


@pytest.mark.parametrize(
    "body, found, probs, named",
    [
        # the most probable of the candidates the model's words name
        ("Er gewann den Turing Award [1]", [pair(LECUN, "Turing Award"), pair(LECUN, "Award")], [0.2, 0.4], "Award"),
        # "2019" is more probable, but the model's words do not name it
        (
            "Er gewann den Turing Award [1]",
            [pair(LECUN, "Turing Award"), pair(LECUN, "2019")],
            [0.2, 0.9],
            "Turing Award",
        ),
        # the question's own words are no answer
        ("Der Preis, den Yann LeCun 2019 gewann [1]", [pair(LECUN, "Yann LeCun")], [0.9], None),
        # only from a passage the model cites
        ("Er gewann den Turing Award [1]", [pair(ELSEWHERE, "Turing Award")], [0.9], None),
        ("Das sagen die Quellen nicht [1]", [pair(LECUN, "Turing Award")], [0.9], None),
    ],
)
def test_a_models_own_answer_gets_the_scorers_best_candidate_it_names(body, found, probs, named):
    q = question("Wie heißt der Preis, den Yann LeCun 2019 gewann?")
    cited = [Passage(1, "a.txt", LECUN.start, LECUN.end, SENTENCE)]
    got = named_pair(q, body, found, probs, cited)
    assert (got and got.candidate.text) == named
