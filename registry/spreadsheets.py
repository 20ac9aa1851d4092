"""Cells that a spreadsheet will not run: every CSV or XLSX file the registry writes passes its text through here."""

# A cell starting with one of these is a formula (or a DDE call, "|") to Excel or another spreadsheet; Excel in
# Chinese and Japanese locales also takes the full-width ＝＋－＠｜ for their ASCII forms; ASVS 5.0 1.2.10 adds NUL.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0", "|", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\uff5c")


def formula_safe(value: str) -> str:
    """``value`` with a leading ``'`` if a spreadsheet would take it as a formula, else as it is."""
    return "'" + value if value.startswith(FORMULA_START) else value
