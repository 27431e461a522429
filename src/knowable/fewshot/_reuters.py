"""Reader for user-supplied Reuters-21578 SGML files (``reut2-*.sgm``); stdlib only, no download.

The distribution (Lewis, "Reuters-21578, Distribution 1.0") is 22 files of
``<REUTERS ...>`` records. Per record we keep the ``NEWID``, ``LEWISSPLIT`` and
``CGISPLIT`` attributes, the ``<TOPICS>`` list (``<D>`` entries), ``<TITLE>``
and ``<BODY>``. Character references are decoded with :func:`html.unescape`
(``&lt;`` -> ``<``; control references such as the ``&#3;`` ending each body
are dropped); the files are read as Latin-1 because a few records hold
bytes that are not UTF-8. Records whose ``<TEXT>`` has no ``<BODY>`` (the
``TYPE="BRIEF"`` or ``"UNPROC"`` ones) get an empty body unless ``TYPE="UNPROC"``,
whose whole text is then used.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ReutersDocument", "encode_documents", "read_reuters21578", "tokenize"]

_RECORD = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.S | re.I)
_ATTR = re.compile(r'([A-Za-z_]+)\s*=\s*"([^"]*)"')
_D = re.compile(r"<D>(.*?)</D>", re.S | re.I)
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)*")


def _field(tag: str, text: str) -> str | None:
    m = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", text, re.S | re.I)
    return None if m is None else m.group(1)


@dataclass(frozen=True)
class ReutersDocument:
    """One Reuters-21578 record.

    Attributes
    ----------
    new_id : int
        ``NEWID`` attribute (unique across the collection).
    topics : tuple of str
        The ``<TOPICS>`` categories, in file order (may be empty).
    title : str
        ``<TITLE>`` text ("" if absent).
    body : str
        ``<BODY>`` text ("" if absent).
    lewis_split : str
        ``LEWISSPLIT`` attribute (``"TRAIN"``, ``"TEST"`` or ``"NOT-USED"``).
    cgi_split : str
        ``CGISPLIT`` attribute (``"TRAINING-SET"`` or ``"PUBLISHED-TESTSET"``).
    has_topics : bool
        ``TOPICS="YES"`` attribute (the record was meant to be topic-coded).
    """

    new_id: int
    topics: tuple[str, ...]
    title: str
    body: str
    lewis_split: str
    cgi_split: str
    has_topics: bool


def _parse(text: str, source: str) -> list[ReutersDocument]:
    docs = []
    for m in _RECORD.finditer(text):
        attrs = {k.upper(): v for k, v in _ATTR.findall(m.group(1))}
        if "NEWID" not in attrs or not attrs["NEWID"].strip().isdigit():
            raise ValueError(f"{source}: a <REUTERS> record has no integer NEWID attribute.")
        inner = m.group(2)
        topics_block = _field("TOPICS", inner) or ""
        topics = tuple(html.unescape(t).strip() for t in _D.findall(topics_block))
        text_block = _field("TEXT", inner) or ""
        body = _field("BODY", text_block)
        if body is None:
            text_type = re.search(r'<TEXT\b[^>]*TYPE\s*=\s*"(\w+)"', inner, re.I)
            unproc = text_type is not None and text_type.group(1).upper() == "UNPROC"
            body = text_block if unproc else ""
        docs.append(
            ReutersDocument(
                new_id=int(attrs["NEWID"]),
                topics=tuple(t for t in topics if t),
                title=html.unescape(_field("TITLE", text_block) or "").strip(),
                body=html.unescape(body).strip(),
                lewis_split=attrs.get("LEWISSPLIT", ""),
                cgi_split=attrs.get("CGISPLIT", ""),
                has_topics=attrs.get("TOPICS", "").upper() == "YES",
            )
        )
    return docs


def read_reuters21578(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[ReutersDocument]:
    """Read Reuters-21578 records from ``.sgm`` files supplied by the user.

    Parameters
    ----------
    paths : path-like or iterable of path-like
        A directory (every ``*.sgm`` in it, sorted by name), one file, or several files.

    Returns
    -------
    list of ReutersDocument
        Records in file order.

    Raises
    ------
    FileNotFoundError
        A path does not exist, or a directory holds no ``.sgm`` file.
    ValueError
        A file holds no ``<REUTERS>`` record, or a record has no integer ``NEWID``.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("*.sgm"))
            if not found:
                raise FileNotFoundError(f"no .sgm file in directory {p}.")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"Reuters-21578 path not found: {p}.")
    docs: list[ReutersDocument] = []
    for f in files:
        parsed = _parse(f.read_text(encoding="latin-1"), str(f))
        if not parsed:
            raise ValueError(f"{f}: no <REUTERS> record found (not a Reuters-21578 .sgm file?).")
        docs += parsed
    return docs


def tokenize(text: str) -> list[str]:
    """Lower-case word and number tokens (``[a-z]+('[a-z]+)?`` and digits with ``.``/``,``).

    Parameters
    ----------
    text : str
        Raw text.

    Returns
    -------
    list of str
    """
    return _TOKEN.findall(text.lower())


def encode_documents(
    docs: Sequence[ReutersDocument],
    *,
    length: int = 100,
    vocabulary: dict[str, int] | None = None,
    min_count: int = 1,
    topics: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, int], list[str]]:
    """Token-id matrix and topic indicator matrix for few-shot experiments.

    Title and body are tokenised together, truncated or padded (id 0) to
    ``length``. Id 0 is padding and id 1 the out-of-vocabulary token.

    Parameters
    ----------
    docs : sequence of ReutersDocument
        Records.
    length : int
        Tokens per document.
    vocabulary : dict of str to int, optional
        Reuse a vocabulary (e.g. built on training records); built from
        ``docs`` (words seen at least ``min_count`` times, by decreasing count,
        ties alphabetically) when omitted.
    min_count : int
        Minimum count for a word to enter a new vocabulary.
    topics : sequence of str, optional
        Topic order of the indicator columns; default the sorted topics of ``docs``.

    Returns
    -------
    tokens : numpy.ndarray of int, shape (n_docs, length)
    labels : numpy.ndarray of int, shape (n_docs, n_topics)
        0/1 indicators (multi-label).
    vocabulary : dict of str to int
    topics : list of str
    """
    if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 1:
        raise ValueError(f"length must be a positive integer, got {length!r}.")
    if isinstance(min_count, bool) or not isinstance(min_count, int | np.integer) or min_count < 1:
        raise ValueError(f"min_count must be a positive integer, got {min_count!r}.")
    texts = [tokenize(f"{d.title} {d.body}") for d in docs]
    if vocabulary is None:
        counts: dict[str, int] = {}
        for words in texts:
            for w in words:
                counts[w] = counts.get(w, 0) + 1
        kept = sorted(
            (w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w)
        )
        vocabulary = {w: i + 2 for i, w in enumerate(kept)}
    topic_list = sorted({t for d in docs for t in d.topics}) if topics is None else list(topics)
    col = {t: j for j, t in enumerate(topic_list)}
    tokens = np.zeros((len(docs), length), dtype=np.int64)
    labels = np.zeros((len(docs), len(topic_list)), dtype=np.int64)
    for i, (d, words) in enumerate(zip(docs, texts, strict=True)):
        ids = [vocabulary.get(w, 1) for w in words[:length]]
        tokens[i, : len(ids)] = ids
        for t in d.topics:
            if t in col:
                labels[i, col[t]] = 1
    return tokens, labels, vocabulary, topic_list
