"""Scoring against gold sets: running them, metrics, converting SQuAD-format data."""
