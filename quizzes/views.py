import io

import segno
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from leaderboard import board
from leaderboard import live as leaderboard_live
from leaderboard import partials as leaderboard_partials

from . import banks, hosting, partials, practice, reports, selectors, services
from .forms import HostOptionsForm, JoinForm, KickForm
from .identity import joined_participant_id, remember_participant
from .models import QuizSession


def _session_or_404(code: str):
    session = selectors.session_by_code(code)
    if session is None:
        raise Http404("No quiz has that code.")
    return session


def _board(session) -> board.Board:
    return leaderboard_live.current_board_now(session.pk, settings.ELSA["LEADERBOARD_SIZE"])


def _leaderboard_html(session) -> str:
    return leaderboard_partials.board_html(_board(session))


@require_GET
def home(request):
    form = JoinForm(initial={"code": request.GET.get("code", "")[:12]})
    return render(request, "quizzes/home.html", {"form": form})


@require_POST
def join(request):
    form = JoinForm(request.POST)
    if form.is_valid():
        code = services.clean_code(form.cleaned_data["code"])
        if selectors.participant_in(participant_id=joined_participant_id(request.session, code) or 0, code=code):
            return redirect("quizzes:play", code=code)
        try:
            participant = services.participant_join(
                code=code, nickname=form.cleaned_data["nickname"], client=request.META.get("REMOTE_ADDR", "")
            )
        except services.JoinError as error:
            if error.code == "throttled":
                form.add_error(None, error.message)
                return render(request, "quizzes/home.html", {"form": form}, status=429)
            form.add_error("nickname" if error.code == "nickname" else "code", error.message)
        else:
            remember_participant(request.session, code, participant.pk)
            return redirect("quizzes:play", code=code)
    return render(request, "quizzes/home.html", {"form": form}, status=400)


@require_GET
def play(request, code: str):
    participant_id = joined_participant_id(request.session, code)
    participant = participant_id and selectors.participant_in(participant_id=participant_id, code=code)
    if not participant:
        return redirect(f"/?code={code.upper()}")
    standings = _board(participant.session)
    view = selectors.player_view(participant)
    # The badge shows the rank on the board this page shows (one rank everywhere).
    view["rank"] = leaderboard_partials.ranks_on(standings).get(participant.pk) or view["rank"]
    page = partials.player_page(view)
    context = {"session": participant.session, "leaderboard_html": leaderboard_partials.board_html(standings), **page}
    return render(request, "quizzes/play.html", context)


@staff_member_required
@require_GET
def host(request, code: str):
    session = _session_or_404(code)
    context = {"session": session, "stage_html": partials.host_stage(selectors.host_view(session)),
               "leaderboard_html": _leaderboard_html(session), "controls": hosting.may_control(request.user, session)}
    return render(request, "quizzes/host.html", context)


@staff_member_required
@require_POST
def host_next(request, code: str):
    session = _session_or_404(code)
    if not hosting.may_control(request.user, session):
        return HttpResponse(partials.flash("Only this session's host can move it on."), status=403)
    try:
        services.session_next(session_id=session.pk)
    except services.HostError as error:
        return HttpResponse(partials.flash(error.message), status=409)
    return HttpResponse(status=204)


def _visited_session(request, code: str):
    """The session named in a public page's URL. Whether a code exists is what a guesser
    wants to know, so unknown codes count against the address's guess budget (429 past it)."""
    session = services.session_for_visitor(code=code, client=request.META.get("REMOTE_ADDR", ""))
    if session is None:
        raise Http404("No quiz has that code.")
    return session


@require_GET
def qr(request, code: str):
    try:
        session = _visited_session(request, code)
    except services.JoinError as error:
        return HttpResponse(error.message, status=429, content_type="text/plain")
    url = f"{settings.ELSA['PUBLIC_URL'].rstrip('/')}/?code={session.code}"
    # A standalone SVG document (with its namespace: browsers refuse an <img> without it),
    # on white so that a dark page around it does not hide the code from a camera.
    svg = io.BytesIO()
    segno.make(url, error="m").save(svg, kind="svg", scale=6, border=2, light="#fff", xmldecl=False)
    return HttpResponse(svg.getvalue(), content_type="image/svg+xml")


def _finished_player(request, code: str):
    """The participant this browser is in a finished session, or None."""
    participant_id = joined_participant_id(request.session, code)
    participant = participant_id and selectors.participant_in(participant_id=participant_id, code=code)
    if not participant or participant.session.state != QuizSession.State.FINISHED:
        return None
    return participant


@require_GET
def practice_page(request, code: str):
    """The words you missed, with the right answers, and a way to practise them."""
    participant = _finished_player(request, code)
    if participant is None:
        return redirect("quizzes:play", code=code.upper())
    context = {"session": participant.session, "missed": practice.missed(participant)}
    return render(request, "quizzes/practice.html", context)


@require_POST
def practice_start(request, code: str):
    participant = _finished_player(request, code)
    if participant is None:
        return HttpResponse(partials.flash("Practice opens when the quiz is over."), status=409)
    ids = [item.question.pk for item in practice.missed(participant)]
    practice.keep_queue(request.session, participant.session.code, ids)
    return _practice_item(request, participant, ids, feedback=None)


@require_POST
def practice_answer(request, code: str):
    participant = _finished_player(request, code)
    ids = practice.queue(request.session, participant.session.code) if participant else []
    raw = request.POST.get("question", "")
    question = practice.question_in(participant.session, raw) if participant and raw.isdigit() else None
    if participant is None or question is None or question.pk not in ids:
        return HttpResponse(partials.flash("That question is not in your practice."), status=400)
    right = practice.check(question, choice_id=request.POST.get("choice"), text=request.POST.get("text"))
    ids = practice.after_answer(ids, question.pk, right)
    practice.keep_queue(request.session, participant.session.code, ids)
    feedback = {"right": right, "answer": practice.right_answer(question)}
    return _practice_item(request, participant, ids, feedback=feedback)


def _practice_item(request, participant, ids: list[int], *, feedback: dict | None) -> HttpResponse:
    question = practice.question_in(participant.session, ids[0]) if ids else None
    context = {"session": participant.session, "question": question, "left": len(ids), "feedback": feedback,
               "words": practice.scrambled(question) if question is not None else []}
    return render(request, "quizzes/_practice_item.html", context)


def _reported_session(request, code: str):
    """The session whose report this user may read: staff who may watch it (hosting.py)."""
    session = _session_or_404(code)
    if not hosting.may_watch(request.user):
        raise PermissionDenied
    return session


@staff_member_required
@require_GET
def report(request, code: str):
    """The teacher's report: every player's answers, the hardest questions, accuracy."""
    report = reports.session_report(_reported_session(request, code))
    return render(request, "quizzes/report.html", {"report": report, "session": report.session})


@staff_member_required
@require_GET
def report_download(request, code: str, file_format: str):
    report = reports.session_report(_reported_session(request, code))
    if file_format == "xlsx":
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        response = HttpResponse(reports.report_xlsx(report), content_type=content_type)
    else:
        response = HttpResponse(reports.report_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{reports.report_filename(report, file_format)}"'
    return response


@staff_member_required
@require_GET
def bank_template(request, file_format: str):
    """A question bank file to start from: one question of each kind (quizzes/banks.py)."""
    banks.template_picture_stored()
    format_ = banks.FORMATS[file_format]()
    response = HttpResponse(format_.export_data(banks.template_dataset()), content_type=format_.get_content_type())
    response["Content-Disposition"] = f'attachment; filename="question-bank-template.{file_format}"'
    return response


def _controlled_session(request, code: str):
    """The session named in a host control's URL, if this user controls it: else a refusal."""
    session = _session_or_404(code)
    if not hosting.may_control(request.user, session):
        return session, HttpResponse(partials.flash("Only this session's host can change it."), status=403)
    return session, None


@staff_member_required
@require_POST
def host_options(request, code: str):
    session, refused = _controlled_session(request, code)
    if refused:
        return refused
    form = HostOptionsForm(request.POST)
    if not form.is_valid() or not form.changes():
        return HttpResponse(partials.flash("That is not a choice the host screen offers."), status=400)
    try:
        services.session_configure(session_id=session.pk, **form.changes())
    except services.HostError as error:
        return HttpResponse(partials.flash(error.message), status=409)
    return HttpResponse(status=204)


@staff_member_required
@require_POST
def host_kick(request, code: str):
    session, refused = _controlled_session(request, code)
    if refused:
        return refused
    form = KickForm(request.POST)
    if not form.is_valid():
        return HttpResponse(partials.flash("Choose a player to remove."), status=400)
    try:
        services.participant_kick(session_id=session.pk, participant_id=form.cleaned_data["participant"])
    except services.HostError as error:
        return HttpResponse(partials.flash(error.message), status=409)
    return HttpResponse(status=204)
