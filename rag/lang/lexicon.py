"""Every word list, pattern and number scale the pipeline knows, each defined once.

Entries that belong to one language are kept per language ("de", "en"); modules that
treat both languages alike take the union from here too. Modules elsewhere import from here
and never define their own copies; supporting another language means adding its entries here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# A model saying that the passages do not hold the answer, in either language.
DECLINES = re.compile(
    r"nicht (in den|genannt|erwähnt|angegeben)|keine (angabe|information)|sagen dazu nichts|"
    r"not (mentioned|stated|say|given|in the)|don't say|no information|unknown|unbekannt",
    re.I,
)

LANGUAGES = ("de", "en")


def pattern(words: Iterable[str]) -> str:
    """A regex alternation of words, each matched literally, without repeats that differ
    only in case (the patterns built from it are case-insensitive). Longer words come first:
    the first alternative that fits wins, so "Januar" listed before "January" would cut it."""
    seen: dict[str, str] = {}
    for w in sorted(words, key=len, reverse=True):
        seen.setdefault(w.lower(), re.escape(w))
    return "(?:" + "|".join(seen.values()) + ")"


def both(table: Mapping[str, Iterable[str]]) -> list[str]:
    """The entries of every language, German first."""
    return [w for lang in LANGUAGES for w in table[lang]]


# ---------------------------------------------------------------- function words

STOPWORDS: dict[str, frozenset[str]] = {
    "de": frozenset(
        """
        aber alle allem allen aller alles als also am an ander andere anderem anderen anderer
        anderes auch auf aus bei beim bin bis bist da dabei damit dann das dass dem den denen
        der deren des dessen dich die dies diese diesem diesen dieser dieses dir doch dort du
        durch ein eine einem einen einer eines er es etwa euch euer für gegen gewesen hab habe
        haben hat hatte hatten hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer
        ihres im in indem ins ist jede jedem jeden jeder jedes jene jenem jenen jener jenes
        jetzt kann kein keine keinem keinen keiner können könnte man manche mein meine mich
        mir mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein seine seinem
        seinen seiner seines selbst sich sie sind so solche soll sollte sondern sonst über um
        und uns unser unter vom von vor war waren warum was weg weil welche welchem welchen
        welcher welches wenn wer werde werden wie wieder will wir wird wo wollen wurde wurden
        zu zum zur zwar zwischen wann wieso weshalb woher wohin wieviel viele vielen viel
        gibt gab sei seit laut hatten worden""".split()
    ),
    "en": frozenset(
        """
        a about above after again against all am an and any are as at be because been before
        being below between both but by can could did do does doing down during each few for
        from further had has have having he her here hers herself him himself his how i if in
        into is it its itself just me more most my myself no nor not now of off on once only
        or other our ours out over own same she should so some such than that the their theirs
        them then there these they this those through to too under until up very was we were
        what when where which while who whom why will with would you your yours many much
        did does according""".split()
    ),
}
# A question may be in another language than the text it is matched against.
ALL_STOPWORDS = frozenset(both(STOPWORDS))

# Question words: they say what kind of answer is wanted, not what it is about.
QUESTION_WORDS = frozenset(
    """
    wer wen wem wessen was wann wo woher wohin wie wieviel wieviele welche welcher welches
    welchem welchen warum weshalb wieso womit wofür worüber
    who whom whose what when where which why how""".split()
)

ARTICLES = {
    "de": ("der", "die", "das", "den", "dem", "des", "ein", "eine", "einer", "eines", "einem", "einen"),
    "en": ("the", "a", "an"),
}

# Capitalised words that frame an answer rather than state a fact.
FRAME_WORDS = {
    "de": tuple(
        "Antwort Quelle Quellen Laut Nach Gemäß Im In Am Um Bei Mit Von Vom Zum Zur Ja Nein Etwa Rund "
        "Fast Knapp Über Unter Mehr Weniger".split()
    ),
    "en": tuple("Answer Source Sources According About Around Nearly Almost Over Under More Less Yes No".split()),
}

# German capitalises every noun; these endings mark common nouns, not names.
NOUN_SUFFIXES = (
    "ung",
    "ungen",
    "heit",
    "heiten",
    "keit",
    "keiten",
    "tion",
    "tionen",
    "schaft",
    "schaften",
    "ität",
    "itäten",
    "ismus",
    "nis",
    "nisse",
    "tum",
    "ment",
    "ments",
    "ik",
    "ie",
    "ien",
)
COMMON_NOUN = re.compile("(?:" + "|".join(NOUN_SUFFIXES) + ")$")
# ... and so, more loosely, do case endings ("des Unternehmens", "in Ländern"); names end so
# too (Siemens, Bayern), so only a candidate answer's shape uses them, not the grounding check
NOUN_CASE_ENDINGS = ("ens", "ern")
COMMON_NOUN_FORM = re.compile("(?:" + "|".join(NOUN_SUFFIXES + NOUN_CASE_ENDINGS) + ")$")

# A question that leans on the one before it starts with one of these ...
FOLLOW_UP_LEADS = {
    "de": (
        "und",
        "also",
        "aber",
        "und was",
        "was ist mit",
        "wie steht es mit",
        "sowie",
        "außerdem",
        "ausserdem",
        "dann",
    ),
    "en": ("and", "but", "what about", "how about", "then"),
}
# ... or has a pronoun or place word pointing back
PERSONAL_PRONOUNS = {
    "de": (
        "er",
        "sie",
        "ihn",
        "ihm",
        "sein",
        "seine",
        "seinen",
        "seinem",
        "seiner",
        "ihr",
        "ihre",
        "ihren",
        "ihrem",
        "ihrer",
    ),
    "en": ("he", "she", "him", "his", "her", "hers"),
}
POINTER_WORDS = frozenset(both(PERSONAL_PRONOUNS)) | frozenset(
    "es dessen deren dort damals dafür davon daran diese dieser dieses diesen "
    "it its they them their there this that these those then".split()
)

# ---------------------------------------------------------------- sentences

# Abbreviations after which a period does not end a sentence (compared lower-case).
ABBREVIATIONS = frozenset(
    """
    z.b u.a d.h bzw ca dr prof nr st str mio mrd tsd vgl ggf evtl inkl zzgl usw etc abs
    bspw jh jhd jahrh chr ff hrsg geb gest min max mr mrs ms jr sr vs no fig e.g i.e
    approx dept univ corp inc ltd co u.s u.k""".split()
)

# ---------------------------------------------------------------- dates

MONTHS = {
    "de": (
        "januar",
        "februar",
        "märz",
        "april",
        "mai",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "dezember",
        "jänner",
    ),
    "en": (
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ),
}
DAYS = {
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
# "vor 3 Jahren", "two years later"; the longer form first
DURATIONS = {"de": ("Jahren", "Jahre", "Monaten", "Monate"), "en": ("years", "year", "months", "month")}
RELATIVE = {"de": ("zuvor", "später"), "en": ("ago", "later")}
TIME_PREPOSITIONS = {"de": ("am", "im", "seit", "vor", "in", "bis"), "en": ("on", "in", "since", "until")}
PLACE_PREPOSITIONS = {"de": ("in", "aus", "nach", "bei", "im", "am"), "en": ("in", "from", "at", "near")}
PLACE_ARTICLES = {"de": ("der", "dem", "den"), "en": ("the",)}
# lower-case words inside a name: "Ludwig van Beethoven", "Bank of America"
NAME_PARTICLES = ("von", "van", "de", "der", "al-", "of", "the")
# ...and inside an English title quoted in a German text: "Smith and Jones", "ABC on Demand"
TITLE_PARTICLES = ("and", "on", "to", "for")

# ---------------------------------------------------------------- numbers and units

# A number as written in either language: "14,3", "1.300", "1,000.5" (text.normalize_number reads it).
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A year as articles write it (a four-digit number from 1500 to 2099).
YEAR = re.compile(r"\b(?:1[5-9]\d\d|20\d\d)\b")

NUMBER_WORDS = {
    "de": {
        "ein": 1,
        "eine": 1,
        "einer": 1,
        "zwei": 2,
        "drei": 3,
        "vier": 4,
        "fünf": 5,
        "sechs": 6,
        "sieben": 7,
        "acht": 8,
        "neun": 9,
        "zehn": 10,
        "elf": 11,
        "zwölf": 12,
        "zwanzig": 20,
        "dreißig": 30,
        "hundert": 100,
        "tausend": 1000,
    },
    "en": {
        "one": 1,
        "a": 1,
        "two": 2,
        "three": 3,
        "four": 4,
        "five": 5,
        "six": 6,
        "seven": 7,
        "eight": 8,
        "nine": 9,
        "ten": 10,
        "eleven": 11,
        "twelve": 12,
        "twenty": 20,
        "hundred": 100,
        "thousand": 1000,
    },
}

# Scale words after a number, lower-case and without the abbreviation's period. German
# "Billion" is 10^12 and English "billion" 10^9: read a text's scale words in its language.
SCALES: dict[str, dict[str, float]] = {
    "de": {
        "milliarden": 1e9,
        "milliarde": 1e9,
        "millionen": 1e6,
        "million": 1e6,
        "mrd": 1e9,
        "mio": 1e6,
        "tausend": 1e3,
        "billionen": 1e12,
        "billion": 1e12,
    },
    "en": {"billion": 1e9, "million": 1e6, "thousand": 1e3, "trillion": 1e12},
}

# Words that qualify a quantity: "etwa 900", "more than 5"
QUALIFIERS = {
    "de": (
        "etwa",
        "rund",
        "ca.",
        "circa",
        "fast",
        "knapp",
        "über",
        "mehr als",
        "weniger als",
        "bis zu",
        "mindestens",
        "gut",
    ),
    "en": (
        "about",
        "around",
        "nearly",
        "almost",
        "over",
        "more than",
        "less than",
        "up to",
        "at least",
        "approximately",
    ),
}
CURRENCIES = ("US-Dollar", "Dollar", "Euro", "Franken", "Pfund", "USD", "EUR", "$", "€", "dollars", "euros")
# unit words a quantity may carry, besides a currency
UNIT_WORDS = {
    "de": ("Prozent", "%", "Jahre", "Jahren", "Jahr", "Monate", "Meter", "Kilometer", "km", "Menschen"),
    "en": ("percent", "years", "year", "months", "month", "people"),
}
# the unit family of a quantity, by the words in its span (searched in this order)
UNITS = {
    "money": re.compile(pattern(CURRENCIES), re.I),
    "percent": re.compile(r"prozent|%|percent", re.I),
    "age": re.compile(r"jahre|jährig|years?", re.I),
}
# Unit words of one meaning in either language, spelled the English way.
UNIT_SYNONYMS = {
    "us-dollar": "dollar",
    "usd": "dollar",
    "dollars": "dollar",
    "$": "dollar",
    "prozent": "percent",
    "%": "percent",
    "€": "euro",
}

# ---------------------------------------------------------------- questions

# kind -> question patterns (lower-case). The pattern that matches earliest in the question
# wins: in "Who ran the incubator when it backed Scale?" the asked thing is "who".
QUESTION_KINDS = [
    (
        "number",
        r"\bwie (viele?|viel|hoch|groß|gross|alt|lange?|weit|teuer|schwer|oft)\b|\bwieviele?\b|"
        r"\bhow (many|much|high|large|big|old|long|far|often)\b|"
        r"\bwelche[nmrs]? (summe|betrag|anzahl|höhe|bewertung|wert|anteil|preis|umsatz)\b|"
        r"\bmit welchem (wert|betrag|preis)\b|\bwhat (amount|percentage|number|share|stake|valuation|value)\b",
    ),
    (
        "time",
        r"\bwann\b|\bseit wann\b|\bin welchem jahr\b|\bwelche[mns]? (jahr|datum|tag|monat)\b|"
        r"\bwhen\b|\bwhat (year|date|day|month)\b|\bwhich (year|date|day|month)\b|\bin what year\b",
    ),
    (
        "place",
        r"\bwo\b|\bwoher\b|\bwohin\b|\bin welche[mr] (stadt|land|ort|staat|region)\b|"
        r"\bwhere\b|\bin (what|which) (city|country|state|place|region)\b|\bwhich (city|country)\b",
    ),
    (
        "person",
        r"\bwer\b|\bwen\b|\bwem\b|\bwessen\b|\bwho\b|\bwhom\b|\bwhose\b|"
        r"\bwelche[rn]? (person|gründer|chef|ceo|manager|präsident|mitgründer)",
    ),
    (
        "name",
        r"\bwie (hie(ß|ss)|hei(ß|ss)t|hei(ß|ss)en|lautet|lautete)\b|"
        r"\bwelche[rsnm]? (zeitung|universität|hochschule|firma|unternehmen|modell|organisation|partei|"
        r"marke|produkt|land|sprache|religion)\b|"
        r"\bwhat (is|was) the name\b|\bwhich (company|university|newspaper|organi[sz]ation|model|firm|"
        r"language|religion|country|branch|branches)\b|\bwhat (company|university|newspaper|language|religion)\b",
    ),
]

# unit -> words in a "how much" question that ask for a quantity of that unit (prefix
# match). The first that matches wins: "wie viel Prozent der Investitionen" asks for percent.
QUESTION_UNITS = [
    ("percent", r"\b(prozent|anteil|quote|percent|share|stake|proportion)"),
    ("age", r"\bwie alt\b|\bhow old\b|\balter\b|\bage\b"),
    (
        "money",
        r"\b(geld|dollar|euro|invest|zahl|bezahl|kost|wert|bewert|umsatz|preis|kapital|betrag|summe|"
        r"finanz|gewinn|verdien|pay|paid|cost|worth|valu|revenue|price|fund|money|capital|spend|earn)",
    ),
]

# ---------------------------------------------------------------- answers

# A citation marker in an answer: [1], [1, 2], [1; 3]
CITATION_MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")

# ---------------------------------------------------------------- evidence units (answer/units.py)

# Words that open a caption or a photo/source credit: "Foto: Keystone", "Source: Reuters".
CREDIT_WORDS = {
    "de": ("Foto", "Fotos", "Bild", "Bilder", "Bildquelle", "Quelle", "Grafik", "Abbildung", "Illustration", "Video"),
    "en": ("Photo", "Photos", "Image", "Picture", "Source", "Credit", "Credits", "Illustration", "Graphic", "Video"),
}
# Words that open a byline: "Von Max Muster", "By Jane Doe", "Autorin: …".
BYLINE_WORDS = {"de": ("Von", "Text", "Autor", "Autorin"), "en": ("By", "Text", "Author")}
# Keys of page metadata: "date 2025-06", "Stand: 12.06.2025", "Lesezeit: 3 Min".
META_KEYS = {
    "de": ("Datum", "Stand", "Aktualisiert", "Zuletzt aktualisiert", "Veröffentlicht", "Lesezeit", "Lesedauer"),
    "en": ("Date", "Updated", "Last updated", "Published", "Posted", "Reading time"),
}
# Speaker labels of a chat transcript or prompt: a document that carries them is staging a
# conversation with a model, not reporting a fact.
ROLE_LABELS = (
    "System",
    "User",
    "Assistant",
    "Human",
    "Nutzer",
    "Benutzer",
    "Prompt",
    "Instruction",
    "Instructions",
    "Anweisung",
    "Anweisungen",
    "Frage",
    "Antwort",
    "Question",
    "Answer",
)
# Those a text may address with orders: "KI-Assistenten, …", "Note to the language model: …".
ADDRESSEES = {
    "de": (
        "KI-Assistent",
        "KI-Assistenten",
        "KI-Assistentin",
        "Assistent",
        "Assistenten",
        "Sprachmodell",
        "Sprachmodelle",
        "KI-Modell",
        "KI-Modelle",
        "KI-System",
        "Chatbot",
        "Bot",
        "KI",
    ),
    "en": (
        "AI assistant",
        "AI assistants",
        "assistant",
        "assistants",
        "language model",
        "language models",
        "AI model",
        "AI models",
        "AI system",
        "LLM",
        "LLMs",
        "chatbot",
        "bot",
        "AI",
    ),
}
# Imperatives that order the reader (or a model) about. German: the du-form and the polite
# infinitive + "Sie" (a verb-first "Ignoriert wurde …" is a passive, not an order).
IMPERATIVES = {
    "de": (
        "antworte",
        "ignoriere",
        "vergiss",
        "vergesst",
        "beachte",
        "gib",
        "nenne",
        "schreibe",
        "schreib",
        "sag",
        "wiederhole",
        "erwähne",
        "behaupte",
        "tu",
        "tue",
        "mach",
        "mache",
        "verwende",
        "nutze",
        "übersetze",
    ),
    # only forms that cannot open a statement as a noun ("Use of …", "Output rose …", "Never before …")
    "en": (
        "answer",
        "respond",
        "ignore",
        "disregard",
        "forget",
        "say",
        "write",
        "tell",
        "pretend",
        "translate",
        "please",
        "do not",
        "don't",
    ),
}
# Polite German imperatives: these infinitives directly followed by "Sie".
POLITE_IMPERATIVES = (
    "antworten",
    "ignorieren",
    "vergessen",
    "beachten",
    "geben",
    "nennen",
    "schreiben",
    "sagen",
    "wiederholen",
    "erwähnen",
    "verwenden",
    "nutzen",
    "lesen",
    "klicken",
)
# Phrases that give orders wherever they stand in a sentence.
DIRECTIVES = {
    "de": (
        r"ignorier\w*\s+(?:\w+\s+){0,2}(?:vorherigen|bisherigen|obigen|vorigen|früheren)",
        r"vergiss\s+(?:alle|alles)",
        r"\bdu\s+(?:bist\s+(?:jetzt|nun|ab\s+sofort)|musst|sollst|darfst\s+nicht)\b",
        r"\b(?:musst|sollst)\s+du\b",
        r"\bihr\s+(?:müsst|sollt)\b",
        r"\bantworte\b",
    ),
    "en": (
        r"\bignore\s+(?:\w+\s+){0,2}(?:previous|prior|above|earlier|preceding)\b",
        r"\bdisregard\s+(?:\w+\s+){0,2}(?:previous|prior|above|earlier|instructions)\b",
        r"\byou\s+(?:are\s+now|must|should|have\s+to|need\s+to|will\s+now)\b",
        r"\bsystem\s+prompt\b",
    ),
}
# Second-person words: with an addressee they turn a mention into an address.
SECOND_PERSON = {
    "de": ("du", "dich", "dir", "dein", "deine", "deinen", "deinem", "deiner", "deines", "euch", "euer", "eure"),
    "en": ("you", "your", "yours", "yourself"),
}
# Words that open an address: "Liebe KI", "Dear assistant", "Hinweis an das Sprachmodell".
ADDRESS_LEADS = {
    "de": (
        "liebe",
        "lieber",
        "liebes",
        "hallo",
        "hey",
        "hinweis an",
        "hinweis für",
        "nachricht an",
        "anweisung an",
        "anweisung für",
        "an alle",
        "für alle",
        "an",
    ),
    "en": (
        "dear",
        "hello",
        "hey",
        "hi",
        "note to",
        "note for",
        "message to",
        "instruction to",
        "instructions for",
        "attention",
        "to all",
        "for all",
        "to",
    ),
}

# ---------------------------------------------------------------- candidate answers

# Words inside a proper name that make it an organisation's: "Scale AI", "Deutsche Bank AG".
ORG_MARKERS = tuple(
    "AG GmbH SE KG Inc Inc. Corp Corp. Ltd Ltd. LLC Co. AI Labs Group Holding Bank Partei Party "
    "Universität University College Institute Institut Stiftung Foundation Verlag Zeitung Times News "
    "Airlines Motors".split()
)
# Seasons: with a year they make a date ("Sommer 1521").
SEASONS = {
    "de": ("Frühling", "Frühjahr", "Sommer", "Herbst", "Winter"),
    "en": ("spring", "summer", "autumn", "fall", "winter"),
}
