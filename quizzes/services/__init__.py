"""Everything that changes a quiz's state, by subject. Views, consumers, tasks and commands
call these. Each service runs in one transaction; live events and tasks leave only after
commit."""

from ..errors import AnswerRefused, HostError, JoinError, QuizError
from .answers import answer_submit, answers_submit
from .authoring import question_next_number, questions_renumber, quiz_duplicate
from .joining import (
    clean_code,
    join_attempt_allowed,
    participant_join,
    session_for_visitor,
    visitor_lookup,
    visitor_lookup_async,
)
from .questions import (
    ChoiceSpec,
    choice_removal_problem,
    choice_texts_problems,
    question_choices_set,
    question_problems,
    question_problems_by_field,
)
from .scoring import answers_score_pending, schedule_scoring, score_all_pending
from .sessions import (
    close_grace,
    leaderboard_rebuild,
    new_join_code,
    participant_kick,
    quiz_problems,
    round_close,
    session_advance,
    session_configure,
    session_create,
    session_next,
    sessions_move_on,
)
from .sweep import sweep

__all__ = [
    "AnswerRefused", "HostError", "JoinError", "QuizError",
    "answer_submit",
    "answers_submit",
    "question_next_number", "questions_renumber", "quiz_duplicate",
    "clean_code", "join_attempt_allowed", "participant_join", "session_for_visitor", "visitor_lookup",
    "visitor_lookup_async",
    "answers_score_pending", "schedule_scoring", "score_all_pending",
    "close_grace", "leaderboard_rebuild", "new_join_code", "participant_kick", "quiz_problems",
    "round_close", "session_advance", "session_configure", "session_create", "session_next", "sessions_move_on",
    "sweep",
    "ChoiceSpec", "choice_removal_problem", "choice_texts_problems", "question_choices_set", "question_problems",
    "question_problems_by_field",
]
