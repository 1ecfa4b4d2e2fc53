"""Normalisation: width folding, PDF spaces, hard-wrap rejoining, dates and decoding."""

from __future__ import annotations

import pytest

from qa.errors import BadInput
from qa.text.dates import parse_date
from qa.text.decode import decode_bytes
from qa.text.normalize import (
    is_hard_wrapped,
    join_broken_paragraphs,
    join_wrapped_lines,
    normalize_text,
    squeeze_spaces,
    to_halfwidth,
)

# (input, expected) in the style of minbpe's edge-case tables
CASES = [
    ("", ""),
    ("\n\n  \n", ""),
    ("一", "一"),
    ("a", "a"),
    ("２０２５年，ＡＢＣ股", "2025年，ABC股"),
    ("全角标点（，。：“”）保留。", "全角标点（，。：“”）保留。"),
    ("HLB PTFE自润滑关节轴承，产品达到国际先进水平。", "HLB PTFE自润滑关节轴承，产品达到国际先进水平。"),
    (
        "累计为2200 余家企业提供贷款，资产总额达 1050 亿元，覆盖 2.22 万户。",
        "累计为2200余家企业提供贷款，资产总额达1050亿元，覆盖2.22万户。",
    ),
    ("混合 scripts：Python 3.11 与中文，共同使用。", "混合 scripts：Python 3.11与中文，共同使用。"),
    ("\ufeff问需于企\u3000精准滴灌\r\n", "问需于企 精准滴灌"),
    ("问需于企 精准滴灌", "问需于企 精准滴灌"),  # headline spaces are typography, kept
    ("我市2项改革案例入选 2025年度山东改革精品案例", "我市2项改革案例入选 2025年度山东改革精品案例"),
]


@pytest.mark.parametrize("raw,expected", CASES)
def test_normalize_edge_cases(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected
    assert normalize_text(expected) == expected  # idempotent


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("2200 余家", "2200余家"),
        ("1050 亿元", "1050亿元"),
        ("2.22 万户", "2.22万户"),
        ("覆盖 2.22", "覆盖2.22"),
        ("7 月 28 日", "7月28日"),
        ("本报讯 （记者 赵琦 焦阳） 7 月", "本报讯（记者 赵琦 焦阳）7月"),
        ("HLB PTFE", "HLB PTFE"),
        ("记者 姬翔 吴兆旭", "记者 姬翔 吴兆旭"),
        ("Python 3.11", "Python 3.11"),
    ],
)
def test_squeeze_spaces(raw: str, expected: str) -> None:
    assert squeeze_spaces(raw) == expected


def test_halfwidth_keeps_chinese_punctuation() -> None:
    assert to_halfwidth("２０２５年３月，ｘ。") == "2025年3月，x。"


@pytest.mark.parametrize(
    "raw,iso",
    [
        ("2026-04-01", "2026-04-01"),
        ("2026/4/1", "2026-04-01"),
        ("2026.04.01", "2026-04-01"),
        ("2026年4月1日", "2026-04-01"),
        ("２０２６-０４-０１", "2026-04-01"),
        ("2026-13-45", None),
        ("2025-02-29", None),
        ("昨天", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(raw, iso) -> None:
    assert parse_date(raw) == iso


def test_join_wrapped_lines_keeps_headlines_and_markers() -> None:
    lines = [
        "锻造高质量发展“生力军”",
        "——聊城市深化国资国企改革",
        "■ 本报记者 王培源",
        "千千万万如毛细血管般渗透在产业链条的中",
        "小微企业，是经济韧性的基石，也是发展活",
        "力的源泉。",
        "黑色金属加工产业链",
        "“问需于企”座谈会召开",
    ]
    assert join_wrapped_lines(lines) == [
        "锻造高质量发展“生力军”",
        "——聊城市深化国资国企改革",
        "■ 本报记者 王培源",
        "千千万万如毛细血管般渗透在产业链条的中小微企业，是经济韧性的基石，也是发展活力的源泉。",
        "黑色金属加工产业链",
        "“问需于企”座谈会召开",
    ]


def test_broken_paragraph_and_interleaved_columns() -> None:
    lines = ["紧紧围绕三大重点工作，全力破解阻碍中小企业发展壮大的突出难", "题，促进中小企业实现跨越式转变。"]
    assert join_broken_paragraphs(lines) == [
        "紧紧围绕三大重点工作，全力破解阻碍中小企业发展壮大的突出难题，促进中小企业实现跨越式转变。"
    ]
    a = "从“能办”到“好办、快办、省钱办”，高唐县用一系列“硬举措”优化了"
    b = "减少了群众跑腿次数，项目审批提速降本……这些实干举措，让改"
    out = join_broken_paragraphs(
        [a, "记者感言", b, "营商“软环境”，温暖了群众“小心愿”。", "革红利真正从“纸上”落到了“账上”。"]
    )
    assert out == [a + "营商“软环境”，温暖了群众“小心愿”。", "记者感言", b + "革红利真正从“纸上”落到了“账上”。"]


def test_seed_page_types(seeds_dir) -> None:
    hard = (seeds_dir / "002_f585da57cd6e1821.txt").read_text(encoding="utf-8").split("\n")
    flat = (seeds_dir / "000_4456a7331ac78358.txt").read_text(encoding="utf-8").split("\n")
    assert is_hard_wrapped([s for s in hard if s.strip()])
    assert not is_hard_wrapped([s for s in flat if s.strip()])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_decode_bytes(encoding: str) -> None:
    text = (
        "聊城日报：２０２５年，专精特新“小巨人”企业𠀀"
        if encoding in ("utf-8", "utf-8-sig", "gb18030")
        else "聊城日报：专精特新“小巨人”企业"
    )
    decoded, _ = decode_bytes(text.encode(encoding))
    assert decoded == text


@pytest.mark.parametrize("data", [b"\x00\x01\x02PK\x03\x04" * 100, b"\x80\xff\xfe\x81\x30" * 40])
def test_decode_bytes_rejects(data: bytes) -> None:
    with pytest.raises(BadInput):
        decode_bytes(data)
