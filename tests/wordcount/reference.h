// An independent, deliberately simple byte-at-a-time reference for the word semantics of
// docs/WORDS.md: decode one character at a time (a valid UTF-8 sequence, else one invalid byte),
// separators by code point, words as maximal runs of non-separator characters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace reference {

inline bool isSeparatorCodePoint(char32_t c) {
    if (c == 0x09 || c == 0x0A || c == 0x0B || c == 0x0C || c == 0x0D || c == 0x20) return true;
    if (c == 0xA0 || c == 0x1680 || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x2060 ||
        c == 0x3000)
        return true;
    return c >= 0x2000 && c <= 0x200A;
}

/// Length of the character at s[i] and its code point (invalid: length 1, cp = 0xFFFFFFFF).
inline std::size_t decode(std::string_view s, std::size_t i, char32_t& cp) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    cp = 0xFFFFFFFF;
    if (c < 0x80) {
        cp = c;
        return 1;
    }
    std::size_t len = 0;
    char32_t v = 0;
    char32_t min = 0;
    if (c >= 0xC0 && c < 0xE0) {
        len = 2;
        v = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c < 0xF0) {
        len = 3;
        v = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c < 0xF8) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 1;
    }
    if (i + len > s.size()) return 1;
    for (std::size_t k = 1; k < len; ++k) {
        if ((b(i + k) & 0xC0) != 0x80) return 1;
        v = (v << 6) | (b(i + k) & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 1;
    cp = v;
    return len;
}

struct Word {
    std::size_t begin, end;  // byte range
};

inline std::vector<Word> words(std::string_view s) {
    std::vector<Word> out;
    bool in = false;
    std::size_t i = 0;
    while (i < s.size()) {
        char32_t cp;
        const std::size_t len = decode(s, i, cp);
        if (isSeparatorCodePoint(cp)) {
            if (in) out.back().end = i;
            in = false;
        } else if (!in) {
            out.push_back(Word{i, s.size()});
            in = true;
        }
        i += len;
    }
    return out;
}

inline std::uint64_t lines(std::string_view s, std::size_t from, std::size_t to) {
    std::uint64_t n = 0;
    for (std::size_t i = from; i < to; ++i)
        n += s[i] == '\n';
    return n;
}

}  // namespace reference
