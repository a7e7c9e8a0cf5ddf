"""The teacher's report of a session, read from the answers table: each player's answer to
each question asked, the hardest questions, each player's accuracy; and the same figures
as CSV or XLSX (tablib, with openpyxl for XLSX).

Data only (a selector); templates/quizzes/report.html renders it.

The figures count the players still in the session (a removed player is off the report,
as off the boards) and the questions asked so far. A question's share of right answers
and a player's accuracy both count a missing answer as not right."""

from dataclasses import dataclass
from datetime import timedelta

import tablib

from .models import STANDING_ORDER, Answer, Question, QuizSession
from .spreadsheets import as_text

NOT_SCORED = "not scored"


@dataclass(frozen=True)
class Cell:
    """One player's answer to one question."""

    answer: str  # the choice's text, the word typed, or the words in the order given
    correct: bool | None  # None: not scored yet
    typo: bool  # right, with a spelling mistake (fewer points)
    points: int
    seconds: float  # from when the player could answer (after a listening prompt was spoken)


@dataclass(frozen=True)
class QuestionLine:
    number: int
    prompt: str
    kind: str
    answered: int
    right: int
    share_right: float  # right / players, 0..1


@dataclass(frozen=True)
class PlayerLine:
    nickname: str
    score: int
    answered: int
    right: int
    accuracy: float  # right / questions asked, 0..1
    cells: tuple[Cell | None, ...]  # one per question asked, None: no answer


@dataclass(frozen=True)
class SessionReport:
    session: QuizSession
    questions: tuple[QuestionLine, ...]
    players: tuple[PlayerLine, ...]

    @property
    def hardest(self) -> list[QuestionLine]:
        """The questions asked, fewest right first (then in the order asked)."""
        return sorted(self.questions, key=lambda q: (q.share_right, q.number))


def seconds_taken(answer: Answer) -> float:
    """As scoring counts it: from the round's opening plus the time phones took to speak."""
    round_ = answer.round
    taken = answer.received_at - round_.opened_at - timedelta(seconds=round_.speech_seconds)
    return round(max(taken.total_seconds(), 0.0), 2)


def answer_given(answer: Answer) -> str:
    return answer.choice.text if answer.choice_id else answer.text


def session_report(session: QuizSession) -> SessionReport:
    rounds = list(session.rounds.select_related("question").order_by("index"))
    players = list(session.participants.filter(kicked_at__isnull=True).order_by(*STANDING_ORDER))
    answers = {
        (a.participant_id, a.round_id): a
        for a in Answer.objects.filter(round__session=session, participant__kicked_at__isnull=True)
        .select_related("choice", "round")
    }
    player_lines = []
    for player in players:
        cells = tuple(_cell(answers.get((player.pk, round_.pk))) for round_ in rounds)
        right = sum(1 for cell in cells if cell is not None and cell.correct)
        player_lines.append(PlayerLine(
            nickname=player.nickname, score=player.score, answered=sum(cell is not None for cell in cells),
            right=right, accuracy=right / len(rounds) if rounds else 0.0, cells=cells,
        ))
    question_lines = []
    for n, round_ in enumerate(rounds):
        column = [line.cells[n] for line in player_lines]
        right = sum(1 for cell in column if cell is not None and cell.correct)
        question_lines.append(QuestionLine(
            number=round_.index + 1, prompt=round_.question.prompt, kind=round_.question.kind,
            answered=sum(cell is not None for cell in column), right=right,
            share_right=right / len(players) if players else 0.0,
        ))
    return SessionReport(session=session, questions=tuple(question_lines), players=tuple(player_lines))


def _cell(answer: Answer | None) -> Cell | None:
    if answer is None:
        return None
    correct = answer.is_correct if answer.scored_at is not None else None
    return Cell(answer=answer_given(answer), correct=correct, typo=answer.typo, points=answer.points or 0,
                seconds=seconds_taken(answer))


ANSWER_HEADERS = ("player", "question", "prompt", "kind", "answer", "right", "points", "seconds")
QUESTION_HEADERS = ("question", "prompt", "kind", "answered", "right", "share right %")
PLAYER_HEADERS = ("player", "score", "answered", "right", "accuracy %")


def _safe_row(values: tuple) -> tuple:
    return tuple(as_text(value) for value in values)


def right_label(cell: Cell) -> str:
    if cell.correct is None:
        return NOT_SCORED
    return ("yes, with a typo" if cell.typo else "yes") if cell.correct else "no"


def answers_sheet(report: SessionReport) -> tablib.Dataset:
    """One row per player × question asked; a question a player did not answer has an
    empty answer, right "no", 0 points and no seconds."""
    sheet = tablib.Dataset(headers=ANSWER_HEADERS, title="Answers")
    kinds = dict(Question.Kind.choices)
    for player in report.players:
        for question, cell in zip(report.questions, player.cells):
            fixed = (player.nickname, question.number, question.prompt, kinds.get(question.kind, question.kind))
            if cell is None:
                sheet.append(_safe_row((*fixed, "", "no", 0, "")))
            else:
                sheet.append(_safe_row((*fixed, cell.answer, right_label(cell), cell.points, cell.seconds)))
    return sheet


def questions_sheet(report: SessionReport) -> tablib.Dataset:
    """The questions, hardest first."""
    sheet = tablib.Dataset(headers=QUESTION_HEADERS, title="Hardest questions")
    kinds = dict(Question.Kind.choices)
    for q in report.hardest:
        sheet.append(_safe_row((q.number, q.prompt, kinds.get(q.kind, q.kind), q.answered, q.right,
                                percent(q.share_right))))
    return sheet


def players_sheet(report: SessionReport) -> tablib.Dataset:
    sheet = tablib.Dataset(headers=PLAYER_HEADERS, title="Players")
    for p in report.players:
        sheet.append(_safe_row((p.nickname, p.score, p.answered, p.right, percent(p.accuracy))))
    return sheet


def percent(share: float) -> float:
    return round(100 * share, 1)


def report_csv(report: SessionReport) -> str:
    """The answers, one row per player × question (a CSV file holds one table)."""
    return answers_sheet(report).export("csv")


def report_xlsx(report: SessionReport) -> bytes:
    """A workbook of three sheets: the answers, the hardest questions, the players."""
    book = tablib.Databook([answers_sheet(report), questions_sheet(report), players_sheet(report)])
    return book.export("xlsx")


def report_filename(report: SessionReport, extension: str) -> str:
    return f"elsa-report-{report.session.code}.{extension}"
