import re

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from .nicknames import NICKNAME_MAX_LENGTH, nickname_key

# No look-alikes: 0/O, 1/I/L are left out so a code read off a projector is typed right.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6
# The shape of a code in a URL or a form: nothing else (a NUL byte, say) reaches a query.
JOIN_CODE_PATTERN = rf"[A-Za-z0-9]{{{JOIN_CODE_LENGTH}}}"
MIN_CHOICES = 2
MAX_CHOICES = 6
# Decision 6: higher score first; among equals whoever reached it first, then nickname.
STANDING_ORDER = ["-score", "score_reached_at", "nickname"]


def is_join_code(code: object) -> bool:
    return isinstance(code, str) and re.fullmatch(JOIN_CODE_PATTERN, code) is not None


class Quiz(models.Model):
    class Accent(models.TextChoices):
        US = "en-US", "American English"
        GB = "en-GB", "British English"
        AU = "en-AU", "Australian English"

    title = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=1000)
    accent = models.CharField(
        max_length=5, choices=Accent.choices, default=Accent.US,
        help_text="The voice phones use to read listening questions aloud, where they have one.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "quizzes"
        ordering = ["title"]
        permissions = [("host_quiz", "Can host live sessions of quizzes")]

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    class Kind(models.TextChoices):
        CHOICE = "choice", "Multiple choice"
        TRUE_FALSE = "true_false", "True or false"
        TYPED = "typed", "Type the word"
        LISTEN = "listen", "Listen and choose"
        PICTURE = "picture", "Picture and choose"
        ORDER = "order", "Put the words in order"

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CHOICE)
    prompt = models.CharField(
        max_length=300,
        help_text="Listening: the words phones speak aloud. Word order: the instruction shown above the words.",
    )
    image = models.ImageField(upload_to="questions/", blank=True, help_text="A picture shown with the prompt.")
    accepted_answers = models.TextField(
        blank=True, max_length=2000,
        help_text="Type the word: each accepted answer on its own line (colour / color). "
                  "Word order: each right sentence on its own line; the first one's words are the tiles.",
    )
    typo_tolerance = models.PositiveSmallIntegerField(
        default=1, validators=[MaxValueValidator(3)],
        help_text="Type the word: spelling mistakes allowed in answers of 5 letters or more "
                  "(a missing, extra, wrong or swapped letter is one). 0: exact spelling only.",
    )
    typo_penalty_percent = models.PositiveSmallIntegerField(
        default=25, validators=[MaxValueValidator(100)],
        help_text="Type the word: the share of the points an answer with a spelling mistake loses.",
    )
    ignore_accents = models.BooleanField(
        default=True, help_text="Type the word: café and cafe count as the same.",
    )
    time_limit_seconds = models.PositiveSmallIntegerField(
        default=20, validators=[MinValueValidator(5), MaxValueValidator(240)]
    )
    points = models.PositiveIntegerField(
        default=1000, validators=[MinValueValidator(0), MaxValueValidator(10_000)]
    )
    speed_points = models.BooleanField(
        default=True, help_text="Faster correct answers earn more (down to half the points)."
    )

    class Meta:
        ordering = ["quiz", "order", "id"]

    def __str__(self) -> str:
        return self.prompt


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    order = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=120)
    image = models.ImageField(upload_to="choices/", blank=True)
    is_correct = models.BooleanField(default=False)

    class Meta:
        ordering = ["question", "order", "id"]

    def __str__(self) -> str:
        return self.text


class QuizSession(models.Model):
    class State(models.TextChoices):
        LOBBY = "lobby", "Lobby"
        QUESTION_OPEN = "open", "Question open"
        QUESTION_CLOSED = "closed", "Answer shown"
        STANDINGS = "standings", "Leaderboard"
        FINISHED = "finished", "Finished"

    quiz = models.ForeignKey(Quiz, on_delete=models.PROTECT, related_name="sessions")
    code = models.CharField(max_length=JOIN_CODE_LENGTH, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.LOBBY)
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    current_round = models.ForeignKey(
        "Round", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # With auto_advance: when the reveal, or the leaderboard after it, moves on by itself.
    advance_at = models.DateTimeField(null=True, blank=True)
    # The host's choices. Live: every board follows each scored answer (big events,
    # simulations). Otherwise nothing on any screen changes because of an open question
    # until it closes (a classroom: nobody copies a neighbour who was seen to be right).
    scores_live = models.BooleanField(default=False)
    auto_advance = models.BooleanField(default=False)
    locked = models.BooleanField(default=False)
    shuffle_choices = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Set by `manage.py simulate --seed`: simulated players decide the same way each run.
    bot_seed = models.IntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.code} ({self.quiz})"


class Round(models.Model):
    """One question as asked in one session: its own server-side open and close instants."""

    session = models.ForeignKey(QuizSession, on_delete=models.CASCADE, related_name="rounds")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    index = models.PositiveSmallIntegerField()
    opened_at = models.DateTimeField()
    # Listening: the server's estimate of how long phones take to speak the prompt. Speed
    # points count from opened_at plus this, and the deadline moves on by as much.
    speech_seconds = models.FloatField(default=0.0)
    closes_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # As this session shows the question: choice ids in their (maybe shuffled) order, and
    # for word order the words in the order the tiles are dealt.
    choice_order = models.JSONField(default=list, blank=True)
    words = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["session", "index"]
        constraints = [
            models.UniqueConstraint(fields=["session", "index"], name="round_unique_index"),
        ]

    def __str__(self) -> str:
        return f"{self.session.code} #{self.index + 1}"


class Participant(models.Model):
    session = models.ForeignKey(QuizSession, on_delete=models.CASCADE, related_name="participants")
    nickname = models.CharField(max_length=NICKNAME_MAX_LENGTH)
    # The nickname's confusable skeleton (quizzes/nicknames.py), kept from the nickname
    # on every save: unique per session, so no two players look alike on the board.
    skeleton = models.CharField(max_length=255, editable=False)
    score = models.IntegerField(default=0)
    # When the current score was reached (the received time of the last answer that
    # earned points): among equal scores, whoever got there first ranks first.
    score_reached_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)
    is_bot = models.BooleanField(default=False)
    bot_accuracy = models.FloatField(default=0.0)
    bot_speed = models.FloatField(default=0.0)
    # Removed by the host: off the boards, refused at every door; the nickname stays taken.
    kicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", *STANDING_ORDER]
        constraints = [
            models.UniqueConstraint(
                "session", Lower("nickname"), name="participant_unique_nickname"
            ),
            models.UniqueConstraint(fields=["session", "skeleton"], name="participant_unique_lookalike"),
        ]

    def __str__(self) -> str:
        return self.nickname

    def save(self, *args, **kwargs):
        self.skeleton = nickname_key(self.nickname)
        if kwargs.get("update_fields") is not None and "nickname" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "skeleton"}
        super().save(*args, **kwargs)


class Answer(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="answers")
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="answers")
    # A choice (multiple choice, true or false, listening, picture), or the text a player
    # typed or the words in the order they put them.
    choice = models.ForeignKey(Choice, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    text = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField()
    scored_at = models.DateTimeField(null=True, blank=True)
    is_correct = models.BooleanField(null=True)
    typo = models.BooleanField(default=False)  # right, with a spelling mistake (fewer points)
    points = models.IntegerField(null=True)
    streak = models.PositiveSmallIntegerField(null=True)

    class Meta:
        ordering = ["round", "received_at"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "round"], name="answer_once_per_round"),
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                name="answer_pending",
                condition=models.Q(scored_at__isnull=True),
            ),
        ]

    @property
    def is_pending(self) -> bool:
        return self.scored_at is None
