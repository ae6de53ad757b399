"""Choose the photo-aware image head's gate on validation data only.

The gate (`zoo.heads.Gate`) decides, from an image's flatness, how much of its
embedding comes from ConSE class semantics instead of the head trained on drawings. Two
validation signals choose it, and neither touches the out-of-domain test photos:

- drawings: text→image R@10 on the emoji val split (the teacher's own selection languages), with
  the gate photos mixed into the val gallery. A gate may cost at most `MAX_EMOJI_DROP` against the
  trained head alone;
- photos: the gate photos (`GATE_PHOTOS`: five real photos of three things that ship in gradio),
  each queried by its captions in nine languages against the val emoji+flag gallery plus the
  gate photos. Among the gates that keep drawings, the one that finds them most often (R@10)
  wins; ties go to the gentlest gate: the lowest mean photo weight on drawings, then the lowest
  ceiling, then the narrowest flatness range counted as photo-like (lowest `high`).

Five photos are a thin signal: the drawing constraint does most of the work, and
`benchmarks/photos.py` reports the chosen gate on the test photos with intervals.
"""
from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from corpus.photos import GATE_PHOTOS, PHOTO_LANGUAGES
from evaluation.retrieval import first_hit_ranks
from zoo.heads import DEFAULT_PROMPT, Gate, PhotoAwareHead, with_flatness

MAX_EMOJI_DROP = 0.005
FLOORS = (0.0, 0.2, 0.3)
CEILINGS = (0.6, 0.8, 1.0)
RAMPS = ((0.2, 0.5), (0.3, 0.6), (0.4, 0.7), (0.5, 0.8), (0.2, 0.8))  # flatness (low, high)


def imagenet_classes() -> list[str]:
    """The 1,000 ImageNet-1k class names in the classifier's output order (torchvision ships them)."""
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    return list(_IMAGENET_CATEGORIES)


def class_prompts(prompt: str = DEFAULT_PROMPT) -> list[str]:
    if "{}" not in prompt:
        raise ValueError(f"the class prompt needs a '{{}}' where the class name goes, got {prompt!r}")
    return [prompt.format(c) for c in imagenet_classes()]


@dataclass
class GateData:
    """Everything the choice reads, as embeddings and pooled features (no model calls)."""

    emoji_queries: torch.Tensor  # [Q, D] teacher text embeddings of emoji val captions
    emoji_target: list[int]  # per query: its image's row in `gallery`
    gallery: torch.Tensor  # [G, F + 1] pooled features and flatness of the val emoji+flag gallery
    photos: torch.Tensor  # [P, F + 1] the same for the gate photos
    photo_queries: torch.Tensor  # [R, D] teacher text embeddings of their captions
    photo_target: list[set[int]]  # per photo query: its photos' rows in `photos`


@dataclass
class GateChoice:
    gate: Gate
    table: list[dict]  # one row per gate tried, the chosen one marked
    head_only: dict
    evidence: dict = field(default_factory=dict)  # what the built head does to drawings (`drawing_evidence`)


@torch.inference_mode()
def _score(embed, data: GateData) -> dict:
    g = F.normalize(embed(data.gallery), dim=-1)
    p = F.normalize(embed(data.photos), dim=-1)
    return _ranks(g, p, data)


def _ranks(g: torch.Tensor, p: torch.Tensor, data: GateData) -> dict:
    both = torch.cat([g, p]).numpy()
    emoji = first_hit_ranks(data.emoji_queries.numpy(), both, [{t} for t in data.emoji_target])
    offset = len(g)
    photo = first_hit_ranks(data.photo_queries.numpy(), both, [{offset + i for i in t} for t in data.photo_target])
    return {"emoji_R@10": float((emoji <= 10).mean()), "photo_R@10": float((photo <= 10).mean())}


def gate_data(feats, embed_texts, pooled_features, languages: list[str]) -> GateData:
    """GateData from the embedded corpus's cached features (`training.embedded.EmbeddedFeatures`).

    `embed_texts(texts) -> [N, D]` is the teacher's normalised text embedding; `pooled_features(
    images) -> [N, F + 1]` the image backbone's pooled output with flatness appended, for PIL
    images (the gate photos are not in the corpus)."""
    gallery_paths = sorted({r.image for r in feats.records if r.split == "val" and r.kind in ("emoji", "flag")})
    at = {p: i for i, p in enumerate(gallery_paths)}
    rows = [feats.image_index[p] for p in gallery_paths]
    queries = sorted({(r.caption, r.image) for r in feats.records
                      if r.split == "val" and r.kind == "emoji" and r.language in set(languages)})
    if not queries:
        raise ValueError(f"no emoji val captions in {', '.join(languages)}: the gate needs them")
    concepts = sorted({p.concept_name for p in GATE_PHOTOS})
    photos_of = {c: {i for i, p in enumerate(GATE_PHOTOS) if p.concept_name == c} for c in concepts}
    captions = sorted({(caption, p.concept_name) for p in GATE_PHOTOS for caption in p.captions})
    assert all(len(p.captions) == len(PHOTO_LANGUAGES) for p in GATE_PHOTOS)
    return GateData(
        emoji_queries=torch.as_tensor(embed_texts([q for q, _ in queries])),
        emoji_target=[at[image] for _, image in queries],
        gallery=torch.from_numpy(np.concatenate([feats.image_feats[rows], feats.image_flat[rows]], 1)),
        photos=torch.as_tensor(pooled_features([p.load() for p in GATE_PHOTOS])),
        photo_queries=torch.as_tensor(embed_texts([c for c, _ in captions])),
        photo_target=[photos_of[c] for _, c in captions],
    )


def choose_gate(head: nn.Module, classifier: nn.Linear, class_text: torch.Tensor, data: GateData,
                top_k: int = 10, max_emoji_drop: float = MAX_EMOJI_DROP) -> GateChoice:
    head = head.eval()
    head_only = _score(lambda x: head(x[:, :-1]), data)
    rows, best, best_key = [], None, None
    for floor, ceiling, (low, high) in itertools.product(FLOORS, CEILINGS, RAMPS):
        if ceiling < floor:
            continue
        gate = Gate(floor, ceiling, low, high)
        candidate = PhotoAwareHead(head, classifier, class_text, gate, top_k=top_k).eval()
        scores = _score(candidate, data)
        with torch.inference_mode():
            drawn_weight = float(candidate.photo_weight(data.gallery).mean())
        keeps = scores["emoji_R@10"] >= head_only["emoji_R@10"] - max_emoji_drop
        rows.append({**asdict(gate), **scores, "drawing_weight": round(drawn_weight, 4),
                     "keeps_drawings": keeps, "chosen": False})
        key = (scores["photo_R@10"], -drawn_weight, -ceiling, -high)  # then the gentlest gate
        if keeps and (best_key is None or key > best_key):
            best, best_key = len(rows) - 1, key
    if best is None:  # no gate keeps drawings: the trained head alone (photo weight 0)
        return GateChoice(Gate(0.0, 0.0, 0.0, 1.0), rows, head_only)
    rows[best]["chosen"] = True
    chosen = rows[best]
    return GateChoice(Gate(chosen["floor"], chosen["ceiling"], chosen["low"], chosen["high"]), rows, head_only)


@torch.inference_mode()
def drawing_evidence(head: PhotoAwareHead, feats, data: GateData) -> dict:
    """How flat the corpus drawings and the gate photos are, and how far the built head moves any
    drawing from its trained embedding (all splits: the claim is about every drawing)."""
    rows = sorted({feats.image_index[r.image] for r in feats.records if r.kind in ("emoji", "flag")})
    flat = torch.from_numpy(feats.image_flat[rows])
    x = with_flatness(torch.from_numpy(feats.image_feats[rows]), flat)
    change = (head(x) - F.normalize(head.head(x[:, :-1]), dim=-1)).abs().max()
    return {"drawings": len(rows), "drawing_flatness_min": round(float(flat.min()), 4),
            "gate_photo_flatness_max": round(float(data.photos[:, -1].max()), 4),
            "max_change_on_drawings": float(change)}


def gate_table_markdown(choice: GateChoice, limit: int = 12) -> str:
    """The chosen gate and its strongest rivals, as the teacher card shows them."""
    rows = sorted(choice.table, key=lambda r: (not r["chosen"], not r["keeps_drawings"], -r["photo_R@10"]))[:limit]
    h, e = choice.head_only, choice.evidence
    lines = [f"Trained head alone: emoji val R@10 {h['emoji_R@10']:.3f}, gate-photo R@10 {h['photo_R@10']:.3f}. "
             f"A gate may cost drawings at most {MAX_EMOJI_DROP:.3f}.", "",
             *([f"Flatness: every one of the {e['drawings']:,} corpus drawings ≥ {e['drawing_flatness_min']:.2f}, every gate "
                f"photo ≤ {e['gate_photo_flatness_max']:.2f}; the chosen head moves no drawing's embedding by more than "
                f"{e['max_change_on_drawings']:.1e}.", ""] if e else []),
             "| floor | ceiling | flatness ramp | emoji val R@10 | gate-photo R@10 | mean weight on drawings | keeps drawings |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        mark = " **(chosen)**" if r["chosen"] else ""
        lines.append(f"| {r['floor']} | {r['ceiling']}{mark} | {r['low']:.2f}–{r['high']:.2f} "
                     f"| {r['emoji_R@10']:.3f} | {r['photo_R@10']:.3f} | {r['drawing_weight']:.3f} | {'yes' if r['keeps_drawings'] else 'no'} |")
    return "\n".join(lines)


__all__ = ["MAX_EMOJI_DROP", "GateData", "gate_data", "drawing_evidence", "GateChoice", "choose_gate", "class_prompts", "imagenet_classes",
           "gate_table_markdown"]
