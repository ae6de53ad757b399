"""Evaluation suite: retrieval, cross-lingual consistency, out-of-domain VQA, cost, reports."""
