"""Model cards: Hugging Face style README.md with YAML front matter, generated, never hand-edited.

The front matter carries what hubs and tools read (languages, licence, base models, library,
metrics); the body says what the model is, how it was made (the exact command), what it costs,
and what it does not do.
"""
from __future__ import annotations

import json
from typing import Any


def _yaml_scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON scalars are valid YAML scalars


def front_matter(meta: dict[str, Any]) -> str:
    lines = ["---"]
    for key, value in meta.items():
        if isinstance(value, (list, tuple)):
            lines.append(f"{key}:")
            lines += [f"- {_yaml_scalar(v)}" for v in value]
        elif isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {k}: {_yaml_scalar(v)}" for k, v in value.items()]
        else:
            lines.append(f"{key}: {_yaml_scalar(value)}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def model_card(name: str, *, summary: str, languages: list[str], base_models: list[str],
               parameters: dict[str, int], license: str = "mit", command: str | None = None,
               metrics: dict[str, float] | None = None, sections: dict[str, str] | None = None,
               tags: list[str] | None = None) -> str:
    meta: dict[str, Any] = {
        "language": sorted(languages),
        "license": license,
        "library_name": "sentence-transformers",
        "pipeline_tag": "sentence-similarity",
        "tags": ["lingualens", "multilingual", "image-text-retrieval", *(tags or [])],
        "base_model": base_models,
    }
    if metrics:
        meta["metrics"] = {k: round(float(v), 4) for k, v in metrics.items()}
    body = [f"# {name}", "", summary, "",
            "## Parameters", "",
            "| part | parameters |", "| --- | ---: |"]
    body += [f"| {k} | {v:,} |" for k, v in parameters.items()]
    body += ["", "## Use", "", "```python", "from zoo import load_model",
             f"model = load_model({name!r})",
             'text = model.encode_text(["perro", "犬", "собака"])  # L2-normalised float32',
             'images = model.encode_image(["photo.jpg"])', "scores = text @ images.T", "```", "",
             "The text tower alone also loads with `SentenceTransformer(path)` (same embeddings) and",
             "its backbone with `transformers.AutoModel.from_pretrained(path)`.", ""]
    if command:
        body += ["## Reproduce", "", "```bash", command, "```", ""]
    for title, text in (sections or {}).items():
        body += [f"## {title}", "", text.rstrip(), ""]
    return front_matter(meta) + "\n" + "\n".join(body)
