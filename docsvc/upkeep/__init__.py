"""The installation's upkeep: backups, restores and the check that finds damage.

Other packages and the entry points use only the names below.
"""
from docsvc.upkeep.backup import BackupRefused, DamagedBackup, Summary, backup, restore

__all__ = ["BackupRefused", "DamagedBackup", "Summary", "backup", "restore"]
