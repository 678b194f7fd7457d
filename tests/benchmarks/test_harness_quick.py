"""The benchmark harness in its quick mode, as CI runs it so that it cannot rot.

No figure is judged against a bar here (timings are the full run's business, on a quiet
machine); what is checked is that every path was really driven end to end: each scenario
produced its figures beside their references, and no message went missing on the way.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HARNESS_TIMEOUT = 240

EXPECTED_GROUPS = {"Idle", "IRC path", "Fan-out", "Matrix path", "Scale"}
# Each row that counts messages that went missing through xmpp-bridge must read zero.
LOSS_WORDS = ("lost", "duplicated")


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=HARNESS_TIMEOUT,
        env=os.environ.copy(),
        check=False,
    )
    assert done.returncode == 0, f"harness failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "xmpp-bridge" in done.stdout and "reference" in done.stdout, done.stdout
    document = json.loads(Path(out).read_text())
    assert document["machine"]["cores"] >= 1
    assert document["versions"]["biboumi"] != "unknown"
    rows: list[dict[str, Any]] = document["figures"]
    return rows


@pytest.mark.timeout(HARNESS_TIMEOUT + 30)
def test_every_scenario_measured_beside_its_reference(figures: list[dict[str, Any]]) -> None:
    assert {row["group"] for row in figures} == EXPECTED_GROUPS
    compared = [row for row in figures if row["reference_name"]]
    for row in compared:
        assert row["reference_median"] is not None, row["metric"]
    references = {row["reference_name"] for row in compared}
    assert {"Biboumi", "bare Prosody MUC", "bare ngircd", "direct Matrix"} <= references


@pytest.mark.timeout(HARNESS_TIMEOUT + 30)
def test_nothing_lost_or_doubled_through_the_gateway(figures: list[dict[str, Any]]) -> None:
    counted = [row for row in figures if any(word in row["metric"] for word in LOSS_WORDS)]
    assert counted, "the harness reported no message counts"
    for row in counted:
        assert row["ours"] == [0] * len(row["ours"]), row


@pytest.mark.timeout(HARNESS_TIMEOUT + 30)
def test_rates_and_delays_were_measured(figures: list[dict[str, Any]]) -> None:
    for row in figures:
        if row["unit"] in ("ms", "msg/s"):
            assert row["ours_median"] > 0, row["metric"]
