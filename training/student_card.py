"""The model card of a distilled student: what it is, what it kept, what it costs, per language."""
from __future__ import annotations

import math

from zoo.card import model_card

from .evaluation.report import markdown
from .evaluation.suite import HEADLINE_KEY


def student_card(name, cfg, student, teacher, test_student: dict, test_teacher: dict, build: dict, command: str) -> str:
    s, t = test_student["summary"], test_teacher["summary"]

    def ratio(key: str) -> str:
        a, b = s.get(key), t.get(key)
        return f"{a / b:.2f}" if a is not None and b and not math.isnan(a) and not math.isnan(b) else "–"

    summary = (
        f"A distilled multilingual text tower for `{cfg.teacher}`: recipe `{cfg.recipe}` "
        f"({len(build['layers_kept'])} of the teacher's {build.get('layers_teacher', '?')} layers — kept: {build['layers_kept']}; "
        f"{build['vocab_kept']:,} of {build['vocab_teacher']:,} vocabulary pieces"
        + (f", {build['full_rows']:,} as full rows and the rest as a rank-{build['tail_rank']} reconstruction of the "
           "teacher's rows, so every text is cut into the teacher's pieces" if build.get("tail_rank") else "")
        + f"), trained with loss `{cfg.loss}` against the teacher's cached embeddings. It shares the teacher's image tower.\n\n"
        f"Text parameters: **{build['text_params_student']:,}** = {build['text_fraction']:.1%} of the teacher's "
        f"{build['text_params_teacher']:,}. Test-split emoji text→image R@10, mean over the {s.get('emoji_languages', '?')} "
        f"validation languages: "
        f"{s.get(HEADLINE_KEY, float('nan')):.3f} vs teacher {t.get(HEADLINE_KEY, float('nan')):.3f} "
        f"(ratio {ratio(HEADLINE_KEY)}). Every language of the corpus, the held-out ones included, with "
        f"intervals: `python -m training.evaluate --model {name} --compare {cfg.teacher}`.")
    report = markdown({cfg.teacher: test_teacher, name: test_student}, "per language").split("\n", 2)[2]
    return model_card(
        name, summary=summary, languages=student.info.languages,
        base_models=[cfg.teacher], parameters=student.num_parameters(), command=command,
        metrics={k: v for k, v in s.items() if isinstance(v, float) and not math.isnan(v)},
        sections={"Student vs teacher (test split)": report,
                  "Losses": "FD, ED, SD, MCL and DR follow LinguaLens's definitions (see its README); where the "
                            "paper's exact form is unknown, these are ours.",
                  "Loading": ("LinguaLens: `from zoo import load_model; load_model(dir)`; with transformers or sentence-transformers pass "
                              "`trust_remote_code=True` — the factorized word embedding is defined in the shipped "
                              "`modeling_lingualens.py` (LinguaLens itself never executes it)."
                              if build.get("tail_rank") else
                              "LinguaLens: `from zoo import load_model; load_model(dir)`; also `transformers.AutoModel.from_pretrained(dir)` or "
                              "`sentence_transformers.SentenceTransformer(dir)`."),
                  "Limits": "Trained on ~1,500 emoji and flag concepts; short labels, not sentences. The word "
                            "embeddings are inherited from the teacher and kept frozen by default."},
        tags=["distillation", "student", cfg.loss.split("=")[0]])
