"""Text typed by people shows what it holds: characters that hide text or reorder it on screen are refused.

* Bidirectional controls (embeddings, overrides, isolates and the direction marks) display text in an order
  other than the one stored ("Trojan Source", CVE-2021-42574): an address that reads one way on the screen is
  another in the database, a search and an export.
* Zero-width and other invisible format characters (Unicode category Cf: zero-width space and joiners, the
  word joiner, the byte-order mark, the soft hyphen, tag characters...) and the line and paragraph separators
  make two values that look the same differ, so that searches and duplicate checks miss them.
* Control characters other than tab and line breaks, and unpaired surrogates, are not text.

Every free-text model field has ``VisibleTextValidator``, so forms, the API (serializers call ``full_clean()``)
and imports refuse them alike; services check typed values that are not model fields with
``validate_visible_text``. Person names refuse them too (``persons.validators.validate_person_name``).
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
TEXT_CONTROLS = frozenset("\t\n\r")
BIDI, INVISIBLE, CONTROL = "bidi", "invisible", "control"
MESSAGES = {
    BIDI: _("%(field)s: character %(position)d is a hidden control that changes the order in which text is "
            "shown (%(character)s). Remove it, or retype the text if it was pasted."),
    INVISIBLE: _("%(field)s: character %(position)d is an invisible character (%(character)s). Remove it, or "
                 "retype the text if it was pasted."),
    CONTROL: _("%(field)s: character %(position)d is a control character (%(character)s). Remove it, or "
               "retype the text if it was pasted."),
}


def hidden_character(value: str) -> tuple[int, str, str] | None:
    """The first character of ``value`` that hides or reorders text, as (index, character, kind), or None."""
    if value.isprintable():  # most text: letters, digits, punctuation and the ASCII space only
        return None
    for index, char in enumerate(value):
        if char in BIDI_CONTROLS:
            return index, char, BIDI
        category = unicodedata.category(char)
        if category in ("Cf", "Zl", "Zp"):
            return index, char, INVISIBLE
        if category == "Cs" or (category == "Cc" and char not in TEXT_CONTROLS):
            return index, char, CONTROL
    return None


def without_hidden_characters(value: str) -> str:
    """``value`` without the characters ``hidden_character`` finds; a line or paragraph separator becomes a line
    break. For text stored before the rule (``registry.migration_operations.RemoveHiddenCharacters``)."""
    if value.isprintable():
        return value
    kept = []
    for char in value:
        if hidden_character(char) is None:
            kept.append(char)
        elif unicodedata.category(char) in ("Zl", "Zp"):
            kept.append("\n")
    return "".join(kept)


def describe(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: the code point, and its name where Unicode gives one."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".strip()


def validate_visible_text(value: str, *, field) -> str:
    """Refuse ``value`` if it holds a character that hides or reorders text; the message names ``field``
    (a label), the character's position and code point, and what to do."""
    found = hidden_character(value or "")
    if found is None:
        return value
    index, char, kind = found
    raise ValidationError(MESSAGES[kind], code="hidden_character",
                          params={"field": capfirst(field), "position": index + 1, "character": describe(char)})


@deconstructible
class VisibleTextValidator:
    """For a model field: ``validators=[VisibleTextValidator(_("address"))]``, the label naming the field in
    the message as in every other of the registry's messages."""

    def __init__(self, field=""):
        self.field = field

    def __call__(self, value):
        validate_visible_text(value, field=self.field or _("Text"))

    def __eq__(self, other):
        return isinstance(other, VisibleTextValidator) and str(self.field) == str(other.field)

    def __hash__(self):
        return hash(str(self.field))
