"""The staff's admin: build quizzes question by question (every kind, each choice a row with
its own "correct" box), number and reorder them, preview a question as a phone shows it,
start a live session, duplicate a quiz, and read players' answers.

The rules a question must meet live in quizzes/services/questions.py (the question banks and
a session's start ask the same); the forms here only put their messages next to the fields
they concern. Each module registers its models with the admin site."""

from . import answers, questions, quizzes  # noqa: F401
