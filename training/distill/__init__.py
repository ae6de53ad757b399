"""Distillation: a student from any teacher. `config` (DistillConfig and the recipes' defaults),
`data` (training text, teacher cache, batches), `step` (one loss step), `run` (the run and its
command line: `python -m training.distill`), `distributed` (torchrun helpers)."""
