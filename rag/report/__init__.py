"""Eval reports for people: one self-contained HTML file with plots and a browsable table."""
