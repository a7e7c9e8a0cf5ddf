"""Fill a live session with simulated players and run it to the end.

The players are driven by Celery tasks that answer through the same service as a
person (quizzes.tasks.bot_answer), so they answer only while a Celery worker runs. The
command also moves the session on when its deadlines pass, as every web process does for
the sessions it serves: with no worker the quiz still runs to its end, unanswered.
"""

import random
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leaderboard import board
from quizzes import selectors, services
from quizzes.models import Answer, Quiz, QuizSession
from quizzes.sample import SAMPLE_TITLE, load_sample_quiz

State = QuizSession.State
NAMES = [
    "Linh", "Minh", "Hana", "Yuki", "Omar", "Sofia", "Mateo", "Aisha", "Liam", "Chloe",
    "Ravi", "Mei", "Lucas", "Zara", "Noah", "Amara", "Kenji", "Elif", "Tariq", "Ines",
    "Bao", "Anh", "Duc", "Thao", "Jonas", "Priya", "Emeka", "Lena", "Diego", "Nia",
]


class Command(BaseCommand):
    help = "Start (or join by --code) a live session, add simulated players and run it to the end."

    def add_arguments(self, parser):
        parser.add_argument("--players", type=int, default=50, help="simulated players to add (default 50)")
        parser.add_argument("--code", help="join this session instead of starting one")
        parser.add_argument("--quiz", type=int, help="id of the quiz to start (default: the sample quiz)")
        parser.add_argument("--seed", type=int, help="make the players' choices repeatable")
        parser.add_argument("--lobby", type=float, default=3.0, help="seconds to wait in the lobby before starting")
        parser.add_argument("--timeout", type=float, default=60.0, help="give up if nothing moves for this long")

    def handle(self, *args, **options):
        if not 0 <= options["players"] <= 20_000:
            raise CommandError("--players must be between 0 and 20000.")
        session = self.session_for(options)
        self.add_players(session, options["players"], options["seed"])
        url = settings.ELSA["PUBLIC_URL"].rstrip("/")
        self.stdout.write(
            f"Session {session.code}: {session.quiz.title}\n"
            f"  join:       {url}/?code={session.code}\n"
            f"  live score: {url}/livescore/{session.code}\n"
            f"  host:       {url}/host/{session.code}\n"
            f"  JSON feed:  {url.replace('http', 'ws', 1)}/livescore/{session.code}"
        )
        session.refresh_from_db()
        if session.state == State.LOBBY:
            if options["lobby"] > 0:
                self.stdout.write(f"Starting in {options['lobby']:g} s…")
                time.sleep(options["lobby"])
            services.session_next(session_id=session.pk)
        self.follow(session, options["timeout"])
        self.report(session)

    def session_for(self, options) -> QuizSession:
        if options["code"]:
            session = selectors.session_by_code(services.clean_code(options["code"]))
            if session is None:
                raise CommandError(f"No session has the code {options['code']!r}.")
            if session.state == State.FINISHED:
                raise CommandError(f"Session {session.code} has finished.")
            return session
        if options["quiz"]:
            quiz = Quiz.objects.filter(pk=options["quiz"]).first()
            if quiz is None:
                raise CommandError(f"No quiz has the id {options['quiz']}.")
        else:
            quiz = Quiz.objects.filter(title=SAMPLE_TITLE).first() or load_sample_quiz()
        try:
            return services.session_create(quiz=quiz, bot_seed=options["seed"])
        except services.HostError as error:
            raise CommandError(error.message) from None

    def add_players(self, session: QuizSession, count: int, seed: int | None) -> None:
        rng = random.Random(seed)
        taken = {n.lower() for n in session.participants.values_list("nickname", flat=True)}
        added, number = 0, 0
        while added < count:
            number += 1
            nickname = f"{NAMES[(number - 1) % len(NAMES)]} {number:03d}"
            if nickname.lower() in taken:
                continue
            services.participant_join(
                code=session.code,
                nickname=nickname,
                bot_accuracy=round(0.35 + 0.6 * rng.random(), 3),
                bot_speed=round(rng.random(), 3),
            )
            added += 1
        self.stdout.write(f"Added {added} simulated players.")

    def follow(self, session: QuizSession, timeout: float) -> None:
        last, last_change = None, time.monotonic()
        total = session.quiz.questions.count()
        while True:
            services.sessions_move_on(session_ids=[session.pk])
            session.refresh_from_db()
            if session.state == State.FINISHED:
                return
            answered = (
                Answer.objects.filter(round_id=session.current_round_id).count() if session.current_round_id else 0
            )
            number = session.current_round.index + 1 if session.current_round_id else 0
            line = f"  question {number}/{total} {session.get_state_display().lower()}: {answered} answered"
            if line != last:
                self.stdout.write(line)
                last, last_change = line, time.monotonic()
            elif time.monotonic() - last_change > timeout + (
                session.current_round.question.time_limit_seconds if session.current_round_id else 0
            ):
                raise CommandError(
                    f"Session {session.code} has not moved for {timeout:g} s: is the database reachable?"
                )
            time.sleep(0.5)

    def report(self, session: QuizSession) -> None:
        deadline = time.monotonic() + 30
        while Answer.objects.filter(round__session=session, scored_at__isnull=True).exists():
            if time.monotonic() > deadline:
                raise CommandError("Some answers are still not scored after 30 s.")
            time.sleep(0.2)
        problems = selectors.audit(session)
        if problems:  # Redis is written just after each commit: give it a moment
            time.sleep(1)
            problems = selectors.audit(session)
        self.stdout.write(f"Finished. Top 10 of {session.participants.count()}:")
        for standing in board.top(session_id=session.pk, limit=10).standings:
            self.stdout.write(f"  {standing.rank:>3}. {standing.nickname:<24} {standing.score:>7}")
        if problems:
            raise CommandError("Scores disagree: " + "; ".join(problems[:10]))
        self.stdout.write("Check: every total equals its answers, and Redis equals the database.")
