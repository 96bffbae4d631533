"""Xiangcai's matching library: encoders, lexical and dense indexes, fusion, reasons, metrics.

Pure Python + numpy + scipy + faiss: no web framework, no database, no settings. It takes
arrays and frozen dataclasses (``matching.types``) and returns them.
See ``bench/notes/matching-design.md``.
"""
