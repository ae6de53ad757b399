"""The agreement curve's report: rendered from measured rows, and again from its own JSON."""
import json

from benchmarks.agreement_curve import GROUPS, KINDS, METRICS, main, render


def _rows():
    rows = []
    for epochs, overlap, ratio in ((1, 0.42, 1.02), (8, 0.61, 0.92)):
        row = {"student": f"curve-e{epochs}", "epochs": epochs, "train_seconds": 60.0 * epochs, "best_epoch": epochs,
               "patience": 2}
        for kind in KINDS:
            for group in GROUPS:
                for metric, value in (("overlap@10", overlap), ("cosine", 0.8), ("ratio", ratio)):
                    row[f"{kind}/{group}/{metric}"] = {"value": value, "lo": value - 0.01, "hi": value + 0.01}
        rows.append(row)
    return rows


def test_render_writes_every_metric_and_the_three_panel_plot(tmp_path):
    text = render(_rows(), {"curve-e1": 90.0}, 100, out=tmp_path)
    assert "Reproduce: `python -m benchmarks.agreement_curve --epochs 1 8`" in text
    assert "| 1 | 1 | `curve-e1` | 60 | 0.420 [0.410, 0.430] | 0.800 [0.790, 0.810] | 1.020 [1.010, 1.030] |" in text
    assert len(METRICS) == 3 and (tmp_path / "agreement_curve.png").stat().st_size > 10_000
    saved = json.loads((tmp_path / "agreement_curve.json").read_text())
    assert saved["rows"] == _rows() and saved["per_language"] == 100


def test_replot_rewrites_from_the_json_and_needs_it(tmp_path, monkeypatch, capsys):
    import pytest

    from benchmarks import agreement_curve

    monkeypatch.setattr(agreement_curve, "RESULTS", tmp_path)
    with pytest.raises(SystemExit):
        main(["--replot"])
    assert "--replot needs results/agreement_curve.json" in capsys.readouterr().err
    render(_rows(), {"curve-e1": 90.0}, 100, out=tmp_path)
    (tmp_path / "agreement_curve.md").unlink()
    assert main(["--replot"]) == 0  # nothing measured: the rows come back from the JSON
    assert "| 8 | 8 | `curve-e8` | 480 |" in (tmp_path / "agreement_curve.md").read_text()
