"""Bank files in and out: reading a file, importing it whole or not at all, exporting,
the template, and where an upload waits for its confirmation."""

from uuid import uuid4

import tablib
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from import_export.results import Result
from import_export.tmp_storages import BaseStorage

from live.redis import sync_client

from ..models import Question, Quiz
from ..sample_pictures import clock
from .columns import COLUMNS, FORMATS, SEPARATOR, BankError
from .resource import QuestionBankResource

Kind = Question.Kind


class UploadAwaitingConfirmation(BaseStorage):
    """Where the admin keeps an uploaded bank file between its dry run and the
    confirmation: in Redis for an hour, since the confirmation may reach another web
    replica than the upload did (django-import-export's default is the process's /tmp)."""

    PREFIX = "elsa:bank-upload:"
    LIFETIME_SECONDS = 3600

    def save(self, data):
        self.name = self.name or uuid4().hex
        raw = data if isinstance(data, bytes) else data.encode(self.encoding or "utf-8")
        sync_client().set(self.PREFIX + self.name, raw, ex=self.LIFETIME_SECONDS)

    def read(self):
        raw = sync_client().get(self.PREFIX + str(self.name))
        if raw is None:
            raise BankError("The uploaded file is no longer kept (after an hour); upload it again.")
        return raw if "b" in self.read_mode else raw.decode(self.encoding or "utf-8")

    def remove(self):
        sync_client().delete(self.PREFIX + str(self.name))


def read_bank(data: bytes, file_format: str) -> tablib.Dataset:
    """A bank file's table, or BankError if it is not a file of that format."""
    if file_format not in FORMATS:
        raise BankError(f"Bank files are {', '.join(FORMATS)}.")
    format_ = FORMATS[file_format](encoding="utf-8-sig")
    try:
        dataset = format_.create_dataset(data)
    except Exception as error:  # each format's reader fails its own way
        raise BankError(f"This is not a {file_format.upper()} file that can be read ({type(error).__name__}).") \
            from None
    if not dataset.headers:
        raise BankError(f"This {file_format.upper()} file has no header row.")
    return dataset


def bank_import(*, data: bytes, file_format: str, dry_run: bool = False) -> Result:
    """Import a bank file: all of it, or (on any error) none of it."""
    return QuestionBankResource().import_data(read_bank(data, file_format), dry_run=dry_run)


def bank_export(*, quizzes, file_format: str) -> str | bytes:
    """The questions of these quizzes as a bank file."""
    format_ = FORMATS[file_format]()
    return format_.export_data(QuestionBankResource().export(queryset=quizzes))


def import_problems(result: Result) -> list[str]:
    """Every error of an import, each naming its row (1: the first under the headers) and
    column where it has one."""
    problems = [str(error.error) for error in result.base_errors]
    for row in result.invalid_rows:
        for column, messages in row.field_specific_errors.items():
            problems += [f"Row {row.number}, column {column}: {message}" for message in messages]
        problems += [f"Row {row.number}: {message}" for message in row.non_field_specific_errors]
    for number, errors in result.row_errors():
        problems += [f"Row {number}: {error.error}" for error in errors]
    return problems


def template_dataset() -> tablib.Dataset:
    """A bank file to start from: one question of each kind."""
    rows = [
        {"kind": Kind.CHOICE, "prompt": "Pick the synonym of “big”.", "choice_1": "small", "choice_2": "large",
         "choice_3": "thin", "correct": 2},
        {"kind": Kind.TRUE_FALSE, "prompt": "“Lend” and “borrow” mean the same.", "choice_1": "True",
         "choice_2": "False", "correct": 2},
        {"kind": Kind.TYPED, "prompt": "Type the British spelling of “color”.", "accepted_answers": "colour",
         "typo_tolerance": 1, "typo_penalty_percent": 25, "ignore_accents": 1},
        {"kind": Kind.LISTEN, "prompt": "Could you turn the music down, please?", "choice_1": "Make it quieter.",
         "choice_2": "Make it louder.", "correct": 1},
        {"kind": Kind.PICTURE, "prompt": "What time is it?", "image": TEMPLATE_PICTURE,
         "choice_1": "A quarter to eight", "choice_2": "Half past seven", "correct": 1},
        {"kind": Kind.ORDER, "prompt": "Put the words in order.",
         "accepted_answers": f"She has lived here since 2010. {SEPARATOR} Since 2010 she has lived here."},
    ]
    dataset = tablib.Dataset(headers=COLUMNS)
    for number, row in enumerate(rows, start=1):
        row = {"quiz": "My question bank", "accent": Quiz.Accent.GB if number == 1 else "",
               "description": "Edit, add rows, and import." if number == 1 else "", "number": number,
               "time_limit_seconds": 20, "points": 1000, "speed_points": 1, **row}
        dataset.append([row.get(column, "") for column in COLUMNS])
    return dataset


# The template's picture question names this stored picture (quizzes.views.bank_template
# stores it if missing), so the template imports as it is.
TEMPLATE_PICTURE = "questions/bank-template-clock.png"


def template_picture_stored() -> None:
    if not default_storage.exists(TEMPLATE_PICTURE):
        default_storage.save(TEMPLATE_PICTURE, ContentFile(clock(7, 45)))
