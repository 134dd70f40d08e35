"""CSV cells a spreadsheet will not run as formulas (OWASP "CSV Injection")."""

import csv

# Excel, LibreOffice and Google Sheets start a formula (or DDE call) at these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formula(value):
    """A text cell starting like a formula gets a leading apostrophe; other values are kept.

    Numbers (int, Decimal) are written as they are, so a spreadsheet still
    adds them up: only text can carry a formula.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class FormulaSafeWriter:
    """csv.writer whose text cells are neutralized (see neutralize_formula)."""

    def __init__(self, stream, **kwargs):
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row):
        return self._writer.writerow([neutralize_formula(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)
