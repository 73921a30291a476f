"""Feature crosses: the spellings users write, checked and turned into terms and rules.

Two spellings, one model of a cross:

* ``--interactions SPEC`` (every format with names: vw namespaces, csv/tsv/criteo columns):
  comma-separated groups of two or three names joined by ``:`` (``C1:C2``,
  ``site_id:app_id:device_type``); a name may be a glob (``*``, ``?``).
* Vowpal Wabbit's ``-q ab`` / ``--quadratic ab`` and ``--cubic abc`` (vw input): a letter
  stands for every namespace whose name starts with it (Vowpal Wabbit 9's feature spaces;
  a bare ``|`` is the space ``' '``), and ``:`` for every namespace.

A group is a sequence of *terms*; a product picks one feature per term.  Which picks count
is decided pairwise by a *rule* (see ``rules``), so that each combination is made once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ftrl_cli.errors import FtrlError

# term kinds
K_NAME, K_GLOB, K_LETTER, K_ANY = range(4)
# pair rules for features a (earlier term) and b (later term), in record order ka, kb
R_ORDERED, R_LESS, R_DISTINCT, R_DISTINCT_OR_ORDERED = range(4)
MAX_TERMS = 64
MAX_ORDER = 3
PAIRS = ((0, 1), (0, 2), (1, 2))


def parse_interactions(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """The groups of ``--interactions`` (a string or several), checked, spaces removed.

    >>> parse_interactions("C1:C2, site_id:app_id:device_type")
    ('C1:C2', 'site_id:app_id:device_type')
    >>> parse_interactions("C1")
    Traceback (most recent call last):
    ftrl_cli.errors.FtrlError: --interactions: group 'C1' needs two or three names joined by ':'
    """
    if text is None:
        return ()
    parts = [text] if isinstance(text, str) else list(text)
    groups = []
    for part in parts:
        for raw in part.split(","):
            group = raw.strip()
            if not group:
                continue
            names = [n.strip() for n in group.split(":")]
            if not 2 <= len(names) <= MAX_ORDER:
                raise FtrlError(f"--interactions: group '{group}' needs two or three names "
                                "joined by ':'")
            if any(not n for n in names):
                raise FtrlError(f"--interactions: group '{group}' has an empty name")
            groups.append(":".join(names))
    if parts and not groups:
        raise FtrlError("--interactions: no groups given")
    return tuple(groups)


def parse_vw_interactions(quadratic: Sequence[str] = (),
                          cubic: Sequence[str] = ()) -> tuple[str, ...]:
    """Vowpal Wabbit's ``-q ab`` and ``--cubic abc`` values, checked.

    >>> parse_vw_interactions(["ab", "c:"], ["abc"])
    ('ab', 'c:', 'abc')
    >>> parse_vw_interactions(["abc"])
    Traceback (most recent call last):
    ftrl_cli.errors.FtrlError: -q/--quadratic: 'abc' must be two namespace letters (':' for any)
    """
    for flag, values, n in (("-q/--quadratic", quadratic, 2), ("--cubic", cubic, 3)):
        for v in values:
            if len(v) != n or len(v.encode("utf-8")) != n or " " in v:
                word = "two" if n == 2 else "three"
                raise FtrlError(f"{flag}: '{v}' must be {word} namespace letters "
                                "(':' for any)")
    return (*quadratic, *cubic)


def _glob_kind(name: str) -> int:
    return K_GLOB if ("*" in name or "?" in name) else K_NAME


def glob_regex(pattern: str) -> re.Pattern:
    """The regular expression of a glob: ``*`` any text, ``?`` one character, nothing else
    special (so names with ``[`` need no escaping).

    >>> bool(glob_regex("C*").fullmatch("C12")), bool(glob_regex("C?").fullmatch("C12"))
    (True, False)
    """
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                              for c in pattern), re.DOTALL)


@dataclass(frozen=True)
class Crosses:
    """Crosses as the kernels take them.

    ``terms`` are ``(kind, pattern)`` pairs, each a bit of a feature's term mask;
    ``groups[g]`` holds group ``g``'s term ids (-1 for no third term) and ``rules[g]`` the
    rule of each pair of its terms in ``PAIRS`` order; ``letters`` says a namespace is known
    by its first byte (Vowpal Wabbit's spellings) rather than by its whole name.
    """

    terms: tuple[tuple[int, str], ...]
    groups: np.ndarray
    rules: np.ndarray
    letters: bool

    def term_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The patterns as bytes for the vw kernel: ``(bytes, offsets, kinds)``."""
        encoded = [p.encode("utf-8") for _, p in self.terms]
        offsets = np.zeros(len(encoded) + 1, np.int64)
        offsets[1:] = np.cumsum([len(e) for e in encoded])
        data = np.frombuffer(b"".join(encoded) + b"\0", np.uint8)
        return data, offsets, np.array([k for k, _ in self.terms], np.int64)

    def column_terms(self, names: Sequence[str], label: str, ignored: Sequence[str],
                     source: str) -> np.ndarray:
        """Each column's term mask; a term naming no usable column is an error."""
        masks = np.zeros(len(names), np.uint64)
        for t, (kind, pattern) in enumerate(self.terms):
            if kind == K_NAME:
                if pattern not in names:
                    raise FtrlError(f"{source}: --interactions names column '{pattern}', "
                                    "which the input does not have")
                if pattern == label or pattern in ignored:
                    what = "the label" if pattern == label else "ignored"
                    raise FtrlError(f"{source}: --interactions names column '{pattern}', "
                                    f"which is {what}")
                hits = [names.index(pattern)]
            else:
                rx = glob_regex(pattern)
                hits = [i for i, n in enumerate(names)
                        if rx.fullmatch(n) and n != label and n not in ignored]
                if not hits:
                    raise FtrlError(f"{source}: --interactions pattern '{pattern}' matches "
                                    "no feature column")
            for i in hits:
                masks[i] |= np.uint64(1) << np.uint64(t)
        return masks


def build(interactions: Sequence[str], vw_interactions: Sequence[str]) -> Crosses | None:
    """The terms and rules of the spec's groups; None without crosses.

    >>> c = build(["C*:C*", "C1:C1", "C1:C2"], [])
    >>> c.terms, c.rules[:, 0].tolist()
    (((1, 'C*'), (0, 'C1'), (0, 'C2')), [1, 0, 2])
    """
    if interactions and vw_interactions:
        raise FtrlError("--interactions and -q/--cubic cannot be mixed; use one spelling")
    letters = bool(vw_interactions)
    spelled = ([list(g) for g in vw_interactions] if letters
               else [g.split(":") for g in interactions])
    # a permutation of an earlier group makes the same products again: dropped, as Vowpal
    # Wabbit 9 drops duplicate interactions
    seen: set[tuple[str, ...]] = set()
    spelled = [g for g in spelled
               if tuple(sorted(g)) not in seen and not seen.add(tuple(sorted(g)))]
    if not spelled:
        return None
    if letters:
        parse_vw_interactions([g for g in vw_interactions if len(g) != MAX_ORDER],
                              [g for g in vw_interactions if len(g) == MAX_ORDER])
    terms: dict[tuple[int, str], int] = {}
    groups = np.full((len(spelled), MAX_ORDER), -1, np.int64)
    rules = np.zeros((len(spelled), len(PAIRS)), np.int64)
    for g, names in enumerate(spelled):
        for p, name in enumerate(names):
            if letters:
                key = (K_ANY, ":") if name == ":" else (K_LETTER, name)
            else:
                key = (_glob_kind(name), name)
            groups[g, p] = terms.setdefault(key, len(terms))
        for r, (p, q) in enumerate(PAIRS):
            if q >= len(names):
                continue
            same = groups[g, p] == groups[g, q]
            if letters:
                rules[g, r] = R_ORDERED if same else R_DISTINCT_OR_ORDERED
            elif same:
                rules[g, r] = R_ORDERED if _glob_kind(names[p]) == K_NAME else R_LESS
            else:
                rules[g, r] = R_DISTINCT
    if len(terms) > MAX_TERMS:
        flag = "-q/--cubic" if letters else "--interactions"
        raise FtrlError(f"{flag}: at most {MAX_TERMS} different names (use globs such as C*)")
    return Crosses(tuple(terms), groups, rules, letters)
