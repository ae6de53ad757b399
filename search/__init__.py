"""serving: the search service behind the app (galleries, teacher/student side by side, uploads)."""
