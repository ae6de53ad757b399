"""Training side of LinguaLens: corpus, losses, students, trainer, evaluation, study runner."""
