"""Text → BibTeX field values that classic BibTeX, biber, LaTeX and pandoc all read alike (pure).

Titles, abstracts and names reach us from digests and from arXiv. They are *data*: whatever
they contain, the value we write must parse, keep its braces balanced, and typeset what the data
says — never run it. Three things are read as markup all the same, because arXiv metadata is
written in TeX and dropping them would lose meaning:

- inline math `$…$`, kept when it passes a strict check (balanced braces, only commands from an
  allow-list, ASCII after Greek letters and common symbols become commands); anything else in
  dollars is text, dollars included;
- TeX accents and special letters (`\\"o`, `{\\'e}`, `\\c{c}`, `\\ss`, `\\o`, …), decoded to
  Unicode first and re-encoded by our own table;
- the escaped specials `\\& \\% \\$ \\# \\_ \\{ \\}`, decoded to the characters they stand for.

Every other backslash, brace, dollar and percent sign is a character and is written as one.

Encoding (`encoding="latex"`, the default): each character that has a LaTeX command which
BibTeX, biber, pdfLaTeX (T1) and pandoc 2.17 all understand is written as that command, braced
the way BibTeX wants special characters (`{\\"{u}}`, `{\\ss}`, and a lone Greek letter as
`{\\ensuremath{\\alpha}}`). Characters without such a command stay UTF-8: CJK, Cyrillic,
Greek words, emoji, `ð þ đ ŋ`, `ș ț`, stacked accents (Vietnamese `ệ`). Classic BibTeX copies
their bytes through unchanged and biber reads UTF-8.
`encoding="utf8"` keeps every non-ASCII character as it is. Both modes escape the ASCII
specials the same way.

Text fields (titles, abstracts, notes) are plain text by the time they get here
(`enrich.text.tex` converts arXiv's TeX) and are written by `encode_plain`: UTF-8, with only
what BibTeX or LaTeX would misread spelled differently. `encode_text` (with the command table
above) is for names, whose letters classic BibTeX must see as single characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["latex", "utf8"]
ENCODINGS: tuple[Encoding, ...] = ("latex", "utf8")

# --------------------------------------------------------------------------------------------
# Decoding the TeX that arXiv metadata carries

_SYMBOL_ACCENTS = "`'^\"~=."
_LETTER_ACCENTS = "uvHckbdr"
_TEX_ACCENT_MARK = {
    "`": "\u0300", "'": "\u0301", "^": "\u0302", "~": "\u0303", "=": "\u0304", "u": "\u0306",
    ".": "\u0307", '"': "\u0308", "r": "\u030a", "H": "\u030b", "v": "\u030c", "d": "\u0323",
    "c": "\u0327", "k": "\u0328", "b": "\u0331",
}
_TEX_LETTERS = {
    "ss": "ß", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aa": "å", "AA": "Å", "o": "ø",
    "O": "Ø", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ",
}
_LETTER_NAMES = "|".join(sorted(_TEX_LETTERS, key=len, reverse=True))
# The accented letter: `o`, `{o}`, `\i`, `{\i}`.
_ARG = r"(?:\{\s*(?P<b>\\[ij](?![A-Za-z])|[A-Za-z])\s*\}|(?P<p>\\[ij](?![A-Za-z])|[A-Za-z]))"
_ACCENT = (
    rf"\\(?:(?P<s>[{re.escape(_SYMBOL_ACCENTS)}])\s*|(?P<w>[{_LETTER_ACCENTS}])(?:\s+|(?=\{{)))"
    + _ARG
)
_BRACED_ACCENT = re.compile(r"\{" + _ACCENT + r"\}")
_BARE_ACCENT = re.compile(_ACCENT)
_BRACED_LETTER = re.compile(rf"\{{\\({_LETTER_NAMES})\s*\}}")
_BARE_LETTER = re.compile(rf"\\({_LETTER_NAMES})(?![A-Za-z])(?:\{{\}}|\s)?")
_ESCAPED_SPECIAL = re.compile(r"\\([&%$#_{}])")
_EMPTY_ARG_SPECIAL = re.compile(r"\\([~^])\{\}")


def _accent(match: re.Match[str]) -> str:
    command = match.group("s") or match.group("w")
    letter = match.group("b") or match.group("p")
    base = letter[1:] if letter.startswith("\\") else letter  # \'\i is an accented i
    return unicodedata.normalize("NFC", base + _TEX_ACCENT_MARK[command])


def decode_tex(text: str) -> str:
    """Unicode for the TeX accents, special letters and escaped specials in `text`.

    Only those are decoded; any other TeX (`\\emph{…}`, `\\write18{…}`) stays as characters.
    Apply it to text, never to math.
    """
    text = _EMPTY_ARG_SPECIAL.sub(r"\1", text)
    text = _BRACED_ACCENT.sub(_accent, text)
    text = _BARE_ACCENT.sub(_accent, text)
    text = _BRACED_LETTER.sub(lambda m: _TEX_LETTERS[m.group(1)], text)
    text = _BARE_LETTER.sub(lambda m: _TEX_LETTERS[m.group(1)], text)
    text = _ESCAPED_SPECIAL.sub(r"\1", text)
    return unicodedata.normalize("NFC", text)


# --------------------------------------------------------------------------------------------
# Cleaning

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_WS = re.compile(r"\s+")
# The ASCII control characters that are not whitespace (`clean` drops them).
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")


def clean(text: str) -> str:
    """NFC, no control or zero-width characters, every run of whitespace one space, stripped.

    Newlines and tabs in titles become spaces (a newline inside a BibTeX value is legal, but an
    empty line ends a paragraph in LaTeX and breaks the entry for some readers).
    """
    if text.isascii() and _ASCII_CONTROL.search(text) is None:
        return " ".join(text.split())  # NFC, zero-width and controls: nothing to do
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    text = "".join(" " if ch.isspace() else ch for ch in text
                   if ch.isspace() or unicodedata.category(ch) not in {"Cc", "Cs", "Co", "Cn"})
    return _WS.sub(" ", text).strip()


# --------------------------------------------------------------------------------------------
# Math

# Commands allowed in kept math: LaTeX's own math vocabulary plus amsmath/amssymb names that
# arXiv titles use. Nothing here reads files, writes files or (re)defines anything.
_MATH_COMMANDS = frozenset("""
    alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa varkappa lambda
    mu nu xi pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega
    Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega
    ell hbar imath jmath aleph wp Re Im partial nabla infty emptyset varnothing prime
    forall exists neg top bot angle triangle star ast circ bullet cdot cdots ldots dots vdots
    ddots times div pm mp setminus cap cup wedge vee oplus ominus otimes odot oslash
    leq le geq ge neq ne approx sim simeq cong equiv propto ll gg lesssim gtrsim prec succ
    preceq succeq subset supset subseteq supseteq in notin ni mid parallel perp vdash models
    to gets rightarrow leftarrow leftrightarrow Rightarrow Leftarrow Leftrightarrow mapsto
    longrightarrow longleftarrow uparrow downarrow hookrightarrow
    sum prod coprod int iint oint bigcup bigcap bigoplus bigotimes
    log ln exp sin cos tan sinh cosh tanh arcsin arccos arctan lim limsup liminf sup inf max
    min arg det dim ker deg gcd Pr hom
    frac dfrac tfrac sqrt binom hat widehat tilde widetilde bar overline underline vec dot ddot
    check breve acute grave mathring
    mathcal mathbb mathbf mathrm mathit mathsf mathtt mathfrak boldsymbol text textrm textit
    textbf textsf texttt operatorname
    left right big Big bigg Bigg langle rangle lfloor rfloor lceil rceil lbrace rbrace vert
    Vert lvert rvert lVert rVert quad qquad
""".split())
_MATH_SYMBOLS = frozenset(",;:! |{}%#&$_")
_MATH_ESCAPE = {"%": r"\%", "#": r"\#", "&": r"\&"}
_COMMAND = re.compile(r"\\([A-Za-z]+|.)", re.DOTALL)

# Greek letters and common symbols as math commands (in math and, wrapped in \ensuremath, in
# text). Greek capitals that look like Latin ones have no command and are left alone.
GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "varepsilon", "ϵ": "epsilon",
    "ζ": "zeta", "η": "eta", "θ": "theta", "ϑ": "vartheta", "ι": "iota", "κ": "kappa",
    "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "π": "pi", "ϖ": "varpi", "ρ": "rho",
    "ϱ": "varrho", "σ": "sigma", "ς": "varsigma", "τ": "tau", "υ": "upsilon", "φ": "varphi",
    "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega", "Γ": "Gamma", "Δ": "Delta",
    "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma", "Υ": "Upsilon",
    "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega",
}
_MATH_CHARS = {
    **{ch: "\\" + name for ch, name in GREEK.items()},
    "µ": r"\mu", "ℓ": r"\ell", "∞": r"\infty", "×": r"\times", "±": r"\pm", "∓": r"\mp",
    "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "≈": r"\approx", "∼": r"\sim", "≡": r"\equiv",
    "∈": r"\in", "∉": r"\notin", "⊂": r"\subset", "⊆": r"\subseteq", "∪": r"\cup",
    "∩": r"\cap", "→": r"\rightarrow", "←": r"\leftarrow", "↔": r"\leftrightarrow",
    "⇒": r"\Rightarrow", "⇔": r"\Leftrightarrow", "∂": r"\partial", "∇": r"\nabla",
    "∑": r"\sum", "∏": r"\prod", "∫": r"\int", "√": r"\surd", "·": r"\cdot", "⋅": r"\cdot",
    "∘": r"\circ", "−": "-", "′": "'", "∀": r"\forall", "∃": r"\exists", "∅": r"\emptyset",
    "⊕": r"\oplus", "⊗": r"\otimes", "≪": r"\ll", "≫": r"\gg", "∝": r"\propto",
}


@dataclass(frozen=True)
class Segment:
    """A run of text, or of math (without its dollars)."""

    text: str
    math: bool = False


def split_math(text: str) -> list[Segment]:
    """Split text at unescaped `$`: kept math segments and text segments, in order.

    A `$…$` pair is math only when it would be math to pandoc too (its `tex_math_dollars` rule:
    no space just inside either dollar, no digit right after the closing one — so "costs $5 and
    $10" stays text) and its content passes `math_body`. Anything else is text, dollars
    included. `$$` is never math.
    """
    dollars = [m.end() - 1 for m in re.finditer(r"(?<!\\)(?:\\\\)*\$", text)]
    segments: list[Segment] = []
    pos = 0
    i = 0
    while i + 1 < len(dollars):
        start, end = dollars[i], dollars[i + 1]
        body = text[start + 1:end]
        opens = bool(body) and not body[0].isspace()
        closes = opens and not body[-1].isspace() and not text[end + 1:end + 2].isdigit()
        if not body:  # `$$`: both dollars are text
            i += 2
            continue
        if not opens:  # this dollar opens nothing; the next one may
            i += 1
            continue
        if closes and math_body(body) is not None:
            if start > pos:
                segments.append(Segment(text[pos:start]))
            segments.append(Segment(body, math=True))
            pos = end + 1
        # A pair that cannot be kept is still a pair, as TeX reads it: both dollars are text.
        i += 2
    if pos < len(text):
        segments.append(Segment(text[pos:]))
    return _merge_text(segments)


def _merge_text(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for seg in segments:
        if merged and not seg.math and not merged[-1].math:
            merged[-1] = Segment(merged[-1].text + seg.text)
        else:
            merged.append(seg)
    return merged


def math_body(body: str) -> str | None:
    """The math as we write it (between dollars), or None when it cannot be kept as math."""
    out: list[str] = []
    for ch in body:
        if ch in _MATH_CHARS:
            command = _MATH_CHARS[ch]
            out.append(command + " " if command[-1:].isalpha() else command)
        elif not (ch.isascii() and (ch.isprintable() or ch == " ")):
            return None
        else:
            out.append(ch)
    math = "".join(out).strip()
    if "^^" in math or "\\\\" in math or not _commands_allowed(math):
        return None
    math = re.sub(r"(?<!\\)[%#&]", lambda m: _MATH_ESCAPE[m.group(0)], math)
    if not _balanced(math, count_escaped=False):
        return None
    if not _balanced(math, count_escaped=True):
        # Classic BibTeX counts \{ and \} too: spell unpaired ones as commands.
        math = math.replace(r"\{", r"\lbrace ").replace(r"\}", r"\rbrace ")
    return math


def _commands_allowed(math: str) -> bool:
    for match in _COMMAND.finditer(math):
        name = match.group(1)
        if name.isalpha():
            if name not in _MATH_COMMANDS:
                return False
        elif name not in _MATH_SYMBOLS:
            return False
    return True


# What brace counting looks at: a backslash with the character it escapes, or a brace.
_BRACE_TOKEN = re.compile(r"\\.|[{}]", re.DOTALL)


def _balanced(text: str, *, count_escaped: bool) -> bool:
    depth = 0
    for token in _BRACE_TOKEN.findall(text):
        ch = token[-1]
        if len(token) == 2 and not count_escaped:
            continue  # an escaped character
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


# --------------------------------------------------------------------------------------------
# Encoding text

_ASCII_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"$\lbrace$", "}": r"$\rbrace$", "$": r"\$", "&": r"\&",
    "%": r"\%",
    "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": "$|$",
}
_ASCII_SPECIAL_TABLE = str.maketrans(_ASCII_SPECIAL)
# Accents that have a LaTeX command every reader we check understands (U+0326 comma below,
# U+0309 hook and U+031B horn have none that pandoc reads, so those letters stay UTF-8).
_MARK_COMMAND = {mark: "\\" + tex for tex, mark in _TEX_ACCENT_MARK.items()}
_LETTER_COMMAND = {
    "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l",
    "Ł": "L", "ı": "i", "ȷ": "j",
}
_PUNCTUATION = {
    "\u00a0": "~", "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u202f": " ",
    "\u2018": "`", "\u2019": "'", "\u201c": "``", "\u201d": "''", "\u2010": "-", "\u2011": "-",
    "\u2012": "-", "\u2013": "--", "\u2014": "---", "\u2026": r"\dots{}",
}


def math_char(ch: str) -> str | None:
    """The math command for a Greek letter or math symbol (`α` → `\\alpha`), else None."""
    return _MATH_CHARS.get(ch)


def latex_char(ch: str) -> str | None:
    """The LaTeX spelling of one non-ASCII character, or None when it has none we trust."""
    if ch in _PUNCTUATION:
        return _PUNCTUATION[ch]
    if ch in _LETTER_COMMAND:
        return "{\\" + _LETTER_COMMAND[ch] + "}"
    if ch in _MATH_CHARS:
        return "{\\ensuremath{" + _MATH_CHARS[ch] + "}}"
    decomposed = unicodedata.normalize("NFD", ch)
    # One accent on an ASCII letter. Stacked accents (Vietnamese ệ, ǖ) stay UTF-8: biber
    # decodes a nested `{\^{\d{e}}}` only halfway, to `{\^ẹ}`, which pdfLaTeX cannot read.
    if len(decomposed) != 2 or not (decomposed[0].isascii() and decomposed[0].isalpha()):
        return None
    mark = _MARK_COMMAND.get(decomposed[1])
    return "{" + mark + "{" + decomposed[0] + "}}" if mark else None


def smart_quotes(text: str) -> str:
    """Straight double quotes as typographic ones: a `"` that opens (text start, after a space
    or an opening bracket) becomes “, any other ”. LaTeX prints a straight `"` as ” and
    babel's German shorthands read `"a` as ä, so a straight quote is never written."""
    if '"' not in text:
        return text
    out = []
    for i, ch in enumerate(text):
        before = text[i - 1] if i else " "
        if ch != '"':
            out.append(ch)
        elif before.isspace() or before in "([{":
            out.append("\u201c")
        else:
            out.append("\u201d")
    return "".join(out)


def encode_text(text: str, *, encoding: Encoding = "latex", greek_as_math: bool = True) -> str:
    """Escape plain text (already decoded; no math inside) for a BibTeX field value.

    A lone Greek letter is written as math (`{\\ensuremath{\\alpha}}`) unless `greek_as_math`
    is false; an ASCII letter followed by a combining accent with no precomposed form (X̃)
    becomes the accent command (`{\\~{X}}`), which LaTeX composes and a lone mark it cannot.
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; use one of {ENCODINGS}")
    text = smart_quotes(text)
    if text.isascii():  # no letter to accent, no Greek: only the specials are escaped
        return text.translate(_ASCII_SPECIAL_TABLE)
    out: list[str] = []
    i = 0
    while i < len(text):
        ch, after = text[i], text[i + 1:i + 2]
        i += 1
        if ch in _ASCII_SPECIAL:
            out.append(_ASCII_SPECIAL[ch])
        elif encoding == "utf8":
            out.append(ch)
        elif ch.isascii():
            if ch.isalpha() and after in _MARK_COMMAND:
                out.append("{" + _MARK_COMMAND[after] + "{" + ch + "}}")
                i += 1
            else:
                out.append(ch)
        elif _is_greek(ch) and (not greek_as_math or _is_greek(text[i - 2:i - 1])
                                or _is_greek(after)):
            out.append(ch)  # Greek words are Greek text, not a row of math symbols
        else:
            out.append(latex_char(ch) or ch)
    return "".join(out)


def _is_greek(ch: str) -> bool:
    return bool(ch) and ("\u0370" <= ch <= "\u03ff" or "\u1f00" <= ch <= "\u1fff")


# --------------------------------------------------------------------------------------------
# Plain text → a field value

# Characters of plain text that a BibTeX value cannot hold as they are, and the spelling the
# readers we check (BibTeX and LaTeX, biber, pandoc, citation-js, Better BibTeX's parser,
# Zotero) turn back into the character. A literal brace is `\{`/`\}`: the one spelling all of
# them read as a brace (`\textbraceleft` is dropped by pandoc 2.17 and kept as a command by
# Zotero; `$\lbrace$` reads as "\lbrace" in pandoc and citation-js and as "łbrace" in
# Zotero). Classic BibTeX counts `\{` as a brace, so only braces that pair up are written
# (`unmatched_braces`; enrich.text.tex drops the others). citeproc-py reads no spelling of a
# brace at all (docs/references.md, *Known limits*).
_PLAIN_SPECIAL = {
    "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "\\": r"$\backslash$",
}
# Text commands written bare (`\textasciitilde 10`): citeproc-py cannot read a command that
# ends a brace group (`{\textasciitilde}`, `\textasciitilde{}`), and every reader reads this.
_PLAIN_COMMAND = {"~": r"\textasciitilde", "^": r"\textasciicircum"}


def unmatched_braces(text: str) -> set[int]:
    """The positions of the braces in `text` that have no partner (`{` before its `}`)."""
    opened: list[int] = []
    lone: set[int] = set()
    for i, ch in enumerate(text):
        if ch == "{":
            opened.append(i)
        elif ch == "}":
            if opened:
                opened.pop()
            else:
                lone.add(i)
    return lone | set(opened)


def matched_braces(text: str) -> str:
    """`text` without the braces that have no partner: no BibTeX value can hold one as a
    character that every reader reads (a lone `\\{` unbalances classic BibTeX)."""
    lone = unmatched_braces(text)
    return "".join(ch for i, ch in enumerate(text) if i not in lone) if lone else text


def encode_plain(text: str) -> str:
    """Plain text (no TeX in it: see `enrich.text.tex`) as a BibTeX field value.

    Only what BibTeX or LaTeX would misread is spelled differently: `& % $ # _` and the braces
    that pair up escaped (a brace without its partner is left out), backslashes as a math
    symbol, `~` and `^` as bare text commands; everything else, every non-ASCII character
    included, is written as it is (pdfLaTeX reads UTF-8; biber, pandoc and reference managers
    read it natively). `< > |` are written as they are, which typesets them with T1 fonts (the
    OT1 default prints ¡ ¿ —).
    """
    return _encode_plain(matched_braces(text))


def _encode_plain(text: str) -> str:
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch in _PLAIN_SPECIAL:
            out.append(_PLAIN_SPECIAL[ch])
        elif ch in _PLAIN_COMMAND:
            after = text[i + 1:i + 2]
            # A control word eats the spaces after it: a letter or digit needs one space
            # between, a following space becomes a tie (the space LaTeX keeps).
            if after.isascii() and after.isalnum():
                out.append(_PLAIN_COMMAND[ch] + " ")
            elif not after or after == " ":
                out.append(_PLAIN_COMMAND[ch] + "~")
            else:
                out.append(_PLAIN_COMMAND[ch])
        elif ch == " " and i and text[i - 1] in _PLAIN_COMMAND:
            continue  # written as the tie above
        elif ch == "\u00a0":
            out.append("~")
        else:
            out.append(ch)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Titles

_WORD_EDGE = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)
_PART_SPLIT = re.compile(r"[-\u2010-\u2015/]")


def needs_protection(word: str) -> bool:
    """Whether a title word must keep its case: an acronym (`CLIP`, `SSL`), a word with a
    capital after its first letter (`CyCLIP`, `ImageNet`, `iPhone`), or letters mixed with digits
    (`2D`, `GPT-4V`, `v2`). Capitalised words (`Cyclic`, `Language-Image`) are left to the style.
    """
    for part in _PART_SPLIT.split(word):
        letters = [ch for ch in part if ch.isalpha()]
        if not letters:
            continue
        if any(ch.isupper() for ch in letters[1:]):
            return True
        if any(ch.isdigit() for ch in part):
            return True
    return False


def title_to_latex(title: str, spans: Sequence[tuple[int, int]]) -> str:
    """A BibTeX `title` from a plain-text title: encoded like `encode_plain`, with the spans
    that keep their case (acronyms, mixed case, proper nouns: `enrich.text.terms`) braced one
    by one, never the whole title (`{CyCLIP}: Cyclic …`, `{Gaussian} Splatting`)."""
    lone = unmatched_braces(title)

    def piece(start: int, end: int) -> str:
        return _encode_plain("".join(title[i] for i in range(start, end) if i not in lone))

    out: list[str] = []
    pos = 0
    for start, end in spans:
        out.append(piece(pos, start))
        kept = piece(start, end)
        # `{\\…` is a BibTeX "special character", whose letters styles do change the case of:
        # a span that starts with a command (`\\#1Team`, `\\textasciitilde ABC`) is braced twice.
        out.append("{{" + kept + "}}" if kept.startswith("\\") else "{" + kept + "}")
        pos = end
    out.append(piece(pos, len(title)))
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Checks

def brace_balanced(value: str) -> bool:
    """Balanced as classic BibTeX counts (every brace) *and* as bibtexparser/biber count
    (escaped braces skipped). Every value we write satisfies both."""
    return _balanced(value, count_escaped=True) and _balanced(value, count_escaped=False)
