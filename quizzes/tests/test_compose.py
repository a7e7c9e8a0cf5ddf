"""The deploy files (compose.yaml, Dockerfile, deploy/nginx.conf) must agree with the code.

Every test here reads files and imports modules; none touches the database. Each one fails
when the stack drifts from the code: a renamed module, a removed management command, an env
var that settings.py no longer reads, a lost healthcheck or replica count.
"""

import importlib
import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support import deploy
from tests.support.deploy import COMPOSE_PATH, DOCKERFILE_PATH, NGINX_PATH, ROOT, SETTINGS_PATH

# What an operator must export before `docker compose up` (compose.yaml's header).
CALLER = {"POSTGRES_PASSWORD": "a-strong-db-password", "RABBITMQ_PASSWORD": "a-strong-broker-password"}


@pytest.fixture(scope="module")
def compose() -> dict:
    with COMPOSE_PATH.open() as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


# --------------------------------------------------------------------------- structure


def test_compose_file_uses_the_compose_spec_without_version_key(compose):
    assert "version" not in compose
    for required in ("db", "redis", "rabbitmq", "migrate", "web", "lb", "worker", "beat"):
        assert required in compose["services"], f"service {required!r} missing"


def test_every_long_running_service_has_a_healthcheck(services):
    one_shot = deploy.one_shot_services(services)
    assert "migrate" in one_shot, "web/worker should wait for migrate to complete successfully"
    for name, service in services.items():
        if name in one_shot:
            assert service.get("restart", "no") == "no", f"one-shot {name} must not restart"
            continue
        healthcheck = service.get("healthcheck")
        assert healthcheck, f"service {name!r} has no healthcheck"
        assert not healthcheck.get("disable"), f"service {name!r} disables its healthcheck"
        test = healthcheck.get("test")
        assert test and test != ["NONE"], f"service {name!r} has an empty healthcheck"


def test_every_long_running_service_restarts_when_it_exits(services):
    # A web server, worker, beat, broker or database that crashes comes back by itself,
    # as `make demo`'s supervisor does on one machine.
    one_shot = deploy.one_shot_services(services)
    for name, service in services.items():
        if name not in one_shot:
            assert service.get("restart") in ("unless-stopped", "always"), f"{name} has no restart policy"


def test_the_production_broker_is_rabbitmq_and_workers_wait_for_it(services):
    for name, service in deploy.app_services(services).items():
        broker = urlsplit(deploy.interpolate(deploy.environment(service)["CELERY_BROKER_URL"], CALLER))
        assert broker.scheme == "amqp" and broker.hostname in services, f"{name}: {broker.geturl()}"
        assert services[broker.hostname]["image"].startswith("rabbitmq:")
    celery = deploy.services_running(services, deploy.is_celery("worker"))
    for name in celery + deploy.services_running(services, deploy.is_celery("beat")):
        assert "rabbitmq" in services[name]["depends_on"], f"{name} starts before the broker is up"


def test_depends_on_names_existing_services_and_waits_for_health(services):
    one_shot = deploy.one_shot_services(services)
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: use the long depends_on form with conditions"
        for dep, spec in depends.items():
            assert dep in services, f"{name} depends on unknown service {dep!r}"
            condition = (spec or {}).get("condition")
            expected = "service_completed_successfully" if dep in one_shot else "service_healthy"
            assert condition == expected, f"{name} -> {dep}: condition {condition!r}"


def test_web_and_worker_run_at_least_two_replicas(services):
    web = deploy.services_running(services, deploy.is_uvicorn)
    workers = deploy.services_running(services, deploy.is_celery("worker"))
    assert web, "no service runs uvicorn"
    assert workers, "no service runs a celery worker"
    for name in web + workers:
        assert deploy.replicas(services[name]) >= 2, f"{name} should run >= 2 replicas"


def test_exactly_one_celery_beat_runs(services):
    beats = deploy.services_running(services, deploy.is_celery("beat"))
    assert sum(deploy.replicas(services[name]) for name in beats) == 1, beats
    # A worker started with -B/--beat embeds a second scheduler: every sweep would double.
    for name in deploy.services_running(services, deploy.is_celery("worker")):
        argv = deploy.as_argv(services[name].get("command"))
        assert "-B" not in argv and "--beat" not in argv, f"{name} embeds a beat"


def test_web_publishes_no_host_port_and_the_lb_does(services):
    for name in deploy.services_running(services, deploy.is_uvicorn):
        assert not services[name].get("ports"), f"{name} must sit behind the lb"
    lb_ports = [str(p) for p in services["lb"].get("ports") or []]
    assert lb_ports, "the lb publishes no port"


# --------------------------------------------------------------------------- commands vs code


def test_every_celery_command_names_a_real_celery_app(services):
    from celery import Celery
    from celery.app.utils import find_app

    deploy.ensure_django_settings()
    checked = 0
    for where, argv in deploy.every_argv(services):
        if deploy.program(argv) != "celery":
            continue
        app_name = deploy.celery_app_name(argv)
        assert app_name, f"{where}: celery command without -A: {argv}"
        importlib.import_module(app_name.split(":")[0])
        app = find_app(app_name)  # the same lookup the celery CLI does for -A
        assert isinstance(app, Celery), f"{where}: -A {app_name} is not a Celery app"
        checked += 1
    assert checked >= 3, "expected celery commands for worker, beat and the worker healthcheck"


def test_every_uvicorn_command_names_an_existing_asgi_application(services):
    deploy.ensure_django_settings()
    checked = 0
    for where, argv in deploy.every_argv(services):
        args = deploy.uvicorn_argv(argv)
        if args is None:
            continue
        params = deploy.uvicorn_params(args)
        module_name, _, attr_path = params["app"].partition(":")
        assert attr_path, f"{where}: uvicorn app must be 'module:attribute'"
        target = importlib.import_module(module_name)
        for attr in attr_path.split("."):
            assert hasattr(target, attr), f"{where}: {module_name} has no {attr_path}"
            target = getattr(target, attr)
        assert callable(target), f"{where}: {params['app']} is not callable"
        checked += 1
    assert checked >= 2, "expected uvicorn in the web service and the Dockerfile CMD"


def test_uvicorn_options_are_understood_by_the_installed_uvicorn(services):
    from django.conf import settings
    from uvicorn.config import WS_PROTOCOLS
    from uvicorn.importer import import_from_string

    deploy.ensure_django_settings()
    for where, argv in deploy.every_argv(services):
        args = deploy.uvicorn_argv(argv)
        if args is None:
            continue
        params = deploy.uvicorn_params(args)  # raises click.UsageError on an unknown option
        assert params["ws"] in WS_PROTOCOLS, f"{where}: unknown --ws {params['ws']!r}"
        import_from_string(WS_PROTOCOLS[params["ws"]])  # its library is installed
        assert params["host"] == "0.0.0.0", f"{where}: uvicorn must listen on all interfaces"
        assert params["proxy_headers"], f"{where}: behind nginx, --proxy-headers is needed"
        limit = settings.ELSA["WS_MAX_MESSAGE_BYTES"]
        assert params["ws_max_size"] >= limit, (
            f"{where}: --ws-max-size {params['ws_max_size']} drops messages the app accepts "
            f"(WS_MAX_MESSAGE_BYTES={limit})"
        )


def test_every_manage_py_command_exists(services):
    from django.core.management import get_commands

    deploy.ensure_django_settings()
    commands = get_commands()
    checked = 0
    for where, argv in deploy.every_argv(services):
        for i, token in enumerate(argv):
            if Path(token).name == "manage.py":
                assert i + 1 < len(argv), f"{where}: manage.py without a command"
                name = argv[i + 1]
                assert name in commands, f"{where}: no management command {name!r}"
                checked += 1
    # The Dockerfile runs collectstatic in a RUN step.
    dockerfile = DOCKERFILE_PATH.read_text()
    for name in re.findall(r"manage\.py\s+([\w-]+)", dockerfile):
        assert name in commands, f"Dockerfile: no management command {name!r}"
        checked += 1
    assert checked >= 2, "expected migrate (compose) and collectstatic (Dockerfile)"


# --------------------------------------------------------------------------- env vs settings


def test_every_app_env_var_is_read_by_settings(services):
    settings_text = SETTINGS_PATH.read_text()
    built = deploy.app_services(services)
    assert built, "no service builds the project image"
    for name, service in built.items():
        env = deploy.environment(service)
        assert env, f"{name} has no environment"
        for var in env:
            assert f'"{var}"' in settings_text or f"'{var}'" in settings_text, (
                f"{name} sets {var}, which elsa/settings.py never reads"
            )


def test_app_env_is_production_safe(services):
    for name, service in deploy.app_services(services).items():
        env = deploy.environment(service)
        for required in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"):
            assert required in env, f"{name} does not set {required}"
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?"), "SECRET_KEY must be required"
        for url in ("DATABASE_URL", "CELERY_BROKER_URL"):
            assert re.search(r":\$\{\w+_PASSWORD:\?[^}]*\}@", env[url]), f"{name}: {url}'s password must be required"
        assert env.get("DEBUG") == "0", f"{name} must run with DEBUG=0"
        assert deploy.interpolate(env["HTTPS"], {}) == "1", f"{name}: HTTPS (secure cookies, HSTS) must default on"
        assert urlsplit(deploy.interpolate(env["DATABASE_URL"], CALLER)).hostname in services
        assert urlsplit(env["REDIS_URL"]).hostname in services


def test_web_healthcheck_hits_healthz_on_an_allowed_host(services):
    for name in deploy.services_running(services, deploy.is_uvicorn):
        service = services[name]
        argvs = deploy.healthcheck_argvs(service)
        code = " ".join(" ".join(argv) for argv in argvs)
        match = re.search(r"https?://[^\s'\"]+", code)
        assert match, f"{name}: healthcheck hits no URL"
        url = urlsplit(match.group(0))
        assert url.path == "/healthz", f"{name}: healthcheck should hit /healthz"
        port = deploy.uvicorn_params(deploy.uvicorn_argv(deploy.as_argv(service["command"])))["port"]
        assert url.port == port, f"{name}: healthcheck port {url.port} != uvicorn --port {port}"
        allowed = [h.strip() for h in deploy.environment(service)["ALLOWED_HOSTS"].split(",")]
        assert url.hostname in allowed, f"{name}: Django would answer 400 to Host {url.hostname}"
        for argv in argvs:  # python -c snippets at least compile
            if deploy.program(argv).startswith("python") and "-c" in argv:
                compile(argv[argv.index("-c") + 1], f"{name}.healthcheck", "exec")


def test_healthz_url_resolves_to_a_view():
    from django.urls import resolve

    deploy.ensure_django_settings()
    resolve("/healthz")  # raises Resolver404 if elsa.urls no longer serves it


def test_beat_healthcheck_watches_the_schedule_file_beat_writes(services):
    for name in deploy.services_running(services, deploy.is_celery("beat")):
        argv = deploy.as_argv(services[name]["command"])
        schedule = None
        for i, token in enumerate(argv):
            if token in ("-s", "--schedule") and i + 1 < len(argv):
                schedule = argv[i + 1]
            elif token.startswith("--schedule="):
                schedule = token.split("=", 1)[1]
        assert schedule and schedule.startswith("/tmp/"), (
            f"{name}: give beat a writable --schedule (the image runs as a non-root user)"
        )
        assert schedule in json.dumps(services[name]["healthcheck"]["test"])


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_cmd_runs_the_same_uvicorn_app_as_web(services):
    docker_args = deploy.uvicorn_argv(deploy.dockerfile_cmd())
    assert docker_args is not None, "Dockerfile CMD should run uvicorn"
    docker_params = deploy.uvicorn_params(docker_args)
    for name in deploy.services_running(services, deploy.is_uvicorn):
        params = deploy.uvicorn_params(deploy.uvicorn_argv(deploy.as_argv(services[name]["command"])))
        for key in ("app", "port", "ws", "ws_max_size", "proxy_headers"):
            assert params[key] == docker_params[key], f"{name} vs Dockerfile CMD: {key}"


def test_dockerfile_runs_as_non_root_on_python_311_and_collects_static():
    text = DOCKERFILE_PATH.read_text()
    assert re.search(r"^FROM\s+python:3\.11-slim", text, re.M)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0"), "the image must not run as root"
    assert "pip install -r requirements.txt" in text
    assert re.search(r"SECRET_KEY=\S+.*manage\.py collectstatic --noinput", text, re.S)


# --------------------------------------------------------------------------- nginx lb


def test_nginx_proxies_http_and_websockets_to_web(services):
    conf = NGINX_PATH.read_text()
    conf = "\n".join(line.split("#", 1)[0] for line in conf.splitlines())  # drop comments
    # proxy_pass either names web:8000 directly or through a variable set to it.
    targets = set(re.findall(r"proxy_pass\s+http://([^;/\s]+)", conf))
    for var in re.findall(r"proxy_pass\s+\$(\w+)", conf):
        targets |= set(re.findall(rf"set\s+\${var}\s+https?://([^;/\s]+)", conf))
    web_names = deploy.services_running(services, deploy.is_uvicorn)
    web_port = deploy.uvicorn_params(deploy.uvicorn_argv(deploy.as_argv(services[web_names[0]]["command"])))["port"]
    assert f"web:{web_port}" in targets, f"nginx proxies to {targets}, not web:{web_port}"
    assert "web" in services
    # Variable upstream + Docker DNS: re-resolved per request so every replica gets traffic.
    assert re.search(r"resolver\s+127\.0\.0\.11", conf)
    assert re.search(r"proxy_pass\s+\$\w+", conf), "use a variable upstream for DNS round robin"
    # WebSocket upgrade.
    assert re.search(r"proxy_http_version\s+1\.1\s*;", conf)
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade\s*;", conf)
    connection = re.search(r"proxy_set_header\s+Connection\s+(\S+?)\s*;", conf)
    assert connection, "nginx does not set the Connection header"
    value = connection.group(1).strip("\"'")
    if value.startswith("$"):
        assert re.search(rf"map\s+\$http_upgrade\s+\{value}\s*\{{", conf), value
    else:
        assert value.lower() == "upgrade"


def test_lb_mounts_this_nginx_conf_and_publishes_its_listen_port(services):
    lb = services["lb"]
    assert str(lb["image"]).startswith("nginx:1.27")
    mounts = [str(v).split(":") for v in lb.get("volumes") or []]
    sources = {(ROOT / m[0]).resolve() for m in mounts if m[0].startswith(".")}
    assert NGINX_PATH.resolve() in sources, "lb does not mount deploy/nginx.conf"
    conf = NGINX_PATH.read_text()
    listens = set(re.findall(r"^\s*listen\s+(\d+)", conf, re.M))
    container_ports = {str(p).rsplit(":", 1)[-1].split("/")[0] for p in lb["ports"]}
    assert container_ports & listens, f"lb publishes {container_ports}, nginx listens {listens}"
    if "lb-healthz" in json.dumps(lb["healthcheck"]["test"]):
        assert "location = /lb-healthz" in conf


# --------------------------------------------------------------------------- security


def test_django_deploy_checks_pass_with_composes_environment(services):
    """`manage.py check --deploy` with exactly what compose gives the app (and a real key)."""
    import secrets
    import subprocess
    import sys

    given = {**CALLER, "SECRET_KEY": secrets.token_urlsafe(50)}
    for name, service in deploy.app_services(services).items():
        env = {var: deploy.interpolate(value, given) for var, value in deploy.environment(service).items()}
        base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")}
        done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                              cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
        assert "no issues" in done.stdout, done.stdout


def test_uvicorn_trusts_forwarded_headers_from_the_lb_only(compose, services):
    import ipaddress

    lb_address = services["lb"]["networks"]["default"]["ipv4_address"]
    subnets = [ipaddress.ip_network(c["subnet"]) for c in compose["networks"]["default"]["ipam"]["config"]]
    assert any(ipaddress.ip_address(lb_address) in subnet for subnet in subnets)
    for where, argv in deploy.every_argv(services):
        args = deploy.uvicorn_argv(argv)
        if args is None:
            continue
        trusted = deploy.uvicorn_params(args)["forwarded_allow_ips"]
        if where == "Dockerfile CMD":
            assert trusted is None, "outside compose, uvicorn's default (127.0.0.1) is the only trusted proxy"
        else:
            assert trusted == lb_address, f"{where}: --forwarded-allow-ips {trusted!r} is not the lb"


def _nginx_directives() -> dict[str, list[str]]:
    conf = "\n".join(line.split("#", 1)[0] for line in NGINX_PATH.read_text().splitlines())
    found: dict[str, list[str]] = {}
    for name, value in re.findall(r"^\s*(\w+)\s+([^;{]*);", conf, re.M):
        found.setdefault(name, []).append(value.strip())
    return found


def test_nginx_sets_the_client_address_it_saw_instead_of_appending_to_the_clients():
    headers = dict(value.split(None, 1) for value in _nginx_directives()["proxy_set_header"])
    assert headers["X-Forwarded-For"] == "$remote_addr"
    assert headers["X-Real-IP"] == "$remote_addr"
    assert "$proxy_add_x_forwarded_for" not in NGINX_PATH.read_text().split("#")[0]


def test_nginx_drops_slow_clients():
    directives = _nginx_directives()

    def seconds(name: str) -> int:
        value = directives[name][0]
        return int(value[:-1]) * (60 if value.endswith("m") else 1) if value[-1] in "sm" else int(value)

    assert seconds("client_header_timeout") <= 15
    assert seconds("client_body_timeout") <= 15
    assert seconds("send_timeout") <= 60
    assert seconds("keepalive_timeout") <= 30
    assert directives["client_max_body_size"][0] in ("16k", "32k", "64k")


def test_uploaded_pictures_are_on_a_volume_the_app_writes_and_nginx_serves(compose, services):
    """A question's picture, saved by a web replica, must load for every player: on one
    shared volume at the app's MEDIA_ROOT, served by nginx at /media/."""
    from quizzes.services.authoring import PICTURE_MAX_BYTES

    assert "media" in compose["volumes"]
    for name, service in deploy.app_services(services).items():
        root = deploy.environment(service)["MEDIA_ROOT"]
        assert f"media:{root}" in service.get("volumes", []), f"{name} does not keep pictures on the media volume"
    mounted = [v.split(":") for v in services["lb"]["volumes"] if v.startswith("media:")]
    assert mounted and mounted[0][2] == "ro", "nginx needs the media volume, read-only"
    conf = "\n".join(line.split("#", 1)[0] for line in NGINX_PATH.read_text().splitlines())
    media = re.search(r"location\s+/media/\s*\{([^}]*)\}", conf)
    assert media and re.search(rf"alias\s+{re.escape(mounted[0][1])}/\s*;", media.group(1))
    assert "include /etc/nginx/mime.types;" in conf, "pictures need their image/* types"
    # The admin's uploads pass nginx's body limit; the players' forms keep the small one.
    admin = re.search(r"location\s+/admin/\s*\{([^}]*)\}", conf)
    limit = re.search(r"client_max_body_size\s+(\d+)m\s*;", admin.group(1)) if admin else None
    assert limit and int(limit.group(1)) * 1024 * 1024 > PICTURE_MAX_BYTES
    assert re.search(r"mkdir -p /app/media && chown elsa:elsa /app/media", DOCKERFILE_PATH.read_text())
