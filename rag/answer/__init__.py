"""A question and its retrieved chunks in, an Answer out: parsing, evidence, spans, policy, citations."""
