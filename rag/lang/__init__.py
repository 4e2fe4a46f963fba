"""Language knowledge: text primitives and the lexicon of each language, each defined once."""
