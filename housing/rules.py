"""Date rules from PRODUCT.md "Rules", each driven by ``settings.REGISTRY``."""

import datetime

from dateutil.relativedelta import relativedelta
from django.conf import settings


def verification_months(stars: int | None) -> int:
    table = settings.REGISTRY["VERIFICATION_MONTHS"]
    return table.get(stars or 0, table[0])


def next_verification_due(*, from_date: datetime.date, stars: int | None) -> datetime.date:
    return from_date + relativedelta(months=verification_months(stars))


def report_is_late(*, event_date: datetime.date, reported_on: datetime.date) -> bool:
    return (reported_on - event_date).days > settings.REGISTRY["REPORT_DEADLINE_DAYS"]
