"""Text that goes into a spreadsheet cell (CSV, XLSX) stays text.

A cell starting with one of FORMULA_STARTS is a formula to a spreadsheet (OWASP's CSV
injection; openpyxl even writes such a string as a formula). Nicknames and typed answers
are the players' own text, and a question bank's cells its author's: in a download they
go out behind an apostrophe, as a spreadsheet user would type them.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text(value: object) -> object:
    """A value for a cell of a file that is only read: text a spreadsheet would run is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def shield(value: object) -> object:
    """As as_text, for a file that comes back (a question bank): a cell that starts with an
    apostrophe gets one more, so that `unshield` gives back every text as it went out."""
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, "'")):
        return "'" + value
    return value


def unshield(value: object) -> object:
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith((*FORMULA_STARTS, "'")):
        return value[1:]
    return value
