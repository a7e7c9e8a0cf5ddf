from datetime import timedelta

import pytest

from quizzes.rules import points_for

T = timedelta(seconds=20)


def score(elapsed: float, streak: int = 1, points: int = 1000, speed: bool = True) -> int:
    return points_for(points=points, speed_points=speed, elapsed=timedelta(seconds=elapsed), limit=T, streak=streak)


def test_an_instant_correct_answer_earns_full_points():
    assert score(0) == 1000


def test_a_correct_answer_at_the_deadline_earns_half():
    assert score(20) == 500


def test_points_fall_linearly_with_server_time():
    assert score(5) == 875
    assert score(10) == 750
    assert score(2.5) == 938  # 937.5 rounds half up


def test_time_outside_the_window_is_clamped():
    assert score(-3) == 1000
    assert score(25) == 500


def test_a_wrong_answer_earns_nothing():
    assert score(1, streak=0) == 0


def test_streaks_add_100_per_extra_answer_up_to_500():
    assert [score(0, streak=s) for s in (1, 2, 3, 6, 7, 12)] == [1000, 1100, 1200, 1500, 1500, 1500]


def test_speed_points_off_gives_flat_points():
    assert score(19, speed=False) == 1000
    assert score(19, speed=False, streak=3) == 1200


@pytest.mark.parametrize("points", [0])
def test_a_question_worth_nothing_gives_no_streak_bonus(points):
    assert score(0, streak=4, points=points) == 0
