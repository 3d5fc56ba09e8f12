"""The csbot command line as a user runs it: clear messages, exit codes, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CSBOT_DATABASE__URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "CSBOT_GENERAL__DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    env.pop("CSBOT_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def no_traceback(p: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    p = run(path, "demo", "--days", "8", "--scale", "0.1", "--no-chat")
    assert p.returncode == 0, p.stderr
    assert "完成：会话" in p.stdout
    return path


def test_empty_database_says_how_to_start(tmp_path):
    p = run(tmp_path, "ask", "/满意度 本周")
    assert p.returncode == 1 and "还没有数据" in p.stdout
    no_traceback(p)


def test_ask_answers_and_names_the_chart(demo_dir):
    p = run(demo_dir, "ask", "/满意度", "本周")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("**满意度 ") or p.stdout.startswith("满意度")
    assert "本周" in p.stdout and "[图表]" in p.stdout
    chart = p.stdout.rsplit(": ", 1)[1].strip()
    assert (demo_dir / chart).exists() or Path(chart).exists()


@pytest.mark.parametrize(("text", "expected"), [
    ("/满意 本周", "你是不是想找 /满意度"),
    ("/满意度 上个世纪", "看不懂"),
    ("/差评 本周 客服=小王", "不支持"),
])
def test_bad_commands_exit_nonzero_with_chinese_message(demo_dir, text, expected):
    p = run(demo_dir, "ask", text)
    assert p.returncode == 1 and expected in p.stdout
    no_traceback(p)


def test_chat_reads_until_eof_without_waiting(demo_dir):
    p = run(demo_dir, "chat", stdin="/帮助\n/投诉 今天\n")
    assert p.returncode == 0 and "/满意度" in p.stdout and "投诉" in p.stdout


def test_import_reports_counts_and_rejects(tmp_path):
    data = tmp_path / "convs.csv"
    data.write_text("conversation_id,started_at,agent,rating\nA1,2026-11-20 10:00:00,小王,5\n"
                    "A2,not-a-time,小李,4\nA3,2026-11-20 11:00:00,小李,9\n", encoding="utf-8")
    p = run(tmp_path, "import", "conversations", str(data))
    assert p.returncode == 0, p.stderr
    assert "accepted=1" in p.stdout and "rejected=2" in p.stdout
    assert (tmp_path / "convs.rejected.csv").exists()
    p = run(tmp_path, "import", "conversations", str(data))
    assert "updated=1" in p.stdout


@pytest.mark.parametrize("args", [("import", "widgets", "x.csv"), ("import", "conversations", "missing.csv")])
def test_import_errors_are_clear(tmp_path, args):
    p = run(tmp_path, *args)
    assert p.returncode == 2 and "导入失败" in p.stderr
    no_traceback(p)


def test_bad_config_is_reported(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[databse]\nurl = 'x'\n", encoding="utf-8")
    p = run(tmp_path, "--config", str(cfg), "ask", "/帮助")
    assert p.returncode == 2 and "unknown key 'databse'" in p.stderr
    no_traceback(p)
