"""`rag serve`: the models kept warm behind a small HTTP server that holds up under load.

request.py (a POST /ask body, checked) · admission.py (who waits, who is turned away, who
gave up) · metrics.py (counts and latency percentiles) · service.py (answers, and switching
to a rebuilt index between them) · http.py (routes, the one model worker, graceful stop) ·
client.py (`rag ask --server`).
"""
