"""A quiz: its questions listed in order (numbered, dragged), start a live session,
duplicate, import and export question banks."""


from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportMixin

from .. import banks, hosting, rules, services
from ..models import Question, Quiz
from ..services.questions import CHOICE_KINDS

Kind = Question.Kind


# --- A quiz and its list of questions ------------------------------------------------------


class QuestionRowForm(forms.ModelForm):
    order = forms.IntegerField(label="No.", min_value=0, widget=forms.NumberInput(attrs={"class": "question-number"}))

    class Meta:
        model = Question
        fields = ["order"]


class QuestionRowFormSet(BaseInlineFormSet):
    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        if i < self.initial_form_count():  # its place, whatever numbers older questions were saved with
            form.initial["order"] = i + 1
        return form


class QuestionListInline(admin.TabularInline):
    """The quiz's questions, one row each: renumber them here (or drag the rows), open one
    to edit it. Questions are added on their own page, which has the choices."""

    model = Question
    form = QuestionRowForm
    formset = QuestionRowFormSet
    fields = ["order", "edit_link", "kind", "answer_summary"]
    readonly_fields = ["edit_link", "kind", "answer_summary"]
    extra = 0
    verbose_name_plural = "Questions"
    classes = ["question-list"]

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("choices")

    @admin.display(description="Question")
    def edit_link(self, question):
        return format_html('<a href="{}">{}</a>', reverse("admin:quizzes_question_change", args=[question.pk]),
                           question.prompt)

    @admin.display(description="Answer")
    def answer_summary(self, question):
        if question.kind not in CHOICE_KINDS:
            return " / ".join(rules.lines(question.accepted_answers)) or "—"
        choices = list(question.choices.all())
        right = next((c.text for c in choices if c.is_correct), "—")
        return f"{right} (of {len(choices)} choices)"


@admin.register(Quiz)
class QuizAdmin(ImportExportMixin, admin.ModelAdmin):
    # Question banks: import and export as CSV, XLSX, JSON (quizzes/banks.py).
    resource_classes = [banks.QuestionBankResource]
    formats = list(banks.FORMATS.values())
    import_template_name = "quizzes/bank_import.html"
    tmp_storage_class = banks.UploadAwaitingConfirmation
    search_fields = ["title"]
    actions = ["duplicate_quizzes"]
    change_form_template = "admin/quizzes/quiz/change_form.html"

    class Media:
        css = {"all": ["css/admin-quiz.css"]}
        js = ["js/question-order.js"]

    def get_list_display(self, request):
        columns = ["title", "question_count", "created_at"]
        return [*columns, "start_button"] if hosting.may_host(request.user) else columns

    def get_inlines(self, request, obj):
        return [QuestionListInline] if obj is not None else []

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_questions=Count("questions"))

    @admin.display(description="Questions", ordering="n_questions")
    def question_count(self, quiz):
        return quiz.n_questions

    @admin.display(description="Live")
    def start_button(self, quiz):
        # The list is one form already (its actions): this button posts it to the start URL.
        return format_html('<button type="submit" class="button start-live" formaction="{}" formmethod="post">'
                           'Start live session</button>', reverse("admin:quizzes_quiz_start", args=[quiz.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"may_host": hosting.may_host(request.user), "may_duplicate": self.has_add_permission(request)}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def response_add(self, request, obj, post_url_continue=None):
        if {"_addanother", "_popup"} & set(request.POST):
            return super().response_add(request, obj, post_url_continue)
        self.message_user(request, f"“{obj}” is saved: now add its questions.", messages.SUCCESS)
        return redirect("admin:quizzes_quiz_change", obj.pk)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is Question:
            kept = [f for f in formset.forms if f.instance.pk and f not in formset.deleted_forms]
            services.questions_renumber(quiz_id=form.instance.pk,
                                        numbers={f.instance.pk: f.cleaned_data["order"] for f in kept},
                                        moved={f.instance.pk for f in kept if "order" in f.changed_data})

    def get_urls(self):
        return [
            path("<path:object_id>/start/", self.admin_site.admin_view(self.start_view), name="quizzes_quiz_start"),
            path("<path:object_id>/duplicate/", self.admin_site.admin_view(self.duplicate_view),
                 name="quizzes_quiz_duplicate"),
            *super().get_urls(),
        ]

    def _quiz_or_404(self, request, object_id) -> Quiz:
        quiz = self.get_object(request, object_id)
        if quiz is None or not self.has_view_or_change_permission(request, quiz):
            raise Http404("No such quiz.")
        return quiz

    @method_decorator(require_POST)
    def start_view(self, request, object_id):
        """Start a classroom session of the quiz and open its host screen. From the admin a
        session starts as a class plays: scores shown at the reveal, at the teacher's pace."""
        if not hosting.may_host(request.user):
            raise PermissionDenied
        quiz = self._quiz_or_404(request, object_id)
        try:
            session = services.session_create(quiz=quiz, host=request.user, scores_live=False, auto_advance=False)
        except services.HostError as error:
            self.message_user(request, error.message, messages.ERROR)
            return redirect("admin:quizzes_quiz_change", quiz.pk)
        return redirect("quizzes:host", code=session.code)

    @method_decorator(require_POST)
    def duplicate_view(self, request, object_id):
        if not self.has_add_permission(request):
            raise PermissionDenied
        quiz = self._quiz_or_404(request, object_id)
        copy = services.quiz_duplicate(quiz=quiz)
        self.message_user(request, f"“{quiz}” is copied as “{copy}”: this is the copy.", messages.SUCCESS)
        return redirect("admin:quizzes_quiz_change", copy.pk)

    @admin.action(description="Duplicate the selected quizzes", permissions=["add"])
    def duplicate_quizzes(self, request, queryset):
        for quiz in queryset:
            copy = services.quiz_duplicate(quiz=quiz)
            self.message_user(request, f"“{quiz}” is copied as “{copy}”.", messages.SUCCESS)


# --- Sessions, players and their answers (read only) ---------------------------------------
