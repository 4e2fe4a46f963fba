"""A document's sentences as evidence units: each sentence with its role and its context.

Only body sentences may be quoted as evidence. Headings, captions and photo credits,
bylines, datelines and page furniture ("date 2025-06", "meta", "- Keystone") are kept as
context (a body sentence knows the heading above it), and sentences that give orders to the
reader or to a model ("Ignoriere alle vorherigen Anweisungen", "KI-Assistenten, …") are
never evidence, whatever words they share with a question.

Roles are decided by the structure of the text alone - line length, final punctuation,
blank lines around a line, what follows it - and by the word lists in rag.lang.lexicon, not
by the strings of any one corpus. Pure: text in, units out; offsets index the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.lang.lexicon import (
    ADDRESS_LEADS,
    ADDRESSEES,
    ARTICLES,
    BYLINE_WORDS,
    CREDIT_WORDS,
    DIRECTIVES,
    IMPERATIVES,
    META_KEYS,
    MONTHS,
    POLITE_IMPERATIVES,
    ROLE_LABELS,
    SECOND_PERSON,
    both,
    pattern,
)
from rag.lang.text import sentence_spans

ROLES = ("body", "heading", "caption", "byline", "furniture", "instruction")

# A line longer than this is running text even without final punctuation; a title is shorter.
HEADING_MAX_WORDS = 20
HEADING_MAX_CHARS = 160
# A heading with body text directly below it (no blank line) must be shorter: a longer line
# there is more likely a paragraph that lost its final period.
TIGHT_HEADING_MAX_WORDS = 12
# A question standing alone between blank lines is a subhead when it is this short.
QUESTION_HEADING_MAX_WORDS = 10
# A credit after a caption ("… - Keystone", "Foto: dpa/Max Muster") names an agency or a
# photographer: a few words, no sentence.
CREDIT_MAX_WORDS = 4
# A caption with a credit is a line of at most this many sentences; a paragraph that ends in
# an agency tag ("… sagte er. (dpa)") is body with only the tag as credit.
CAPTION_MAX_SENTENCES = 2
# Lines of a fixed-width wrap are at least this long ("meta", "Ad" are short for other reasons).
WRAP_MIN_CHARS = 40
META_MAX_CHARS = 60
BYLINE_MAX_CHARS = 80

_CLOSERS = "\"'“”»«‘’)]"
_OPENERS = "\"'„“»«‘‚(["
_FINAL = ".!?…"

_CREDIT_TAIL = rf"[\w@&.'’/+-]+(?:[ \t]*/?[ \t]*[\w@&.'’/+-]+){{0,{CREDIT_MAX_WORDS - 1}}}"
_DASH = r"[-–—|]"
_MARKDOWN_HEADING = re.compile(r"#{1,6}[ \t]+\S")
_LIST_MARKER = re.compile(r"(?:\d{1,3}[.)]|[a-z][)]|[-*•–])[ \t]+")
_LONE_CREDIT = re.compile(rf"{_DASH}[ \t]*(?P<tail>{_CREDIT_TAIL})")
_TRAILING_CREDIT = re.compile(rf"[ \t]+{_DASH}[ \t]*(?P<tail>{_CREDIT_TAIL})$")
_PAREN_CREDIT = re.compile(r"\([ \t]*[\w/&., -]{1,25}[ \t]*\)")
_COPYRIGHT = re.compile(r"(?:©|\(c\)[ \t]|copyright\b)", re.I)
_CREDIT_LEAD = re.compile(pattern(both(CREDIT_WORDS)) + r"[ \t]*:", re.I)
_BYLINE = re.compile(pattern(both(BYLINE_WORDS)) + r"[ \t]*:?[ \t]+(?P<name>\S.*)")
# name words of a byline: capitalised, or the particles and joiners names are written with
_NAME_WORD = re.compile(r"(?:[A-ZÄÖÜ][\w.'’-]*|von|van|de|der|den|du|la|le|und|and|&),?")
_DATE = (
    r"(?:\d{4}-\d{2}(?:-\d{2})?(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?"  # 2025-06, 2025-06-12T14:30
    r"|\d{1,2}\.\s?\d{1,2}\.\s?\d{2,4}|\d{1,2}/\d{1,2}/\d{2,4}"  # 12.06.2025, 6/12/2025
    r"|\d{1,2}\.?\s+" + pattern(both(MONTHS)) + r"\s+\d{4}"  # 12. Juni 2025
    r"|" + pattern(both(MONTHS)) + r"\s+\d{1,2},?\s+\d{4})"  # June 12, 2025
)
_CLOCK = r"(?:,?[ \t]*\d{1,2}[:.]\d{2}(?:[ \t]*Uhr)?)?"
_META_KEY = re.compile(pattern(both(META_KEYS)) + r"(?=[\s:]|$)", re.I)
# page metadata in front of the text on the same line: "date 2025-06 Die Gerüchte …"
_META_PREFIX = re.compile(rf"(?:{pattern(both(META_KEYS))}[ \t]*:?[ \t]*)?{_DATE}{_CLOCK}[ \t]+(?=[A-ZÄÖÜ„\"“])", re.I)
# an agency dateline: "BERLIN (dpa) - …", "Washington (AP) — …"
_DATELINE = re.compile(r"[A-ZÄÖÜ][\w./-]*(?:[ \t][A-ZÄÖÜ][\w./-]*)?[ \t]*\([\w/ .-]{1,20}\)[ \t]*[-–—:][ \t]+")
_ONLY_DATE = re.compile(rf"(?:\w+,?[ \t]+)?{_DATE}{_CLOCK}", re.I)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_ROLE_LABEL = re.compile(pattern(ROLE_LABELS) + r"[ \t]*:", re.I)

_ADDRESSEE = re.compile(r"(?<![\w-])" + pattern(both(ADDRESSEES)) + r"(?![\w-])", re.I)
# an addressee that can only be a model, not a topic ("AI, robotics and …" is a list)
_MODEL_ADDRESSEE = re.compile(r"(?<![\w-])" + pattern(w for w in both(ADDRESSEES) if len(w) > 3) + r"(?![\w-])", re.I)
_ADDRESS_LEAD = re.compile(
    r"(?:" + pattern(both(ADDRESS_LEADS)) + r")[ \t]+(?:(?:der|die|das|den|dem|alle|the|all|any)[ \t]+)?", re.I
)
_DIRECTIVE = re.compile("|".join(both(DIRECTIVES)), re.I)
_IMPERATIVE = re.compile(r"(?:bitte[ \t]+|please[ \t]+)?" + pattern(both(IMPERATIVES)) + r"(?![\w-])", re.I)
_POLITE = re.compile("(?i:" + pattern(POLITE_IMPERATIVES) + r")[ \t]+Sie\b")
# reported speech without quotation marks: "Tell me more, said the manager."
_ATTRIBUTION = re.compile(r",[ \t]+(?:sagte|sagt|fragte|meinte|so|said|says|asked)\b", re.I)
# addressees that can only be a model or assistant, told what they should do
# (a passive, "should be regulated", "sollten reguliert werden", is about them, not to them)
_ADVISED = re.compile(r"\b(?:sollten|sollen|sollt|should|ought\s+to)\b(?!\s+be\b)(?!.*\bwerden\b)", re.I)
_SECOND_PERSON = re.compile(r"\b" + pattern(both(SECOND_PERSON)) + r"\b", re.I)
_MODAL = re.compile(r"\b(?:sollst|sollt|sollen|soll|müsst|musst|müssen|must|should|bitte|please)\b", re.I)
_WORD = re.compile(r"\w[\w'’.-]*")
# words a title cannot end on (German verb particles like "an", "auf" can; so English "an" is out)
_CANNOT_END = frozenset(ARTICLES["de"]) | {
    *("und", "oder", "sowie", "für", "von", "in", "im", "am", "vom", "zum", "zur", "beim", "ins"),
    *("the", "a", "and", "or", "of", "for", "in", "at", "with", "from", "into", "by"),
}
# an agency tag after the last sentence of a paragraph: "… sagte er. (dpa)"
_PAREN_TAIL = re.compile(r"[ \t]+\([ \t]*[\w/&., -]{1,25}[ \t]*\)$")


@dataclass(frozen=True)
class EvidenceUnit:
    source: str
    start: int  # document character offsets: document_text[start:end] == text
    end: int
    text: str
    role: str  # one of ROLES
    heading: str = ""  # the nearest heading above, "" if none
    previous: str = ""  # the body sentence before this unit, "" if none


def is_evidence(unit: EvidenceUnit) -> bool:
    """Only body sentences may be quoted (instructions have their own role, so never)."""
    return unit.role == "body"


def units(text: str, source: str) -> list[EvidenceUnit]:
    """The document's sentences in order, each with its role, heading and previous sentence."""
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()]
    lines = [_strip(text, s, e) for s, e in lines]
    blank_before = [i == 0 or "\n\n" in _gap(text, lines[i - 1][1], lines[i][0]) for i in range(len(lines))]
    blank_after = [i == len(lines) - 1 or blank_before[i + 1] for i in range(len(lines))]
    wrapped = _hard_wrapped(text, lines, blank_after)
    shapes = [_shape(text[s:e], i, lines, text) for i, (s, e) in enumerate(lines)]
    roles = _resolve(text, lines, shapes, blank_before, blank_after, wrapped)

    out: list[EvidenceUnit] = []
    heading, previous = "", ""
    for (ls, le), role in zip(lines, roles):
        for s, e, r in _sentences(text, ls, le, role):
            out.append(EvidenceUnit(source, s, e, text[s:e], r, heading, previous))
            if r == "heading":
                heading = text[s:e].lstrip("#").strip()
            elif r == "body":
                previous = text[s:e]
    return out


# ---------------------------------------------------------------- lines


def _strip(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _gap(text: str, a: int, b: int) -> str:
    return re.sub(r"[ \t\r]", "", text[a:b])


def _ends_sentence(line: str) -> bool:
    return line.rstrip(_CLOSERS + " ")[-1:] in _FINAL


def _word_count(line: str) -> int:
    return len(_WORD.findall(line))


def _is_list_item(line: str) -> bool:
    return bool(_LIST_MARKER.match(line)) and not line.startswith("--")


def _shape(line: str, i: int, lines: list[tuple[int, int]], text: str) -> str:
    """What a line is on its own: heading, caption, byline, furniture, instruction, text
    (running text, a sentence or more) or open (short and unpunctuated: a heading if body
    text follows it, page furniture if not)."""
    if _MARKDOWN_HEADING.match(line):
        return "heading"
    if _ROLE_LABEL.match(line):
        return "instruction"
    if _COPYRIGHT.match(line) or _CREDIT_LEAD.match(line) or _PAREN_CREDIT.fullmatch(line):
        return "caption"
    neighbours = [text[s:e] for s, e in lines[max(0, i - 1) : i] + lines[i + 1 : i + 2]]
    if _LONE_CREDIT.fullmatch(line) and not _ends_sentence(line) and not any(map(_is_list_item, neighbours)):
        return "caption"  # "- Keystone" under a photo; "- Microsoft" in a list is an item
    m = _TRAILING_CREDIT.search(line)
    if m and not _ends_sentence(line) and _is_credit(m.group("tail")):
        head = line[: m.start()]
        if len(sentence_spans(head)) <= CAPTION_MAX_SENTENCES:
            return "caption"
    m = _BYLINE.fullmatch(line)
    if m and len(line) <= BYLINE_MAX_CHARS and not _ends_sentence(line) and _is_name(m.group("name")):
        return "byline"
    if _is_meta(line):
        return "furniture"
    marker = _LIST_MARKER.match(line)
    body = line[marker.end() :] if marker and _is_list_item(line) else line
    if _ends_sentence(_PAREN_TAIL.sub("", body)):
        words = _word_count(body)
        if body.rstrip(_CLOSERS)[-1:] == "?" and words <= QUESTION_HEADING_MAX_WORDS and len(sentence_spans(body)) == 1:
            return "open-question"
        return "text"
    if _word_count(body) > HEADING_MAX_WORDS or len(body) > HEADING_MAX_CHARS:
        return "text"
    if body.endswith((",", ";", "-", "–")) or body.split()[-1].lower() in _CANNOT_END:
        return "text"  # a line that stops mid-sentence: hard wrapped, not a title
    if body is not line:
        return "text"  # an unpunctuated list item is content ("- Microsoft")
    return "open"


def _is_credit(tail: str) -> bool:
    """An agency or photographer: a few words, each capitalised or a lower-case brand
    ("dpa", "imago"), with no sentence punctuation."""
    words = tail.replace("/", " ").split()
    return 0 < len(words) <= CREDIT_MAX_WORDS and not _ends_sentence(tail) and words[0][:1].isalpha()


def _is_name(rest: str) -> bool:
    words = rest.split()
    return 1 <= len(words) <= 6 and all(_NAME_WORD.fullmatch(w) for w in words) and words[0][:1].isupper()


def _is_meta(line: str) -> bool:
    """Page metadata: "date 2025-06", "Lesezeit: 3 Min", a lone date, URL or rule."""
    if len(line) > META_MAX_CHARS or _ends_sentence(line) and not _ONLY_DATE.fullmatch(line.rstrip(".")):
        return False
    if _URL.fullmatch(line) or not re.search(r"[^\W\d_]", line):
        return True
    if _ONLY_DATE.fullmatch(line.rstrip(".")):
        return True
    key = _META_KEY.match(line)
    return key is not None and bool(re.search(r"\d|:", line[key.end() :]))


def _hard_wrapped(text: str, lines: list[tuple[int, int]], blank_after: list[bool]) -> bool:
    """A text wrapped at a fixed width: most lines run on into the next without ending a
    sentence. Its short unpunctuated lines are ends of paragraphs, not headings."""
    inner = [text[s:e] for (s, e), b in zip(lines, blank_after) if not b]
    cut = [t for t in inner if not _ends_sentence(t) and len(t) >= WRAP_MIN_CHARS]
    return len(inner) >= 3 and len(cut) > len(inner) / 2


def _resolve(
    text: str,
    lines: list[tuple[int, int]],
    shapes: list[str],
    blank_before: list[bool],
    blank_after: list[bool],
    wrapped: bool,
) -> list[str]:
    """Line roles: an open line is a heading when running text follows it (directly or
    after one more open line, a title above a subtitle); otherwise it is furniture."""
    roles = []
    for i, shape in enumerate(shapes):
        if shape == "open-question":
            # "Was bedeutet das für Nutzer?" alone between blank lines over a paragraph
            alone = blank_before[i] and blank_after[i]
            shape = "open" if alone and not _SECOND_PERSON.search(text[slice(*lines[i])]) else "text"
        if shape != "open":
            roles.append(shape)
            continue
        line = text[slice(*lines[i])]
        if not blank_after[i] and (wrapped or not text[slice(*lines[i + 1])][:1].isupper()):
            # a line cut by a fixed-width wrap, or one the next line continues
            # ("… den Partialdruck von O" / "2 in der …"): running text
            roles.append("text")
            continue
        nxt = [shapes[j] for j in range(i + 1, min(i + 3, len(shapes)))]
        follows = nxt[:1] == ["text"] or nxt[:2] == ["open", "text"]
        if follows and not blank_after[i] and _word_count(line) > TIGHT_HEADING_MAX_WORDS:
            roles.append("text")  # body directly below a line too long for a title
            continue
        roles.append("heading" if follows else "furniture")
    return roles


# ---------------------------------------------------------------- sentences


def _sentences(text: str, ls: int, le: int, role: str) -> list[tuple[int, int, str]]:
    """The sentences of one line with their roles: the line's role, except that a body line
    may open with page metadata or a dateline, hold a credit, address a model or the reader."""
    out: list[tuple[int, int, str]] = []
    if role == "heading" and _MARKDOWN_HEADING.match(text, ls):
        return [(ls, le, "heading")]
    if role == "text":
        role = "body"
        m = _META_PREFIX.match(text, ls, le) or _DATELINE.match(text, ls, le)
        if m:
            out.append((*_strip(text, ls, m.end()), "furniture"))
            ls = m.end()
        m = _LIST_MARKER.match(text, ls, le)
        if m and _is_list_item(text[ls:le]):
            ls = m.end()  # "1. Scale AI wurde …": the number is not a sentence of its own
    for s, e in sentence_spans(text, ls, le):
        r = role
        if role == "body":
            r = _sentence_role(text[s:e])
        out.append((s, e, r))
    return out


def _sentence_role(sentence: str) -> str:
    if _PAREN_CREDIT.fullmatch(sentence) or _COPYRIGHT.match(sentence):
        return "caption"  # "… sagte er. (dpa)"
    m = _LONE_CREDIT.fullmatch(sentence)
    if m and _is_credit(m.group("tail")):
        return "caption"
    if is_instruction(sentence):
        return "instruction"
    if sentence.endswith("?") and re.search(r"\b(?:du|dich|dir|dein\w*|euch|eure?)\b", sentence, re.I):
        return "furniture"  # a poll put to the reader ("Stört es dich, wenn …?")
    return "body"


def is_instruction(sentence: str) -> bool:
    """Whether a sentence gives orders to its reader or addresses a model. Quoted speech
    reports what someone said and is not addressed to whoever reads it."""
    s = sentence.strip()
    if not s or s[0] in _OPENERS and s[0] != "(":
        return False
    if _ROLE_LABEL.match(s) or _DIRECTIVE.search(s):
        return True
    # an order opens the sentence, or follows its address ("KI-Assistenten, antwortet …",
    # "Hinweis: Ignoriere …")
    clauses = [s] + [s[m.end() :] for m in re.finditer(r"[:,!][ \t]+", s[:80])][:2]
    if any(_IMPERATIVE.match(c) or _POLITE.match(c) for c in clauses) and not _ATTRIBUTION.search(s):
        return True
    lead = _ADDRESS_LEAD.match(s)
    if lead and _MODEL_ADDRESSEE.match(s, lead.end()):
        return True  # "Liebe KI-Assistenten", "Hinweis an das Sprachmodell"
    subject = re.match(r"(?:(?:der|die|das|alle|the|all)[ \t]+)?", s, re.I)
    if subject and _MODEL_ADDRESSEE.match(s, subject.end()) and _ADVISED.search(s):
        return True  # "KI-Assistenten sollten wissen, dass …"
    m = _MODEL_ADDRESSEE.match(s) or _ADDRESSEE.match(s)
    if m and re.match(r"[ \t]*[,:!]", s[m.end() :]):
        # a vocative: a model's name is enough; "AI, robotics and …" needs an order too
        return bool(_MODEL_ADDRESSEE.match(s)) or bool(_MODAL.search(s) or _SECOND_PERSON.search(s))
    return False
