"""Celery settings derived from docsvc settings (no task code here, so that
the Runtime can build a publishing client without importing the tasks)."""
from __future__ import annotations

from pathlib import Path

from celery import Celery

from docsvc.config import Settings

RUN_ENTRY = "docsvc.run_entry"
RELAY = "docsvc.relay_outbox"
WATCH_FOLDER = "docsvc.watch_folder"
RENEW_ARCHIVES = "docsvc.renew_archive_timestamps"
AUDIT_CHECKPOINT = "docsvc.audit_checkpoint"
SEARCH_CHECK = "docsvc.search_check"
SEARCH_FILL = "docsvc.fill_empty_search_index"
EXCHANGE_DROP = "docsvc.exchange_drop_folder"
SWEEP_ORPHANS = "docsvc.sweep_orphans"


BROKER_SOCKET_SECONDS = 5.0


def celery_config(settings: Settings) -> dict:
    config = {
        "broker_url": settings.broker_url,
        "task_default_queue": settings.task_queue,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "beat_schedule": {
            "relay-outbox": {"task": RELAY, "schedule": float(settings.outbox_relay_seconds)},
            "renew-archive-timestamps": {"task": RENEW_ARCHIVES, "schedule": settings.archive_check_hours * 3600.0},
            "audit-checkpoint": {"task": AUDIT_CHECKPOINT, "schedule": settings.audit_checkpoint_minutes * 60.0},
        },
        "beat_schedule_filename": str(Path(settings.data_dir) / "celerybeat-schedule"),
    }
    if settings.search_check_hours > 0:
        config["beat_schedule"]["search-check"] = {"task": SEARCH_CHECK, "schedule": settings.search_check_hours * 3600.0}
    if settings.orphan_sweep_hours > 0:
        config["beat_schedule"]["sweep-orphans"] = {"task": SWEEP_ORPHANS,
                                                    "schedule": settings.orphan_sweep_hours * 3600.0}
    if settings.watch_dir:
        config["beat_schedule"]["watch-folder"] = {
            "task": WATCH_FOLDER,
            "schedule": float(settings.watch_interval_seconds),
            # A round that is still running when the next is due makes the
            # next one pointless: drop it rather than queue it up.
            "options": {"expires": float(settings.watch_interval_seconds)},
        }
    if settings.exchange_drop_dir:
        config["beat_schedule"]["exchange-drop-folder"] = {
            "task": EXCHANGE_DROP,
            "schedule": float(settings.exchange_drop_interval_seconds),
            "options": {"expires": float(settings.exchange_drop_interval_seconds)},
        }
    if settings.broker_url.startswith("filesystem://"):
        folder = Path(settings.data_dir) / "broker"
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        config["broker_transport_options"] = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            # Broadcasts (worker control) also go to files; keep them in data_dir too.
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    if settings.broker_url.startswith("redis"):
        # Redis redelivers a message that was never acknowledged (worker killed)
        # after this many seconds; the outbox lease covers the same case sooner.
        # A Redis that accepts connections and never answers must not hold a
        # request publishing its work: socket timeouts make send_task fail
        # (the outbox relay publishes the entry later).
        config["broker_transport_options"] = {
            "visibility_timeout": max(60, settings.task_lease_seconds * 2),
            "socket_timeout": BROKER_SOCKET_SECONDS,
            "socket_connect_timeout": BROKER_SOCKET_SECONDS,
        }
        config["broker_connection_timeout"] = BROKER_SOCKET_SECONDS
    return config


def make_celery(settings: Settings) -> Celery:
    app = Celery("docsvc")
    app.conf.update(celery_config(settings))
    return app
