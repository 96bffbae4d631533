from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from matching.corpus import DENSE_FILE, LEXICAL_FILE, ProfileCorpus
from matching.encoders import ModelVersion
from matching.persist import IndexFileError
from matching.types import CountyInfo, NeedDoc, Query

from .test_index import VERSION
from .test_ranking import SALINE, axis, need, profile

TOK = "tok-test"


def small_corpus() -> ProfileCorpus:
    profiles = [profile(1), profile(2, fields=("梅花鹿",), expertise="梅花鹿养殖")]
    return ProfileCorpus.build(
        profiles, np.stack([axis(0), axis(5)]), [SALINE, ["梅花鹿"]], VERSION, TOK
    )


def ids(corpus: ProfileCorpus, n: NeedDoc, counties: dict[str, CountyInfo]) -> list[int]:
    return corpus.search(Query.for_need(n, axis(0), SALINE), counties=counties).ids


def test_create_edit_deactivate_delete_visible_at_once(counties: dict[str, CountyInfo]) -> None:
    c = small_corpus()
    assert ids(c, need(), counties)[0] == 1
    c.upsert(profile(3, hometown_county_code="220822"), axis(0), SALINE)
    assert ids(c, need(), counties)[0] == 3  # new, and from the county itself
    c.upsert(replace(profile(3), fields=("人参",)), axis(9), ["人参"])  # edited away
    assert ids(c, need(), counties)[0] == 1
    c.upsert(replace(profile(1), active=False), axis(0), SALINE)
    assert 1 not in ids(c, need(), counties)
    c.remove(2)
    assert 2 not in ids(c, need(), counties)
    assert len(c) == 2


def test_save_load(tmp_path: Path, counties: dict[str, CountyInfo]) -> None:
    c = small_corpus()
    c.upsert(profile(3, hometown_county_code="220822"), axis(0), SALINE)
    c.save(tmp_path)
    back = ProfileCorpus.load(tmp_path, VERSION, TOK)
    assert ids(back, need(), counties) == ids(c, need(), counties)
    with pytest.raises(IndexFileError):
        ProfileCorpus.load(tmp_path, ModelVersion("other", VERSION.dim, "x"), TOK)
    with pytest.raises(IndexFileError):
        ProfileCorpus.load(tmp_path, VERSION, "another-tokenizer")
    # files from two different moments do not pair up
    c.upsert(profile(4), axis(0), SALINE)
    c.lexical.save(tmp_path / LEXICAL_FILE)
    with pytest.raises(IndexFileError):
        ProfileCorpus.load(tmp_path, VERSION, TOK)
    (tmp_path / DENSE_FILE).unlink()
    with pytest.raises(IndexFileError):
        ProfileCorpus.load(tmp_path, VERSION, TOK)
