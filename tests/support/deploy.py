"""Reading the deploy files (compose.yaml, the Dockerfile, deploy/nginx.conf) as the
container runtime would: commands as argv lists, environments, healthchecks."""

import importlib
import json
import os
import re
import shlex
from pathlib import Path

from elsa.processes import ROOT

COMPOSE_PATH = ROOT / "compose.yaml"
DOCKERFILE_PATH = ROOT / "Dockerfile"
NGINX_PATH = ROOT / "deploy" / "nginx.conf"
SETTINGS_PATH = ROOT / "elsa" / "settings.py"

def as_argv(command) -> list[str]:
    if command is None:
        return []
    if isinstance(command, str):
        return shlex.split(command)
    return [str(part) for part in command]


def split_shell(command: str) -> list[list[str]]:
    """The simple commands of a shell line (`a || b && c | d`), with the standard library's
    shell lexer (punctuation_chars splits the operators off as tokens of their own)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    segments: list[list[str]] = [[]]
    for token in lexer:
        if set(token) <= set("|&;"):
            segments.append([])
        else:
            segments[-1].append(token)
    return [segment for segment in segments if segment]


def healthcheck_argvs(service: dict) -> list[list[str]]:
    test = (service.get("healthcheck") or {}).get("test")
    if test is None:
        return []
    if isinstance(test, str):  # a plain string is run by the container's shell
        return split_shell(test)
    kind, *rest = [str(part) for part in test]
    if kind == "CMD":
        return [rest]
    if kind == "CMD-SHELL":
        return split_shell(" ".join(rest))
    return []  # NONE


def dockerfile_cmd() -> list[str]:
    text = DOCKERFILE_PATH.read_text()
    joined = re.sub(r"\\\n", " ", text)  # line continuations
    cmds = [
        line.strip()[len("CMD"):].strip()
        for line in joined.splitlines()
        if re.match(r"\s*CMD\s", line)
    ]
    assert cmds, "Dockerfile has no CMD"
    last = cmds[-1]  # only the last CMD counts
    assert last.startswith("["), "Dockerfile CMD should use the exec (JSON array) form"
    return json.loads(last)


def every_argv(services: dict) -> list[tuple[str, list[str]]]:
    """(where, argv) for every service command, healthcheck and the Dockerfile CMD."""
    found = []
    for name, service in services.items():
        argv = as_argv(service.get("command"))
        if argv:
            # Compose runs `command` as exec form; split anyway in case of `sh -c`.
            if argv[:2] in (["sh", "-c"], ["bash", "-c"]):
                for segment in split_shell(argv[2]):
                    found.append((f"{name}.command", segment))
            else:
                found.append((f"{name}.command", argv))
        for argv in healthcheck_argvs(service):
            found.append((f"{name}.healthcheck", argv))
    found.append(("Dockerfile CMD", dockerfile_cmd()))
    return found


def program(argv: list[str]) -> str:
    return Path(argv[0]).name if argv else ""


def celery_app_name(argv: list[str]) -> str | None:
    for i, token in enumerate(argv):
        if token in ("-A", "--app") and i + 1 < len(argv):
            return argv[i + 1]
        if token.startswith("--app="):
            return token.split("=", 1)[1]
    return None


def celery_subcommand(argv: list[str]) -> str | None:
    skip_next = False
    for token in argv[1:]:
        if skip_next:
            skip_next = False
            continue
        if token in ("-A", "--app", "-b", "--broker", "--workdir", "--config", "--loader"):
            skip_next = True
            continue
        if token.startswith("-"):
            continue
        return token
    return None


def uvicorn_argv(argv: list[str]) -> list[str] | None:
    """Arguments after `uvicorn` / `python -m uvicorn`, or None if not a uvicorn command."""
    if program(argv) == "uvicorn":
        return argv[1:]
    if program(argv).startswith("python") and argv[1:3] == ["-m", "uvicorn"]:
        return argv[3:]
    return None


def uvicorn_params(args: list[str]) -> dict:
    uvicorn_main = importlib.import_module("uvicorn.main").main  # the click command
    ctx = uvicorn_main.make_context("uvicorn", list(args))
    return ctx.params


def services_running(services: dict, predicate) -> list[str]:
    return [name for name, s in services.items() if predicate(as_argv(s.get("command")))]


def is_uvicorn(argv):
    return uvicorn_argv(argv) is not None


def is_celery(sub):
    return lambda argv: program(argv) == "celery" and celery_subcommand(argv) == sub


def replicas(service: dict) -> int:
    deploy = service.get("deploy") or {}
    if "replicas" in deploy:
        return int(deploy["replicas"])
    return int(service.get("scale", 1))


def one_shot_services(services: dict) -> set[str]:
    """Services that others wait on with `service_completed_successfully`."""
    one_shot = set()
    for service in services.values():
        depends = service.get("depends_on") or {}
        if isinstance(depends, dict):
            for dep, spec in depends.items():
                if (spec or {}).get("condition") == "service_completed_successfully":
                    one_shot.add(dep)
    return one_shot


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def app_services(services: dict) -> dict:
    """Services that run this project's image (built from the Dockerfile)."""
    return {name: s for name, s in services.items() if "build" in s}


def interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, with `given` as the caller's env."""

    def one(match):
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if given.get(name):
            return given[name]
        assert op != ":?", f"compose needs {name} from the caller"
        return arg if op == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def ensure_django_settings():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "elsa.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
