"""Shopper text for reportlab: escaped, drawn in fonts that have its characters.

reportlab's Paragraph reads its text as markup, so every value from a user
or the database is escaped here before it becomes part of a paragraph: an
address `<img src="/etc/...">` is printed, never fetched.

Fonts:
- DejaVu Sans (Debian's `fonts-dejavu-core`, installed by scripts/bootstrap.sh
  and the Dockerfile; Bitstream Vera licence, free to embed) covers Latin,
  Greek, Cyrillic and more. It is embedded (subset) as a TrueType font, so
  the text extracts from the PDF as typed. The directory is
  ORDERLY_INVOICE_FONT_DIR.
- reportlab's built-in CID fonts draw Chinese (STSong-Light), Japanese kana
  and kanji (HeiseiMin-W3) and Korean (HYSMyeongJo-Medium). They are not
  embedded; every PDF reader ships them.
- Anything neither can draw (a control character, a script DejaVu lacks) is
  replaced by U+FFFD, visibly, and logged by the caller, never dropped.

Without the DejaVu files (a machine that skipped bootstrap) the invoice
falls back to Helvetica: Latin-1 only, the rest replaced and logged.
"""

import functools
import logging
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

logger = logging.getLogger(__name__)

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"
REGULAR, BOLD = "OrderlySans", "OrderlySans-Bold"
CHINESE, JAPANESE, KOREAN = "STSong-Light", "HeiseiMin-W3", "HYSMyeongJo-Medium"

# Code point ranges each CID font is known to have (Adobe-GB1, -Japan1, -Korea1).
_IDEOGRAPHS = ((0x4E00, 0x9FA5), (0x3000, 0x303F), (0xFF01, 0xFF5E))
_KANA = ((0x3040, 0x309F), (0x30A0, 0x30FF))
_HANGUL = ((0xAC00, 0xD7A3), (0x1100, 0x11FF), (0x3130, 0x318F))
_LATIN_1 = frozenset(range(0x20, 0x7F)) | frozenset(range(0xA0, 0x100))


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    covered: frozenset[int]  # code points the regular (and bold) font can draw


@functools.cache
def _load_fonts(font_dir: str) -> Fonts:
    for name in (CHINESE, JAPANESE, KOREAN):
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    regular_path = Path(font_dir, "DejaVuSans.ttf")
    bold_path = Path(font_dir, "DejaVuSans-Bold.ttf")
    if not (regular_path.is_file() and bold_path.is_file()):
        logger.error(
            "invoice font DejaVu Sans not found in %s (install fonts-dejavu-core): "
            "using Helvetica, text outside Latin-1 will be replaced",
            font_dir,
        )
        return Fonts("Helvetica", "Helvetica-Bold", _LATIN_1)
    regular = TTFont(REGULAR, str(regular_path))
    bold = TTFont(BOLD, str(bold_path))
    pdfmetrics.registerFont(regular)
    pdfmetrics.registerFont(bold)
    covered = frozenset(regular.face.charToGlyph) & frozenset(bold.face.charToGlyph)
    return Fonts(REGULAR, BOLD, frozenset(code for code in covered if _drawable(code)))


def _drawable(code: int) -> bool:
    """Not a control, surrogate, private-use or unassigned code point: there is a glyph to show."""
    return unicodedata.category(chr(code)) not in ("Cc", "Cs", "Co", "Cn")


def invoice_fonts() -> Fonts:
    """The invoice's fonts, registered with reportlab once per process and font directory."""
    return _load_fonts(settings.ORDERLY_INVOICE_FONT_DIR)


def _in(code: int, ranges) -> bool:
    return any(low <= code <= high for low, high in ranges)


@dataclass
class TextWriter:
    """Turns plain text into Paragraph markup and remembers what it had to replace."""

    fonts: Fonts = field(default_factory=invoice_fonts)
    replaced: set[str] = field(default_factory=set)

    def markup(self, text: str) -> str:
        """`text` as Paragraph markup: escaped, font runs for CJK, newlines as line breaks."""
        return "<br/>".join(self._line(line) for line in str(text).split("\n"))

    def _replace_undrawable(self, text: str) -> str:
        context = self._cjk_context(text)
        out = []
        for character in text:
            if self._font_for(character, context) is None:
                self.replaced.add(character)
                character = REPLACEMENT if ord(REPLACEMENT) in self.fonts.covered else "?"
            out.append(character)
        return "".join(out)

    def _line(self, line: str) -> str:
        context = self._cjk_context(line)
        runs: list[tuple[str, str]] = []  # (font, text)
        for character in self._replace_undrawable(line):
            font = self._font_for(character, context) or self.fonts.regular
            if runs and runs[-1][0] == font:
                runs[-1] = (font, runs[-1][1] + character)
            else:
                runs.append((font, character))
        return "".join(
            escape(text)
            if font == self.fonts.regular
            else f'<font name="{font}">{escape(text)}</font>'
            for font, text in runs  # font names are ours, never the shopper's
        )

    @staticmethod
    def _cjk_context(text: str) -> str:
        """Which CID font draws ideographs in this text: Japanese with kana, Korean with hangul."""
        codes = [code for code in map(ord, text) if code >= 0x1100]  # below: no CJK
        if any(_in(code, _KANA) for code in codes):
            return JAPANESE
        if any(_in(code, _HANGUL) for code in codes):
            return KOREAN
        return CHINESE

    def _font_for(self, character: str, context: str) -> str | None:
        code = ord(character)
        if code in self.fonts.covered:  # drawable code points only (see _drawable)
            return self.fonts.regular
        if code < 0x1100 or not _drawable(code):
            return None
        if _in(code, _KANA):
            return JAPANESE
        if _in(code, _HANGUL):
            return KOREAN
        if _in(code, _IDEOGRAPHS):
            return context or CHINESE
        return None
