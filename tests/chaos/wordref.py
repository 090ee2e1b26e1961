#!/usr/bin/env python3
"""Independent reference of the word rule of docs/WORDS.md, for the chaos checker.

Two implementations that share no code:
  fast_counts(data)  - regex over bytes: every multi-byte separator becomes b' ', then bytes.split()
                       (which splits on exactly the six ASCII spaces 09 0A 0B 0C 0D 20);
  slow_counts(data)  - a byte-at-a-time UTF-8 decoder that classifies each decoded character.
`python3 wordref.py --self-test` checks both on the fixed cases of docs/WORDS.md and against each
other on random inputs built from separators, cut separators, invalid bytes and letters.
"""
import random
import re
import sys
from collections import Counter

# Multi-byte separators, valid UTF-8: U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F,
# U+205F, U+2060, U+3000.
_MB_SEP = re.compile(rb"\xc2\xa0|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|\xe2\x81[\x9f\xa0]|\xe3\x80\x80")
_SEP_CODEPOINTS = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x2060,
                   0x3000} | set(range(0x2000, 0x200B))


def raw_words(data: bytes):
    """The raw words (tokens of mode=raw), in order."""
    return _MB_SEP.sub(b" ", data).split()


def fast_counts(data: bytes):
    return {"bytes": len(data), "lines": data.count(b"\n"), "words": len(raw_words(data))}


def _decode_one(data: bytes, i: int):
    """(codepoint or None for an invalid byte, length) of the character starting at i."""
    b0 = data[i]
    if b0 < 0x80:
        return b0, 1
    if 0xC2 <= b0 <= 0xDF:
        need, cp, lo = 1, b0 & 0x1F, 0x80
    elif 0xE0 <= b0 <= 0xEF:
        need, cp, lo = 2, b0 & 0x0F, 0x800
    elif 0xF0 <= b0 <= 0xF4:
        need, cp, lo = 3, b0 & 0x07, 0x10000
    else:
        return None, 1
    if i + need >= len(data):  # truncated at the end
        return None, 1
    for k in range(1, need + 1):
        c = data[i + k]
        if c & 0xC0 != 0x80:
            return None, 1
        cp = (cp << 6) | (c & 0x3F)
    if cp < lo or cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
        return None, 1
    return cp, need + 1


def slow_counts(data: bytes):
    words, in_word, i = 0, False, 0
    while i < len(data):
        cp, n = _decode_one(data, i)
        sep = cp is not None and cp in _SEP_CODEPOINTS
        if not sep and not in_word:
            words += 1
        in_word = not sep
        i += n
    return {"bytes": len(data), "lines": data.count(b"\n"), "words": words}


def raw_table(data: bytes):
    return Counter(raw_words(data))


FIXED = [(b"a \x01 b", 3), (b"\xff\xfe", 1), ("a\u2028b".encode(), 2), ("a\u200bb".encode(), 1),
         ("a\u00a0b".encode(), 2), (b"", 0), (b"\xe2\x80a", 1), ("a\ufeffb c".encode(), 2),
         ("x\u3000y\u2060z\u205fw".encode(), 4), (b"\xc2", 1), (b"a\xe2\x80\xa8", 1)]

_PIECES = [b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c", "\u00a0".encode(), "\u1680".encode(), "\u2005".encode(),
           "\u200a".encode(), "\u200b".encode(), "\u2028".encode(), "\u202f".encode(), "\u3000".encode(),
           "\u2060".encode(), b"\xe2\x80", b"\xe2", b"\xc2", b"\xff", b"\x80", b"a", b"Z", b"\x00", b"\x01",
           "é".encode(), "€".encode(), "😀".encode(), b"\xf0\x9f", b"\xed\xa0\x80", b"\xc0\xaf"]


def self_test(rounds=3000):
    for data, want in FIXED:
        for f in (fast_counts, slow_counts):
            got = f(data)["words"]
            if got != want:
                print(f"FAIL {f.__name__}({data!r}) = {got}, want {want}")
                return 1
    rng = random.Random(15)
    for _ in range(rounds):
        data = b"".join(rng.choice(_PIECES) for _ in range(rng.randrange(0, 40)))
        a, b = fast_counts(data), slow_counts(data)
        if a != b:
            print(f"FAIL fast {a} != slow {b} on {data!r}")
            return 1
    print(f"wordref self-test: {len(FIXED)} fixed cases, {rounds} random inputs agree")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        sys.exit(self_test())
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            print(path, fast_counts(f.read()))
