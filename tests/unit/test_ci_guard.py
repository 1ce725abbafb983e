"""CI cannot pass by skipping: `.ci/run` sets CI, and with CI set a missing tool fails."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.ci import in_ci, tool_missing

ROOT = Path(__file__).resolve().parents[2]
FAKE_DEV = '#!/usr/bin/env bash\necho "CI=${CI:-}"\n'


def ci_seen_by_dev(tmp_path: Path, script: str) -> str:
    """Run a copy of `.ci/run` whose ./dev only prints the CI it was given."""
    (tmp_path / ".ci").mkdir()
    run = tmp_path / ".ci" / "run"
    run.write_text(script)
    (tmp_path / "dev").write_text(FAKE_DEV)
    for path in (run, tmp_path / "dev"):
        path.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "KOPILKA_DATABASE_URL")}
    done = subprocess.run([str(run)], env=env, capture_output=True, text=True, timeout=30,
                          check=True)
    return done.stdout.strip()


def test_ci_run_sets_ci_for_the_test_command(tmp_path: Path) -> None:
    assert ci_seen_by_dev(tmp_path, (ROOT / ".ci" / "run").read_text()) == "CI=true"


def test_a_ci_run_without_the_export_would_be_caught(tmp_path: Path) -> None:
    script = (ROOT / ".ci" / "run").read_text()
    planted = "\n".join(line for line in script.splitlines() if "export CI=" not in line)
    assert planted != script
    assert ci_seen_by_dev(tmp_path, planted) == "CI="


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_a_missing_tool_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    assert in_ci()
    with pytest.raises(pytest.fail.Exception, match="buf missing in CI"):
        tool_missing("buf", "npm install @bufbuild/buf")


@pytest.mark.parametrize("value", [None, "", "0", "false"])
def test_a_missing_tool_skips_outside_ci(monkeypatch: pytest.MonkeyPatch,
                                         value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert not in_ci()
    with pytest.raises(pytest.skip.Exception, match="buf not installed"):
        tool_missing("buf", "npm install @bufbuild/buf")

