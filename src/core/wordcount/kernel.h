// Internal: SIMD byte classification for the counting kernel. Not part of the public API.
#pragma once

#include <cstddef>
#include <cstdint>

#include "wordcount/wordcount.h"

namespace raftwc::wordcount::detail {

/// Length of the multi-byte UTF-8 separator that starts at p (U+00A0, U+1680, U+2000..U+200A,
/// U+2028, U+2029, U+202F, U+205F, U+2060, U+3000), 0 if none. Reads p[0..2] (p[1], p[2] must be
/// readable; a zero byte never completes a separator).
inline unsigned utf8SeparatorLength(const unsigned char* p) {
    switch (p[0]) {
        case 0xC2:
            return p[1] == 0xA0 ? 2 : 0;
        case 0xE1:
            return (p[1] == 0x9A && p[2] == 0x80) ? 3 : 0;
        case 0xE2:
            if (p[1] == 0x80) {
                const unsigned char c = p[2];
                return ((c >= 0x80 && c <= 0x8A) || c == 0xA8 || c == 0xA9 || c == 0xAF) ? 3 : 0;
            }
            if (p[1] == 0x81) return (p[2] == 0x9F || p[2] == 0xA0) ? 3 : 0;
            return 0;
        case 0xE3:
            return (p[1] == 0x80 && p[2] == 0x80) ? 3 : 0;
        default:
            return 0;
    }
}

inline bool isAsciiSeparator(unsigned char c) {
    return c == 0x20 || (c >= 0x09 && c <= 0x0D);
}

/// Classifies nBlocks 64-byte blocks at p: bit j of sep[b] is set when byte 64*b+j belongs to a
/// separator character, bit j of nl[b] when it is 0x0A. carry holds separator bits (0..1) of the
/// first block that a separator starting before p covers; on return, those of the block after.
/// p must be readable for 64*nBlocks + 2 bytes.
using ClassifyFn = void (*)(const unsigned char* p, std::size_t nBlocks, std::uint64_t* sep,
                            std::uint64_t* nl, std::uint64_t& carry);

ClassifyFn classifier(Kernel k);

/// Running totals of the fused counting loop.
struct TotalsState {
    std::uint64_t words = 0;
    std::uint64_t lines = 0;
    std::uint64_t prevSep = 1;  ///< Whether the byte before the next block is a separator (0/1).
    std::uint64_t carry = 0;    ///< As for ClassifyFn.
};

/// Counts word starts and 0x0A bytes in p[0, limit). p must be readable for roundup(limit, 64) + 2
/// bytes, and p[limit], p[limit + 1] must be the real next bytes or zero. After a partial final
/// block, prevSep and carry are meaningless (it must be the last call).
using TotalsFn = void (*)(const unsigned char* p, std::size_t limit, TotalsState& st);

TotalsFn totalsKernel(Kernel k);

/// Bytes a multi-byte character may reach past its lead byte (glibc accepts 5- and 6-byte forms).
inline constexpr std::size_t kCharLookahead = 5;

/// The character glibc's mbrtowc decodes at p in C.UTF-8 (what GNU `wc -m` 9.1 counts), for a lead
/// byte p[0] >= 0x80: its length 2..6, or 0 when p starts no valid character (a continuation byte,
/// C0, C1, FE, FF, a bad or missing continuation, an overlong form, a surrogate). Accepts code points
/// up to 0x7FFFFFFF. Reads p[1..] only while they are continuation bytes (a zero byte stops it).
inline unsigned decodeGlibcUtf8(const unsigned char* p, std::uint32_t& cp) {
    const unsigned c = p[0];
    unsigned len;
    std::uint32_t v;
    if (c < 0xC2) return 0;
    if (c < 0xE0) {
        len = 2, v = c & 0x1F;
    } else if (c < 0xF0) {
        len = 3, v = c & 0x0F;
    } else if (c < 0xF8) {
        len = 4, v = c & 0x07;
    } else if (c < 0xFC) {
        len = 5, v = c & 0x03;
    } else if (c < 0xFE) {
        len = 6, v = c & 0x01;
    } else {
        return 0;
    }
    for (unsigned i = 1; i < len; ++i) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    static constexpr std::uint32_t kMin[7] = {0, 0, 0x80, 0x800, 0x10000, 0x200000, 0x4000000};
    if (v < kMin[len] || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    cp = v;
    return len;
}

/// Display width of code point cp in GNU `wc -L` 9.1 under C.UTF-8: iswprint(cp) ? wcwidth(cp) : 0
/// with glibc 2.36's tables (0 for a negative width and above U+10FFFF). Never above the UTF-8 length.
unsigned charWidth(std::uint32_t cp);

/// Running state of the characters / line-width pass over one range (see LineWidthSummary).
struct LineState {
    std::uint64_t chars = 0;
    std::uint64_t col =
        0;  ///< Width since the last line end or, in the head, since its start / first tab stop.
    std::uint64_t headWidth = 0;  ///< Once the head has a tab: its width before that tab.
    std::uint64_t headEnd = 0;    ///< Once a line end was seen: the head's final col.
    std::uint64_t innerMax = 0;
    bool headTab = false;
    bool lineEnd = false;
};

/// Counts characters (those starting before limit) and line widths of p[0, limit). p must be
/// readable for roundup(limit, 64) + kCharLookahead bytes, the bytes after limit the real next bytes
/// of the file or zero. Any number of calls, on consecutive pieces, may follow one another.
using LinesFn = void (*)(const unsigned char* p, std::size_t limit, LineState& st);

LinesFn linesKernel(Kernel k);

/// The summary of the range a LineState has seen.
LineWidthSummary lineSummary(const LineState& st);

}  // namespace raftwc::wordcount::detail
