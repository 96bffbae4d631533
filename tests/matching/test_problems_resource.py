"""Format checks for the hand-written resource matching/resources/problems.tsv.

Columns: industry, industry_words, problem, phrases, techniques, disciplines (see the header
comment of the file for the rules editors follow).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBLEMS = ROOT / "matching" / "resources" / "problems.tsv"

COLUMNS = ("industry", "industry_words", "problem", "phrases", "techniques", "disciplines")
# The first brief aimed at 150-250 rows (248 written); a second pass added thin industries' problems
# and 24 more Jilin industries (408 rows). The cap keeps the file reviewable by hand.
MIN_ROWS, MAX_ROWS = 150, 450
MIN_PROBLEMS_PER_INDUSTRY = 3
PHRASE_MIN, PHRASE_MAX = 2, 12
TERM_MIN, TERM_MAX = 2, 20
# ASCII letters are allowed only inside these abbreviations (ISO9001, IATF16949, TMR, GMP ...).
ALLOWED_ASCII = frozenset({"GAP", "GMP", "HACCP", "IATF", "ISO", "TMR"})
# Words too generic to signal anything on their own.
GENERIC_PHRASES = frozenset(
    {
        "问题",
        "不好",
        "效益",
        "效益低",
        "技术",
        "发展",
        "提高",
        "帮助",
        "需求",
        "解决",
        "困难",
        "怎么办",
        "咋整",
        "产业",
        "专家",
        "指导",
    }
)
# A few industries the matcher relies on; dropping one should be a deliberate edit.
CORE_INDUSTRIES = frozenset(
    {
        "玉米",
        "水稻",
        "大豆",
        "人参",
        "食用菌/木耳",
        "林蛙",
        "梅花鹿",
        "肉牛",
        "生猪",
        "设施蔬菜",
        "农产品加工",
        "冷链物流",
        "乡村旅游/冰雪旅游",
        "电商/直播",
        "乡村医疗/中医药",
        "土壤/盐碱地/黑土地",
    }
)

CJK_TOKEN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff0-9A-Za-z]+$")
INDUSTRY_NAME = re.compile(r"^[\u4e00-\u9fff]+(/[\u4e00-\u9fff]+)*$")


def _rows() -> list[tuple[int, list[str]]]:
    out = []
    for lineno, line in enumerate(PROBLEMS.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        out.append((lineno, line.split("\t")))
    return out


ROWS = _rows()


def _row(cols: list[str]) -> dict[str, str]:
    return dict(zip(COLUMNS, cols, strict=True))


def test_file_shape() -> None:
    raw = PROBLEMS.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "no byte-order mark"
    text = raw.decode("utf-8")
    assert text.endswith("\n")
    assert text.startswith("#"), "the file starts with the header comment"
    assert "\r" not in text
    assert "\u3000" not in text, "no full-width spaces"
    assert MIN_ROWS <= len(ROWS) <= MAX_ROWS, len(ROWS)


@pytest.mark.parametrize(("lineno", "cols"), ROWS, ids=[str(n) for n, _ in ROWS])
def test_row_columns(lineno: int, cols: list[str]) -> None:
    assert len(cols) == len(COLUMNS), f"line {lineno}: {len(cols)} columns"
    for name, value in zip(COLUMNS, cols, strict=True):
        assert value.strip(), f"line {lineno}: empty {name}"
        assert value == value.strip(), f"line {lineno}: stray whitespace in {name}"
        assert "  " not in value, f"line {lineno}: double space in {name}"
        for word in re.findall(r"[A-Za-z]+", value):
            assert word in ALLOWED_ASCII, f"line {lineno}: ASCII {word!r} in {name}"
    row = _row(cols)
    assert INDUSTRY_NAME.match(row["industry"]), f"line {lineno}: industry {row['industry']!r}"
    assert CJK_TOKEN.match(row["problem"]), f"line {lineno}: problem {row['problem']!r}"


@pytest.mark.parametrize(("lineno", "cols"), ROWS, ids=[str(n) for n, _ in ROWS])
def test_row_lists(lineno: int, cols: list[str]) -> None:
    row = _row(cols)
    words = row["industry_words"].split()
    if words != ["*"]:
        assert "*" not in words, f"line {lineno}: * mixed with words"
        for w in words:
            assert CJK_TOKEN.match(w), f"line {lineno}: industry word {w!r}"
            assert len(w) >= 2, f"line {lineno}: single-character industry word {w!r}"
        assert len(set(words)) == len(words), f"line {lineno}: repeated industry word"

    phrases = row["phrases"].split()
    assert phrases, f"line {lineno}: no phrases"
    assert len(set(phrases)) == len(phrases), f"line {lineno}: repeated phrase"
    for p in phrases:
        assert PHRASE_MIN <= len(p) <= PHRASE_MAX, f"line {lineno}: phrase length {p!r}"
        assert CJK_TOKEN.match(p), f"line {lineno}: phrase {p!r}"
        assert p not in GENERIC_PHRASES, f"line {lineno}: generic phrase {p!r}"

    for name in ("techniques", "disciplines"):
        terms = row[name].split()
        assert terms, f"line {lineno}: no {name}"
        assert len(set(terms)) == len(terms), f"line {lineno}: repeated term in {name}"
        for t in terms:
            assert TERM_MIN <= len(t) <= TERM_MAX, f"line {lineno}: {name} term {t!r}"
            assert CJK_TOKEN.match(t), f"line {lineno}: {name} term {t!r}"


def test_problems_unique_per_industry() -> None:
    keys = Counter((_row(c)["industry"], _row(c)["problem"]) for _, c in ROWS)
    assert not [k for k, n in keys.items() if n > 1]


def test_industry_words_consistent() -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    for _, cols in ROWS:
        row = _row(cols)
        seen[row["industry"]].add(row["industry_words"])
    assert not {k: v for k, v in seen.items() if len(v) > 1}


def test_phrase_belongs_to_one_problem_per_industry() -> None:
    owner: dict[tuple[str, str], str] = {}
    clashes = []
    for _, cols in ROWS:
        row = _row(cols)
        for p in row["phrases"].split():
            key = (row["industry"], p)
            if key in owner and owner[key] != row["problem"]:
                clashes.append((row["industry"], p, owner[key], row["problem"]))
            owner.setdefault(key, row["problem"])
    assert not clashes


def test_industry_coverage() -> None:
    per_industry = Counter(_row(c)["industry"] for _, c in ROWS)
    assert CORE_INDUSTRIES <= set(per_industry), CORE_INDUSTRIES - set(per_industry)
    thin = {k: n for k, n in per_industry.items() if n < MIN_PROBLEMS_PER_INDUSTRY}
    assert not thin
