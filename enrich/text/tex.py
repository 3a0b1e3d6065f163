"""arXiv's TeX → readable Unicode text (pure).

arXiv titles, abstracts and comments are written in a loose TeX: math between dollars, accents
(`\\"o`), formatting commands (`\\textbf{Mimic}`, `\\emph{…}`), ligatures (`--`, ``` `` ''```),
escaped specials (`\\&`, `\\%`), ties (`Fig.~3`) — next to characters TeX would read otherwise
but arXiv shows as they are (`5%`, `~10x`, `snake_case`, URLs). `tex_to_text` turns all of it
into the text a reader sees, so every consumer gets the same words:

- math (a `$…$` pair as pandoc reads one) becomes Unicode: Greek letters and symbols as
  characters, `\\mathcal{O}` as 𝒪, sub- and superscripts as Unicode ones where all their
  characters have one (`\\ell_1` → ℓ₁, `n^{2}` → n²), else written `_`/`^` (`x_q`);
- formatting commands keep their argument, accents and special letters become letters,
  symbol commands their character; any other command is dropped and its arguments kept;
- braces are TeX's grouping and vanish; `\\{` and `\\}` are braces when they pair up (a lone
  one is left out: no BibTeX value can hold it for every reader, and references.json says
  what references.bib says);
- `%`, `&`, `#`, `_`, `^` outside math are the characters (arXiv metadata has no comments);
- `--`/`---` are dashes, ``` `` ''``` and `` ` `` quotes, a `~` between two characters a space
  (a tie), any other `~` a tilde; URLs are copied as they are.

Nothing is ever run or kept as TeX: the result is plain text (`enrich.text.latex` escapes it
again for BibTeX).
"""

from __future__ import annotations

import re
import unicodedata

from enrich.text.latex import GREEK, clean, matched_braces, smart_quotes

# --------------------------------------------------------------------------------------------
# Tables

_ACCENT_MARK = {
    "`": "\u0300", "'": "\u0301", "^": "\u0302", "~": "\u0303", "=": "\u0304", "u": "\u0306",
    ".": "\u0307", '"': "\u0308", "r": "\u030a", "H": "\u030b", "v": "\u030c", "d": "\u0323",
    "c": "\u0327", "k": "\u0328", "b": "\u0331", "t": "\u0361",
    # math accents
    "hat": "\u0302", "widehat": "\u0302", "tilde": "\u0303", "widetilde": "\u0303",
    "bar": "\u0304", "overline": "\u0305", "vec": "\u20d7", "dot": "\u0307", "ddot": "\u0308",
    "check": "\u030c", "breve": "\u0306", "acute": "\u0301", "grave": "\u0300",
    "mathring": "\u030a", "underline": "\u0332",
}
_LETTER_ACCENTS = frozenset("uvHckbdrt")
_TEXT_ACCENTS = frozenset("`'^\"~=.")

# Greek letters by command name: the inverse of the encoder's table, plus ϰ, which the encoder
# leaves as it is.
_GREEK = {name: ch for ch, name in GREEK.items()} | {"varkappa": "ϰ"}
_MATH_SYMBOLS = {
    **_GREEK,
    "ell": "ℓ", "hbar": "ℏ", "imath": "ı", "jmath": "ȷ", "aleph": "ℵ", "wp": "℘", "Re": "ℜ",
    "Im": "ℑ", "partial": "∂", "nabla": "∇", "infty": "∞", "emptyset": "∅",
    "varnothing": "∅", "prime": "′", "forall": "∀", "exists": "∃", "neg": "¬", "lnot": "¬",
    "top": "⊤", "bot": "⊥", "angle": "∠", "triangle": "△", "star": "⋆", "ast": "∗",
    "circ": "∘", "bullet": "•", "cdot": "·", "cdots": "⋯", "ldots": "…", "dots": "…",
    "vdots": "⋮", "ddots": "⋱", "times": "×", "div": "÷", "pm": "±", "mp": "∓",
    "setminus": "∖", "cap": "∩", "cup": "∪", "wedge": "∧", "land": "∧", "vee": "∨",
    "lor": "∨", "oplus": "⊕", "ominus": "⊖", "otimes": "⊗", "odot": "⊙", "oslash": "⊘",
    "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈",
    "sim": "∼", "simeq": "≃", "cong": "≅", "equiv": "≡", "propto": "∝", "ll": "≪", "gg": "≫",
    "lesssim": "≲", "gtrsim": "≳", "leqslant": "⩽", "geqslant": "⩾", "prec": "≺",
    "succ": "≻", "preceq": "⪯", "succeq": "⪰", "subset": "⊂", "supset": "⊃",
    "subseteq": "⊆", "supseteq": "⊇", "in": "∈", "notin": "∉", "ni": "∋", "mid": "∣",
    "parallel": "∥", "perp": "⊥", "vdash": "⊢", "models": "⊨", "to": "→", "gets": "←",
    "rightarrow": "→", "leftarrow": "←", "leftrightarrow": "↔", "Rightarrow": "⇒",
    "Leftarrow": "⇐", "Leftrightarrow": "⇔", "implies": "⟹", "iff": "⟺", "mapsto": "↦",
    "longrightarrow": "⟶", "longleftarrow": "⟵", "uparrow": "↑", "downarrow": "↓",
    "hookrightarrow": "↪", "sum": "∑", "prod": "∏", "coprod": "∐", "int": "∫", "iint": "∬",
    "oint": "∮", "bigcup": "⋃", "bigcap": "⋂", "bigoplus": "⨁", "bigotimes": "⨂",
    "langle": "⟨", "rangle": "⟩", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉",
    "lbrace": "{", "rbrace": "}", "vert": "|", "lvert": "|", "rvert": "|", "Vert": "‖",
    "lVert": "‖", "rVert": "‖", "|": "‖", "surd": "√", "dagger": "†", "ddagger": "‡",
    "checkmark": "✓", "square": "□", "Box": "□", "diamond": "⋄", "sharp": "♯", "flat": "♭",
    "natural": "♮", "degree": "°", "backslash": "\\", "colon": ":",
}
# Operators written as words.
_MATH_WORDS = frozenset("""
    log ln lg exp sin cos tan cot sec csc sinh cosh tanh arcsin arccos arctan lim limsup liminf
    sup inf max min arg argmax argmin det dim ker deg gcd Pr hom mod bmod exp tr Tr
""".split())
# Commands that wrap their argument and add nothing a plain reader needs.
_WRAPPERS = frozenset("""
    textbf textit textsl textsc textrm textsf texttt textup textmd textnormal emph underline
    uline mbox hbox text textnormal mathrm mathit mathbf mathsf mathtt mathnormal boldsymbol bm
    operatorname mathop ensuremath mathbin mathrel mathord mathopen mathclose textcolor
    fbox framebox makebox boxed smash phantom_ignored
""".split())
# Commands dropped together with their (first) argument.
_DROPPED_WITH_ARGUMENT = frozenset("""
    label ref eqref cite citep citet nocite vspace hspace footnote footnotemark thanks
    vphantom hphantom phantom includegraphics
""".split())
_TEXT_SYMBOLS = {
    "ss": "ß", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aa": "å", "AA": "Å", "o": "ø",
    "O": "Ø", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð", "th": "þ",
    "TH": "Þ", "dj": "đ", "DJ": "Đ", "ng": "ŋ", "NG": "Ŋ",
    "ldots": "…", "dots": "…", "textellipsis": "…", "textendash": "–", "textemdash": "—",
    "textquoteleft": "‘", "textquoteright": "’", "textquotedblleft": "“",
    "textquotedblright": "”", "textless": "<", "textgreater": ">", "textbar": "|",
    "textbackslash": "\\", "textasciitilde": "~", "textasciicircum": "^",
    "textbraceleft": "{", "textbraceright": "}", "textunderscore": "_", "textdollar": "$",
    "textbullet": "•", "textdegree": "°", "textregistered": "®", "texttrademark": "™",
    "textcopyright": "©", "copyright": "©", "S": "§", "P": "¶", "pounds": "£", "euro": "€",
    "texteuro": "€", "dag": "†", "ddag": "‡", "textdagger": "†", "textdaggerdbl": "‡",
    "textsection": "§", "textparagraph": "¶", "textperiodcentered": "·", "textmu": "µ",
    "texttimes": "×", "textpm": "±", "textminus": "−", "LaTeX": "LaTeX", "TeX": "TeX",
    "LaTeXe": "LaTeX2e", "BibTeX": "BibTeX", "guillemotleft": "«", "guillemotright": "»",
    "quad": " ", "qquad": " ", "enspace": " ", "thinspace": " ", "space": " ", "newline": " ",
    "linebreak": " ", "par": " ", "noindent": "", "relax": "", "centering": "",
    "onedot": ".",
}
_SUPERSCRIPT = dict(zip("0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWαβγδθιφχ",
                        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵅᵝᵞᵟᶿᶥᵠᵡ",
                        strict=True))
_SUBSCRIPT = dict(zip("0123456789+-=()aehijklmnoprstuvxβγρφχ",
                      "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ", strict=True))
_SCRIPT = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "𝒜ℬ𝒞𝒟ℰℱ𝒢ℋℐ𝒥𝒦ℒℳ𝒩𝒪𝒫𝒬ℛ𝒮𝒯𝒰𝒱𝒲𝒳𝒴𝒵",
                   strict=True))
_DOUBLE_STRUCK = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ1", "𝔸𝔹ℂ𝔻𝔼𝔽𝔾ℍ𝕀𝕁𝕂𝕃𝕄ℕ𝕆ℙℚℝ𝕊𝕋𝕌𝕍𝕎𝕏𝕐ℤ𝟙",
                          strict=True))
_FRAKTUR = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "𝔄𝔅ℭ𝔇𝔈𝔉𝔊ℌℑ𝔍𝔎𝔏𝔐𝔑𝔒𝔓𝔔ℜ𝔖𝔗𝔘𝔙𝔚𝔛𝔜ℨ",
                    strict=True))
_ALPHABETS = {"mathcal": _SCRIPT, "mathscr": _SCRIPT, "mathbb": _DOUBLE_STRUCK,
              "mathbbm": _DOUBLE_STRUCK, "mathfrak": _FRAKTUR}
_SPACING = {",": " ", ";": " ", ":": " ", ">": " ", " ": " ", "!": "", "-": "", "/": ""}

# --------------------------------------------------------------------------------------------
# A small TeX reader: tokens, then groups


class _Reader:
    """Reads one TeX string; `math` selects math-mode rules for `^`, `_`, `~` and quotes."""

    def __init__(self, text: str, *, math: bool) -> None:
        self.text = text
        self.pos = 0
        self.math = math

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\n":
            self.pos += 1

    def command(self) -> str:
        """The command name after a backslash (already consumed); '' at the end."""
        start = self.pos
        if self.at_end():
            return ""
        if self.text[start].isascii() and self.text[start].isalpha():
            while self.pos < len(self.text) and self.text[self.pos].isascii() \
                    and self.text[self.pos].isalpha():
                self.pos += 1
            if self.peek() == "*":
                self.pos += 1
                return self.text[start:self.pos - 1]
            return self.text[start:self.pos]
        self.pos += 1
        return self.text[start]

    def argument(self) -> str | None:
        """The raw text of the next argument: a braced group or one character (TeX's rule);
        None when there is none."""
        self.skip_spaces()
        if self.at_end():
            return None
        if self.peek() == "{":
            depth = 0
            start = self.pos
            while self.pos < len(self.text):
                ch = self.text[self.pos]
                if ch == "\\":
                    self.pos += 2
                    continue
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                    if depth == 0:
                        self.pos += 1
                        return self.text[start + 1:self.pos - 1]
                self.pos += 1
            self.pos = start + 1  # unbalanced: the brace is grouping that never closes
            return ""
        if self.peek() == "\\":
            self.pos += 1
            name = self.command()
            return "\\" + name
        ch = self.text[self.pos]
        self.pos += 1
        return ch

    def optional(self) -> None:
        """Skip an optional `[…]` argument."""
        self.skip_spaces()
        if self.peek() == "[":
            end = self.text.find("]", self.pos)
            if end != -1:
                self.pos = end + 1


def _combine(base: str, mark: str) -> str:
    if not base:
        return ""
    first = {"ı": "i", "ȷ": "j"}.get(base[0], base[0])  # \\'\\i is an accented i
    return unicodedata.normalize("NFC", first + mark + base[1:])


def _script(text: str, table: dict[str, str], sign: str) -> str:
    """`text` as Unicode sub- or superscript characters, else `_x` / `^(xy)`."""
    text = text.strip()
    if not text:
        return ""
    if all(ch in table or ch == " " for ch in text):
        return "".join(table.get(ch, "") for ch in text)
    return sign + (text if len(text) == 1 else f"({text})")


def _convert(text: str, *, math: bool) -> str:
    reader = _Reader(text, math=math)
    out: list[str] = []
    while not reader.at_end():
        ch = reader.peek()
        reader.pos += 1
        if ch == "\\":
            out.append(_after_backslash(reader, math=math, out=out))
        elif ch in "{}":
            continue  # grouping
        elif math and ch in "^_":
            arg = reader.argument() or ""
            value = _convert(arg, math=True)
            out.append(_script(value, _SUPERSCRIPT if ch == "^" else _SUBSCRIPT, ch))
        elif math and ch == "~":
            out.append(" ")
        elif math and ch == "'":
            out.append("′")
        elif ch == "$" and math:
            continue
        else:
            out.append(ch)
    return "".join(out)


def _parenthesised(text: str) -> str:
    return f"({text})" if len(text) > 1 and not text.isalnum() else text


# One branch per family of commands reads better than a table of small functions here.
def _after_backslash(reader: _Reader, *, math: bool,  # noqa: PLR0911, PLR0912, PLR0915
                     out: list[str]) -> str:
    name = reader.command()
    if not name:
        return ""
    if name in "&%$#_{}":
        return name
    if name == "\\":
        return " "
    if name in _SPACING:
        return _SPACING[name]
    if name in ("(", ")", "[", "]"):
        return ""
    if name in _TEXT_ACCENTS or name in _LETTER_ACCENTS or (math and name in _ACCENT_MARK):
        if name in _LETTER_ACCENTS and not math:
            reader.skip_spaces()
        arg = reader.argument()
        base = _convert(arg or "", math=math)
        return _combine(base, _ACCENT_MARK[name])
    if name in _ALPHABETS:
        arg = _convert(reader.argument() or "", math=math)
        table = _ALPHABETS[name]
        return "".join(table.get(c, c) for c in arg)
    if name in ("frac", "dfrac", "tfrac", "cfrac"):
        top = _convert(reader.argument() or "", math=True)
        bottom = _convert(reader.argument() or "", math=True)
        return f"{_parenthesised(top)}/{_parenthesised(bottom)}"
    if name == "sqrt":
        reader.optional()
        body = _convert(reader.argument() or "", math=True)
        return "√" + (body if len(body) <= 1 else f"({body})")
    if name == "binom":
        top = _convert(reader.argument() or "", math=True)
        bottom = _convert(reader.argument() or "", math=True)
        return f"C({top}, {bottom})"
    if name == "url":
        return reader.argument() or ""
    if name == "href":
        url = reader.argument() or ""
        label = _convert(reader.argument() or "", math=math).strip()
        return url if not label or label == url else f"{label} ({url})"
    if name in _DROPPED_WITH_ARGUMENT:
        reader.optional()
        reader.argument()
        return ""
    if name in ("left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
                "middle"):
        reader.skip_spaces()
        if reader.peek() in "()[]|./<>":
            delimiter = reader.peek()
            reader.pos += 1
            return "" if delimiter == "." else delimiter
        return ""
    if name in _WRAPPERS or name in {"textsuperscript", "textsubscript"}:
        if name == "textcolor":
            reader.argument()
        arg = _convert(reader.argument() or "", math=math and not name.startswith("text"))
        if name == "textsuperscript":
            return _script(arg, _SUPERSCRIPT, "^")
        if name == "textsubscript":
            return _script(arg, _SUBSCRIPT, "_")
        return arg
    symbol = _MATH_SYMBOLS.get(name) if math else None
    symbol = symbol if symbol is not None else _TEXT_SYMBOLS.get(name)
    if symbol is None and not math:
        symbol = _MATH_SYMBOLS.get(name)  # `\\alpha` outside math: still alpha
    if symbol is None and name in _MATH_WORDS:
        symbol = name + (" " if math else "")
    if symbol is not None:
        if name.isalpha():
            _eat_space_after_word(reader, symbol, out)
        return symbol
    # Unknown: the command goes, its arguments stay as text.
    if name.isalpha():
        reader.skip_spaces()
    return ""


def _eat_space_after_word(reader: _Reader, symbol: str, out: list[str]) -> None:
    """TeX eats the spaces after a control word; keep one when a word would otherwise run
    into a word the command wrote (`\\LaTeX is` → "LaTeX is", `\\AE r` → "Ær")."""
    start = reader.pos
    reader.skip_spaces()
    if reader.pos > start and len(symbol) > 1 and symbol[-1].isalnum() \
            and reader.peek().isalnum():
        reader.pos = start  # keep the space; it is copied as text


# --------------------------------------------------------------------------------------------
# Text


_URL = re.compile(r"\\url\{[^{}]*\}|\\href\{[^{}]*\}\{[^{}]*\}"
                  r"|(?:https?://|www\.)[^\s{}\\<>\"]*[^\s{}\\<>\".,;:!?)\]']")
_DOLLAR = re.compile(r"(?<!\\)(?:\\\\)*\$")


def _math_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every `$…$` pair pandoc reads as math: no space just inside either
    dollar and no digit right after the closing one ("costs $5 and $10" is text)."""
    dollars = [m.end() - 1 for m in _DOLLAR.finditer(text)]
    spans = []
    i = 0
    while i + 1 < len(dollars):
        start, end = dollars[i], dollars[i + 1]
        body = text[start + 1:end]
        if not body:
            i += 2
            continue
        if body[0].isspace():
            i += 1
            continue
        if not body[-1].isspace() and not text[end + 1:end + 2].isdigit():
            spans.append((start, end + 1))
        i += 2
    return spans


def math_to_text(body: str) -> str:
    """One math formula (without its dollars) as Unicode text: `\\ell_1` → ℓ₁."""
    value = _convert(body, math=True)
    value = re.sub(r"\s+", " ", value).strip()
    # Binary relations and operators read better with the spacing TeX gives them.
    return re.sub(r" ?([=≤≥≠≈<>→←⇒∈]) ?", r" \1 ", value).replace("  ", " ").strip()


def _text_part(text: str) -> str:
    """Text outside math and URLs."""
    # Ties: a `~` between two characters is a space; any other `~` is a tilde.
    text = re.sub(r"(?<=\S)~(?=\S)", " ", text)
    text = _convert(text, math=False)
    text = text.replace("---", "\u2014").replace("--", "\u2013")
    return text.replace("``", "\u201c").replace("''", "\u201d").replace("`", "\u2018")


def tex_to_text(text: str) -> str:
    """Readable Unicode for a title, abstract or comment written in arXiv's TeX."""
    text = clean(text)
    out: list[str] = []
    pos = 0
    math = _math_spans(text)
    for start, end in math:
        out.append(_without_math(text[pos:start]))
        out.append(math_to_text(text[start + 1:end - 1]))
        pos = end
    out.append(_without_math(text[pos:]))
    return smart_quotes(clean(matched_braces("".join(out))))


def _without_math(text: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _URL.finditer(text):
        out.append(_text_part(text[pos:match.start()]))
        url = match.group(0)
        if url.startswith("\\"):
            url = _convert(url, math=False)
        out.append(url)
        pos = match.end()
    out.append(_text_part(text[pos:]))
    return "".join(out)
