"""read_archive: the three input layouts, encodings, PDF, and every kind of bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from qa.ingest import read_archive
from qa.ingest.report import format_inspect

from fakes import skip_reasons, write_file

TEXT = "问需于企 精准滴灌\n■ 本报记者 王培源\n仲春时节，气温回暖，园区里已是一片繁忙。"


def test_seeds_from_manifest(seeds_dir, monkeypatch) -> None:
    monkeypatch.chdir(seeds_dir.parent)
    report = read_archive(["seeds"])
    assert report.skipped == []
    assert report.roots == [seeds_dir.resolve().as_posix()]
    assert [p.source for p in report.pages] == ["seeds/002_f585da57cd6e1821.txt", "seeds/000_4456a7331ac78358.txt"]
    assert [(p.paper, p.date, p.page) for p in report.pages] == [
        ("聊城日报", "2025-07-29", 1),
        ("聊城日报", "2026-04-01", 1),
    ]
    page = report.pages[1]
    assert page.page_id == (seeds_dir / "000_4456a7331ac78358.txt").resolve().as_posix()
    assert page.root == seeds_dir.resolve().as_posix()
    assert "\n\n" not in page.text and "2200余家" in report.pages[0].text


def test_issue_folder(tmp_path, monkeypatch) -> None:
    issue = tmp_path / "archive" / "聊城日报" / "2026-04-02"
    write_file(issue / "01_要闻.txt", TEXT)
    write_file(issue / "02_本地.txt", "本地新闻\n本报讯（记者 李四）今天天气晴朗。")
    write_file(issue / "issue.toml", 'issue_no = "第12345期"\n')
    write_file(issue / ".hidden.txt", "x")
    write_file(tmp_path / "archive" / ".git" / "config", "x")
    monkeypatch.chdir(tmp_path)
    report = read_archive([Path("archive")])
    assert report.skipped == []
    assert [(p.paper, p.date, p.page, p.page_name, p.issue_no) for p in report.pages] == [
        ("聊城日报", "2026-04-02", 1, "要闻", "第12345期"),
        ("聊城日报", "2026-04-02", 2, "本地", "第12345期"),
    ]
    assert report.pages[0].source == "archive/聊城日报/2026-04-02/01_要闻.txt"
    assert report.pages[0].root == (tmp_path / "archive").resolve().as_posix()
    assert "第1版 要闻" in format_inspect(report)


def test_issue_toml_paper_and_integer_issue_no(tmp_path) -> None:
    issue = tmp_path / "folder" / "2026-04-03"
    write_file(issue / "3.txt", TEXT)
    write_file(issue / "issue.toml", 'issue_no = 12346\npaper = "聊城晚报"\n')
    [page] = read_archive([tmp_path]).pages
    assert (page.paper, page.page, page.page_name, page.issue_no) == ("聊城晚报", 3, None, "12346")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings(tmp_path, encoding: str) -> None:
    write_file(tmp_path / "报" / "2026-04-01" / "01.txt", TEXT + "\n专精特新“小巨人”企业３３家。", encoding)
    report = read_archive([tmp_path])
    assert report.skipped == []
    assert report.pages[0].text == TEXT + "\n专精特新“小巨人”企业33家。"


def _cjk_font() -> str | None:
    """A TrueType (glyf) font with Chinese glyphs: fpdf2 cannot embed CFF fonts such as Noto CJK."""
    from fontTools.ttLib import TTFont

    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    files = [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]
    files += [str(p) for p in Path("/usr/share/fonts").rglob("*.tt[fc]")]
    for file in sorted(set(files), key=lambda f: ("wqy" not in f, f)):
        try:
            font = TTFont(file, fontNumber=0, lazy=True)
            if "glyf" in font and ord("问") in font.getBestCmap():
                return file
        except Exception:  # not a font fontTools can read: try the next one
            continue
    return None


def test_pdf_page(tmp_path) -> None:
    font = _cjk_font()
    if font is None:
        pytest.skip("没有找到中文字体（fc-list :lang=zh 为空）：apt-get install fonts-wqy-zenhei")
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("zh", "", font, **({"collection_font_number": 0} if font.endswith(".ttc") else {}))
    pdf.set_font("zh", size=14)
    pdf.multi_cell(0, 10, "问需于企 精准滴灌\n累计为2200余家中小企业提供近400亿元信贷支持。")
    pdf.add_page()
    pdf.multi_cell(0, 10, "第二页：HLB PTFE轴承。")
    path = tmp_path / "聊城日报" / "2026-04-01" / "03_经济.pdf"
    path.parent.mkdir(parents=True)
    pdf.output(str(path))
    report = read_archive([tmp_path])
    assert report.skipped == []
    [page] = report.pages
    assert (page.page, page.page_name) == (3, "经济")
    assert page.text == "问需于企 精准滴灌\n累计为2200余家中小企业提供近400亿元信贷支持。\n第二页：HLB PTFE轴承。"


def test_jsonl(tmp_path, monkeypatch) -> None:
    lines = [
        {
            "id": "cms-1",
            "date": "2026/04/01",
            "text": "第一篇正文。",
            "title": "标题一",
            "paper": "聊城日报",
            "page": 2,
            "page_name": "要闻",
            "issue_no": "12345",
        },
        {"date": "2026年4月2日", "text": "没有编号的正文。"},
        "not json {",
        {"id": "x", "date": "2026-04-01"},
        {"id": "y", "text": "缺日期"},
        {"id": "z", "text": "坏日期", "date": "2026-13-45"},
        {"id": "w", "text": "坏版次", "date": "2026-04-01", "page": "二"},
        [1, 2],
    ]
    raw = "\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines)
    path = write_file(tmp_path / "cms.jsonl", raw + "\n\n")
    monkeypatch.chdir(tmp_path)
    report = read_archive(["cms.jsonl"])
    base = path.resolve().as_posix()
    pages = {p.page_id: p for p in report.pages}
    first, second = pages[f"{base}#cms-1"], pages[f"{base}#L2"]
    assert (first.page_id, first.paper, first.date, first.page, first.page_name, first.issue_no) == (
        f"{base}#cms-1",
        "聊城日报",
        "2026-04-01",
        2,
        "要闻",
        "12345",
    )
    assert first.articles[0].article_id == "cms-1" and first.articles[0].title == "标题一"
    assert first.articles[0].body == "第一篇正文。" and first.source == "cms.jsonl"
    assert (second.page_id, second.paper, second.date, second.page) == (f"{base}#L2", "cms", "2026-04-02", None)
    assert second.articles[0].article_id == "cms.jsonl#L2#a1" and second.articles[0].title is None
    assert sorted(s.line for s in report.skipped) == [3, 4, 5, 6, 7, 8]
    reasons = skip_reasons(report)
    assert "JSON" in reasons[("cms.jsonl", 3)] and "text" in reasons[("cms.jsonl", 4)]
    assert "date" in reasons[("cms.jsonl", 5)] and "日期无效" in reasons[("cms.jsonl", 6)]
    assert "版次" in reasons[("cms.jsonl", 7)]


def test_bad_inputs(tmp_path) -> None:
    arc = tmp_path / "arc"
    good = write_file(arc / "聊城日报" / "2026-04-01" / "01_要闻.txt", TEXT)
    write_file(arc / "聊城日报" / "2026-04-01" / "02_二进制.txt", b"\x00\x01PK\x03\x04" * 200)
    write_file(arc / "聊城日报" / "2026-04-01" / "03_空.txt", b"")
    write_file(arc / "聊城日报" / "2026-04-01" / "04_乱码.txt", b"\x80\xff\xfe\x81\x30" * 40)
    write_file(arc / "聊城日报" / "2026-04-01" / "要闻.txt", TEXT)  # name not NN[_版名]
    write_file(arc / "聊城日报" / "loose" / "01.txt", TEXT)  # folder not a date
    write_file(arc / "聊城日报" / "2026-04-01" / "06_照片.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    write_file(arc / "聊城日报" / "2026-04-01" / "07_表格.xlsx", b"PK\x03\x04")
    write_file(arc / "聊城日报" / "2026-04-01" / "05_坏.pdf", b"%PDF-1.4 not really")
    man = arc / "scans"
    write_file(man / "a.txt", TEXT)
    write_file(man / "b.txt", TEXT)
    write_file(man / "c.txt", TEXT)
    write_file(
        man / "manifest.csv",
        "file,paper,date,page,page_name,issue_no\n"
        "a.txt,聊城日报,2026-04-05,1,要闻,\n"
        "missing.txt,聊城日报,2026-04-05,2,,\n"
        "b.txt,聊城日报,2026-13-45,3,,\n"
        "c.txt,聊城日报,2026-04-05,三,,\n"
        "../../etc/passwd,聊城日报,2026-04-05,4,,\n",
    )
    report = read_archive([arc, tmp_path / "nope"])
    assert [p.page_id for p in report.pages] == [good.resolve().as_posix(), (man / "a.txt").resolve().as_posix()]
    reasons = skip_reasons(report)
    assert reasons[("02_二进制.txt", None)].startswith("二进制文件")
    assert reasons[("03_空.txt", None)] == "空文件"
    assert "编码" in reasons[("04_乱码.txt", None)]
    assert "目录结构" in reasons[("要闻.txt", None)] and "目录结构" in reasons[("01.txt", None)]
    assert "图像文件已损坏" in reasons[("06_照片.png", None)]
    assert "不支持的文件类型" in reasons[("07_表格.xlsx", None)]
    assert "PDF" in reasons[("05_坏.pdf", None)]
    assert "不存在" in reasons[("manifest.csv", 3)]
    assert "日期无效" in reasons[("manifest.csv", 4)]
    assert "版次不是整数" in reasons[("manifest.csv", 5)]
    assert "越出" in reasons[("manifest.csv", 6)]
    assert reasons[("nope", None)] == "路径不存在"
    # files named in the manifest are never reported again as outside the layout
    assert not any(name in ("b.txt", "c.txt") for name, _ in reasons)
    assert report.roots == [arc.resolve().as_posix(), (tmp_path / "nope").resolve().as_posix()]
    text = format_inspect(report)
    assert "空文件" in text and "manifest.csv:6" in text


def test_same_root_twice_is_read_once(seeds_dir) -> None:
    report = read_archive([seeds_dir, seeds_dir])
    assert len(report.pages) == 2


def test_inspect_format(seeds_dir, monkeypatch) -> None:
    monkeypatch.chdir(seeds_dir.parent)
    text = format_inspect(read_archive(["seeds"]))
    assert "聊城日报 2026-04-01 第1版  seeds/000_4456a7331ac78358.txt" in text
    assert "问需于企 精准滴灌" in text and "■ 本报记者 王培源" in text and "(下转第7版)" in text
    assert "（无标题部分）" in text and "字" in text
