"""Settings come from defaults, a TOML file and DOCSVC_* variables, in that order."""
from __future__ import annotations

from pathlib import Path

import pytest

from docsvc.config import SETTING_NAMES, ConfigError, load_settings, read_toml

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_embedded_defaults_live_in_the_data_folder(tmp_path):
    settings = load_settings({"DOCSVC_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path}/docsvc.sqlite3"
    assert settings.storage_path == str(tmp_path / "objects")
    assert (settings.search_backend, settings.search_tantivy_path) == ("tantivy", str(tmp_path / "search-index"))
    assert settings.broker_url == "filesystem://"
    assert settings.embedded


def test_file_then_environment(tmp_path):
    env = {
        "DOCSVC_CONFIG": str(CONFIG / "scaled.toml"),
        "DOCSVC_DATA_DIR": str(tmp_path),
        "DOCSVC_DATABASE_URL": "postgresql+psycopg://u:p@db/docsvc",
        "DOCSVC_MINIO_ENDPOINT": "minio:9000",
        "DOCSVC_ELASTICSEARCH_URL": "http://es:9200",
        "DOCSVC_PORT": "9090",
        "DOCSVC_MINIO_SECURE": "true",
        "DOCSVC_ORPHAN_SETTLE_SECONDS": "1.5",
        "DOCSVC_SEARCH_CHECK_HOURS": "0.5",
    }
    settings = load_settings(env)
    assert (settings.storage_backend, settings.search_backend) == ("minio", "elasticsearch")
    assert settings.port == 9090 and settings.minio_secure is True
    assert settings.orphan_settle_seconds == 1.5 and settings.search_check_hours == 0.5
    assert not settings.embedded


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DOCSVC_PORT": "eighty"}, "port"),
        ({"DOCSVC_ORPHAN_SETTLE_SECONDS": "half a minute"}, "orphan_settle_seconds"),
        ({"DOCSVC_ORPHAN_SETTLE_SECONDS": "nan"}, "orphan_settle_seconds"),
        ({"DOCSVC_ORPHAN_SETTLE_SECONDS": "-1"}, "orphan_settle_seconds"),
        ({"DOCSVC_STORAGE_BACKEND": "s3"}, "storage_backend"),
        ({"DOCSVC_SEARCH_BACKEND": "elasticsearch"}, "elasticsearch_url"),
        ({"DOCSVC_STORAGE_BACKEND": "minio"}, "minio_endpoint"),
        ({"DOCSVC_CONFIG": "/nonexistent/docsvc.toml"}, "does not exist"),
    ],
)
def test_wrong_settings_say_which(env, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        load_settings({"DOCSVC_DATA_DIR": str(tmp_path), **env})


def test_unknown_keys_in_a_file_are_refused(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('storage_backend = "minio"\nstorage_bakend = "oops"\n')
    with pytest.raises(ConfigError, match="storage_bakend"):
        read_toml(path)


def test_shipped_config_files_use_known_settings():
    for path in CONFIG.glob("*.toml"):
        assert set(read_toml(path)) <= SETTING_NAMES, path


def test_a_config_of_the_sqlite_search_days_is_read_as_tantivy_with_a_warning(tmp_path, caplog):
    # The FTS5 index is derived data: the new one starts empty and
    # `docsvc reindex` fills it, so an old file must still start the service.
    path = tmp_path / "old.toml"
    path.write_text(f'search_backend = "sqlite"\nsearch_sqlite_path = "{tmp_path}/search.sqlite3"\n')
    with caplog.at_level("WARNING", logger="docsvc.config"):
        settings = load_settings({"DOCSVC_CONFIG": str(path), "DOCSVC_DATA_DIR": str(tmp_path)})
    assert (settings.search_backend, settings.search_tantivy_path) == ("tantivy", str(tmp_path / "search-index"))
    warnings = " ".join(record.getMessage() for record in caplog.records)
    assert "'sqlite' is now 'tantivy'" in warnings and "search_sqlite_path" in warnings
    with pytest.raises(ConfigError, match="search_backend"):
        load_settings({"DOCSVC_DATA_DIR": str(tmp_path), "DOCSVC_SEARCH_BACKEND": "fts5"})
