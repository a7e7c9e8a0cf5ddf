"""A bank file's columns and how one cell is read (the columns: quizzes/banks/__init__.py)."""

import tablib
from import_export.formats import base_formats

from .. import services
from ..models import MAX_CHOICES, Question
from ..spreadsheets import shield, unshield

Kind = Question.Kind


SEPARATOR = "|"
CHOICE_COLUMNS = [f"choice_{n}" for n in range(1, MAX_CHOICES + 1)]
COLUMNS = ["quiz", "accent", "description", "number", "kind", "prompt", "image", *CHOICE_COLUMNS, "correct",
           "choice_images", "accepted_answers", "typo_tolerance", "typo_penalty_percent", "ignore_accents",
           "time_limit_seconds", "points", "speed_points"]
MAX_QUESTIONS = 1000  # in one quiz
REQUIRED_COLUMNS = ["quiz", "number", "kind", "prompt"]
WHOLE_NUMBER_FIELDS = ["typo_tolerance", "typo_penalty_percent", "time_limit_seconds", "points"]
YES_NO_FIELDS = ["ignore_accents", "speed_points"]
# Where a question rule's complaint points (services.question_problems_by_field's keys).
RULE_COLUMNS = {"choices": "choice_1", "correct": "correct", "image": "image", "accepted_answers": "accepted_answers"}


def _each_cell(dataset: tablib.Dataset, change) -> tablib.Dataset:
    rows = [tuple(change(cell) for cell in row) for row in dataset]
    return tablib.Dataset(*rows, headers=dataset.headers, title=dataset.title)


class _Shielded(base_formats.TablibFormat):
    """A file a spreadsheet opens: its cells go out as text (quizzes/spreadsheets.py) and
    come back as they went out."""

    def export_data(self, dataset, **kwargs):
        return super().export_data(_each_cell(dataset, shield), **kwargs)

    def create_dataset(self, in_stream, **kwargs):
        return _each_cell(super().create_dataset(in_stream, **kwargs), unshield)


class CSV(_Shielded, base_formats.CSV):
    pass


class XLSX(_Shielded, base_formats.XLSX):
    pass


FORMATS = {"csv": CSV, "xlsx": XLSX, "json": base_formats.JSON}
YES = {"1", "true", "yes", "y"}
NO = {"0", "false", "no", "n"}


class BankError(services.QuizError):
    code = "bank"


def cell_text(value: object) -> str:
    """A cell as text: empty for a blank cell, whole numbers without ".0" (spreadsheets)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def cell_whole(value: object) -> int:
    text = cell_text(value)
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"“{text}” is not a whole number.") from None
    if not number.is_integer():
        raise ValueError(f"“{text}” is not a whole number.")
    return int(number)


def cell_yes_no(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = cell_text(value).casefold()
    if text in YES or text in NO:
        return text in YES
    raise ValueError(f"“{cell_text(value)}” is neither yes nor no (use 1 or 0, true or false, yes or no).")


def cell_items(value: object) -> list[str]:
    """A list in one cell: "|" (or a new line) between the items."""
    return [item.strip() for line in cell_text(value).splitlines() for item in line.split(SEPARATOR)]
