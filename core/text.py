"""What every text encoder does to a query before tokenizing it, in one place (PyTorch and ONNX)."""
from __future__ import annotations


def clean_text(text: str) -> str:
    """Whitespace runs collapsed to one space, ends trimmed, and unpaired UTF-16 surrogates (which
    JSON can carry but no tokenizer accepts) replaced by U+FFFD; valid surrogate pairs are joined."""
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return " ".join(text.split())
