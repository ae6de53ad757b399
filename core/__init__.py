"""core: what every layer may use and nothing in it imports from above — paths, atomic io,
languages, corpus records, the gallery index, progress bars and the project's shared constants.

Layers, imported only downward (tests/test_layers.py enforces it):
core → zoo (models) → corpus / evaluation → training (distillation) → export →
search / app (serving); benchmarks sit on top.
"""
