"""The scoring rules (decision 7), pure: no database, no clock."""

from datetime import timedelta


def points_for(
    *, points: int, speed_points: bool, elapsed: timedelta, limit: timedelta, streak: int
) -> int:
    """Kahoot's rule: P for an instant answer down to P/2 at the deadline, plus a streak bonus.

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
    return base + min(100 * (streak - 1), 500)


def streak(earlier: dict[int, bool], index: int) -> int:
    """Consecutive correct answers ending with a correct one at round `index`, given the
    participant's correctness on earlier rounds; a round without an answer breaks it."""
    count = 1
    for previous in range(index - 1, -1, -1):
        if not earlier.get(previous):
            break
        count += 1
    return count
