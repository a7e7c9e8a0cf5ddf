"""Refusals with a message fit to show the person who asked."""


class QuizError(Exception):
    code = "refused"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class JoinError(QuizError):
    code = "join"


class AnswerRefused(QuizError):
    code = "answer"


class HostError(QuizError):
    code = "host"
