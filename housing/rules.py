"""Date rules from PRODUCT.md "Rules", each driven by ``settings.REGISTRY``."""

import datetime
from functools import lru_cache

from dateutil.relativedelta import relativedelta
from django.conf import settings


def verification_months(stars: int | None) -> int:
    table = settings.REGISTRY["VERIFICATION_MONTHS"]
    return table.get(stars or 0, table[0])


def next_verification_due(*, from_date: datetime.date, stars: int | None) -> datetime.date:
    return _months_later(from_date, verification_months(stars))


@lru_cache(maxsize=4096)
def _months_later(day: datetime.date, months: int) -> datetime.date:
    # relativedelta's arithmetic costs ~20 µs; an import's rows share a few hundred dates.
    return day + relativedelta(months=months)


def report_is_late(*, event_date: datetime.date, reported_on: datetime.date) -> bool:
    return (reported_on - event_date).days > settings.REGISTRY["REPORT_DEADLINE_DAYS"]
