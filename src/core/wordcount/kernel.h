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

}  // namespace raftwc::wordcount::detail
