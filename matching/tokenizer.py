"""Chinese tokenising for the lexical channel: jieba with a domain dictionary, stopwords and
query synonyms.

Tokenising (jieba) is the slow part, so it is separate from indexing: ``ChineseTokenizer``
turns text into a token list that the service stores beside the profile (``join_tokens`` /
``split_tokens``), and ``matching.lexical.LexicalIndex`` indexes token lists. A start-up rebuild
from stored tokens never runs jieba. ``ChineseTokenizer.version`` changes whenever the
dictionary, stopword list or tokenising recipe changes: stored tokens with another version must be
re-tokenised.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

_RESOURCES = resources.files("matching") / "resources"
# Single characters that carry meaning in Jilin's agriculture; other single characters are noise.
_KEEP_SINGLE = frozenset("鹿参稻菌牛羊猪鸡鹅鸭鱼蛙蜂茶药果菜瓜豆麦麻棉草肥碱盐虫蛋奶乳酒醋")
_WORDISH = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
_DIGITS = re.compile(r"^[\d.%]+$")


def _resource_text(name: str) -> str:
    return (_RESOURCES / name).read_text(encoding="utf-8")


def load_stopwords(text: str | None = None) -> frozenset[str]:
    """The stopword list (one word a line, ``#`` comments), by default the bundled one."""
    raw = _resource_text("stopwords.txt") if text is None else text
    return frozenset(
        w.strip() for w in raw.splitlines() if w.strip() and not w.lstrip().startswith("#")
    )


def load_synonyms(text: str | None = None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(phrase, terms)`` pairs from the synonyms resource (``phrase<TAB>term term ...``)."""
    raw = _resource_text("synonyms.txt") if text is None else text
    out: list[tuple[str, tuple[str, ...]]] = []
    for line in raw.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        phrase, _, terms = line.partition("\t")
        if phrase.strip() and terms.split():
            out.append((phrase.strip(), tuple(terms.split())))
    return tuple(out)


def join_tokens(tokens: Sequence[str]) -> str:
    """Token list -> one string for a database column (tokens never contain whitespace)."""
    return " ".join(tokens)


def split_tokens(stored: str) -> list[str]:
    """Inverse of ``join_tokens``."""
    return stored.split()


class ChineseTokenizer:
    """jieba with Xiangcai's user dictionary and stopwords; thread-safe, initialised lazily.

    Queries (needs, free text) go through ``tokenize_query``, which adds the expert terms of
    everyday phrases listed in resources/synonyms.txt.

    ``mode="search"`` uses ``cut_for_search``, which also emits the 2- and 3-character words inside
    a long word (苏打盐渍土 -> 苏打, 盐渍, 盐渍土, 苏打盐渍土), so a need that writes a shorter
    form still meets the expert's longer term. Single characters are dropped except a short list
    of meaningful ones (鹿, 参, 稻, 菌 ...); digits-only tokens and stopwords are dropped.
    """

    def __init__(
        self,
        mode: str = "search",
        userdict: str | None = None,
        stopwords: frozenset[str] | None = None,
        synonyms: tuple[tuple[str, tuple[str, ...]], ...] | None = None,
    ) -> None:
        if mode not in ("search", "words"):
            raise ValueError(f"unknown tokenizer mode {mode!r}")
        self.mode = mode
        self._userdict = _resource_text("userdict.txt") if userdict is None else userdict
        self.stopwords = load_stopwords() if stopwords is None else stopwords
        self.synonyms = load_synonyms() if synonyms is None else synonyms
        self._jieba: Any = None
        self._lock = threading.Lock()
        h = hashlib.sha256()
        for part in (
            mode,
            self._userdict,
            "\n".join(sorted(self.stopwords)),
            "".join(sorted(_KEEP_SINGLE)),
            repr(self.synonyms),
            "v1",
        ):
            h.update(part.encode())
            h.update(b"\0")
        self.version = f"jieba-{mode}-{h.hexdigest()[:12]}"

    def _tokenizer(self) -> Any:
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    import logging

                    import jieba  # type: ignore[import-untyped, unused-ignore]

                    jieba.setLogLevel(logging.WARNING)
                    tk = jieba.Tokenizer()
                    tk.initialize()
                    tk.load_userdict(io.StringIO(self._userdict))
                    self._jieba = tk
        return self._jieba

    def tokenize(self, text: str) -> list[str]:
        """Text -> the list of index terms, in order, with repeats (term frequency matters)."""
        norm = unicodedata.normalize("NFKC", text).lower()
        tk = self._tokenizer()
        raw: Iterable[str] = (
            tk.cut_for_search(norm, HMM=True) if self.mode == "search" else tk.cut(norm, HMM=True)
        )
        out: list[str] = []
        for tok in raw:
            t = tok.strip()
            if not t or t in self.stopwords or not _WORDISH.search(t) or _DIGITS.match(t):
                continue
            if len(t) == 1 and t not in _KEEP_SINGLE:
                continue
            out.append(t)
        return out

    def tokenize_query(self, text: str) -> list[str]:
        """Tokens of a need or search query, plus the expert terms of any everyday phrase in it
        (碱巴拉地 -> 盐碱地 盐渍土 ...). Profiles are tokenised without expansion."""
        norm = unicodedata.normalize("NFKC", text).lower()
        extra = [t for phrase, terms in self.synonyms if phrase in norm for t in terms]
        return self.tokenize(text) + extra

    def tokenize_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.tokenize(t) for t in texts]
