"""Corpora: the embedded emoji/flag/photo corpus and loaders for users' own data."""
from core.records import KINDS, SPLITS, Record, read_manifest, write_manifest

__all__ = ["KINDS", "SPLITS", "Record", "read_manifest", "write_manifest"]
