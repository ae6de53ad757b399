"""Moved: the corpus is the top-level `corpus` package now. This stub keeps
`python -m training.data …` working for one release; it says where the command went."""
