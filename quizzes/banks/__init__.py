"""Question banks: quizzes to and from CSV, XLSX and JSON files with django-import-export,
one row per question.

    quiz, accent, description   the quiz (matched by title; created if missing)
    number                      the question's place in its quiz, from 1
    kind                        choice, true_false, typed, listen, picture, order
    prompt, image               image: a picture's storage name (upload it in the admin)
    choice_1 … choice_6         the choices' texts, in order
    correct                     which choice is right (1 to 6)
    choice_images               the choices' pictures' storage names, in order, "|" between
    accepted_answers            typed: accepted spellings; order: right sentences; "|" between
    typo_tolerance, typo_penalty_percent, ignore_accents, time_limit_seconds, points,
    speed_points                as in the admin; empty: the usual default

A row names its quiz and number: an existing quiz's question at that number (by the quiz's
order when the import starts) is updated, any other is added. A question is checked by the
same rules as in the admin and at a session's start (quizzes/services/questions.py). A file
is imported whole or not at all: one transaction, rolled back on any error, each error
naming its row (1 = the first row under the headers) and column."""

from .columns import COLUMNS, FORMATS, BankError
from .files import (
    UploadAwaitingConfirmation,
    bank_export,
    bank_import,
    import_problems,
    read_bank,
    template_dataset,
    template_picture_stored,
)
from .resource import QuestionBankResource

__all__ = [
    "COLUMNS", "FORMATS", "BankError", "QuestionBankResource", "UploadAwaitingConfirmation", "bank_export",
    "bank_import", "import_problems", "read_bank", "template_dataset", "template_picture_stored",
]
