"""The study: seeds and concepts in the intervals, claims only where an interval excludes a tie."""
import numpy as np
import pytest

from training.study import claims, retrieval_contrast, seed_concept_draws, study_markdown, summarise, t_interval, verdict

N_BOOT = 400


def test_verdict_needs_the_interval_to_exclude_zero():
    assert verdict(0.01, 0.05) == "holds"
    assert verdict(-0.05, -0.01) == "does not hold"
    assert verdict(-0.01, 0.05) == "tie" and verdict(float("nan"), 1.0) == "tie"


def test_seed_concept_draws_by_hand():
    rng = np.random.default_rng(0)
    teacher = np.array([0.5, 0.4, 0.0])
    # one seed: draw b is just student[b] / teacher[b]; a zero teacher gives NaN, not inf
    d = seed_concept_draws([np.array([0.25, 0.4, 0.3])], teacher, rng)
    assert d[:2].tolist() == [0.5, 1.0] and np.isnan(d[2])
    # identical seeds: resampling them changes nothing
    same = seed_concept_draws([np.array([0.25, 0.2, 0.1])] * 3, teacher, rng)
    np.testing.assert_allclose(same[:2], [0.5, 0.5])
    # different seeds: each draw is a mean of seeds drawn with replacement, so within their range
    spread = seed_concept_draws([np.full(3, 0.1), np.full(3, 0.3)], np.full(3, 0.5), rng)
    assert set(np.round(spread / 0.2, 6)) <= {1.0, 2.0, 3.0}


def test_t_interval_by_hand():
    lo, hi = t_interval([0.1, 0.2, 0.3])  # mean 0.2, sd 0.1, t(0.975, 2) = 4.3027
    assert lo == pytest.approx(0.2 - 4.302653 * 0.1 / 3 ** 0.5, abs=1e-6) and hi == pytest.approx(0.4484, abs=1e-4)
    assert np.isnan(t_interval([0.1])[0]) and np.isnan(t_interval([0.1, 0.1])[0])  # two seeds: no interval


def _rows_and_samples(levels: dict[str, float], vqa: dict[str, float], noise: float = 0.005, seeds=(0, 1, 2),
                     app: dict[str, dict] | None = None):
    """Synthetic students whose all-language R@10 is levels[obj] x teacher, with concept noise; `app` gives an
    objective's app-gallery metrics ({metric: value}, the same for names and keywords, +0.01 x seed)."""
    rng = np.random.default_rng(1)
    teacher = 0.5 + rng.normal(0, 0.01, N_BOOT)
    rows, samples = [], {}
    for obj, level in levels.items():
        for s in seeds:
            student = teacher * level + rng.normal(0, noise, N_BOOT)
            samples[("clip", obj, s)] = {g: (student, teacher) for g in ("all", "trained", "held-out")}
            ratio = {"value": level, "lo": level - 0.02, "hi": level + 0.02}
            rows.append({"teacher": "lit-e5s-effl0-clip", "family": "clip", "objective": obj, "seed": s,
                         "summary": {"emoji_t2i_R@10_mean": 0.4, "vqa_photo_accuracy_mean": vqa[obj] + 0.01 * s,
                                     "vqa_flag_accuracy_mean": vqa[obj]},
                         "groups": {g: {"ratio": ratio} for g in ("all", "trained", "held-out")},
                         "params": {"text": 50e6}})
            if app and obj in app:
                block = {"all": {m: {"value": v + 0.01 * s} for m, v in app[obj].items()}}
                rows[-1]["agreement"] = {"names": block, "keywords": block}
    return rows, samples


def _result(rows, samples):
    cells, contrasts = summarise(rows, samples)
    return {"budget": "small", "schedule": {"epochs": 1, "passes_per_epoch": 2}, "seconds": 60.0, "languages": 107,
            "speed": None,
            "machine": {"cores": 2, "cpu": "x86_64", "torch": "2.14.1"}, "cells": cells, "contrasts": contrasts,
            "teachers": {"lit-e5s-effl0-clip": {"summary": {"emoji_t2i_R@10_mean": 0.5}, "params": {"text": 100e6}}}}


def test_claims_follow_the_intervals():
    levels = {"dr": 0.96, "ed": 0.90, "fd": 0.80, "dr=1,ed=0.5": 0.98}
    vqa = {"dr": 0.30, "ed": 0.40, "fd": 0.20, "dr=1,ed=0.5": 0.35}
    result = _result(*_rows_and_samples(levels, vqa, noise=0.002))
    c = retrieval_contrast(result, "clip", "dr", "ed")
    assert c["value"] == pytest.approx(0.06) and 0.0 < c["lo"] < 0.06 < c["hi"]
    back = retrieval_contrast(result, "clip", "ed", "dr")
    assert back["value"] == pytest.approx(-0.06) and back["hi"] == pytest.approx(-c["lo"])
    text = "\n".join(claims(result))
    # the mix beats DR: "DR best for retrieval" is refuted, not called a trade-off
    assert '"DR best for retrieval" **does not hold**: `dr=1,ed=0.5` retrieves better' in text
    assert '"ED best for VQA" **holds**' in text
    assert "Retrieval: mix − DR +0.020" in text and "→ **better than both parts**" in text
    assert "VQA: mix − DR +0.050" in text and "→ **between its parts**" in text
    assert "over every language: best `dr=1,ed=0.5` 0.980" in text and "→ **holds**" in text


def test_overlapping_intervals_are_ties():
    levels = {"dr": 0.950, "ed": 0.948, "dr=1,ed=0.5": 0.949}
    vqa = {"dr": 0.30, "ed": 0.30, "dr=1,ed=0.5": 0.30}
    text = "\n".join(claims(_result(*_rows_and_samples(levels, vqa, noise=0.03))))
    assert '"DR best for retrieval" is a **tie**' in text and '"ED best for VQA" is a **tie**' in text
    assert "→ a **tie** with `dr` and `ed`" in text


def test_markdown_has_one_row_per_objective_with_intervals():
    levels = {o: 0.9 for o in ("fd", "ed", "sd", "mcl", "dr", "dr=1,ed=0.5")}
    md = study_markdown(_result(*_rows_and_samples(levels, {o: 0.3 for o in levels})))
    main, extra = md.split("### Cross-lingual consistency", 1)
    rows = [line for line in main.splitlines() if line.startswith("| lit-e5s-effl0-clip | ")
            and line.split(" | ")[1] in levels]
    assert len(rows) == 6
    assert "50.0M (0.50)" in rows[0] and "0.900 [" in rows[0]
    # speed is benchmarks.speed's, measured alone, one figure for the shared architecture
    assert "Speed: no `results/speed.json` here" in md
    fast = study_markdown({**_result(*_rows_and_samples(levels, {o: 0.3 for o in levels})),
                           "speed": {"student PyTorch": 5.0, "teacher PyTorch": 10.0, "student ONNX int8": 1.5}})
    assert "text tower 5.0 ms in PyTorch against the teacher's 10.0 ms (2.0x); ONNX int8 1.5 ms." in fast
    # rows made before the consistency and agreement columns existed show a dash, not a number
    consistency_rows = [line for line in extra.splitlines() if line.startswith("| lit-e5s-effl0-clip | ")
                        and line.split(" | ")[1] in levels]
    assert len(consistency_rows) == 6 and consistency_rows[0].endswith("| – | – | – | – | – / – | – / – | – | – | – / – | – / – |")
    assert "--seeds 0 1 2" in md and "| dev held-out | held-out | outside XLM-R | image→text ratio, all |" in md


def test_each_objective_is_the_formulation_alone_and_agreement_is_its_own_row():
    from dataclasses import asdict

    from training.distill.config import DistillConfig
    from training.study import OBJECTIVES, arm_config, formulations

    pure = arm_config("dr", "lit-e5s-effl0-clip")
    assert (pure.loss, pure.feature_weight, pure.gallery_weight) == ("dr", 0.0, 0.0)
    # "dr+agreement" is the default DR student's config, "ed" the default ED student's
    assert asdict(arm_config("dr+agreement", "lit-e5s-effl0-clip")) == asdict(DistillConfig(teacher="lit-e5s-effl0-clip"))
    assert asdict(arm_config("ed", "lit-e5s-effl0-clip")) == asdict(DistillConfig(teacher="lit-e5s-effl0-clip", loss="ed"))
    assert arm_config("dr=1,ed=0.5", "t").feature_weight == 0.0 and arm_config("fd", "t", passes_per_epoch=2).passes_per_epoch == 2
    assert formulations(OBJECTIVES) == ["dr", "fd", "ed", "sd", "mcl", "dr=1,ed=0.5"]


def test_agreement_defaults_follow_the_objective():
    from training.distill.config import DistillConfig

    assert (DistillConfig().feature_weight, DistillConfig().gallery_weight) == (64.0, 1.0)
    # ED aims at the teacher's English embedding: a 64x pull towards T(x) would overwrite it
    assert (DistillConfig(loss="ed").feature_weight, DistillConfig(loss="ed").gallery_weight) == (0.0, 0.0)
    assert DistillConfig(loss="dr=1,ed=0.5").feature_weight == 64.0  # a mix with a T(x) objective keeps them
    assert DistillConfig(loss="ed", feature_weight=2.0).feature_weight == 2.0  # said explicitly: kept
    assert DistillConfig(loss="dr", gallery_weight=0.0).gallery_weight == 0.0
    # the kept epoch follows: by agreement where S(x) is pulled to T(x), by recall where it is not
    assert DistillConfig().select == "agreement" and DistillConfig(loss="ed").select == "recall"
    assert DistillConfig(feature_weight=0.0).select == "recall" and DistillConfig(loss="ed", select="agreement").select == "agreement"


def test_claims_compare_formulations_and_say_what_the_agreement_terms_buy():
    levels = {"dr+agreement": 0.99, "dr": 0.93, "ed": 0.90, "fd": 0.80}
    vqa = {"dr+agreement": 0.30, "dr": 0.30, "ed": 0.40, "fd": 0.20}
    text = "\n".join(claims(_result(*_rows_and_samples(levels, vqa, noise=0.002))))
    # DR is best among the paper's formulations although the default row retrieves more
    assert '"DR best for retrieval" **holds**' in text and "Highest point estimate: `dr` (0.930)" in text
    assert "against DR alone, retrieval: +0.060 [" in text and "→ **higher**" in text
    stays = "no objective is higher than `dr+agreement` on one axis and lower on none; the default stays."
    assert stays in text
    # higher on the test images but lower on agreement with the teacher: the default stays, with the numbers
    levels["fd"] = 1.05
    app = {o: {"ratio": 0.95, "overlap@10": 0.6} for o in levels}
    app["fd"] = {"ratio": 0.95, "overlap@10": 0.4}
    text = "\n".join(claims(_result(*_rows_and_samples(levels, vqa, noise=0.002, app=app))))
    assert stays in text
    assert "`fd` − `dr+agreement`: R@10 ratio, test images +0.060 [" in text
    assert "R@10 ratio, app gallery, keywords +0.000 [+0.000, +0.000] → tie" in text
    assert "overlap@10 with the teacher, keywords -0.200 [-0.200, -0.200] → lower" in text
    # higher on one axis, tied on the rest: the default should move
    app["fd"] = app["dr"]
    text = "\n".join(claims(_result(*_rows_and_samples(levels, vqa, noise=0.002, app=app))))
    assert "`fd` is higher on one axis and lower on none, so the default should move." in text
    app["dr"] = {"ratio": 0.90, "overlap@10": 0.4}  # what the agreement terms buy where users search
    text = "\n".join(claims(_result(*_rows_and_samples(levels, vqa, noise=0.002, app=app))))
    assert ("Where users search: R@10 ratio, app gallery, names +0.050 [+0.050, +0.050] → higher; R@10 ratio, app "
            "gallery, keywords +0.050 [+0.050, +0.050] → higher; overlap@10 with the teacher, names +0.200") in text
    # the app-gallery contrasts are t intervals over seeds: two seeds decide nothing
    text = "\n".join(claims(_result(*_rows_and_samples(levels, vqa, noise=0.002, app=app, seeds=(0, 1)))))
    assert "The default objective: undecided with 2 seed(s)" in text
    # an objective with fewer seeds than the default is undecided, not a tie that could move the default
    rows, samples = _rows_and_samples(levels, vqa, noise=0.002, app=app)
    rows = [r for r in rows if r["objective"] != "fd" or r["seed"] == 0]
    text = "\n".join(claims(_result(rows, samples)))
    assert "the default stays. Undecided for `fd`: fewer than 3 seeds shared with the default." in text


def test_run_grid_end_to_end_on_a_tiny_teacher(home, monkeypatch, tmp_path):
    """The whole grid — distill per seed, the ~100-language evaluation, intervals, report — on a
    tiny teacher registered under the default teacher's name and a 30-concept corpus."""
    import json
    from dataclasses import replace

    from core.paths import zoo_dir
    from corpus.corpus import CorpusConfig, build_corpus, default_corpus_path
    from tests.tiny import tiny_dual_encoder
    from training import students, study
    from training.study import run_grid

    build_corpus(default_corpus_path(), CorpusConfig(limit=15), progress=False)
    teacher = tiny_dual_encoder("clip")
    teacher.name = "lit-e5s-effl0-clip"
    teacher.save_pretrained(zoo_dir() / "lit-e5s-effl0-clip")
    monkeypatch.setattr(study, "build_default_zoo", lambda *a, **k: [])
    monkeypatch.setitem(students.RECIPES, "half", replace(students.RECIPES["half"], vocab_words=20, tail_rank=4))
    path = run_grid("small", families=("clip",), objectives=("dr", "ed"), seeds=(0, 1), out=tmp_path, progress=False,
                    log=lambda m: None, n_boot=50)
    result = json.loads((tmp_path / "study.json").read_text())
    assert [(r["objective"], r["seed"]) for r in result["rows"]] == [("dr", 0), ("ed", 0), ("dr", 1), ("ed", 1)]
    assert {c["objective"]: c["seeds"] for c in result["cells"]} == {"dr": [0, 1], "ed": [0, 1]}
    held = result["cells"][0]["ratio"]["held-out"]
    assert held["lo"] <= held["hi"] and len(held["per_seed"]) == 2
    assert "clip|dr|ed" in result["contrasts"] and (tmp_path / "study.png").is_file()
    # --cached-only trains nothing: the finished students are reported as part of a larger grid
    said = []
    run_grid("small", families=("clip",), objectives=("dr", "ed"), seeds=(0, 1, 2), out=tmp_path, progress=False,
             log=said.append, n_boot=50, cached_only=True)
    partial = json.loads((tmp_path / "study.json").read_text())
    assert (partial["students_done"], partial["students_planned"]) == (4, 6)
    assert said == ["not finished, left out: study-small-lit-e5s-effl0-clip-half-dr-s2",
                    "not finished, left out: study-small-lit-e5s-effl0-clip-half-ed-s2"]
    assert "**Partial: 4 of the 6 planned students**" in (tmp_path / "study.md").read_text()
    assert "DR best for retrieval" in path.read_text()
    # consistency and agreement with the teacher are columns of the study
    row = result["rows"][0]
    assert {"gap", "en_overlap@10", "gap vs reference"} <= set(row["consistency"]["all"])
    assert "overlap@10" in row["agreement"]["names"]["all"] and "consistency" in result["teachers"]["lit-e5s-effl0-clip"]
    cell = result["cells"][0]
    assert cell["consistency"]["all"]["gap vs reference"]["per_seed"] == [
        r["consistency"]["all"]["gap vs reference"]["value"] for r in result["rows"] if r["objective"] == "dr"]
    assert "### Cross-lingual consistency and agreement with the teacher" in path.read_text()
    # a rerun reuses every student whose run is unchanged, and its measurements ...
    monkeypatch.setattr(study, "run", lambda *a, **k: pytest.fail("an unchanged student was trained again"))
    monkeypatch.setattr(study, "evaluate_multilingual", lambda *a, **k: pytest.fail("an unchanged student was re-measured"))
    run_grid("small", families=("clip",), objectives=("dr", "ed"), seeds=(0, 1), out=tmp_path, progress=False,
             log=lambda m: None, n_boot=50)
    again = json.loads((tmp_path / "study.json").read_text())
    assert again["cells"] == result["cells"] and again["contrasts"] == result["contrasts"]
    # ... and rebuilds one made by other loss code under the same name, instead of quoting it
    rebuilt = []

    def stop(cfg, train_cfg, **kwargs):
        rebuilt.append((cfg.name, train_cfg.seed))
        raise KeyboardInterrupt

    monkeypatch.setattr(study, "run", stop)
    monkeypatch.setattr(study, "loss_code_version", lambda: "another version")
    with pytest.raises(KeyboardInterrupt):
        run_grid("small", families=("clip",), objectives=("dr", "ed"), seeds=(0, 1), out=tmp_path, progress=False,
                 log=lambda m: None, n_boot=50)
    assert rebuilt == [("study-small-lit-e5s-effl0-clip-half-dr-s0", 0)]
    # at the default budget, seed 0, the DR-with-agreement and ED rows are the default students themselves;
    # DR alone is a study student of its own, never confused with the default
    rebuilt.clear()
    for objective in ("dr+agreement", "ed", "fd", "dr"):
        with pytest.raises(KeyboardInterrupt):
            run_grid("full", families=("clip",), objectives=(objective,), seeds=(0,), out=tmp_path / "full",
                     progress=False, log=lambda m: None, n_boot=50)
    assert rebuilt == [("", 0), ("", 0), ("study-full-lit-e5s-effl0-clip-half-fd-s0", 0),
                       ("study-full-lit-e5s-effl0-clip-half-dr-s0", 0)]  # "": the default name


def test_a_stopped_grid_says_it_is_partial():
    levels = {"dr": 0.9, "ed": 0.9}
    result = _result(*_rows_and_samples(levels, {o: 0.3 for o in levels}, seeds=(0,)))
    assert "Partial" not in study_markdown(result)
    result.update(students_done=2, students_planned=6)
    md = study_markdown(result)
    assert "**Partial: 2 of the 6 planned students**" in md and '"DR best for retrieval"' in md
    result = _result(*_rows_and_samples({"dr": 0.9, "ed": 0.9, "dr=1,ed=0.5": 0.9}, {o: 0.3 for o in ("dr", "ed", "dr=1,ed=0.5")},
                                        seeds=(0,)))
    assert "VQA: mix − DR +0.000 (no interval: fewer than 3 seeds)" in study_markdown(result)


def test_replot_rewrites_the_report_from_the_json_and_says_which_budget(tmp_path, capsys):
    import json

    from training.study import main

    levels = {"dr+agreement": 0.95, "dr": 0.93}
    result = _result(*_rows_and_samples(levels, {o: 0.3 for o in levels}))
    assert "the small budget trains each student for one short epoch" in study_markdown(result)
    full = {**result, "budget": "full", "seeds": [0, 1, 2], "families": ["clip", "siglip"]}
    md = study_markdown(full)
    assert "one short epoch" not in md and "--seeds 0 1 2 --families clip siglip`" in md
    (tmp_path / "study.json").write_text(json.dumps(full))
    assert main(["--replot", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "study.md").read_text() == md and (tmp_path / "study.png").is_file()
    with pytest.raises(SystemExit):
        main(["--replot", "--out", str(tmp_path / "nowhere")])
    assert "--replot needs" in capsys.readouterr().err
