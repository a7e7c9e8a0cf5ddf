from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import live, partials
from .lookup import FindBoard, LookupRefused


@require_GET
def livescore(request, code: str, *, find_board: FindBoard):
    """The big-screen leaderboard: anyone with the code may watch."""
    try:
        ref = find_board(code=code, client=request.META.get("REMOTE_ADDR", ""))
    except LookupRefused as refused:
        return HttpResponse(refused.message, status=429, content_type="text/plain")
    if ref is None:
        raise Http404("No quiz has that code.")
    standings = live.current_board_now(ref.session_id, settings.ELSA["LEADERBOARD_SIZE"])
    context = {"board": ref, "leaderboard_html": partials.board_html(standings), "status_html": ref.status()}
    return render(request, "leaderboard/livescore.html", context)
