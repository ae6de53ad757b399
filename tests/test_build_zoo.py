"""What `python -m training.build_zoo` (and so `python app.py`) rebuilds: a model of another corpus
or another set of held-out languages, a teacher of an older recipe, a student distilled from
another version of its teacher or with another default recipe."""
import json

import torch

from tests.tiny import tiny_dual_encoder


def test_stale_teachers_and_students_are_rebuilt(session_home):
    from core.languages import HELD_OUT_LANGUAGES
    from core.paths import zoo_dir
    from training.build_zoo import is_current
    from training.teacher_cache import teacher_key
    from training.teachers import RECIPE_VERSION
    from zoo import load_model

    said = []
    teacher = tiny_dual_encoder("clip")
    teacher.info.corpus_hash, teacher.info.recipe_version = "c1", RECIPE_VERSION
    teacher.info.held_out_languages = sorted(HELD_OUT_LANGUAGES)
    teacher.save_pretrained(zoo_dir() / "stale-teacher")
    student = tiny_dual_encoder("clip", seed=1)
    student.info.corpus_hash, student.info.teacher_key = "c1", teacher_key(load_model("stale-teacher"))
    student.info.held_out_languages = sorted(HELD_OUT_LANGUAGES)
    student.info.distillation = {"config": {"loss": "dr", "train_sources": ["emoji", "cldr"], "feature_weight": 1.0}}
    student.save_pretrained(zoo_dir() / "stale-student")

    assert is_current("stale-teacher", "c1", log=said.append)
    assert is_current("stale-student", "c1", "stale-teacher", log=said.append)
    recipe = {"loss": "dr", "train_sources": ("emoji", "cldr"), "feature_weight": 1.0}  # tuples as a config holds them
    assert is_current("stale-student", "c1", "stale-teacher", log=said.append, config=recipe)
    assert not is_current("stale-student", "c1", "stale-teacher", log=said.append,
                          config={**recipe, "train_sources": ("emoji", "cldr", "cldr-keyword"), "gallery_weight": 1.0})
    assert "another default recipe (gallery_weight, train_sources changed)" in said[-1]
    assert is_current("stale-student", "c1", "stale-teacher", log=said.append, config={**recipe, "select": "recall"})
    assert not is_current("stale-student", "c1", "stale-teacher", log=said.append, config={**recipe, "select": "agreement"})
    from dataclasses import asdict

    from training.distill.config import default_train_config

    schedule = {**asdict(default_train_config()), "epochs": 99}  # a student trained on another schedule
    student.info.distillation = {"config": {"loss": "dr", "train_sources": ["emoji", "cldr"], "feature_weight": 1.0},
                                 "train": schedule}
    student.save_pretrained(zoo_dir() / "stale-student")
    assert not is_current("stale-student", "c1", "stale-teacher", log=said.append, config=recipe)
    assert "another default recipe (schedule changed)" in said[-1]
    student.info.distillation["train"] = asdict(default_train_config())
    student.save_pretrained(zoo_dir() / "stale-student")
    assert is_current("stale-student", "c1", "stale-teacher", log=said.append, config=recipe)
    assert not is_current("missing", "c1", log=said.append)
    assert not is_current("stale-teacher", "c2", log=said.append) and "another corpus" in said[-1]
    teacher.info.held_out_languages = sorted(set(HELD_OUT_LANGUAGES) - {"gu"})  # built before the dev group existed
    teacher.save_pretrained(zoo_dir() / "stale-teacher")
    assert not is_current("stale-teacher", "c1", log=said.append) and "another set of held-out languages" in said[-1]
    teacher.info.held_out_languages = sorted(HELD_OUT_LANGUAGES)

    teacher.info.recipe_version = RECIPE_VERSION - 1
    teacher.save_pretrained(zoo_dir() / "stale-teacher")
    assert not is_current("stale-teacher", "c1", log=said.append) and "older teacher recipe" in said[-1]
    cfg = json.loads((zoo_dir() / "stale-teacher" / "lingualens.json").read_text())
    assert cfg["meta"]["recipe_version"] == RECIPE_VERSION - 1
    with torch.no_grad():
        teacher.text.projection.weight.mul_(2)  # a retrained teacher: new weights, new identity
    teacher.info.recipe_version = RECIPE_VERSION
    teacher.save_pretrained(zoo_dir() / "stale-teacher")
    assert not is_current("stale-student", "c1", "stale-teacher", log=said.append)
    assert "distilled from another version of stale-teacher" in said[-1]

