"""Reuters-21578 SGML reader on a tiny hand-written fixture (tests/data/reuters21578)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowable.fewshot import encode_documents, read_reuters21578, tokenize

FIXTURE = Path(__file__).parent / "data" / "reuters21578"


def test_reads_every_record_in_directory_order():
    docs = read_reuters21578(FIXTURE)
    assert [d.new_id for d in docs] == [1, 2, 3, 4]
    by_id = {d.new_id: d for d in docs}
    assert by_id[1].topics == ("grain", "wheat")
    assert by_id[2].topics == ("earn",)
    assert by_id[3].topics == () and not by_id[3].has_topics
    assert by_id[4].topics == ("crude", "nat-gas", "grain") and by_id[4].has_topics
    assert (by_id[1].lewis_split, by_id[1].cgi_split) == ("TRAIN", "TRAINING-SET")
    assert (by_id[2].lewis_split, by_id[2].cgi_split) == ("TEST", "PUBLISHED-TESTSET")
    assert by_id[3].lewis_split == "NOT-USED"


def test_title_body_entities_and_latin1():
    by_id = {d.new_id: d for d in read_reuters21578(FIXTURE / "reut2-000.sgm")}
    assert by_id[1].title == "FIXTURE WHEAT EXPORTS RISE"
    assert by_id[1].body.startswith("Wheat exports rose 12.5 pct <in the week>,")
    # &#3; (end-of-text) is a control reference: html.unescape drops it
    assert by_id[1].body.endswith("traders expect more.\n Reuter")
    assert "DATELINE" not in by_id[1].body and "KANSAS" not in by_id[1].body
    assert "café chain" in by_id[2].body


def test_brief_has_no_body_and_unproc_keeps_text():
    by_id = {d.new_id: d for d in read_reuters21578([FIXTURE / "reut2-001.sgm"])}
    assert by_id[3].title == "FIXTURE BRIEF WITHOUT BODY" and by_id[3].body == ""
    assert by_id[4].title == "" and "Crude oil and gas output fell" in by_id[4].body


def test_tokenize():
    assert tokenize("Shr 10 cts vs 8.5 cts; the company's NET") == [
        "shr",
        "10",
        "cts",
        "vs",
        "8.5",
        "cts",
        "the",
        "company's",
        "net",
    ]


def test_encode_documents_ids_padding_and_multi_hot_topics():
    docs = read_reuters21578(FIXTURE)
    tokens, labels, vocab, topics = encode_documents(docs, length=8)
    assert tokens.shape == (4, 8)
    assert topics == ["crude", "earn", "grain", "nat-gas", "wheat"]
    np.testing.assert_array_equal(
        labels, [[0, 0, 1, 0, 1], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0], [1, 0, 1, 1, 0]]
    )
    words = tokenize(f"{docs[0].title} {docs[0].body}")[:8]
    assert [vocab[w] for w in words] == tokens[0].tolist()
    assert min(vocab.values()) == 2  # 0 = padding, 1 = unknown
    brief = tokenize(docs[2].title)  # 4 words, then padding
    assert tokens[2, len(brief) :].tolist() == [0] * (8 - len(brief))
    # a vocabulary built on record 1 only maps record 2's unseen words to 1
    t2, _, _, _ = encode_documents(docs[1:2], length=5, vocabulary=encode_documents(docs[:1])[2])
    assert t2[0].tolist() == [
        vocab_or_unknown(w, encode_documents(docs[:1])[2])
        for w in tokenize(f"{docs[1].title} {docs[1].body}")[:5]
    ]
    # min_count drops words seen once
    _, _, small, _ = encode_documents(docs, min_count=2)
    assert "fixture" in small and "shr" not in small


def vocab_or_unknown(word: str, vocab: dict[str, int]) -> int:
    return vocab.get(word, 1)


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        read_reuters21578(tmp_path / "missing.sgm")
    with pytest.raises(FileNotFoundError, match=r"no \.sgm"):
        read_reuters21578(tmp_path)
    bad = tmp_path / "bad.sgm"
    bad.write_text("<html>not reuters</html>")
    with pytest.raises(ValueError, match="no <REUTERS> record"):
        read_reuters21578(bad)
    bad.write_text('<REUTERS TOPICS="YES" NEWID="x"><TEXT></TEXT></REUTERS>')
    with pytest.raises(ValueError, match="NEWID"):
        read_reuters21578(bad)
    with pytest.raises(ValueError, match="length"):
        encode_documents([], length=0)
    with pytest.raises(ValueError, match="min_count"):
        encode_documents([], min_count=0)
