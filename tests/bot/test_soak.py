"""The soak (`pytest -m soak`, also part of the default run): 2,000 questions from 100 chats, each asking
after its last reply, with 5% of the bot's Bot API calls failing at random (429 with retry_after, 502,
dropped connections, slow answers). Every question gets exactly one answer, and memory stays flat."""

import re
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, Settings
from bot.loadtest import run_loadtest


@pytest.mark.soak
def test_2000_questions_with_5_percent_of_calls_failing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=PROJECT_ROOT / "data", db_path=tmp_path / "isnad.db")
    status = run_loadtest(settings, chats=100, questions_per_chat=20, faults=0.05)
    report = capsys.readouterr().out
    print(report)  # the figures the README quotes (pytest -s -m soak)
    assert re.search(r"^answered\s+2000$", report, re.MULTILINE), report
    assert re.search(r"^lost\s+0$", report, re.MULTILINE)
    assert re.search(r"^duplicates 0$", report, re.MULTILINE)
    growth = re.search(r"^memory .* \(([+-]\d+\.\d)%\)$", report, re.MULTILINE)
    assert growth and float(growth.group(1)) <= 10.0, report
    assert status == 0
