"""Shopper text for reportlab: escaped, ordered, shaped, and drawn in embedded fonts.

reportlab's Paragraph reads its text as markup, so every value from a user
or the database is escaped here before it becomes part of a paragraph: an
address `<img src="/etc/...">` is printed, never fetched.

Fonts (every one embedded as a subset: an invoice is a legal record and must
look the same in every reader; PDF/A forbids unembedded fonts):
- DejaVu Sans (Debian's `fonts-dejavu-core`; Bitstream Vera licence) draws
  Latin, Greek, Cyrillic, Hebrew, Arabic and more. ORDERLY_INVOICE_FONT_DIR.
- WenQuanYi Zen Hei (`fonts-wqy-zenhei`; GPL with a font-embedding exception)
  draws Chinese, Korean and, where the Japanese font lacks one, kanji.
  ORDERLY_INVOICE_CJK_FONT.
- IPAGothic (`fonts-ipafont-gothic`; IPA Font Licence, embedding allowed)
  draws Japanese: a line with kana takes its ideographs from here, in their
  Japanese forms. ORDERLY_INVOICE_JAPANESE_FONT.
  Noto Sans CJK (`fonts-noto-cjk`) is not used: it has PostScript (CFF)
  outlines, and reportlab's TTFont embeds TrueType outlines only.
- Right-to-left text is put in display order by the Unicode Bidirectional
  Algorithm (python-bidi), one line at a time, and Arabic letters are joined
  into their contextual forms first (arabic-reshaper; DejaVu Sans has every
  form). A right-to-left letter neither can shape (Syriac, Thaana, N'Ko, Arabic
  letters outside the reshaper's table) would print as disconnected letters, so
  it is refused: replaced by U+FFFD and logged with that reason by the caller.
  A right-to-left line that wraps keeps its words in display order across the
  wrap (reportlab wraps after we reorder); names and address lines fit.
- Anything no font can draw (a control character, a script none has) is
  replaced by U+FFFD, visibly, and logged by the caller, never dropped.

Fonts are parsed and registered once per process and setting (functools.cache);
each PDF embeds only the glyphs it uses. Without the DejaVu files (a machine
that skipped bootstrap) the invoice falls back to Helvetica, which is not
embedded: Latin-1 only, the rest replaced, and an error logged.
"""

import functools
import logging
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from arabic_reshaper import ArabicReshaper
from arabic_reshaper.letters import LETTERS_ARABIC
from bidi import get_display
from django.conf import settings
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

logger = logging.getLogger(__name__)

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"
REGULAR, BOLD = "OrderlySans", "OrderlySans-Bold"
CJK, JAPANESE = "OrderlyCJK", "OrderlyJapanese"

_KANA = ((0x3040, 0x309F), (0x30A0, 0x30FF), (0x31F0, 0x31FF))
_LATIN_1 = frozenset(range(0x20, 0x7F)) | frozenset(range(0xA0, 0x100))
# The right-to-left blocks we can order and shape: Hebrew needs no joining; Arabic
# is joined by arabic-reshaper into presentation forms (FB50-FDFF, FE70-FEFF).
_HEBREW = ((0x0590, 0x05FF), (0xFB1D, 0xFB4F))
_ARABIC = ((0x0600, 0x06FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
_RIGHT_TO_LEFT = frozenset({"R", "AL"})

# Lam-alef is mandatory in Arabic and in DejaVu Sans; the optional word
# ligatures (e.g. "Allah") are left off, so what is printed is what was typed.
_reshaper = ArabicReshaper(configuration={"delete_harakat": False, "ARABIC LIGATURE ALLAH": False})


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    covered: frozenset[int]  # code points the regular (and bold) font can draw
    # Further fonts, tried in order after the regular one: (name, code points it draws).
    chinese_korean: tuple[tuple[str, frozenset[int]], ...] = ()
    japanese: tuple[tuple[str, frozenset[int]], ...] = ()


def _drawable(code: int) -> bool:
    """Not a control, surrogate, private-use or unassigned code point: there is a glyph to show."""
    return unicodedata.category(chr(code)) not in ("Cc", "Cs", "Co", "Cn")


def _truetype(name: str, path: str, *, package: str) -> tuple[str, frozenset[int]] | None:
    """Register the TrueType font at `path` as `name`; None (logged) if it cannot be read."""
    try:
        font = TTFont(name, path, subfontIndex=0)  # a .ttc holds several: the first is regular
    except (OSError, TTFError) as error:
        logger.error(
            "invoice font %s cannot be loaded (%s; install %s): its characters will be replaced",
            path,
            error,
            package,
        )
        return None
    pdfmetrics.registerFont(font)
    return name, frozenset(code for code in font.face.charToGlyph if _drawable(code))


@functools.cache
def _load_fonts(font_dir: str, cjk_path: str, japanese_path: str) -> Fonts:
    cjk = _truetype(CJK, cjk_path, package="fonts-wqy-zenhei")
    japanese = _truetype(JAPANESE, japanese_path, package="fonts-ipafont-gothic")
    chinese_korean = tuple(font for font in (cjk,) if font)
    japanese_first = tuple(font for font in (japanese, cjk) if font)
    regular_path = Path(font_dir, "DejaVuSans.ttf")
    bold_path = Path(font_dir, "DejaVuSans-Bold.ttf")
    if not (regular_path.is_file() and bold_path.is_file()):
        logger.error(
            "invoice font DejaVu Sans not found in %s (install fonts-dejavu-core): "
            "using Helvetica, which is not embedded; text outside Latin-1 will be replaced",
            font_dir,
        )
        return Fonts("Helvetica", "Helvetica-Bold", _LATIN_1, chinese_korean, japanese_first)
    regular = TTFont(REGULAR, str(regular_path))
    bold = TTFont(BOLD, str(bold_path))
    pdfmetrics.registerFont(regular)
    pdfmetrics.registerFont(bold)
    covered = frozenset(regular.face.charToGlyph) & frozenset(bold.face.charToGlyph)
    return Fonts(
        REGULAR,
        BOLD,
        frozenset(code for code in covered if _drawable(code)),
        chinese_korean,
        japanese_first,
    )


def invoice_fonts() -> Fonts:
    """The invoice's fonts, registered with reportlab once per process and setting."""
    return _load_fonts(
        settings.ORDERLY_INVOICE_FONT_DIR,
        settings.ORDERLY_INVOICE_CJK_FONT,
        settings.ORDERLY_INVOICE_JAPANESE_FONT,
    )


def _in(code: int, ranges) -> bool:
    return any(low <= code <= high for low, high in ranges)


def _shapable(character: str) -> bool:
    """Whether a right-to-left character can be drawn correctly: ordered and, if Arabic, joined."""
    code = ord(character)
    if unicodedata.bidirectional(character) not in _RIGHT_TO_LEFT:
        return True
    if unicodedata.category(character) == "Cf":  # RLM, ALM: invisible, read by the bidi step
        return True
    if _in(code, _HEBREW):
        return True
    if _in(code, _ARABIC):  # a letter must be one the reshaper joins; marks and digits need not
        return not unicodedata.category(character).startswith("L") or (
            character in LETTERS_ARABIC or code >= 0xFB50  # already a presentation form
        )
    return False


def display_order(line: str) -> str:
    """One line as it is drawn left to right: Arabic joined, right-to-left runs reversed."""
    if not any(unicodedata.bidirectional(character) in _RIGHT_TO_LEFT for character in line):
        return line  # the common case costs one scan
    # Marks stay before their base, where reordering puts them: a right-to-left font
    # draws a zero-width mark to the right of the pen, over the letter that follows.
    return get_display(_reshaper.reshape(line))


@dataclass
class TextWriter:
    """Turns plain text into Paragraph markup and remembers what it had to replace."""

    fonts: Fonts = field(default_factory=invoice_fonts)
    replaced: set[str] = field(default_factory=set)  # characters no font draws
    unshapable: set[str] = field(default_factory=set)  # right-to-left letters we cannot join

    def markup(self, text: str) -> str:
        """`text` as Paragraph markup: escaped, reordered, in font runs; newlines as line breaks."""
        return "<br/>".join(self._line(line) for line in str(text).split("\n"))

    def _replacement(self) -> str:
        return REPLACEMENT if ord(REPLACEMENT) in self.fonts.covered else "?"

    def _line(self, line: str) -> str:
        shapable = []
        for character in line:
            if not _shapable(character):
                self.unshapable.add(character)
                character = self._replacement()
            shapable.append(character)
        visual = display_order("".join(shapable))
        chain = self._chain(visual)
        runs: list[tuple[str, str]] = []  # (font, text)
        for character in visual:
            font = self._font_for(character, chain)
            if font is None:
                self.replaced.add(character)
                character, font = self._replacement(), self.fonts.regular
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

    def _chain(self, text: str) -> tuple[tuple[str, frozenset[int]], ...]:
        """The fonts after the regular one: Japanese forms for ideographs in a line with kana."""
        if any(_in(ord(character), _KANA) for character in text):
            return self.fonts.japanese
        return self.fonts.chinese_korean

    def _font_for(self, character: str, chain) -> str | None:
        code = ord(character)
        if code in self.fonts.covered:  # drawable code points only (see _drawable)
            return self.fonts.regular
        for name, covered in chain:
            if code in covered:
                return name
        return None
