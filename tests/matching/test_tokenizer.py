from __future__ import annotations

from matching.tokenizer import ChineseTokenizer, join_tokens, split_tokens


def test_tokenizer_uses_dictionary_and_stopwords(tokenizer: ChineseTokenizer) -> None:
    toks = tokenizer.tokenize("我们需要苏打盐渍土改良技术和相关工作经验的专家")
    assert "苏打盐渍土" in toks
    for stop in ("我们", "技术", "相关", "工作", "经验", "的", "和"):
        assert stop not in toks
    toks = tokenizer.tokenize("黄金玉米带的保护性耕作，梅花鹿与林下参，科技特派员")
    for term in ("黄金玉米带", "保护性耕作", "梅花鹿", "林下参", "科技特派员"):
        assert term in toks
    singles = tokenizer.tokenize("鹿，狐")
    assert "鹿" in singles  # meaningful single characters are kept
    assert "狐" not in singles  # other single characters are dropped
    assert "2018" not in tokenizer.tokenize("2018年 ＡＢＣ")
    assert "abc" in tokenizer.tokenize("ＡＢＣ")


def test_tokenizer_version_tracks_resources() -> None:
    a = ChineseTokenizer()
    b = ChineseTokenizer(stopwords=frozenset({"的"}))
    c = ChineseTokenizer(mode="words")
    assert a.version == ChineseTokenizer().version
    assert len({a.version, b.version, c.version}) == 3


def test_resources_are_substantial() -> None:
    from matching.tokenizer import _resource_text, load_stopwords

    terms = [ln.split()[0] for ln in _resource_text("userdict.txt").splitlines() if ln.strip()]
    assert len(set(terms)) >= 150
    for t in ("盐碱地", "苏打盐渍土", "黄金玉米带", "梅花鹿", "黑木耳", "人参", "林下参"):
        assert t in terms
    stop = load_stopwords()
    assert {"技术", "工作", "经验", "开展", "相关", "的"} <= stop


def test_token_storage_round_trip(tokenizer: ChineseTokenizer) -> None:
    toks = tokenizer.tokenize("盐碱地改良，水稻耐盐栽培；梅花鹿养殖")
    assert split_tokens(join_tokens(toks)) == toks


def test_query_expansion(tokenizer: ChineseTokenizer) -> None:
    q = tokenizer.tokenize_query("碱巴拉地返碱死苗")
    assert "盐碱地" in q
    assert "盐渍土" in q
    assert "盐碱地" not in tokenizer.tokenize("碱巴拉地返碱死苗")  # profiles are not expanded
    plain = ChineseTokenizer(synonyms=())
    assert "盐渍土" not in plain.tokenize_query("碱巴拉地返碱死苗")
    assert plain.version != tokenizer.version
