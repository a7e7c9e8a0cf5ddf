"""`manage.py load_sample_quiz`: make sure the sample vocabulary quiz exists."""

from typing import Any

from django.core.management.base import BaseCommand

from quizzes.sample import load_sample_quiz


class Command(BaseCommand):
    help = "Create the sample English vocabulary quiz (does nothing if it already exists)."

    def handle(self, *args: Any, **options: Any) -> None:
        quiz = load_sample_quiz()
        count = quiz.questions.count()
        noun = "question" if count == 1 else "questions"
        self.stdout.write(
            self.style.SUCCESS(f'Sample quiz "{quiz.title}" ready: {count} {noun} (id {quiz.pk}).')
        )
