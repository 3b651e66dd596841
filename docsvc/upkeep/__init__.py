"""The installation's upkeep: backups, restores and the check that finds damage.

`backup` and `restore` are `docsvc backup` and `docsvc restore` (backup.py);
`check` is `docsvc check`: every file row's stored object, the objects no
row refers to or an interrupted sweep left hidden, the search index, the
retention locks of signed records and the audit chain, in one report;
`sweep` (sweep.py) removes the objects no row refers to once they are old
enough, after finishing what an interrupted sweep left hidden (`docsvc
sweep`, `check --repair`, and a beat task).

Other packages and the entry points use only the names below.
"""
from docsvc.upkeep.backup import BackupRefused, DamagedBackup, Summary, backup, restore
from docsvc.upkeep.check import IntegrityReport, Problem, check_installation
from docsvc.upkeep.sweep import SweepReport, sweep_orphans

__all__ = ["BackupRefused", "DamagedBackup", "IntegrityReport", "Problem", "Summary", "SweepReport", "backup",
           "check_installation", "restore", "sweep_orphans"]
