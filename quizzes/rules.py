"""The quiz's rules, pure: no database, no clock. What makes an answer right (for each kind
of question) and how many points it earns (decision 7)."""

import random
import string
import unicodedata
from datetime import timedelta

from rapidfuzz.distance import DamerauLevenshtein

# Typo tolerance applies to answers this long or longer (in letters): a slip in a short
# word makes another word ("bad" for "bed").
TYPO_MIN_LETTERS = 5
# Phones read listening prompts a little slower than speech (rate 0.9): about 2.2 words a
# second, after a moment to start.
SPEECH_WORDS_PER_SECOND = 2.2
SPEECH_START_SECONDS = 0.6
SPEECH_MAX_SECONDS = 30.0


def lines(text: str) -> list[str]:
    """The non-empty lines of an admin field (accepted answers, right sentences)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def normalise(text: str, *, ignore_accents: bool) -> str:
    """Case, width and spacing folded; accents dropped when the question allows it."""
    text = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    if ignore_accents:
        text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return text


def match_typed(text: str, accepted: list[str], *, tolerance: int, ignore_accents: bool) -> tuple[bool, bool]:
    """(right, with a typo) for a typed answer against the accepted spellings.

    Exact after folding case, spaces and (if allowed) accents; or, for answers of
    TYPO_MIN_LETTERS letters or more, within `tolerance` Damerau-Levenshtein edits (a
    missing, extra, wrong or swapped letter is one edit) of an accepted answer."""
    given = normalise(text, ignore_accents=ignore_accents)
    if not given:
        return False, False
    wanted = [normalise(answer, ignore_accents=ignore_accents) for answer in accepted]
    if given in wanted:
        return True, False
    if tolerance and sum(ch.isalpha() for ch in given) >= TYPO_MIN_LETTERS:
        if any(DamerauLevenshtein.distance(given, answer, score_cutoff=tolerance) <= tolerance for answer in wanted):
            return True, True
    return False, False


def sentence_words(sentence: str) -> list[str]:
    return sentence.split()


PUNCTUATION = string.punctuation + "“”‘’…"


def bare_words(words: list[str]) -> list[str]:
    """Words as an order is judged: case and the punctuation a tile carries aside (the tiles
    of "She has lived here since 2010." also make "Since 2010 she has lived here.")."""
    return [bare for word in words if (bare := word.strip(PUNCTUATION).casefold())]


def match_order(words: list[str], sentences: list[str]) -> bool:
    """Right when the words, in the order given, make one of the right sentences (case and
    punctuation aside)."""
    given = bare_words(words)
    return any(given == bare_words(sentence_words(s)) for s in sentences)


# The question's fields `judge` reads.
JUDGED_BY = ("kind", "accepted_answers", "typo_tolerance", "ignore_accents")


def judge(question, *, choice, text: str) -> tuple[bool, bool]:
    """(right, with a typo) of an answer to `question`: its choice, or the text typed or
    the words in the order given, judged by the question's kind."""
    if question.kind == "typed":
        return match_typed(text, lines(question.accepted_answers), tolerance=question.typo_tolerance,
                           ignore_accents=question.ignore_accents)
    if question.kind == "order":
        return match_order(sentence_words(text), lines(question.accepted_answers)), False
    return bool(choice is not None and choice.is_correct), False


def dealt_choice_order(choice_ids: list[int], *, kind: str, shuffle: bool, seed: str) -> list[int]:
    """The order a session deals a question's choices in: as authored, or shuffled by a
    generator seeded from the session and the round, so every screen (and a rerun of the
    same seed) deals the same order. True or false keeps its authored order (True first)."""
    order = list(choice_ids)
    if shuffle and kind != "true_false":
        random.Random(seed).shuffle(order)
    return order


def in_dealt_order(choices: list, order: list[int]) -> list:
    """`choices` sorted as a round deals them (ids in `order`); any not in it come last."""
    position = {pk: n for n, pk in enumerate(order)}
    return sorted(choices, key=lambda choice: position.get(choice.pk, len(position)))


def speech_seconds(prompt: str) -> float:
    """How long a phone takes to speak a listening prompt: the server's own estimate."""
    words = len(prompt.split())
    return min(SPEECH_MAX_SECONDS, SPEECH_START_SECONDS + words / SPEECH_WORDS_PER_SECOND)


def streak_bonus(streak: int) -> int:
    """A streak of consecutive right answers adds 100 per answer after the first, up to 500."""
    return min(100 * (streak - 1), 500) if streak >= 1 else 0


def points_for(
    *, points: int, speed_points: bool, elapsed: timedelta, limit: timedelta, streak: int, penalty_percent: int = 0
) -> int:
    """Kahoot's rule: P for an instant answer down to P/2 at the deadline, less a typo's
    penalty, plus the streak bonus.

    Integer arithmetic in microseconds with halves rounded up, so the same answer always
    earns the same points on every machine.
    """
    if points == 0 or streak < 1:
        return 0
    if speed_points:
        total = max(int(limit / timedelta(microseconds=1)), 1)
        t = min(max(int(elapsed / timedelta(microseconds=1)), 0), total)
        numerator, denominator = points * (2 * total - t), 2 * total
        base = (2 * numerator + denominator) // (2 * denominator)
    else:
        base = points
    if penalty_percent:
        base = (2 * base * (100 - penalty_percent) + 100) // 200
    return base + streak_bonus(streak)


def streak(earlier: dict[int, bool], index: int) -> int:
    """Consecutive correct answers ending with a correct one at round `index`, given the
    participant's correctness on earlier rounds; a round without an answer breaks it."""
    count = 1
    for previous in range(index - 1, -1, -1):
        if not earlier.get(previous):
            break
        count += 1
    return count
