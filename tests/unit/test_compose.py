"""docker-compose.yml is checked by reading it (no Docker engine here): the
settings it gives the app are ones the app reads, they point at the services
the file defines, and every service can be told healthy."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from docsvc.config import ENV_PREFIX, SETTING_NAMES, load_settings, read_toml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("migrate", "web", "worker", "beat")


def resolved_env(service: str) -> dict[str, str]:
    """The environment as compose would pass it, with ${VAR:-default} expanded to the default."""
    env = SERVICES[service]["environment"]
    return {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(v)) for k, v in env.items()}


def test_all_parts_of_the_scaled_profile_are_there():
    assert set(SERVICES) >= {"web", "worker", "beat", "postgres", "redis", "minio", "elasticsearch"}


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


def test_web_runs_gunicorn_on_the_wsgi_app_and_the_worker_runs_celery():
    assert SERVICES["web"]["command"][0] == "gunicorn" and "docsvc.wsgi:app" in SERVICES["web"]["command"]
    assert SERVICES["worker"]["command"] == ["docsvc", "worker"]
    assert SERVICES["beat"]["command"] == ["docsvc", "beat"]


def test_health_checks_and_named_volumes():
    for name, service in SERVICES.items():
        if name != "migrate":
            assert "healthcheck" in service, name
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in COMPOSE["volumes"], (name, volume)
    for name in ("web", "worker", "beat"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("postgres", "minio", "elasticsearch"):
        assert SERVICES["migrate"]["depends_on"][name]["condition"] == "service_healthy"
