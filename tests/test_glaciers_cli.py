"""End to end: ``xseaice evaluate --caffe`` on a synthetic CaFFe folder, offline."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from xseaice.cli import main  # noqa: E402
from xseaice.models import build_model, save_weights  # noqa: E402
from xseaice.synthetic.caffe import write_caffe  # noqa: E402
from xseaice.synthetic.fjord import make_fjord  # noqa: E402


def test_evaluate_caffe_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenes = [
        make_fjord("Jokulvik", dt.date(2019, 5, 1), "S1", shape=(96, 96)),
        make_fjord("Jokulvik", dt.date(2019, 9, 1), "ERS", shape=(96, 96)),
    ]
    write_caffe(scenes, tmp_path / "caffe", split="test")
    torch.manual_seed(0)
    model = build_model("zone_unet", in_channels=1, widths=[4, 8])
    weights = tmp_path / "zones.safetensors"
    save_weights(
        model,
        weights,
        name="cli-test-zones",
        variables=["sar"],
        normalisation={"sar": (110.0, 60.0)},
        pixel_size=20.0,
        licence="Apache-2.0",
        training={"pixel_size_range": [6.0, 50.0]},
    )
    out = tmp_path / "result.json"
    code = main(
        ["evaluate", "--caffe", str(tmp_path / "caffe"), "--model", str(weights), "-o", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "mean distance error (MDE)" in printed and "images without a front" in printed
    result = json.loads(out.read_text())
    assert result["n_images"] == 2 and len(result["images"]) == 2
    scored = [i for i in result["images"] if i["mde_m"] is not None and i["mde_m"] == i["mde_m"]]
    assert len(scored) + result["n_no_prediction"] + result["n_no_truth"] == 2
    # the pooled MDE is consistent with the per-image values it was built from
    if scored:
        assert min(i["mde_m"] for i in scored) <= result["mde_m"] <= max(i["mde_m"] for i in scored)
    assert main(["evaluate", "--caffe", str(tmp_path / "nowhere")]) == 1
