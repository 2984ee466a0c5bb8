"""The label file, I94_SAS_Labels_Descriptions.SAS: the code lists of the I94 columns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lake_assets.core.s3 import S3Path, as_path
from lake_assets.core.sources.published import SourceError


@dataclass(frozen=True)
class Labels:
    """The code lists of I94_SAS_Labels_Descriptions.SAS."""

    countries: dict[int, str]
    ports: dict[str, str]
    modes: dict[int, str]
    states: dict[str, str]
    visa_categories: dict[int, str]


_PAIR = re.compile(r"(?:'([^']*)'|(-?\d+))\s*=\s*'([^']*)'")


def _block(text: str, name: str, path: Path) -> dict:
    m = re.search(r"\bvalue\s+\$?" + name + r"\b", text, re.IGNORECASE)
    if not m:
        raise SourceError(path, f"no 'value {name}' block: expected one with its code = 'label' pairs",
                          "use the label file as published; fetch it again")
    body, quoted = [], False
    for ch in text[m.end():]:
        if ch == "'":
            quoted = not quoted
        elif ch == ";" and not quoted:
            break
        body.append(ch)
    else:
        raise SourceError(path, f"block 'value {name}' is cut off: no closing ';'",
                          "the file looks truncated; fetch it again")
    pairs = {}
    for code_str, code_num, label in _PAIR.findall("".join(body)):
        pairs[code_str.strip() if code_num == "" else int(code_num)] = label.strip()
    if not pairs:
        raise SourceError(path, f"block 'value {name}' has no code = 'label' pairs",
                          "use the label file as published; fetch it again")
    return pairs


def parse_labels(path: str | Path | S3Path) -> Labels:
    """Parse every block of the SAS label file, incl. the visa categories in a comment."""
    path = as_path(path)
    if not path.is_file():
        raise SourceError(path, "missing: the SAS label file is expected here",
                          "put the file back or pass the right --raw folder")
    try:
        text = path.read_text(encoding="latin-1").replace("\r\n", "\n")
    except OSError as exc:
        raise SourceError(path, f"cannot read: {exc}", "check the file's permissions") from exc
    return _parse(path, text)


@lru_cache(maxsize=4)
def _parse(path: Path | S3Path, text: str) -> Labels:
    """The label file's text parsed, once per process for each version of it."""
    no_comments = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    blocks = {name: _block(no_comments, name, path) for name in ("i94cntyl", "i94prtl", "i94model", "i94addrl")}
    visa = re.search(r"/\*\s*I94VISA(.*?)\*/", text, re.S | re.IGNORECASE)
    if not visa:
        raise SourceError(path, "no I94VISA comment with the visa categories: expected /* I94VISA ... */",
                          "use the label file as published; fetch it again")
    categories = {int(c): n.strip() for c, n in re.findall(r"(\d+)\s*=\s*([A-Za-z]+)", visa.group(1))}
    if not categories:
        raise SourceError(path, "the I94VISA comment lists no 'code = category' lines",
                          "use the label file as published; fetch it again")
    return Labels(
        countries=blocks["i94cntyl"],
        ports=blocks["i94prtl"],
        modes=blocks["i94model"],
        states=blocks["i94addrl"],
        visa_categories=categories,
    )
