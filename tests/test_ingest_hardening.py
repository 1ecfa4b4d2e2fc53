"""Bad archive files from an outside probe (issue 24 items 1–3): links out of the archive, dates
no newspaper has, and encodings or duplicate ids that used to be lost or garbled without a word."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.cli import cli
from qa.ingest import read_archive

from fakes import skip_reasons, write_file

TEXT = "防汛会议召开\n本报讯 会议要求各地加强巡查，落实防汛责任。"
SECRET = "root:x:0:0:root:/root:/bin/bash\n机密文件，不应进入索引。\n"


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder beside the archive, standing for /etc: nothing in it may reach the index."""
    folder = tmp_path / "etc"
    write_file(folder / "passwd", SECRET)
    write_file(
        folder / "secret.jsonl", json.dumps({"id": "s", "date": "2024-06-01", "text": SECRET}, ensure_ascii=False)
    )
    write_file(folder / "day" / "01_机密.txt", SECRET)
    return folder


def _archive_with_links(tmp_path: Path, outside: Path) -> Path:
    arc = tmp_path / "archive"
    issue = arc / "坏报" / "2024-06-01"
    write_file(issue / "01_要闻.txt", TEXT)
    (issue / "14_链接.txt").symlink_to(outside / "passwd")
    (issue / "15_内部.txt").symlink_to(issue / "01_要闻.txt")  # a link inside the archive is fine
    (arc / "坏报" / "2024-06-02").symlink_to(outside / "day", target_is_directory=True)
    (arc / "cms.jsonl").symlink_to(outside / "secret.jsonl")
    (arc / "坏报" / "2024-06-01" / "16_断链.txt").symlink_to(tmp_path / "gone.txt")
    return arc


def test_links_out_of_the_archive_are_refused_by_name(tmp_path, outside, monkeypatch) -> None:
    _archive_with_links(tmp_path, outside)
    monkeypatch.chdir(tmp_path)
    report = read_archive(["archive"])
    assert all("机密" not in p.text and "root:x" not in p.text for p in report.pages)
    assert [p.source for p in report.pages] == ["archive/坏报/2024-06-01/01_要闻.txt"]
    reasons = skip_reasons(report)
    for name in ("14_链接.txt", "2024-06-02", "cms.jsonl"):
        assert "档案文件夹之外" in reasons[(name, None)], name
    assert "不存在" in reasons[("16_断链.txt", None)]
    # the skip report names the link itself, never the file it points at
    assert {s.source for s in report.skipped if "之外" in s.reason} == {
        "archive/坏报/2024-06-01/14_链接.txt",
        "archive/坏报/2024-06-02",
        "archive/cms.jsonl",
    }


def test_a_manifest_and_an_issue_toml_cannot_be_links_out(tmp_path, outside) -> None:
    arc = tmp_path / "archive"
    write_file(outside / "manifest.csv", "file,paper,date,page\npasswd,坏报,2024-06-01,1\n")
    (arc / "scans").mkdir(parents=True)
    (arc / "scans" / "manifest.csv").symlink_to(outside / "manifest.csv")
    issue = arc / "坏报" / "2024-06-01"
    write_file(issue / "01.txt", TEXT)
    write_file(outside / "issue.toml", 'paper = "偷来的报名"\n')
    (issue / "issue.toml").symlink_to(outside / "issue.toml")
    write_file(arc / "rows" / "manifest.csv", "file,paper,date,page\nlink.txt,坏报,2024-06-01,2\n")
    (arc / "rows" / "link.txt").symlink_to(outside / "passwd")
    report = read_archive([arc])
    assert [p.paper for p in report.pages] == ["坏报"]
    reasons = skip_reasons(report)
    assert "档案文件夹之外" in reasons[("manifest.csv", None)] and "档案文件夹之外" in reasons[("issue.toml", None)]
    assert "越出档案文件夹" in reasons[("manifest.csv", 2)]


def test_a_given_file_that_links_out_of_its_folder_is_refused(tmp_path, outside) -> None:
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "today.jsonl").symlink_to(outside / "secret.jsonl")
    report = read_archive([tmp_path / "exports" / "today.jsonl"])
    assert report.pages == [] and "档案文件夹之外" in skip_reasons(report)[("today.jsonl", None)]


def test_qa_inspect_names_the_link_and_never_prints_its_target(tmp_path, outside, monkeypatch) -> None:
    _archive_with_links(tmp_path, outside)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["inspect", "archive", "--index", str(tmp_path / "ix")])
    assert result.exit_code == 2
    assert "14_链接.txt" in result.output and "root:x" not in result.output and "机密" not in result.output


def test_sources_are_relative_to_the_archive_root_outside_the_working_directory(tmp_path, monkeypatch) -> None:
    arc = tmp_path / "srv" / "archive"
    write_file(arc / "聊城日报" / "2024-06-01" / "01_要闻.txt", TEXT)
    write_file(arc / "cms.jsonl", json.dumps({"date": "2024-06-02", "text": "没有编号的正文。"}, ensure_ascii=False))
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    report = read_archive([arc, arc / "cms.jsonl"])
    sources = sorted(p.source for p in report.pages)
    assert sources == ["archive/cms.jsonl", "archive/聊城日报/2024-06-01/01_要闻.txt"]
    jsonl = next(p for p in report.pages if p.read_as == "jsonl")
    assert jsonl.articles[0].article_id == "archive/cms.jsonl#L1#a1"
    assert not any(str(tmp_path) in p.source for p in report.pages)


# --- encodings and duplicate ids (issue 24.3) ----------------------------------------------------

TRADITIONAL = (
    "問需於企 精準滴灌\n■ 本報記者 王培源\n仲春時節，氣溫回暖，園區裡已是一片繁忙。聊城市新增專精特新企業三十三家。"
)
SIMPLIFIED = (
    "问需于企 精准滴灌\n■ 本报记者 王培源\n仲春时节，气温回暖，园区里已是一片繁忙。聊城市新增专精特新企业三十三家。"
)


@pytest.mark.parametrize(
    "text, encoding",
    [
        (TRADITIONAL, "big5"),
        (TRADITIONAL, "cp950"),
        ("聊城日報：防汛會議召開", "big5"),
        (SIMPLIFIED, "utf-16"),
        (SIMPLIFIED, "utf-16-le"),
        (SIMPLIFIED, "utf-16-be"),
        (TRADITIONAL, "utf-16-le"),
        ("2025年聊城日报 News: 7月29日", "utf-16-le"),
        (SIMPLIFIED, "gbk"),
        (SIMPLIFIED, "gb18030"),
        (SIMPLIFIED, "utf-8"),
    ],
)
def test_text_files_in_big5_and_utf16_are_read_as_written(tmp_path, text, encoding) -> None:
    write_file(tmp_path / "报" / "2026-04-01" / "01.txt", text, encoding)
    report = read_archive([tmp_path])
    assert report.skipped == []
    assert report.pages[0].text == text


def test_gbk_headlines_short_and_long_stay_gbk() -> None:
    from qa.text.decode import decode_bytes

    for text in ("聊城日报", "问需于企 精准滴灌", "市委常委会召开会议", SIMPLIFIED * 3):
        assert decode_bytes(text.encode("gbk")) == (text, "gb18030")


def test_utf16_binary_lookalikes_are_still_binary(tmp_path) -> None:
    from qa.errors import BadInput
    from qa.text.decode import decode_bytes

    for data in (b"\x00\x01\x02PK\x03\x04" * 100, bytes(range(256)) * 4, b"\x00" * 64):
        with pytest.raises(BadInput, match="二进制"):
            decode_bytes(data)


def test_repeated_jsonl_ids_are_named_with_the_line_kept(tmp_path) -> None:
    rows = [
        {"id": "a", "date": "2026-04-01", "text": "第一篇正文。"},
        {"id": "b", "date": "2026-04-01", "text": "第二篇正文。"},
        {"id": "a", "date": "2026-04-02", "text": "同一编号的另一篇正文。"},
        {"id": "a", "date": "2026-04-03", "text": "第三次出现。"},
    ]
    path = write_file(tmp_path / "cms.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    report = read_archive([path, tmp_path])  # the same file under two PATHs is still read once
    assert sorted(p.articles[0].body for p in report.pages) == ["第一篇正文。", "第二篇正文。"]
    reasons = skip_reasons(report)
    assert sorted(line for _, line in reasons) == [3, 4]
    for n in (3, 4):
        assert "id「a」" in reasons[("cms.jsonl", n)] and "第 1 行" in reasons[("cms.jsonl", n)]


def test_a_link_out_is_never_indexed_nor_served(tmp_path, outside, monkeypatch) -> None:
    from qa.app import create_app
    from qa.config import Settings
    from qa.service import Service
    from qa.store import build_index

    from fakes import FakeEmbedder

    arc = _archive_with_links(tmp_path, outside)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # the archive lies outside the working directory, as on a server
    ix = tmp_path / "ix"
    report = build_index([arc], ix, embedder=FakeEmbedder(), progress=False, log=lambda m: None)
    assert any("14_链接.txt" in s.source for s in report.skipped)
    client = create_app(Settings(index=ix, rate_limit=None), service=Service(ix, embedder=FakeEmbedder())).test_client()
    assert client.get("/api/pages/2024-06-01/14").status_code == 404
    page = client.get("/api/pages/2024-06-01/1").get_json()
    assert page["source"] == "archive/坏报/2024-06-01/01_要闻.txt"
    answer = client.post("/api/ask", json={"question": "防汛会议有什么要求？"}).get_json()
    assert answer["passages"] and all(not p["citation"]["source"].startswith("/") for p in answer["passages"])
    assert "root:x" not in json.dumps(answer, ensure_ascii=False)
