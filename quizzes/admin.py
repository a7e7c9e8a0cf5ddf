from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from import_export.admin import ImportExportMixin

from . import banks, hosting, services
from .models import MAX_CHOICES, MIN_CHOICES, Answer, Choice, Participant, Question, Quiz, QuizSession

CHOICE_FIELDS = [f"choice_{n}" for n in range(1, MAX_CHOICES + 1)]


class QuestionForm(forms.ModelForm):
    """A question with its choices on one form: type the answers, tick the right one."""

    choice_1 = forms.CharField(label="Choice 1", max_length=120)
    choice_2 = forms.CharField(label="Choice 2", max_length=120)
    choice_3 = forms.CharField(label="Choice 3", max_length=120, required=False)
    choice_4 = forms.CharField(label="Choice 4", max_length=120, required=False)
    choice_5 = forms.CharField(label="Choice 5", max_length=120, required=False)
    choice_6 = forms.CharField(label="Choice 6", max_length=120, required=False)
    correct = forms.TypedChoiceField(
        choices=[(n, f"Choice {n}") for n in range(1, MAX_CHOICES + 1)],
        coerce=int,
        widget=forms.RadioSelect,
        help_text="Which choice is correct.",
    )

    class Meta:
        model = Question
        fields = ["order", "prompt", "time_limit_seconds", "points", "speed_points"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            existing = list(self.instance.choices.all())
            for n, choice in enumerate(existing[:MAX_CHOICES], start=1):
                self.initial[f"choice_{n}"] = choice.text
                if choice.is_correct:
                    self.initial["correct"] = n

    def clean(self):
        cleaned = super().clean()
        texts = [cleaned.get(name, "") for name in CHOICE_FIELDS]
        filled = [t for t in texts if t]
        if len(filled) < MIN_CHOICES:
            raise forms.ValidationError(f"A question needs at least {MIN_CHOICES} choices.")
        if any(not t for t in texts[: len(filled)]):
            raise forms.ValidationError("Fill the choices in order, without gaps.")
        if len({t.casefold() for t in filled}) != len(filled):
            raise forms.ValidationError("Two choices have the same text.")
        correct = cleaned.get("correct")
        if correct and correct > len(filled):
            self.add_error("correct", "The correct choice must be one of the filled choices.")
        if self.instance.pk:
            kept = len(filled)
            for choice in list(self.instance.choices.all())[kept:]:
                if Answer.objects.filter(choice=choice).exists():
                    raise forms.ValidationError(
                        f"“{choice.text}” has answers from past sessions and cannot be removed."
                    )
        return cleaned

    def save(self, commit=True):
        question = super().save(commit=commit)
        if commit:
            self.save_choices()
        return question

    def save_choices(self) -> None:
        texts = [t for t in (self.cleaned_data.get(name, "") for name in CHOICE_FIELDS) if t]
        existing = list(self.instance.choices.all())
        for order, text in enumerate(texts):
            is_correct = order + 1 == self.cleaned_data["correct"]
            if order < len(existing):
                choice = existing[order]
                choice.order, choice.text, choice.is_correct = order, text, is_correct
                choice.save()
            else:
                Choice.objects.create(question=self.instance, order=order, text=text, is_correct=is_correct)
        for choice in existing[len(texts):]:
            choice.delete()


class QuestionInline(admin.StackedInline):
    model = Question
    form = QuestionForm
    extra = 1
    fieldsets = [
        (None, {"fields": ["order", "prompt", ("time_limit_seconds", "points", "speed_points")]}),
        ("Choices", {"fields": [tuple(CHOICE_FIELDS[:3]), tuple(CHOICE_FIELDS[3:]), "correct"]}),
    ]


@admin.register(Quiz)
class QuizAdmin(ImportExportMixin, admin.ModelAdmin):
    # Question banks: import and export as CSV, XLSX, JSON (quizzes/banks.py).
    resource_classes = [banks.QuestionBankResource]
    formats = list(banks.FORMATS.values())
    import_template_name = "quizzes/bank_import.html"
    tmp_storage_class = banks.UploadAwaitingConfirmation
    list_display = ["title", "question_count", "created_at"]
    search_fields = ["title"]
    inlines = [QuestionInline]
    actions = ["start_live_session"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_questions=Count("questions"))

    @admin.display(description="Questions", ordering="n_questions")
    def question_count(self, quiz):
        return quiz.n_questions

    def has_host_permission(self, request) -> bool:
        return hosting.may_host(request.user)

    @admin.action(description="Start a live session and open its host screen", permissions=["host"])
    def start_live_session(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one quiz to start.", messages.ERROR)
            return None
        try:
            session = services.session_create(quiz=queryset.get(), host=request.user)
        except services.HostError as error:
            self.message_user(request, error.message, messages.ERROR)
            return None
        return redirect("quizzes:host", code=session.code)


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
            '<a href="{}">host</a> · <a href="{}">live scores</a> · <a href="{}">report</a>',
            reverse("quizzes:host", args=[session.code]),
            reverse("livescore", args=[session.code]),
            reverse("quizzes:report", args=[session.code]),
        )


class AnswerInline(admin.TabularInline):
    """A player's answers, read-only: the ledger the scores and the report come from."""

    model = Answer
    fields = readonly_fields = ["round", "choice", "text", "received_at", "is_correct", "typo", "points", "streak"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    inlines = [AnswerInline]
    list_display = ["nickname", "session", "score", "is_bot", "joined_at"]
    list_filter = ["is_bot"]
    search_fields = ["nickname", "session__code"]
    readonly_fields = ["session", "nickname", "score", "score_reached_at", "joined_at", "is_bot", "bot_accuracy",
                       "bot_speed"]

    def has_add_permission(self, request):
        return False
