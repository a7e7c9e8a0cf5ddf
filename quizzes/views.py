import segno
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from leaderboard import board
from leaderboard import partials as leaderboard_partials

from . import hosting, partials, selectors, services
from .forms import JoinForm
from .identity import joined_participant_id, remember_participant


def _session_or_404(code: str):
    session = selectors.session_by_code(code)
    if session is None:
        raise Http404("No quiz has that code.")
    return session


def _leaderboard_html(session) -> str:
    return leaderboard_partials.board_html(board.top(session_id=session.pk, limit=settings.ELSA["LEADERBOARD_SIZE"]))


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
    page = partials.player_page(selectors.player_view(participant))
    context = {"session": participant.session, "leaderboard_html": _leaderboard_html(participant.session), **page}
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
    return HttpResponse(segno.make(url, error="m").svg_inline(scale=6, border=2), content_type="image/svg+xml")
