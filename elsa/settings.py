"""Settings for ELSA Live Quiz, read from the environment.

Development defaults are safe to run on a laptop; production values come only from the
environment (SECRET_KEY, DATABASE_URL, REDIS_URL, ALLOWED_HOSTS, DEBUG).
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float, *, within: tuple[float, float] | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if within is not None and not within[0] < value <= within[1]:
        raise ImproperlyConfigured(f"{name} must be more than {within[0]} and at most {within[1]}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The key signs the cookie that says which participant a browser is: anyone who knows it
# can be any player. The development key is public (it is in this file), so it is used
# only with DEBUG on; without DEBUG a missing or development key stops the process.
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if SECRET_KEY in ("", DEVELOPMENT_SECRET_KEY):
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a secret random value when DEBUG is off "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "axes",
    "csp",
    "import_export",
    "monitoring",
    "live",
    "quizzes",
    "leaderboard",
]

MIDDLEWARE = [
    # GET /metrics (Prometheus), answered before the host check: scrapers reach each
    # replica by its address (monitoring/metrics.py, docs/operations.md).
    "monitoring.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it answers a locked-out login attempt.
    "axes.middleware.AxesMiddleware",
]

# Admin logins are throttled by django-axes: after AXES_FAILURE_LIMIT wrong passwords a
# (username, client address) pair is locked out for AXES_COOLOFF_TIME. Locking the pair,
# not the username or the address alone, means an attacker locks out only themselves:
# the real admin still logs in from their own address, and others behind the attacker's
# address log in under their own names. The address is uvicorn's client, which comes
# from X-Forwarded-For only when the lb sent it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no start-up banner in the logs

ROOT_URLCONF = "elsa.urls"
ASGI_APPLICATION = "elsa.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "quizzes.context_processors.server_time",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_int("DB_POOL_SIZE", 8) > 0:
    # Under ASGI every request may run on another thread; persistent per-thread
    # connections would pile up to PostgreSQL's max_connections under a burst of joins.
    # A bounded pool per process (web, each worker child) keeps the count known.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("DB_POOL_SIZE", 8),
        "timeout": env_float("DB_POOL_TIMEOUT", 10.0),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite is for the demo only: WAL lets readers run beside the one writer, and
    # IMMEDIATE transactions take the write lock up front instead of failing mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Identity lives in a signed cookie, not in Redis or the database: a WebSocket connect
# needs no query to know who the player is, and a Redis flush logs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 7

# HTTPS=1: browsers reach the site over TLS (ended by nginx or a proxy in front of it,
# docs/security.md). Cookies then travel only over TLS, plain HTTP is redirected, and
# browsers are told to use HTTPS only (HSTS). The healthchecks reach each replica over
# plain HTTP inside the network, so they are not redirected.
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
# Preloading puts the domain into browsers' built-in lists, hard to undo: the operator
# chooses it (HSTS_PRELOAD=1) for their own domain; it is not a default to warn about.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

LOGIN_URL = "/admin/login/"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Pictures staff upload for questions (Django's storage API): served by the app itself in
# the demo and the tests, by nginx in compose (a shared volume).
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# The live pages use no channel layer: each web process's hub receives a session's
# events once over Redis pub/sub and writes to its own sockets (live/hub.py).
# This layer serves only the benchmark's naive baseline (one message per client).
# The naive baseline is deliberately channels-redis on its defaults.
CHANNEL_LAYERS = {
    "baseline": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_PREFETCH", 8, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = 20
CELERY_TASK_TIME_LIMIT = 30
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# RabbitMQ (amqp://) is the production broker (compose.yaml): Celery's documentation
# recommends it, and its workers reconnect after a broker restart, where Celery 5.7 with
# kombu 5.7's Redis transport can exit instead (docs/system-design.md, section 8). A
# Redis broker keeps `make demo` to one service; its processes are supervised there.
if CELERY_BROKER_URL.startswith(("amqp://", "pyamqp://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"connect_timeout": 2}
else:
    # Socket timeouts: a paused (not stopped) broker must not hang an answer's enqueue.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 300, "socket_timeout": 5, "socket_connect_timeout": 2}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE = {
    "sweep": {"task": "quizzes.tasks.sweep", "schedule": env_float("SWEEP_INTERVAL", 2.0)},
}

# The live quiz's own knobs.
ELSA: dict[str, Any] = {
    # Answers pending longer than this are re-enqueued by the sweep (decision 3).
    "SWEEP_PENDING_AFTER": env_float("SWEEP_PENDING_AFTER", 5.0),
    # Seconds the correct answer stays on screen before the next question opens.
    "REVEAL_SECONDS": env_float("REVEAL_SECONDS", 5.0),
    # A question's timer closes it this long after its deadline, so an answer received
    # just in time is still stored (the host's button closes at once).
    "CLOSE_GRACE_SECONDS": env_float("CLOSE_GRACE_SECONDS", 0.5),
    # With auto-advance: seconds the leaderboard stays up between two questions.
    "STANDINGS_SECONDS": env_float("STANDINGS_SECONDS", 5.0),
    # How often each web process tells the others who is connected (live/presence.py).
    "PRESENCE_SECONDS": env_float("PRESENCE_SECONDS", 1.0),
    # How often each web process checks the deadlines of the sessions it serves.
    "DEADLINE_POLL_SECONDS": env_float("DEADLINE_POLL_SECONDS", 0.25),
    # A socket that takes no frame for this long (its client stopped reading) is closed.
    "WS_STUCK_SECONDS": env_float("WS_STUCK_SECONDS", 10.0),
    # Fastest leaderboard tick; large rooms tick slower (see live/hub.py).
    "TICK_SECONDS": env_float("TICK_SECONDS", 0.1),
    # How long a scoring task waits for more answers to score in the same batch.
    "SCORING_GATHER_SECONDS": env_float("SCORING_GATHER_SECONDS", 0.05),
    # The share of a web process's event loop its leaderboard ticks may take, one room at
    # most half of it; big rooms and many rooms tick slower (see live/hub.py interval).
    "FANOUT_SHARE": env_float("FANOUT_SHARE", 0.6, within=(0.0, 1.0)),
    "LEADERBOARD_SIZE": env_int("LEADERBOARD_SIZE", 10, minimum=1),
    "LEADERBOARD_JSON_SIZE": env_int("LEADERBOARD_JSON_SIZE", 100, minimum=1),
    "WS_MAX_MESSAGE_BYTES": env_int("WS_MAX_MESSAGE_BYTES", 4096, minimum=256),
    # Attempts to join one session per client address per minute (0: no limit): a whole
    # school may share one address. Wrong codes have their own, tight budget per address.
    "JOINS_PER_MINUTE": env_int("JOINS_PER_MINUTE", 600),
    "JOIN_GUESSES_PER_MINUTE": env_int("JOIN_GUESSES_PER_MINUTE", 20),
    # WebSocket budgets per web process (live/limits.py): messages per participant
    # (over all their sockets) and per client address (0: no limit), and open sockets.
    "WS_MESSAGES_PER_SECOND": env_float("WS_MESSAGES_PER_SECOND", 3.0),
    "WS_MESSAGE_BURST": env_int("WS_MESSAGE_BURST", 6, minimum=1),
    "WS_ADDRESS_MESSAGES_PER_SECOND": env_float("WS_ADDRESS_MESSAGES_PER_SECOND", 300.0),
    "WS_ADDRESS_MESSAGE_BURST": env_int("WS_ADDRESS_MESSAGE_BURST", 600, minimum=1),
    "WS_SOCKETS_PER_PARTICIPANT": env_int("WS_SOCKETS_PER_PARTICIPANT", 3, minimum=1),
    "WS_SOCKETS_PER_ADDRESS": env_int("WS_SOCKETS_PER_ADDRESS", 1000),
    "PUBLIC_URL": env_str("PUBLIC_URL", "http://127.0.0.1:8000"),
}

# Content-Security-Policy (django-csp): scripts, styles, images and sockets from this site
# only; no inline script or style runs, so an injected one does nothing. Pages keep to
# that: htmx's own indicator style is off (templates/base.html), bars are sized by
# static/js/live.js. Sockets: 'self' covers ws/wss of this origin in current browsers;
# the site's origins are listed as ws/wss too for older ones.
_public = urlsplit(ELSA["PUBLIC_URL"])
_socket_origins = [f"{'wss' if origin.startswith('https:') else 'ws'}:{origin.split(':', 1)[1]}"
                   for origin in [f"{_public.scheme}://{_public.netloc}", *CSRF_TRUSTED_ORIGINS]]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF, *_socket_origins],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# "plain" (default): readable lines. "json": one JSON object per line for a log system.
# Lines about a session carry `session=<join code>` either way (monitoring/logs.py).
LOG_FORMAT = (os.environ.get("LOG_FORMAT") or "plain").strip().lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "monitoring.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
if LOG_FORMAT == "json":
    # uvicorn configured its own handlers before loading the app; send its lines
    # through the same JSON handler (levels set by --log-level stay as they are).
    for name in ("uvicorn", "uvicorn.access"):
        LOGGING["loggers"][name] = {"handlers": ["console"], "propagate": False}
