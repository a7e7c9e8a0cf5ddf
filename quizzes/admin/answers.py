"""Sessions, players and their answers: read-only, the ledger scores and reports come from."""


from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from ..models import Answer, Participant, Question, QuizSession

Kind = Question.Kind


class ReadOnlyAdmin(admin.ModelAdmin):
    """What happened in sessions: kept as it was, so nobody adds, changes or deletes it here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _answer_given(answer: Answer) -> str:
    return answer.choice.text if answer.choice_id else answer.text


def _answer_seconds(answer: Answer) -> str:
    seconds = (answer.received_at - answer.round.opened_at).total_seconds()
    return f"{seconds:.1f} s"


class AnswerColumns:
    """How an answer reads in the admin: in the answers list and on a player's page."""

    @admin.display(description="Question", ordering="round__index")
    def question(self, answer):
        return f"{answer.round.index + 1}. {answer.round.question.prompt}"

    @admin.display(description="Answer")
    def given(self, answer):
        return _answer_given(answer)

    @admin.display(description="Time")
    def seconds(self, answer):
        return _answer_seconds(answer)


@admin.register(Answer)
class AnswerAdmin(AnswerColumns, ReadOnlyAdmin):
    list_display = ["participant", "session", "question", "given", "is_correct", "typo", "points", "seconds"]
    list_filter = ["is_correct"]
    list_select_related = ["participant", "round__session", "round__question", "choice"]
    search_fields = ["participant__nickname", "round__session__code"]
    fields = ["participant", "session", "question", "given", "is_correct", "typo", "points", "streak", "seconds",
              "received_at", "scored_at"]
    readonly_fields = fields

    def lookup_allowed(self, lookup, value, request=None):
        # Linked from a session's and a player's page: their answers only.
        return lookup in {"round__session__code", "participant__id__exact"} or super().lookup_allowed(
            lookup, value, request)

    @admin.display(description="Session", ordering="round__session__code")
    def session(self, answer):
        return answer.round.session.code


class AnswerInline(AnswerColumns, admin.TabularInline):
    """A player's answers, read-only: the ledger the scores and the report come from."""

    model = Answer
    fields = ["question", "given", "is_correct", "typo", "points", "seconds"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("round__question", "choice")


@admin.register(QuizSession)
class QuizSessionAdmin(admin.ModelAdmin):
    list_display = ["code", "quiz", "state", "player_count", "created_at", "screens"]
    list_filter = ["state"]
    search_fields = ["code", "quiz__title"]
    readonly_fields = ["quiz", "code", "state", "host", "current_round", "advance_at", "created_at", "started_at",
                       "finished_at", "bot_seed"]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("quiz").annotate(n_players=Count("participants"))

    @admin.display(description="Players", ordering="n_players")
    def player_count(self, session):
        return session.n_players

    @admin.display(description="Screens")
    def screens(self, session):
        return format_html(
            '<a href="{}">host</a> · <a href="{}">live scores</a> · <a href="{}">report</a> · <a href="{}">answers</a>',
            reverse("quizzes:host", args=[session.code]),
            reverse("livescore", args=[session.code]),
            reverse("quizzes:report", args=[session.code]),
            f"{reverse('admin:quizzes_answer_changelist')}?round__session__code={session.code}",
        )


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["nickname", "session", "score", "is_bot", "joined_at"]
    list_filter = ["is_bot"]
    search_fields = ["nickname", "session__code"]
    readonly_fields = ["session", "nickname", "score", "score_reached_at", "joined_at", "is_bot", "bot_accuracy",
                       "bot_speed"]
    inlines = [AnswerInline]

    def has_add_permission(self, request):
        return False
