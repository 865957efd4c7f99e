"""``python -m psychometrics``: output shapes, published values, and bad files (run as a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from psychometrics.__main__ import main
from psychometrics.simulation import random_items, simulate_irt
from tests.psychometrics.conftest import MINI_DEFINITION, PROJECT, REFERENCE


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "psychometrics", *args], capture_output=True, text=True,
                          cwd=PROJECT, timeout=120)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_calibrate_2pl_prints_mirt_estimates():
    done = run("calibrate", "--model", "2pl", str(REFERENCE / "lsat7.csv"))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["model"] == "2pl"
    assert out["loglik"] == pytest.approx(-2658.805, abs=1e-3)
    assert [item["item"] for item in out["items"]] == ["item1", "item2", "item3", "item4", "item5"]
    first = out["items"][0]
    assert set(first) >= {"item", "a", "b", "se_a", "se_b"}
    assert first["a"] == pytest.approx(0.988, abs=2e-3)
    assert first["b"] == pytest.approx(-1.856 / 0.988, abs=3e-3)      # IRT form b = −d/a
    assert first["se_a"] > 0 and first["se_b"] > 0


def test_calibrate_rasch_fixes_the_slope_and_grm_lists_thresholds(tmp_path):
    done = run("calibrate", "--model", "rasch", str(REFERENCE / "lsat6.csv"))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert all(item["a"] == 1.0 and item["se_a"] is None for item in out["items"])
    assert out["loglik"] == pytest.approx(-2473.054, abs=1e-3)
    items = random_items(4, 4, seed=3)
    codes, _ = simulate_irt(items, 600, seed=4)
    codes[:, 1] = np.minimum(codes[:, 1], 2)                   # q2 has three categories
    rows = ["q1,q2,q3,q4"] + [",".join(str(v + 1) for v in row) for row in codes]
    path = write(tmp_path, "graded.csv", "\n".join(rows) + "\n")
    done = run("calibrate", "--model", "grm", path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    q1 = out["items"][0]
    assert isinstance(q1["b"], list) and len(q1["b"]) == 3 and q1["b"] == sorted(q1["b"])
    assert isinstance(q1["se_b"], list) and len(q1["se_b"]) == 3
    assert q1["categories"] == [1.0, 2.0, 3.0, 4.0]
    assert len(out["items"][1]["b"]) == 2


def test_calibrate_with_item_fit_reports_s_x2():
    done = run("calibrate", "--model", "2pl", "--item-fit", str(REFERENCE / "lsat7.csv"))
    out = json.loads(done.stdout)
    assert out["items"][1]["fit"]["S_X2"] == pytest.approx(14.441, abs=0.015)
    assert out["items"][1]["fit"]["df"] == 2


def test_reliability_matches_psych_on_bfi_agreeableness(psych_reference):
    done = run("reliability", "--columns", "A1,A2,A3,A4,A5", "--reverse", "A1", str(REFERENCE / "bfi.csv"))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    ref = psych_reference["agreeableness"]
    assert out["alpha"] == pytest.approx(ref["raw_alpha"], abs=1e-9)
    assert out["alpha_ci"] == pytest.approx([ref["feldt_lower"], ref["feldt_upper"]], abs=1e-9)
    assert out["omega"] == pytest.approx(ref["omega_total"], abs=1e-3)
    assert out["sem"] > 0 and out["n_items"] == 5 and out["reversed"] == ["A1"]
    assert [i["item"] for i in out["items"]] == ["A1", "A2", "A3", "A4", "A5"]
    assert out["items"][0]["reversed"] is True
    assert [i["r_drop"] for i in out["items"]] == pytest.approx(ref["r_drop"], abs=1e-9)


def test_reliability_expands_count_column():
    done = run("reliability", str(REFERENCE / "lsat7.csv"))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["alpha"] == pytest.approx(0.453, abs=5e-4)
    assert out["n_obs"] == 1000
    assert "count" not in [i["item"] for i in out["items"]]


def test_score_prints_subscale_scores(tmp_path, mini_instrument):
    yaml = pytest.importorskip("yaml")
    definition = write(tmp_path, "mini.yaml", yaml.safe_dump(MINI_DEFINITION))
    header = ["id"] + [item.id for item in mini_instrument.items]
    everything = ["p1"] + ["b"] * 8 + ["a"] * 8 + ["5"] * 9
    sparse = ["p2"] + ["a"] * 8 + [""] * 8 + ["1"] * 9
    path = write(tmp_path, "answers.csv", "\n".join(",".join(r) for r in (header, everything, sparse)) + "\n")
    done = run("score", "--instrument", definition, path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["instrument"] == "MINI" and len(out["persons"]) == 2
    p1, p2 = out["persons"]
    assert p1["id"] == "p1" and p1["scores"]["PK"]["score"] == 1.0 and p1["scores"]["TW"]["score"] == 3.0
    # SR03, SR06, SR09 are reverse-keyed: 5 scores 1 there, so the mean of 5,5,1,... is (6·5 + 3·1)/9
    assert p1["scores"]["SR"]["score"] == pytest.approx((6 * 5 + 3 * 1) / 9)
    assert p2["scores"]["PK"]["score"] == 0.0 and p2["scores"]["TW"]["scored"] is False
    done = run("score", "--instrument", definition, "--format", "csv", path)
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("row,id,PK_score") and lines[1].startswith("1,p1,1.0")


BAD_FILES = [
    ("calibrate", "a,b,count\n1,0,3\n1,x,2\n", "row 2 (line 3), column 'b': 'x' is not a number"),
    ("calibrate", "a,b\n1,0\n1,2\n0,1\n", "row 2 (line 3), column 'b': '2' is not one of 0, 1"),
    ("calibrate", "a,b\n1,0\n1\n", "row 2 (line 3) has 1 fields, the header has 2"),
    ("calibrate", "a,b\n1,0.5\n0,1\n", "row 1 (line 2), column 'b': '0.5' is not a whole number"),
    ("calibrate", "a,b,count\n1,0,-2\n0,1,1\n", "row 1 (line 2), column 'count': count '-2' must be zero or more"),
    ("calibrate", "a,b\n1,0\n1,1\n", "fewer than two observed categories cannot be calibrated: a"),
    ("calibrate", "", "the file is empty"),
    ("calibrate", "a,b\n", "no data rows"),
    ("calibrate", "a,a\n1,0\n", "column 'a' appears twice"),
    ("reliability", "a,b,c\n1,2,3\n2,,4\n3,4,inf\n", "row 3 (line 4), column 'c': 'inf' is not a finite number"),
]


@pytest.mark.parametrize(("command", "content", "message"), BAD_FILES)
def test_bad_files_name_the_row_and_column(tmp_path, capsys, command, content, message):
    """In-process (one interpreter start is ~1 s); the subprocess test below covers the process level."""
    path = write(tmp_path, "bad.csv", content)
    args = [command, "--model", "2pl", path] if command == "calibrate" else [command, path]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.err.startswith("psychometrics: error: ") and captured.out == ""


@pytest.mark.parametrize("case", [0, 1, 9])
def test_bad_files_exit_non_zero_without_traceback(tmp_path, case):
    command, content, message = BAD_FILES[case]
    path = write(tmp_path, "bad.csv", content)
    done = run(*([command, "--model", "2pl", path] if command == "calibrate" else [command, path]))
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_reliability_option_errors(tmp_path):
    path = write(tmp_path, "x.csv", "a,b,c\n1,2,3\n2,3,4\n3,5,4\n")
    done = run("reliability", "--columns", "a,z", path)
    assert done.returncode == 1 and "--columns names 'z'" in done.stderr
    done = run("reliability", "--columns", "a,b", "--reverse", "c", path)
    assert done.returncode == 1 and "--reverse names 'c'" in done.stderr
    done = run("reliability", write(tmp_path, "flat.csv", "a,b\n1,2\n1,3\n1,4\n"))
    assert done.returncode == 1 and "without variance" in done.stderr and "Traceback" not in done.stderr


def test_score_errors_name_the_cell(tmp_path):
    yaml = pytest.importorskip("yaml")
    definition = write(tmp_path, "mini.yaml", yaml.safe_dump(MINI_DEFINITION))
    done = run("score", "--instrument", definition, write(tmp_path, "a.csv", "PK01,PK02\nb,e\n"))
    assert done.returncode == 1
    assert "row 1 (line 2), column 'PK02': 'e' is not an option of PK02 (a, b, c, d)" in done.stderr
    done = run("score", "--instrument", definition, write(tmp_path, "b.csv", "PK01,XX9\nb,a\n"))
    assert done.returncode == 1 and "column 'XX9' is not an item of instrument MINI" in done.stderr
    broken = write(tmp_path, "broken.yaml", "code: X\nsubscales: []\n")
    done = run("score", "--instrument", broken, write(tmp_path, "c.csv", "PK01\nb\n"))
    assert done.returncode == 1 and "subscales: expected a non-empty list" in done.stderr
    done = run("score", "--instrument", str(tmp_path / "nowhere.yaml"), str(tmp_path / "c.csv"))
    assert done.returncode == 1 and "no such file" in done.stderr


def test_missing_file_and_usage_errors(tmp_path):
    done = run("calibrate", "--model", "2pl", str(tmp_path / "absent.csv"))
    assert done.returncode == 1 and "absent.csv: no such file" in done.stderr
    done = run("calibrate", "--model", "3pl", str(REFERENCE / "lsat7.csv"))
    assert done.returncode == 2 and "invalid choice" in done.stderr
    done = run()
    assert done.returncode == 2


def test_main_can_be_called_in_process(capsys):
    assert main(["calibrate", "--model", "1pl", "--no-se", str(REFERENCE / "lsat6.csv")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["items"][0]["a"] == pytest.approx(0.755, abs=1e-3)
    assert out["items"][0]["se_a"] is None
