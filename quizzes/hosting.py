"""Who may start, control and watch a live session: the rule in one place.

Hosting needs the quiz permission `quizzes.host_quiz` (superusers have every permission).
A session is controlled by its own host, while they may host, and by superusers; any
other staff user may watch its host screen, which then shows no controls.
"""

HOST_PERMISSION = "quizzes.host_quiz"


def may_host(user) -> bool:
    return bool(user.is_active and user.is_staff and user.has_perm(HOST_PERMISSION))


def may_control(user, session) -> bool:
    if not user.is_active:
        return False
    return user.is_superuser or (session.host_id == user.pk and may_host(user))


def may_watch(user) -> bool:
    return bool(user.is_active and user.is_staff)
