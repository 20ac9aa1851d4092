"""Synthetic but valid identity numbers, for demo data, factories and the city generator."""

import datetime
import random
from functools import lru_cache

from stdnum import numdb
from stdnum.iso7064 import mod_11_2

from .choices import SexChoices


@lru_cache(maxsize=1)
def current_region_codes() -> tuple[str, ...]:
    """County-level GB/T 2260 codes still in use (no retirement year in stdnum's data)."""
    codes = []
    path = numdb.__file__.rsplit("/", 1)[0] + "/cn/loc.dat"
    province = None
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip() or line.startswith("#"):
                continue
            if not line.startswith(" "):
                province = line.split()[0]
                continue
            code, _, rest = line.strip().partition(" ")
            name = rest.partition('"')[2]
            if province in {"71", "81", "82", "83"} or code.endswith("00") or name.startswith("[") and "-]" not in name:
                continue
            codes.append(province + code)
    return tuple(codes)


def make_resident_id(*, birth_date: datetime.date, sex: str, region: str | None = None,
                     rng: random.Random | None = None) -> str:
    """A GB 11643 number that passes every check in ``validate_resident_id``."""
    rng = rng or random
    region = region or rng.choice(current_region_codes())
    sequence = rng.randrange(0, 100) * 10 + rng.randrange(0, 10)
    # The 17th digit is odd for men, even for women.
    if (sequence % 2 == 1) != (sex == SexChoices.MALE):
        sequence = sequence + 1 if sequence % 2 == 0 else sequence - 1
        sequence = sequence % 1000
    body = f"{region}{birth_date:%Y%m%d}{sequence:03d}"
    return body + mod_11_2.calc_check_digit(body)
