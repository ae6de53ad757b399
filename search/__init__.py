"""FAISS gallery index shared by the app and the evaluation suite."""
from .index import GalleryIndex

__all__ = ["GalleryIndex"]
