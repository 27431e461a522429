"""Synthetic few-shot text tasks: sparse topic key words planted in distractor text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._random import check_random_state
from .._validation import check_positive_int, check_real

__all__ = ["FewShotTask", "TopicTaskGenerator"]


@dataclass(frozen=True)
class FewShotTask:
    """One N-way K-shot episode (single- or multi-label).

    Attributes
    ----------
    support_x : numpy.ndarray of int, shape (n_way * k_shot, length)
        Support documents (token ids).
    support_y : numpy.ndarray of int, shape (n_way * k_shot,) or (n_way * k_shot, n_way)
        Single-label: episode labels in ``0 .. n_way - 1``. Multi-label: a 0/1
        indicator matrix (row ``i`` marks the labels of document ``i``).
    query_x : numpy.ndarray of int, shape (n_way * n_query, length)
        Query documents.
    query_y : numpy.ndarray of int, shape (n_way * n_query,) or (n_way * n_query, n_way)
        Query labels, coded like ``support_y``.
    topics : numpy.ndarray of int, shape (n_way,)
        Which global topics the episode's classes are.
    multi_label : bool
        Whether the labels are indicator matrices.
    """

    support_x: np.ndarray
    support_y: np.ndarray
    query_x: np.ndarray
    query_y: np.ndarray
    topics: np.ndarray
    multi_label: bool = False


class TopicTaskGenerator:
    """Documents of distractor text with a few topic-specific key words planted in them.

    Vocabulary: token ids ``0 .. n_key_words - 1`` are key words; topic ``t`` owns
    a random set of ``n_keywords`` of them (sets of different topics may overlap,
    so held-out topics are new combinations of key words seen in training and
    an encoder can learn what a key word is); the other ``vocab_size -
    n_key_words`` ids are background words drawn from a Zipf-like law
    (``p(rank r) ∝ r^-1.1``). A document of class topic ``t`` is ``length``
    background words in which ``n_planted`` positions are overwritten by key words
    of ``t`` and ``n_distractor`` positions by key words of other random topics
    (so a key word alone is not a class cue; the class is the topic planted most).
    Single-label episodes give every document one topic. Multi-label episodes
    (``sample_task(..., multi_label=True)``) give each document its anchor
    topic plus, with probability ``extra_label_p`` each, further topics of the
    same episode; ``n_planted`` key words of *every* one of its topics are
    planted, and the distractors come from topics outside the episode (so an
    episode label is present iff its key words are). Episodes draw ``n_way`` distinct topics;
    ``train_topics`` of the topics are kept for meta-training and the rest for
    meta-testing (disjoint classes, as in few-shot benchmarks).

    Parameters
    ----------
    vocab_size : int
        Total vocabulary.
    n_topics : int
        Number of topics (classes overall).
    n_key_words : int
        Size of the key-word vocabulary shared by all topics.
    n_keywords : int
        Key words per topic.
    length : int
        Tokens per document.
    n_planted : int
        Key words of the document's own topic per document.
    n_distractor : int
        Key words of other topics per document.
    train_fraction : float
        Fraction of topics reserved for meta-training.
    random_state : None or int
        Seed of the (fixed) topic split.
    """

    def __init__(
        self,
        vocab_size: int = 400,
        n_topics: int = 40,
        n_key_words: int = 60,
        n_keywords: int = 4,
        length: int = 40,
        n_planted: int = 3,
        n_distractor: int = 1,
        train_fraction: float = 0.6,
        random_state: int | None = 0,
    ) -> None:
        self.vocab_size = check_positive_int(vocab_size, "vocab_size", minimum=2)
        self.n_topics = check_positive_int(n_topics, "n_topics", minimum=2)
        self.n_key_words = check_positive_int(n_key_words, "n_key_words")
        self.n_keywords = check_positive_int(n_keywords, "n_keywords")
        self.length = check_positive_int(length, "length")
        self.n_planted = check_positive_int(n_planted, "n_planted")
        self.n_distractor = check_positive_int(n_distractor, "n_distractor", minimum=0)
        self.train_fraction = check_real(
            train_fraction, "train_fraction", low=0.0, high=1.0, low_inclusive=False
        )
        n_key = self.n_key_words
        if n_key >= self.vocab_size:
            raise ValueError(f"n_key_words ({n_key}) must be below vocab_size ({self.vocab_size}).")
        if self.n_keywords > n_key:
            raise ValueError(
                f"n_keywords ({self.n_keywords}) must not exceed n_key_words ({n_key})."
            )
        if self.n_planted + self.n_distractor > self.length:
            raise ValueError("n_planted + n_distractor must not exceed length.")
        rng = check_random_state(random_state)
        self.topic_keywords = np.stack(
            [rng.choice(n_key, size=self.n_keywords, replace=False) for _ in range(self.n_topics)]
        )
        order = rng.permutation(self.n_topics)
        n_train = max(2, round(self.train_fraction * self.n_topics))
        self.train_topics = np.sort(order[:n_train])
        self.test_topics = np.sort(order[n_train:])
        ranks = np.arange(1, self.vocab_size - n_key + 1, dtype=np.float64)
        w = ranks**-1.1
        self._background_p = w / w.sum()
        self._n_key = n_key

    def documents(self, topics: Any, rng: np.random.Generator) -> np.ndarray:
        """Draw one document per entry of ``topics``.

        Parameters
        ----------
        topics : array-like of int, shape (m,)
            Topic of each document.
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        numpy.ndarray of int, shape (m, length)
        """
        topics = np.asarray(topics, dtype=np.int64)
        return self._documents([[int(t)] for t in topics], [[int(t)] for t in topics], rng)

    def _documents(
        self, own: list[list[int]], exclude: list[list[int]], rng: np.random.Generator
    ) -> np.ndarray:
        """Documents with ``n_planted`` key words of each topic in ``own[i]`` and
        ``n_distractor`` key words of random topics outside ``exclude[i]``."""
        m, L = len(own), self.length
        docs = self._n_key + rng.choice(len(self._background_p), size=(m, L), p=self._background_p)
        for i, (mine, banned) in enumerate(zip(own, exclude, strict=True)):
            n_plant = self.n_planted * len(mine) + self.n_distractor
            if n_plant > L:
                raise ValueError(
                    f"{len(mine)} topics x n_planted + n_distractor = {n_plant} exceeds length {L}."
                )
            pos = rng.choice(L, size=n_plant, replace=False)
            kws = [
                self.topic_keywords[t, rng.integers(0, self.n_keywords, size=self.n_planted)]
                for t in mine
            ]
            others = rng.choice(np.delete(np.arange(self.n_topics), banned), size=self.n_distractor)
            kws.append(
                self.topic_keywords[others, rng.integers(0, self.n_keywords, self.n_distractor)]
            )
            docs[i, pos] = np.concatenate(kws)
        return docs

    def sample_task(
        self,
        n_way: int = 5,
        k_shot: int = 1,
        n_query: int = 5,
        *,
        split: str = "train",
        multi_label: bool = False,
        extra_label_p: float = 0.1,
        random_state: Any = None,
    ) -> FewShotTask:
        """Draw an N-way K-shot episode from the train or test topics.

        ``k_shot`` documents are anchored on each class (``n_query`` likewise in
        the query set); in a multi-label episode each document also carries
        every other episode class independently with probability
        ``extra_label_p``, so each class has at least ``k_shot`` positive
        support documents.

        Parameters
        ----------
        n_way : int
            Classes per episode.
        k_shot : int
            Support documents per class.
        n_query : int
            Query documents per class.
        split : {"train", "test"}
            Which topics to draw the classes from.
        multi_label : bool
            Draw a multi-label episode (labels as 0/1 indicator matrices).
        extra_label_p : float
            Multi-label only: probability of each extra episode label per document.
        random_state : None, int or numpy.random.Generator
            Source of randomness.

        Returns
        -------
        FewShotTask
        """
        n_way = check_positive_int(n_way, "n_way", minimum=2)
        k_shot = check_positive_int(k_shot, "k_shot")
        n_query = check_positive_int(n_query, "n_query")
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
        pool = self.train_topics if split == "train" else self.test_topics
        if n_way > len(pool):
            raise ValueError(f"n_way={n_way} exceeds the {len(pool)} {split} topics.")
        p_extra = check_real(extra_label_p, "extra_label_p", low=0.0, high=1.0)
        if not isinstance(multi_label, bool | np.bool_):
            raise TypeError(f"multi_label must be a bool, got {type(multi_label).__name__}.")
        if multi_label and self.n_distractor > 0 and n_way >= self.n_topics:
            raise ValueError(
                "multi-label episodes need a topic outside the episode for distractors."
            )
        rng = check_random_state(random_state)
        topics = rng.choice(pool, size=n_way, replace=False)
        sy = np.repeat(np.arange(n_way), k_shot)
        qy = np.repeat(np.arange(n_way), n_query)
        if multi_label:
            sets = []
            for anchors in (sy, qy):
                ind = (rng.random((len(anchors), n_way)) < p_extra).astype(np.int64)
                ind[np.arange(len(anchors)), anchors] = 1
                sets.append(ind)
            banned = [list(topics)] * len(sy)
            sx = self._documents([list(topics[r > 0]) for r in sets[0]], banned, rng)
            qx = self._documents(
                [list(topics[r > 0]) for r in sets[1]], [list(topics)] * len(qy), rng
            )
            return FewShotTask(sx, sets[0], qx, sets[1], topics, multi_label=True)
        return FewShotTask(
            support_x=self.documents(topics[sy], rng),
            support_y=sy,
            query_x=self.documents(topics[qy], rng),
            query_y=qy,
            topics=topics,
        )
