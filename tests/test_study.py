"""The study report: claims are computed from the numbers, and the table has one row per student."""
from training.study import claims, study_markdown


def _row(family, objective, r10, vqa):
    return {"teacher": f"lit-e5s-effl0-{family}", "family": family, "objective": objective, "student": f"s-{objective}",
            "summary": {"emoji_t2i_R@10_mean": r10, "vqa_photo_accuracy_mean": vqa, "vqa_flag_accuracy_mean": vqa},
            "teacher_summary": {"emoji_t2i_R@10_mean": 0.5}, "params": {"text": 50, "image": 5},
            "cost": {"text": {"latency_ms_b1": 10.0}}, "build": {}, "seconds": 1.0}


def _result(rows):
    return {"budget": "small", "schedule": {"epochs": 1, "passes_per_epoch": 2}, "seconds": 60.0,
            "machine": {"cores": 2, "cpu": "x86_64", "torch": "2.14.1"}, "rows": rows,
            "teachers": {"lit-e5s-effl0-clip": {"summary": {"emoji_t2i_R@10_mean": 0.5}, "params": {"text": 100},
                                                "cost": {"text": {"latency_ms_b1": 20.0}}}}}


def test_claims_follow_the_numbers():
    rows = [_row("clip", "dr", 0.48, 0.30), _row("clip", "ed", 0.40, 0.40), _row("clip", "dr=1,ed=0.5", 0.45, 0.35)]
    text = "\n".join(claims(_result(rows)))
    assert "best retrieval `dr`" in text and '"DR best for retrieval" holds' in text
    assert "Best VQA `ed`" in text and '"ED best for VQA" holds' in text
    assert "a trade-off between its parts" in text
    assert "0.80–0.96 of the teacher's retrieval" in text
    flipped = [_row("clip", "dr", 0.40, 0.40), _row("clip", "ed", 0.48, 0.30)]
    assert '"DR best for retrieval" does not hold' in "\n".join(claims(_result(flipped)))


def test_markdown_has_a_row_per_student_with_ratios():
    md = study_markdown(_result([_row("clip", o, 0.4, 0.3) for o in ("fd", "ed", "sd", "mcl", "dr", "dr=1,ed=0.5")]))
    objectives = {"fd", "ed", "sd", "mcl", "dr", "dr=1,ed=0.5"}
    rows = [line for line in md.splitlines() if line.startswith("| lit-e5s-effl0-clip | ")
            and line.split(" | ")[1] in objectives]
    assert len(rows) == 6
    assert "50.0M" not in rows[0] and "(0.50)" in rows[0] and "(0.80)" in rows[0] and "(2.0x)" in rows[0]
