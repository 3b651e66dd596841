"""How long signed records are kept, by document category.

The object stores enforce the dates this module computes (``store.retain``):
MinIO object lock in compliance mode in the scaled profile, a refusal in the
application in the embedded one. This is a pure function of the category and
the day the record was issued; nothing here touches storage.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from docsvc.localtime import VIETNAM


# Retention policy, in years from the day of issue. CONFIGURABLE POLICY, not
# law: the values are this project's reading of the Vietnamese archive rules
# (thời hạn bảo quản hồ sơ, tài liệu, as listed by the Ministry of Home
# Affairs' circular on retention periods) and each agency's archivist must
# confirm them for its own records before production use. A setting may
# override this table later; nothing reads one yet.
RETENTION_YEARS: dict[str, int] = {
    # Outgoing documents the agency signed and issued (decisions, official
    # letters): kept permanently ("vĩnh viễn"). Object lock needs a date, so
    # permanent is 70 years, which retain() can extend before it runs out.
    "outgoing": 70,
    # Results of administrative procedures (licences, certificates).
    "procedure_result": 20,
    # Signed e-copies issued to citizens (bản sao điện tử).
    "ecopy": 5,
}


def retention_until(category: str, issued: date) -> datetime:
    """The end of a record's retention: the end of the anniversary day of its
    issue, in Vietnam time, as an aware UTC datetime."""
    try:
        years = RETENTION_YEARS[category]
    except KeyError:
        known = ", ".join(sorted(RETENTION_YEARS))
        raise ValueError(f"no retention period for category {category!r} (known: {known})") from None
    year = issued.year + years
    try:
        anniversary = issued.replace(year=year)
    except ValueError:  # 29 February in a year that has none: keep it a day longer
        anniversary = date(year, 3, 1)
    end = datetime.combine(anniversary + timedelta(days=1), time(0), tzinfo=VIETNAM)
    return end.astimezone(timezone.utc)
