"""A question on its own page: its kind, its fields by kind, its choices as rows with
a "correct" box beside each, and a preview as a phone shows it."""

import random
from datetime import timedelta

from csp.constants import SELF
from csp.decorators import csp_replace
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.clickjacking import xframe_options_sameorigin

from .. import partials, rules, selectors, services
from ..models import MAX_CHOICES, Choice, Question, QuizSession, Round
from ..services import authoring
from ..services.questions import CHOICE_KINDS

Kind = Question.Kind


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def _checked_picture(picture):
    """A newly uploaded picture passes the authoring rules (type, size, dimensions)."""
    if isinstance(picture, UploadedFile):
        problems = authoring.picture_problems(picture)
        if problems:
            raise ValidationError(problems)
    return picture


# --- A question and its choices ------------------------------------------------------------


class QuestionForm(forms.ModelForm):
    order = forms.IntegerField(
        label="Number", min_value=0, required=False,
        help_text="Its place in the quiz. Left blank: after the last question. "
                  "A question that had this number moves down one.",
    )

    class Meta:
        model = Question
        fields = ["quiz", "order", "kind", "prompt", "image", "accepted_answers", "typo_tolerance",
                  "typo_penalty_percent", "ignore_accents", "time_limit_seconds", "points", "speed_points"]
        labels = {"image": "Picture", "typo_penalty_percent": "Typo penalty (%)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:  # its place, whatever numbers older questions were saved with
            self.initial["order"] = authoring.question_place(self.instance)

    def clean_image(self):
        return _checked_picture(self.cleaned_data.get("image"))


class ChoiceForm(forms.ModelForm):
    class Meta:
        model = Choice
        fields = ["text", "is_correct", "image"]
        labels = {"text": "Choice", "image": "Picture (optional)", "is_correct": "Correct"}

    def clean_image(self):
        return _checked_picture(self.cleaned_data.get("image"))


class ChoiceFormSet(BaseInlineFormSet):
    """The question's choices, checked with the question as it would be saved: nothing is
    saved unless the whole question can be asked."""

    def clean(self):
        # Before the base class's check, which refuses a protected deletion in its own words.
        if not any(self.errors):
            self.check_question()
        super().clean()

    def check_question(self):
        drafts, removals = [], []
        for form in self.forms:
            if not form.instance.pk and not form.has_changed():
                continue  # an empty extra row
            if self.can_delete and self._should_delete_form(form):
                problem = services.choice_removal_problem(form.instance)
                if problem:
                    removals.append(problem)
                continue
            drafts.append(form.instance)
        question = self.instance
        # Set by QuestionAdmin.save_form when the question's own fields are valid.
        question_form = getattr(question, "_editor_form", None)
        general = []
        if question_form:
            for field, problems in services.question_problems_by_field(question, choices=drafts).items():
                for problem in problems:
                    if field in question_form.fields:  # the picture, the accepted answers
                        question_form.add_error(field, _sentence(problem))
                    else:  # the choices, the correct one
                        general.append(_sentence(problem))
            if question.kind in CHOICE_KINDS:
                general += services.choice_texts_problems([choice.text for choice in drafts])
        if question_form and question_form.errors and not general:
            general.append("Correct the question above: nothing was saved.")
        if general or removals:
            raise ValidationError(general + removals)


class ChoiceInline(admin.TabularInline):
    model = Choice
    form = ChoiceForm
    formset = ChoiceFormSet
    fields = ["text", "is_correct", "image"]
    max_num = MAX_CHOICES
    # The question editor's script shows the choices only for the kinds that have them.
    classes = ["kind-choice", "kind-true_false", "kind-listen", "kind-picture"]

    def get_extra(self, request, obj=None, **kwargs):
        return 4 if obj is None or not obj.choices.exists() else 0

    # Choices are part of their question: whoever may edit questions edits their choices,
    # so a question is never saved without the check of its choices.
    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("quizzes.view_question") or self._may_edit(request)

    def has_add_permission(self, request, obj=None):
        return self._may_edit(request)

    def has_change_permission(self, request, obj=None):
        return self._may_edit(request)

    def has_delete_permission(self, request, obj=None):
        return self._may_edit(request)

    @staticmethod
    def _may_edit(request) -> bool:
        return request.user.has_perm("quizzes.add_question") or request.user.has_perm("quizzes.change_question")


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    form = QuestionForm
    inlines = [ChoiceInline]
    list_display = ["prompt", "order", "kind", "quiz"]
    list_display_links = ["prompt"]
    list_filter = ["kind", "quiz"]
    list_select_related = ["quiz"]
    search_fields = ["prompt", "quiz__title"]
    fieldsets = [
        (None, {"fields": ["quiz", "order", "kind", "prompt", "image"]}),
        ("Accepted answers", {"fields": ["accepted_answers"], "classes": ["kind-typed", "kind-order"]}),
        ("Spelling", {"fields": [("typo_tolerance", "typo_penalty_percent"), "ignore_accents"],
                      "classes": ["kind-typed"]}),
        ("Time and points", {"fields": [("time_limit_seconds", "points"), "speed_points"]}),
    ]
    change_form_template = "admin/quizzes/question/change_form.html"

    class Media:
        css = {"all": ["css/admin-quiz.css"]}
        js = ["js/question-editor.js"]

    def get_readonly_fields(self, request, obj=None):
        return ["quiz"] if obj is not None else []

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The editor and its phone preview need the width the admin's side menu takes.
        extra = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        return super().changeform_view(request, object_id, form_url, extra)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        quiz_id = str(initial.get("quiz", ""))
        if quiz_id.isdigit():
            initial["order"] = services.question_next_number(quiz_id=int(quiz_id))
        return initial

    def save_form(self, request, form, change):
        question = super().save_form(request, form, change)
        question._editor_form = form  # ChoiceFormSet puts the question's own problems on its fields
        return question

    def save_model(self, request, obj, form, change):
        if obj.order is None:
            obj.order = services.question_next_number(quiz_id=obj.quiz_id)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        # Choices keep the order of their rows.
        kept = [f.instance for f in formset.forms if f.instance.pk and f not in formset.deleted_forms]
        for number, choice in enumerate(kept):
            if choice.order != number:
                Choice.objects.filter(pk=choice.pk).update(order=number)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        question = form.instance
        if not change or "order" in form.changed_data:
            services.questions_renumber(quiz_id=question.quiz_id, numbers={question.pk: question.order},
                                        moved={question.pk})
        else:
            services.questions_renumber(quiz_id=question.quiz_id)

    def _back_to_quiz(self, request, obj, response):
        if "_addanother" in request.POST:
            return HttpResponseRedirect(f"{reverse('admin:quizzes_question_add')}?quiz={obj.quiz_id}")
        if {"_continue", "_saveasnew", "_popup"} & set(request.POST):
            return response
        return redirect("admin:quizzes_quiz_change", obj.quiz_id)

    def response_add(self, request, obj, post_url_continue=None):
        return self._back_to_quiz(request, obj, super().response_add(request, obj, post_url_continue))

    def response_change(self, request, obj):
        return self._back_to_quiz(request, obj, super().response_change(request, obj))

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [path("<path:object_id>/preview/", preview, name="quizzes_question_preview"), *super().get_urls()]

    # Staff only, and framed only by the admin's own page: the CSP's frame-ancestors 'none'
    # (elsa/settings.py) is opened to this origin for this page alone.
    @method_decorator(xframe_options_sameorigin)
    @method_decorator(csp_replace({"frame-ancestors": [SELF]}))
    def preview_view(self, request, object_id):
        """The question as a phone shows it while the question is open: the players' own
        stage partial, from an unsaved session and round, so nothing reaches a live session."""
        question = self.get_object(request, object_id)
        if question is None or not self.has_view_or_change_permission(request, question):
            raise Http404("No such question.")
        now = timezone.now()
        numbers = list(question.quiz.questions.values_list("pk", flat=True))
        round_ = Round(question=question, index=numbers.index(question.pk), opened_at=now,
                       closes_at=now + timedelta(seconds=question.time_limit_seconds),
                       choice_order=[c.pk for c in question.choices.all()], words=_deal_words(question))
        session = QuizSession(quiz=question.quiz, code="PREVUE", state=QuizSession.State.QUESTION_OPEN,
                              current_round=round_)
        stage = partials.player_stage({"session": session, "current": selectors.round_view(session)})
        return TemplateResponse(request, "admin/quizzes/question/preview.html",
                                {"stage": stage, "session": session, "question": question})


def _deal_words(question: Question) -> list[str]:
    """Word order: the tiles in an order that is not already the answer, as a round deals them."""
    words = rules.sentence_words(next(iter(rules.lines(question.accepted_answers)), ""))
    right, rng = list(words), random.Random(question.pk)
    while len(set(words)) > 1 and words == right:
        rng.shuffle(words)
    return words
