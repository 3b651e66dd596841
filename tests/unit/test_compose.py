"""docker-compose.yml is checked by reading it (no Docker engine here): the
settings it gives the app are ones the app reads, they point at the services
the file defines, and every service can be told healthy."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from docsvc.config import ENV_PREFIX, SETTING_NAMES, load_settings, read_toml
from docsvc.server import GUNICORN_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("migrate", "web", "worker", "beat")


def resolved_env(service: str) -> dict[str, str]:
    """The environment as compose would pass it, with ${VAR:-default} expanded to the default."""
    env = SERVICES[service]["environment"]
    return {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(v)) for k, v in env.items()}


def test_all_parts_of_the_scaled_profile_are_there():
    assert set(SERVICES) >= {"nginx", "web", "worker", "beat", "postgres", "redis", "minio", "elasticsearch"}


def test_app_services_share_one_image_and_environment():
    envs = [resolved_env(name) for name in APP_SERVICES]
    assert all(env == envs[0] for env in envs)
    assert {SERVICES[name]["image"] for name in APP_SERVICES} == {"docsvc:latest"}


def test_every_docsvc_variable_is_a_setting_the_app_reads():
    for name in resolved_env("web"):
        assert name.startswith(ENV_PREFIX)
        setting = name[len(ENV_PREFIX):].lower()
        assert setting == "config" or setting in SETTING_NAMES, name


def test_settings_point_at_the_services_of_this_file():
    env = resolved_env("web")
    config_path = ROOT / "config" / Path(env["DOCSVC_CONFIG"]).name
    settings = load_settings({**env, "DOCSVC_CONFIG": str(config_path), "DOCSVC_DATA_DIR": "/tmp/docsvc-compose"})
    assert settings.storage_backend == "minio" and settings.search_backend == "elasticsearch"
    assert urlsplit(settings.database_url).hostname == "postgres"
    assert urlsplit(settings.database_url).path == "/" + SERVICES["postgres"]["environment"]["POSTGRES_DB"]
    assert urlsplit(settings.broker_url).hostname == "redis"
    assert settings.minio_endpoint.split(":")[0] == "minio"
    assert urlsplit(settings.elasticsearch_url).hostname == "elasticsearch"
    # The app's MinIO credentials are the ones the MinIO service is started with.
    minio_env = {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", v) for k, v in SERVICES["minio"]["environment"].items()}
    assert (settings.minio_access_key, settings.minio_secret_key) == (
        minio_env["MINIO_ROOT_USER"], minio_env["MINIO_ROOT_PASSWORD"],
    )
    assert set(read_toml(config_path)) <= SETTING_NAMES


def _option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def gunicorn_settings(command: list[str]):
    """The settings gunicorn itself makes of a command line (its parser and
    its `-c python:` loader), without starting it."""
    from unittest import mock

    from gunicorn.app.wsgiapp import WSGIApplication

    with mock.patch.object(sys, "argv", command):
        return WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").cfg


def test_web_runs_gunicorn_on_the_wsgi_app_and_the_worker_runs_celery():
    command = SERVICES["web"]["command"]
    image_command = json.loads((ROOT / "Dockerfile").read_text().rsplit("\nCMD ", 1)[1].splitlines()[0])
    # The same server as `docsvc serve` (slow clients hold no thread in
    # either), from compose and from the image's own command alike.
    for line in (command, image_command):
        assert line[0] == "gunicorn" and line[-1] == "docsvc.wsgi:app"
        cfg = gunicorn_settings(line)
        assert cfg.worker_class_str == GUNICORN_OPTIONS["worker_class"]
        assert cfg.threads == GUNICORN_OPTIONS["threads"] and cfg.keepalive == GUNICORN_OPTIONS["keepalive"]
        assert cfg.logconfig_dict == GUNICORN_OPTIONS["logconfig_dict"]
        assert cfg.child_exit is GUNICORN_OPTIONS["child_exit"]
        assert cfg.workers >= 2
    assert SERVICES["worker"]["command"] == ["docsvc", "worker"]
    assert SERVICES["beat"]["command"] == ["docsvc", "beat"]


def test_health_checks_and_named_volumes():
    for name, service in SERVICES.items():
        if name != "migrate":
            assert "healthcheck" in service, name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):  # a file of this repository, read-only
                assert (ROOT / source).is_file() and volume.endswith(":ro"), (name, volume)
            else:
                assert source in COMPOSE["volumes"], (name, volume)
    for name in ("web", "worker", "beat"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("postgres", "minio", "elasticsearch"):
        assert SERVICES["migrate"]["depends_on"][name]["condition"] == "service_healthy"


def test_only_nginx_is_reachable_from_outside_and_it_proxies_to_web():
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"nginx"}
    assert SERVICES["nginx"]["image"].split(":")[0] == "nginx"
    mounted = {v.split(":")[1]: ROOT / v.split(":")[0] for v in SERVICES["nginx"]["volumes"]}
    nginx_conf = mounted["/etc/nginx/conf.d/default.conf"].read_text()
    web_port = _option(SERVICES["web"]["command"], "--bind").rsplit(":", 1)[1]
    assert re.search(rf"^\s*server web:{web_port};", nginx_conf, re.M)
    # nginx drops an idle upstream connection before gunicorn does.
    upstream_idle = int(re.search(r"^\s*keepalive_timeout (\d+)s;\n\}", nginx_conf, re.M).group(1))
    assert upstream_idle < gunicorn_settings(SERVICES["web"]["command"]).keepalive
    assert SERVICES["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_the_app_trusts_exactly_the_one_proxy_hop_of_nginx():
    env = resolved_env("web")
    assert load_settings({**env, "DOCSVC_CONFIG": str(ROOT / "config" / "scaled.toml")}).trusted_proxies == 1


def _shell_assignments(path: Path, prefix: str) -> dict[str, str]:
    """NAME=value lines (minio.sh's pins, the Dockerfile's ARG defaults)."""
    pattern = re.compile(rf"^{prefix}(MINIO_[A-Z_]+)=(\S+)$", re.MULTILINE)
    return dict(pattern.findall(path.read_text()))


def test_production_minio_is_the_build_the_tests_run():
    # MinIO publishes no image with the CVE-2025-62506 fix, so compose builds
    # it from source: at the same module version as scripts/services/minio.sh.
    pinned = _shell_assignments(ROOT / "scripts" / "services" / "minio.sh", "")
    built = _shell_assignments(ROOT / "config" / "minio" / "Dockerfile", "ARG ")
    names = {"MINIO_MODULE_VERSION", "MINIO_RELEASE", "MINIO_RELEASE_TIME", "MINIO_COMMIT"}
    assert names <= pinned.keys() and names <= built.keys()
    assert {name: built[name] for name in names} == {name: pinned[name] for name in names}
    assert SERVICES["minio"]["build"] == "config/minio"
    assert SERVICES["minio"]["image"].split(":", 1)[1] == pinned["MINIO_RELEASE"]
