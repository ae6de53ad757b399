"""Out-of-domain visual question answering as multiple choice, scored by the dual encoder.

Each option is the question followed by a candidate answer, in one language; the model picks
the option whose text embedding is closest to the image. One answer is right, `n_wrong` are
names of other concepts of the same kind. Question templates are ours, written only for
languages where we are sure of them; other languages are reported as not evaluated.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from core.records import Record

QUESTIONS: dict[str, dict[str, str]] = {
    "photo": {
        "en": "What is shown in the picture?", "es": "¿Qué se muestra en la imagen?",
        "fr": "Qu'est-ce qui est montré sur l'image ?", "de": "Was ist auf dem Bild zu sehen?",
        "it": "Cosa è mostrato nell'immagine?", "pt": "O que é mostrado na imagem?",
        "ru": "Что изображено на картинке?", "zh": "图片中显示的是什么？", "ja": "写真に写っているのは何ですか？",
    },
    "flag": {
        "en": "Which country's flag is this?", "es": "¿De qué país es esta bandera?",
        "fr": "De quel pays est ce drapeau ?", "de": "Welches Land hat diese Flagge?",
        "it": "Di quale paese è questa bandiera?", "pt": "De que país é esta bandeira?",
        "ru": "Флаг какой страны это?", "zh": "这是哪个国家的国旗？", "ja": "これはどの国の国旗ですか？",
        "ko": "이것은 어느 나라의 국기입니까?", "ar": "علم أي دولة هذا؟", "tr": "Bu hangi ülkenin bayrağı?",
        "nl": "Van welk land is deze vlag?", "pl": "Flaga którego kraju to jest?",
        "id": "Bendera negara mana ini?", "fa": "این پرچم کدام کشور است؟",
        "vi": "Đây là cờ của quốc gia nào?", "hi": "यह किस देश का झंडा है?",
    },
}
VQA_SPLIT = {"photo": "ood"}  # photos are only ever evaluated; flags use the requested split


@dataclass(frozen=True)
class VQAItem:
    image: str
    kind: str
    language: str
    options: tuple[str, ...]  # full "question answer" texts
    answer: int


def build_items(records: list[Record], kind: str, split: str, n_wrong: int = 3, seed: int = 0) -> list[VQAItem]:
    split = VQA_SPLIT.get(kind, split)
    names: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)  # lang -> concept -> (image, name)
    for r in records:
        if r.kind != kind or r.split != split or r.language not in QUESTIONS[kind]:
            continue
        if kind == "flag" and r.source != "cldr":
            continue
        names[r.language].setdefault(r.concept, (r.image, r.caption))
    rng = np.random.default_rng(seed)
    items = []
    for lang in sorted(names):
        concepts = sorted(names[lang])
        if len(concepts) < n_wrong + 1:
            continue
        question = QUESTIONS[kind][lang]
        for concept in concepts:
            image, right = names[lang][concept]
            others = [c for c in concepts if c != concept and names[lang][c][1] != right]
            wrong = [names[lang][c][1] for c in rng.choice(others, size=n_wrong, replace=False)]
            answers = [right, *wrong]
            order = rng.permutation(len(answers))
            options = tuple(f"{question} {answers[i]}" for i in order)
            items.append(VQAItem(image, kind, lang, options, int(np.where(order == 0)[0][0])))
    return items


def vqa_accuracy(items: list[VQAItem], text_emb: dict[str, np.ndarray], image_emb: dict[str, np.ndarray]) -> dict[str, dict]:
    """Per-language accuracy given embeddings looked up by text and by image path."""
    correct: dict[str, list[bool]] = defaultdict(list)
    for item in items:
        opts = np.stack([text_emb[o] for o in item.options])
        correct[item.language].append(int(np.argmax(opts @ image_emb[item.image])) == item.answer)
    return {lang: {"accuracy": float(np.mean(v)), "questions": len(v),
                   "chance": 1.0 / len(items[0].options)} for lang, v in sorted(correct.items())}
