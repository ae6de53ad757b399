"""Losses: contrastive primitives and one module per distillation formulation."""
