# ELSA Live Quiz: one image for web (uvicorn), migrate, celery worker and celery beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=elsa.settings

WORKDIR /app

RUN groupadd --system --gid 10001 elsa \
    && useradd --system --uid 10001 --gid elsa --home-dir /app --no-create-home --shell /usr/sbin/nologin elsa

# Dependencies first so code edits reuse this layer.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are baked into the image; this throwaway key exists only for this build
# step. Running the image needs a real SECRET_KEY: without one (or with the development
# key) and DEBUG off, settings refuse to start.
RUN SECRET_KEY=collectstatic-build-only-not-secret DEBUG=0 \
    python manage.py collectstatic --noinput \
    && rm -f db.sqlite3

# Uploaded question pictures (compose mounts its `media` volume here; a new volume takes
# this folder's owner, so the app may write to it).
RUN mkdir -p /app/media && chown elsa:elsa /app/media

USER elsa

EXPOSE 8000

# X-Forwarded-* headers are trusted from 127.0.0.1 only (uvicorn's default); compose
# names its lb with --forwarded-allow-ips. Never "*": any client could then choose the
# address that the join limits count against.
CMD ["uvicorn", "elsa.asgi:application", "--host", "0.0.0.0", "--port", "8000", \
     "--ws", "websockets-sansio", "--ws-max-size", "4096", "--no-access-log", \
     "--proxy-headers"]
