"""django-import-export's resource for question banks: one question per row."""

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from import_export import resources
from import_export.fields import Field
from import_export.resources import Diff

from .. import rules, services
from ..models import MAX_CHOICES, Choice, Question, Quiz
from .columns import (
    CHOICE_COLUMNS,
    COLUMNS,
    MAX_QUESTIONS,
    REQUIRED_COLUMNS,
    RULE_COLUMNS,
    SEPARATOR,
    WHOLE_NUMBER_FIELDS,
    YES_NO_FIELDS,
    BankError,
    cell_items,
    cell_text,
    cell_whole,
    cell_yes_no,
)

Kind = Question.Kind


class BankDiff(Diff):
    """The admin's preview of a row: the question's values as a bank file has them."""

    def __init__(self, resource, instance, new):
        super().__init__(resource, instance, new)
        self.left = self._row(resource, instance)

    def compare_with(self, resource, instance):
        self.right = self._row(resource, instance)

    @staticmethod
    def _row(resource, instance) -> list:
        row = resource.question_row(instance)
        return [row[field.column_name] for field in resource.get_import_fields()]


class QuestionBankResource(resources.ModelResource):
    """One question per row (quizzes/banks.py says which columns mean what)."""

    quiz = Field(attribute="quiz__title", column_name="quiz")
    accent = Field(attribute="quiz__accent", column_name="accent")
    description = Field(attribute="quiz__description", column_name="description")
    number = Field(column_name="number")
    kind = Field(attribute="kind", column_name="kind")
    prompt = Field(attribute="prompt", column_name="prompt")
    image = Field(column_name="image")
    choice_1 = Field(column_name="choice_1")
    choice_2 = Field(column_name="choice_2")
    choice_3 = Field(column_name="choice_3")
    choice_4 = Field(column_name="choice_4")
    choice_5 = Field(column_name="choice_5")
    choice_6 = Field(column_name="choice_6")
    correct = Field(column_name="correct")
    choice_images = Field(column_name="choice_images")
    accepted_answers = Field(column_name="accepted_answers")
    typo_tolerance = Field(attribute="typo_tolerance", column_name="typo_tolerance")
    typo_penalty_percent = Field(attribute="typo_penalty_percent", column_name="typo_penalty_percent")
    ignore_accents = Field(attribute="ignore_accents", column_name="ignore_accents")
    time_limit_seconds = Field(attribute="time_limit_seconds", column_name="time_limit_seconds")
    points = Field(attribute="points", column_name="points")
    speed_points = Field(attribute="speed_points", column_name="speed_points")

    class Meta:
        model = Question
        fields = COLUMNS
        export_order = COLUMNS
        import_id_fields: list[str] = []
        clean_model_instances = True
        use_transactions = True

    def get_diff_class(self):
        return BankDiff

    # Export

    def export(self, queryset=None, **kwargs):
        """The questions of the quizzes in `queryset` (the admin's quiz list), or these
        questions, each numbered by its place in its quiz."""
        if queryset is None:
            queryset = Question.objects.all()
        if queryset.model is Quiz:
            queryset = Question.objects.filter(quiz__in=list(queryset.values_list("pk", flat=True)))
        queryset = queryset.select_related("quiz").prefetch_related("choices").order_by(
            "quiz__title", "quiz_id", "order", "id")
        quiz_ids = set(queryset.values_list("quiz_id", flat=True))
        self._numbers = {pk: n for quiz_id in quiz_ids for n, pk in
                         enumerate(Question.objects.filter(quiz_id=quiz_id).values_list("pk", flat=True), start=1)}
        return super().export(queryset=queryset, **kwargs)

    def export_resource(self, instance, selected_fields=None, **kwargs):
        row = self.question_row(instance)
        return [row[field.column_name] for field in self.get_export_fields(selected_fields)]

    def export_field(self, field, instance, **kwargs):
        return self.question_row(instance)[field.column_name]

    def question_row(self, question: Question) -> dict[str, object]:
        """A question as one row of a bank file."""
        choices = list(question.choices.all()) if question.pk else []
        texts = [c.text for c in choices] + [""] * (MAX_CHOICES - len(choices))
        numbers = getattr(self, "_numbers", {})
        quiz = question.quiz if question.quiz_id else Quiz()
        return {
            "quiz": quiz.title, "accent": quiz.accent, "description": quiz.description,
            "number": numbers.get(question.pk, question.order + 1), "kind": question.kind, "prompt": question.prompt,
            "image": question.image.name or "",
            **dict(zip(CHOICE_COLUMNS, texts[:MAX_CHOICES])),
            "correct": next((n for n, c in enumerate(choices, start=1) if c.is_correct), ""),
            "choice_images": f" {SEPARATOR} ".join(c.image.name or "" for c in choices)
            if any(c.image for c in choices) else "",
            "accepted_answers": f" {SEPARATOR} ".join(rules.lines(question.accepted_answers)),
            "typo_tolerance": question.typo_tolerance, "typo_penalty_percent": question.typo_penalty_percent,
            "ignore_accents": question.ignore_accents, "time_limit_seconds": question.time_limit_seconds,
            "points": question.points, "speed_points": question.speed_points,
        }

    # Import

    def import_data(self, dataset, **kwargs):
        # A file is saved whole or not at all, whoever calls (the admin's confirm step too).
        kwargs["use_transactions"] = True
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, **kwargs)

    def before_import(self, dataset, **kwargs):
        headers = [cell_text(header) for header in dataset.headers or []]
        unknown = [h for h in headers if h and h not in COLUMNS]
        missing = [c for c in REQUIRED_COLUMNS if c not in headers]
        repeated = sorted({h for h in headers if headers.count(h) > 1})
        problem = None
        if unknown:
            problem = f"Unknown column “{unknown[0]}”. The columns are: {', '.join(COLUMNS)}."
        elif missing:
            problem = f"The column “{missing[0]}” is missing (needed: {', '.join(REQUIRED_COLUMNS)})."
        elif repeated:
            problem = f"The column “{repeated[0]}” appears twice."
        if problem:
            dataset.wipe()  # no row of a file with the wrong columns is read
            raise BankError(problem)
        dataset.headers = headers
        self._quizzes: dict[str, Quiz] = {}  # by title: as found, or created by this file
        self._quiz_rows: dict[str, int] = {}  # the row that set each quiz's accent and description
        self._numbered: dict[int, list[int]] = {}  # an existing quiz's question ids by number, as it was
        self._seen: dict[tuple[str, int], int] = {}  # (quiz, number): the row that had it
        self._row = 0

    def before_import_row(self, row, **kwargs):
        self._row = kwargs.get("row_number", 0)

    def get_or_init_instance(self, instance_loader, row):
        title = cell_text(row.get("quiz"))
        errors = {}
        number = 0
        try:
            number = cell_whole(row.get("number"))
            if not 1 <= number <= MAX_QUESTIONS:
                raise ValueError(f"Questions are numbered from 1 to {MAX_QUESTIONS}.")
        except ValueError as error:
            errors["number"] = [str(error)]
        if not title:
            errors["quiz"] = ["Name the quiz (its title)."]
        elif len(title) > Quiz._meta.get_field("title").max_length:
            errors["quiz"] = [f"A quiz's title is at most {Quiz._meta.get_field('title').max_length} characters."]
        if errors:
            raise ValidationError(errors)
        if (title, number) in self._seen:
            raise ValidationError({"number": [f"Row {self._seen[title, number]} is question {number} of “{title}” "
                                              "already."]})
        self._seen[title, number] = self._row
        quiz = self._quizzes.get(title) or Quiz.objects.filter(title=title).order_by("pk").first()
        if quiz is not None and quiz.pk not in self._numbered:
            self._numbered[quiz.pk] = list(quiz.questions.values_list("pk", flat=True))
        ids = self._numbered.get(quiz.pk, []) if quiz is not None else []
        if number <= len(ids):
            return Question.objects.get(pk=ids[number - 1]), False
        return Question(), True

    def import_instance(self, instance, row, **kwargs):
        errors: dict[str, list[str]] = {}
        instance.quiz = self._quiz(row, errors)
        instance.order = cell_whole(row.get("number")) - 1
        kind = cell_text(row.get("kind")).lower()
        if kind not in Kind.values:
            errors["kind"] = [f"Unknown kind “{cell_text(row.get('kind'))}”. The kinds are: {', '.join(Kind.values)}."]
        instance.kind = kind
        instance.prompt = cell_text(row.get("prompt"))
        instance.image.name = self._stored(row.get("image"), "image", errors)
        instance.accepted_answers = "\n".join(item for item in cell_items(row.get("accepted_answers")) if item)
        defaults = Question()
        for name in WHOLE_NUMBER_FIELDS + YES_NO_FIELDS:
            value = row.get(name)
            try:
                parse = cell_whole if name in WHOLE_NUMBER_FIELDS else cell_yes_no
                setattr(instance, name, getattr(defaults, name) if cell_text(value) == "" else parse(value))
            except ValueError as error:
                errors[name] = [str(error)]
        instance.bank_choices = self._choices(row, errors)
        if kind in Kind.values and not errors.keys() & {"choice_1", "correct", "choice_images"}:
            unsaved = [Choice(text=c.text, is_correct=c.is_correct, image=c.image) for c in instance.bank_choices]
            for field, problems in services.question_problems_by_field(instance, choices=unsaved).items():
                errors.setdefault(RULE_COLUMNS[field], []).extend(problem.capitalize() for problem in problems)
        if errors:
            raise ValidationError(errors)

    def after_save_instance(self, instance, row, **kwargs):
        try:
            services.question_choices_set(question=instance, choices=instance.bank_choices)
        except services.QuizError as error:
            raise ValidationError({"choice_1": [error.message]}) from None

    def _quiz(self, row, errors: dict[str, list[str]]) -> Quiz:
        """The row's quiz: the first row of a quiz sets its accent and description (creating
        it if no quiz has that title); later rows may leave them empty or repeat them."""
        title = cell_text(row.get("quiz"))
        accent, description = cell_text(row.get("accent")), cell_text(row.get("description"))
        if accent and accent not in Quiz.Accent.values:
            errors["accent"] = [f"Unknown accent “{accent}”. The accents are: {', '.join(Quiz.Accent.values)}."]
            accent = ""
        if title in self._quiz_rows:
            quiz = self._quizzes[title]
            first = self._quiz_rows[title]
            if accent and accent != quiz.accent:
                errors["accent"] = [f"Row {first} gave this quiz the accent {quiz.accent}."]
            if description and description != quiz.description:
                errors["description"] = [f"Row {first} gave this quiz another description."]
            return quiz
        quiz = Quiz.objects.filter(title=title).order_by("pk").first() or Quiz(title=title)
        quiz.accent = accent or (quiz.accent if quiz.pk else Quiz.Accent.US)
        quiz.description = description
        try:
            quiz.full_clean()
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.setdefault("quiz" if field == "title" else field, []).extend(messages)
            quiz.description = quiz.description[: Quiz._meta.get_field("description").max_length]
        quiz.save()
        self._quizzes[title] = quiz
        self._quiz_rows[title] = self._row
        return quiz

    def _stored(self, value: object, column: str, errors: dict[str, list[str]]) -> str:
        """A picture's storage name, if the storage has it."""
        name = cell_text(value)
        if name and not default_storage.exists(name):
            errors.setdefault(column, []).append(
                f"No picture named “{name}” is stored; upload it in the admin first, then name it here.")
        return name

    def _choices(self, row, errors: dict[str, list[str]]) -> list[services.ChoiceSpec]:
        texts = [cell_text(row.get(column)) for column in CHOICE_COLUMNS]
        max_length = Choice._meta.get_field("text").max_length
        for column, text in zip(CHOICE_COLUMNS, texts):
            if len(text) > max_length:
                errors.setdefault(column, []).append(f"A choice is at most {max_length} characters.")
        problems = services.choice_texts_problems(texts)
        if problems:
            errors.setdefault("choice_1", []).extend(problems)
        filled = [text for text in texts if text]
        correct = None
        if cell_text(row.get("correct")):
            try:
                correct = cell_whole(row.get("correct"))
                if not 1 <= correct <= len(filled):
                    raise ValueError(f"There is no choice {correct}: the correct choice is one of the filled "
                                     f"choices, 1 to {len(filled)}.")
            except ValueError as error:
                errors["correct"] = [str(error)]
        images = [name for name in cell_items(row.get("choice_images"))] if cell_text(row.get("choice_images")) else []
        if len(images) > len(filled):
            errors.setdefault("choice_images", []).append(
                f"{len(images)} pictures for {len(filled)} choices; give one per choice, in order.")
        for name in images:
            self._stored(name, "choice_images", errors)
        images += [""] * (len(filled) - len(images))
        return [services.ChoiceSpec(text=text, is_correct=n == correct, image=image)
                for n, (text, image) in enumerate(zip(filled, images), start=1)]
