"""Featurisation, batching and decoding of the task kinds beyond sequence classification and
tagging: :mod:`.multiple_choice` and :mod:`.qa` (extractive QA)."""
