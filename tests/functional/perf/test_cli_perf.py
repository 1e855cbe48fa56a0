"""`gatewatch perf` end to end in process (Click runner) on a real SQLite store.

Series are written as Otava-style CSV files (time, commit, one metric column); the benchmark
name comes from the file name, so files named alike in two directories extend one series.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gatewatch.cli.main import cli

DATA = Path(__file__).resolve().parents[2] / "data" / "benchmarks"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEY = "nova/boot/latency"


def _run(home: Path, *args: str, as_json: bool = True) -> tuple[int, Any, str]:
    extra = ["--json"] if as_json else []
    result = CliRunner().invoke(cli, ["--home", str(home), *args, *extra], catch_exceptions=False)
    assert "Traceback" not in result.output
    data = json.loads(result.stdout) if as_json and result.stdout.strip() else None
    return result.exit_code, data, result.stderr


def _csv(
    path: Path, values: list[float], *, unit: str = "ms", start: int = 0, order: list[int] | None = None
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        f"{(T0 + timedelta(hours=start + i)).isoformat()},c{start + i:03d},{v!r}"
        for i, v in enumerate(values)
    ]
    if order is not None:
        rows = [rows[i] for i in order]
    path.write_text(f"time,commit,latency[{unit}]\n" + "\n".join(rows) + "\n")
    return path


def _noisy(n: int, *, step_at: int | None = None, factor: float = 1.10, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [
        100.0 * (factor if step_at is not None and i >= step_at else 1.0) * rng.gauss(1.0, 0.01)
        for i in range(n)
    ]


def _ingest(home: Path, *paths: Path) -> tuple[int, Any, str]:
    return _run(home, "perf", "ingest", "--project", "nova", *map(str, paths))


def test_a_step_is_listed_acknowledged_and_fixed(tmp_path: Path) -> None:
    values = _noisy(60, step_at=40)
    values[12] *= 2.5  # one slow run: an outlier, not a change
    code, out, _ = _ingest(tmp_path, _csv(tmp_path / "in" / "boot.csv", values))
    assert code == 0
    assert out["analyse"]["analysed"] == 1
    assert out["analyse"]["regressions"] == 1
    code, listed, _ = _run(tmp_path, "perf", "regressions")
    (finding,) = listed["regressions"]
    assert listed["improvements"] == []
    assert abs(finding["index"] - 40) <= 2
    assert finding["series"] == KEY
    assert finding["magnitude_pct"] == pytest.approx(10.0, abs=2.0)
    assert finding["p_value"] < 0.001
    assert finding["unit"] == "ms"
    assert [s["commit"] for s in finding["suspects"]] == [
        f"c{i:03d}"
        for i in range(int(finding["suspects"][0]["commit"][1:]), int(finding["first_bad_commit"][1:]) + 1)
    ]
    code, series, _ = _run(tmp_path, "perf", "series", KEY)
    assert [o["commit"] for o in series["outliers"]] == ["c012"]
    assert [c["id"] for c in series["change_points"]] == [finding["id"]]
    assert len(series["points"]) == 60
    assert series["noise"]["level"] == "quiet"
    code, acked, _ = _run(tmp_path, "perf", "ack", str(finding["id"]))
    assert (code, acked["status"]) == (0, "acknowledged")
    assert _run(tmp_path, "perf", "regressions")[1]["regressions"] == []
    assert len(_run(tmp_path, "perf", "regressions", "--status", "acknowledged")[1]["regressions"]) == 1
    code, fixed, _ = _run(tmp_path, "perf", "ack", str(finding["id"]), "--fixed")
    assert (code, fixed["status"]) == (0, "fixed")
    code, _, err = _run(tmp_path, "perf", "ack", "999")
    assert code == 3
    assert "no performance change point with id 999" in err


def test_improvements_are_listed_apart_and_text_output_names_them(tmp_path: Path) -> None:
    _ingest(tmp_path, _csv(tmp_path / "boot.csv", _noisy(60, step_at=30, factor=0.85)))
    _code, listed, _ = _run(tmp_path, "perf", "regressions")
    assert listed["regressions"] == []
    assert len(listed["improvements"]) == 1
    text = CliRunner().invoke(cli, ["--home", str(tmp_path), "perf", "regressions"]).stdout
    assert "improvements (open): 1" in text
    assert f"#{listed['improvements'][0]['id']} improvement -1" in text


def test_analysis_is_incremental_and_skips_unchanged_series(tmp_path: Path) -> None:
    values = _noisy(80, step_at=30)
    _ingest(tmp_path, _csv(tmp_path / "a" / "boot.csv", values[:70]))
    code, out, _ = _ingest(tmp_path, _csv(tmp_path / "b" / "boot.csv", values[70:], start=70))
    assert code == 0
    assert (out["analyse"]["analysed"], out["analyse"]["incremental"]) == (1, 1)
    code, again, _ = _run(tmp_path, "perf", "analyse")
    assert (code, again["analysed"], again["unchanged"]) == (0, 0, 1)
    code, forced, _ = _run(tmp_path, "perf", "analyse", "--force")
    assert (forced["analysed"], forced["incremental"]) == (1, 0)
    assert _run(tmp_path, "perf", "regressions")[1]["regressions"][0]["index"] in range(28, 33)


def test_noise_gives_the_plain_sentence(tmp_path: Path) -> None:
    _ingest(tmp_path, _csv(tmp_path / "boot.csv", _noisy(40)))
    code, verdicts, _ = _run(tmp_path, "perf", "noise")
    (verdict,) = verdicts
    assert code == 0
    assert verdict["series"] == KEY
    assert verdict["cv_pct"] == pytest.approx(1.0, abs=0.5)  # the noise is 1%
    assert f"varies ±{verdict['cv_pct']:.1f}%" in verdict["sentence"]
    assert "can be detected with 1 run per commit" in verdict["sentence"]
    text = CliRunner().invoke(cli, ["--home", str(tmp_path), "perf", "noise"]).stdout
    assert verdict["sentence"][:30] in text


BAD_SERIES = [
    # (id, values, extra kwargs, exit code, stderr or rejection text)
    ("one-point", [100.0], {}, 0, ""),
    ("constant", [100.0] * 30, {}, 0, ""),
    ("negative-duration", [100.0, -1.0, 100.0], {}, 1, "negative duration -1.0 ms (commit c001"),
    (
        "nan",
        [100.0, float("nan"), 100.0],
        {},
        1,
        "not finite numbers (NaN or infinity), first: nova/boot/latency",
    ),
    ("inf", [100.0, float("inf")], {}, 1, "not finite numbers"),
]


@pytest.mark.parametrize(
    ("values", "kwargs", "code", "text"), [c[1:] for c in BAD_SERIES], ids=[c[0] for c in BAD_SERIES]
)
def test_bad_series_give_a_clear_error_or_no_finding(
    tmp_path: Path, values: list[float], kwargs: dict[str, Any], code: int, text: str
) -> None:
    got, out, err = _ingest(tmp_path, _csv(tmp_path / "boot.csv", values, **kwargs))
    assert got == code
    assert text in err + json.dumps(out, ensure_ascii=False)
    if code == 0:
        assert _run(tmp_path, "perf", "regressions")[1] == {"regressions": [], "improvements": []}
        assert _run(tmp_path, "perf", "series", KEY)[1]["change_points"] == []


def test_an_empty_series_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "boot.csv").write_text("time,commit,latency[ms]\n")
    code, out, _ = _ingest(tmp_path, tmp_path / "boot.csv")
    assert code == 1
    assert out["ingest"]["benchmark_samples"] == 0
    assert "no benchmark measurements in this file" in out["ingest"]["rejected"][0]["message"]
    assert _run(tmp_path, "perf", "noise")[1] == []


def test_duplicate_commits_are_merged_and_unsorted_rows_sorted(tmp_path: Path) -> None:
    values = _noisy(60, step_at=40)
    order = list(range(60))
    random.Random(5).shuffle(order)
    _ingest(tmp_path, _csv(tmp_path / "a" / "boot.csv", values, order=order))
    _ingest(
        tmp_path, _csv(tmp_path / "b" / "boot.csv", [v * 1.001 for v in values])
    )  # a re-run of each commit
    series = _run(tmp_path, "perf", "series", KEY)[1]
    assert [p["commit"] for p in series["points"]] == [f"c{i:03d}" for i in range(60)]
    assert {p["runs"] for p in series["points"]} == {2}
    (finding,) = _run(tmp_path, "perf", "regressions")[1]["regressions"]
    assert abs(finding["index"] - 40) <= 2


def test_mixed_units_are_refused_with_the_commit(tmp_path: Path) -> None:
    _ingest(tmp_path, _csv(tmp_path / "a" / "boot.csv", _noisy(20)))
    code, out, err = _ingest(tmp_path, _csv(tmp_path / "b" / "boot.csv", [0.1], unit="s", start=20))
    assert code == 1
    assert "mixes units 'ms' and 's' (commit c020" in err
    assert out["analyse"]["errors"]


@pytest.mark.parametrize("sample", sorted(p.name for p in DATA.iterdir() if p.suffix in (".json", ".csv")))
def test_malformed_files_of_every_format_are_rejected_with_a_position(tmp_path: Path, sample: str) -> None:
    data = (DATA / sample).read_bytes()
    broken = tmp_path / sample
    broken.write_bytes(data[: len(data) // 2] if sample.endswith(".json") else data.replace(b",", b";", 3))
    code, out, _ = _ingest(tmp_path, broken)
    assert code == 1
    (rejection,) = out["ingest"]["rejected"]
    assert rejection["message"].startswith(f"{broken}, ")


def test_unknown_and_ambiguous_keys_are_not_found_with_suggestions(tmp_path: Path) -> None:
    for seed, env in enumerate(("jammy", "focal")):
        _run(
            tmp_path,
            "perf",
            "ingest",
            "--project",
            "nova",
            "--environment",
            env,
            str(_csv(tmp_path / env / "boot.csv", _noisy(12, seed=seed))),
        )
    code, _, err = _run(tmp_path, "perf", "series", "nova/boot/latency")
    assert code == 3
    assert "ambiguous" in err
    assert "nova/boot/latency/jammy" in err
    code, _, err = _run(tmp_path, "perf", "series", "nova/bot/latency/jammy")
    assert code == 3
    assert "did you mean: nova/boot/latency/jammy" in err
    assert _run(tmp_path, "perf", "series", "nova/boot/latency/focal")[0] == 0
