#include "wordcount/kernel.h"

#include <immintrin.h>

#include <algorithm>

#include "wordcount/width_table.h"

namespace raftwc::wordcount::detail {

namespace {

inline unsigned widthOf(std::uint32_t cp) {
    if (cp >= 0x110000) return 0;
    return (kWidthBlocks[kWidthPages[cp >> 8]][(cp & 255) >> 2] >> (2 * (cp & 3))) & 3;
}

/// Separator bits of the multi-byte separators whose lead byte is in cand (bits of a separator that
/// run past the block go to nextCarry).
inline std::uint64_t multiByteSeparators(const unsigned char* p, std::uint64_t cand,
                                         std::uint64_t& nextCarry) {
    std::uint64_t sep = 0;
    while (cand) {
        const unsigned j = static_cast<unsigned>(__builtin_ctzll(cand));
        cand &= cand - 1;
        const unsigned len = utf8SeparatorLength(p + j);
        if (len) {
            const std::uint64_t bits = (std::uint64_t{1} << len) - 1;
            sep |= bits << j;
            if (j + len > 64) nextCarry |= bits >> (64 - j);
        }
    }
    return sep;
}

inline std::uint64_t mask16(__m128i v) {
    return static_cast<std::uint16_t>(_mm_movemask_epi8(v));
}

__attribute__((always_inline)) inline void classifySse2(const unsigned char* p, std::size_t nBlocks,
                                                        std::uint64_t* sepOut, std::uint64_t* nlOut,
                                                        std::uint64_t& carry) {
    const __m128i nine = _mm_set1_epi8(9);
    const __m128i four = _mm_set1_epi8(4);
    const __m128i space = _mm_set1_epi8(0x20);
    const __m128i lf = _mm_set1_epi8(0x0A);
    const __m128i c2 = _mm_set1_epi8(static_cast<char>(0xC2));
    const __m128i e1 = _mm_set1_epi8(static_cast<char>(0xE1));
    const __m128i e2 = _mm_set1_epi8(static_cast<char>(0xE2));
    const __m128i e3 = _mm_set1_epi8(static_cast<char>(0xE3));
    for (std::size_t b = 0; b < nBlocks; ++b, p += 64) {
        std::uint64_t sep = 0, nl = 0, hi = 0;
        __m128i x[4];
        for (int k = 0; k < 4; ++k) {
            x[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
            const __m128i t = _mm_sub_epi8(x[k], nine);
            const __m128i ws =
                _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(t, four), t), _mm_cmpeq_epi8(x[k], space));
            sep |= mask16(ws) << (16 * k);
            nl |= mask16(_mm_cmpeq_epi8(x[k], lf)) << (16 * k);
            hi |= mask16(x[k]) << (16 * k);
        }
        std::uint64_t next = 0;
        if (hi) {
            std::uint64_t cand = 0;
            for (int k = 0; k < 4; ++k) {
                const __m128i c =
                    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x[k], c2), _mm_cmpeq_epi8(x[k], e1)),
                                 _mm_or_si128(_mm_cmpeq_epi8(x[k], e2), _mm_cmpeq_epi8(x[k], e3)));
                cand |= mask16(c) << (16 * k);
            }
            if (cand) sep |= multiByteSeparators(p, cand, next);
        }
        sepOut[b] = sep | carry;
        nlOut[b] = nl;
        carry = next;
    }
}

__attribute__((target("avx2"))) inline std::uint64_t mask32(__m256i v) {
    return static_cast<std::uint32_t>(_mm256_movemask_epi8(v));
}

/// Bytes that may start a multi-byte separator: 0xC2 or 0xE1..0xE3 (x - 0xE1 <= 2 unsigned).
__attribute__((target("avx2"))) inline __m256i leadBytes(__m256i v) {
    const __m256i t = _mm256_sub_epi8(v, _mm256_set1_epi8(static_cast<char>(0xE1)));
    const __m256i e = _mm256_cmpeq_epi8(_mm256_min_epu8(t, _mm256_set1_epi8(2)), t);
    return _mm256_or_si256(e, _mm256_cmpeq_epi8(v, _mm256_set1_epi8(static_cast<char>(0xC2))));
}

__attribute__((target("avx2"))) void classifyAvx2(const unsigned char* p, std::size_t nBlocks,
                                                  std::uint64_t* sepOut, std::uint64_t* nlOut,
                                                  std::uint64_t& carry) {
    // pshufb lookup by low nibble: the one ASCII separator with that low nibble (0x20, 0x09..0x0D),
    // 0 elsewhere; bytes >= 0x80 look up 0 and never match themselves.
    const __m256i table = _mm256_setr_epi8(0x20, 0, 0, 0, 0, 0, 0, 0, 0, 9, 10, 11, 12, 13, 0, 0,  //
                                           0x20, 0, 0, 0, 0, 0, 0, 0, 0, 9, 10, 11, 12, 13, 0, 0);
    const __m256i lf = _mm256_set1_epi8(0x0A);
    for (std::size_t b = 0; b < nBlocks; ++b, p += 64) {
        const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
        std::uint64_t sep = mask32(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, x0), x0)) |
                            (mask32(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, x1), x1)) << 32);
        const std::uint64_t nl =
            mask32(_mm256_cmpeq_epi8(x0, lf)) | (mask32(_mm256_cmpeq_epi8(x1, lf)) << 32);
        const std::uint64_t hi = mask32(x0) | (mask32(x1) << 32);
        std::uint64_t next = 0;
        if (hi) {
            const std::uint64_t cand = mask32(leadBytes(x0)) | (mask32(leadBytes(x1)) << 32);
            if (cand) sep |= multiByteSeparators(p, cand, next);
        }
        sepOut[b] = sep | carry;
        nlOut[b] = nl;
        carry = next;
    }
}

/// Word starts of a block given its separator mask; updates prev.
inline std::uint64_t startsOf(std::uint64_t sep, std::uint64_t& prev) {
    const std::uint64_t starts = ~sep & ((sep << 1) | prev);
    prev = sep >> 63;
    return starts;
}

template <int Variant>
__attribute__((always_inline)) inline void totalsSse2Impl(const unsigned char* p, std::size_t limit,
                                                          TotalsState& st) {
    const std::size_t full = limit / 64;
    std::uint64_t sep[1], nl[1];
    std::uint64_t words = 0, lines = 0, prev = st.prevSep;
    for (std::size_t b = 0; b < full; ++b) {
        classifySse2(p + 64 * b, 1, sep, nl, st.carry);
        words += static_cast<std::uint64_t>(__builtin_popcountll(startsOf(sep[0], prev)));
        lines += static_cast<std::uint64_t>(__builtin_popcountll(nl[0]));
    }
    if (const std::size_t rest = limit % 64) {
        const std::uint64_t valid = (std::uint64_t{1} << rest) - 1;
        classifySse2(p + 64 * full, 1, sep, nl, st.carry);
        words += static_cast<std::uint64_t>(__builtin_popcountll(startsOf(sep[0], prev) & valid));
        lines += static_cast<std::uint64_t>(__builtin_popcountll(nl[0] & valid));
    }
    st.prevSep = prev;
    st.words += words;
    st.lines += lines;
}

void totalsSse2(const unsigned char* p, std::size_t limit, TotalsState& st) {
    totalsSse2Impl<0>(p, limit, st);
}

__attribute__((target("popcnt"))) void totalsSse2Popcnt(const unsigned char* p, std::size_t limit,
                                                        TotalsState& st) {
    totalsSse2Impl<1>(p, limit, st);
}

__attribute__((target("avx2,popcnt"))) inline std::uint64_t hsum64(__m256i v) {
    const __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    return static_cast<std::uint64_t>(_mm_cvtsi128_si64(s)) +
           static_cast<std::uint64_t>(_mm_extract_epi64(s, 1));
}

/// Fused AVX2 loop: separators by pshufb lookup, word starts by popcount of a 64-bit mask, newlines
/// summed in byte lanes (flushed with psadbw before they can overflow).
__attribute__((target("avx2,popcnt"))) void totalsAvx2(const unsigned char* p, std::size_t limit,
                                                       TotalsState& st) {
    const __m256i table = _mm256_setr_epi8(0x20, 0, 0, 0, 0, 0, 0, 0, 0, 9, 10, 11, 12, 13, 0, 0,  //
                                           0x20, 0, 0, 0, 0, 0, 0, 0, 0, 9, 10, 11, 12, 13, 0, 0);
    const __m256i lf = _mm256_set1_epi8(0x0A);
    const std::size_t full = limit / 64;
    std::uint64_t words = 0, prev = st.prevSep, carry = st.carry;
    __m256i lineAcc = _mm256_setzero_si256();  // 64-bit lane sums
    std::size_t b = 0;
    while (b < full) {
        const std::size_t stop = std::min(full, b + 255);
        __m256i nlBytes = _mm256_setzero_si256();  // per-byte newline counts, < 256 each
        for (; b < stop; ++b) {
            const unsigned char* q = p + 64 * b;
            const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
            const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 32));
            std::uint64_t sep = mask32(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, x0), x0)) |
                                (mask32(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, x1), x1)) << 32);
            nlBytes = _mm256_sub_epi8(nlBytes, _mm256_cmpeq_epi8(x0, lf));
            nlBytes = _mm256_sub_epi8(nlBytes, _mm256_cmpeq_epi8(x1, lf));
            // Lead bytes of the multi-byte separators, computed without a branch: a branch on "any
            // byte >= 0x80" mispredicts on text with scattered UTF-8; possible leads are rarer.
            std::uint64_t next = 0;
            const std::uint64_t cand = mask32(leadBytes(x0)) | (mask32(leadBytes(x1)) << 32);
            if (cand) sep |= multiByteSeparators(q, cand, next);
            sep |= carry;
            carry = next;
            words += static_cast<std::uint64_t>(_mm_popcnt_u64(~sep & ((sep << 1) | prev)));
            prev = sep >> 63;
        }
        lineAcc = _mm256_add_epi64(lineAcc, _mm256_sad_epu8(nlBytes, _mm256_setzero_si256()));
    }
    std::uint64_t lines = hsum64(lineAcc);
    if (const std::size_t rest = limit % 64) {
        const std::uint64_t valid = (std::uint64_t{1} << rest) - 1;
        std::uint64_t sep[1], nl[1];
        classifyAvx2(p + 64 * full, 1, sep, nl, carry);
        words += static_cast<std::uint64_t>(_mm_popcnt_u64(~sep[0] & ((sep[0] << 1) | prev) & valid));
        lines += static_cast<std::uint64_t>(_mm_popcnt_u64(nl[0] & valid));
        prev = sep[0] >> 63;
    }
    st.prevSep = prev;
    st.carry = carry;
    st.words += words;
    st.lines += lines;
}

// ---- characters and line widths (GNU wc -m / -L) ----

/// Valid characters among the lead candidates of a block (bytes >= 0xC0 at bits of lead): their bits
/// go to chars, and a width of 1 or 2 to w1 (and w2) at the lead byte.
__attribute__((always_inline)) inline void multiByteChars(const unsigned char* p, std::uint64_t lead,
                                                          std::uint64_t& chars, std::uint64_t& w1,
                                                          std::uint64_t& w2) {
    while (lead) {
        const unsigned j = static_cast<unsigned>(__builtin_ctzll(lead));
        lead &= lead - 1;
        std::uint32_t cp;
        if (decodeGlibcUtf8(p + j, cp)) {
            const std::uint64_t bit = std::uint64_t{1} << j;
            const unsigned w = widthOf(cp);
            chars |= bit;
            if (w) w1 |= bit;
            if (w > 1) w2 |= bit;
        }
    }
}

__attribute__((always_inline)) inline void tabStop(LineState& st) {
    if (!st.lineEnd && !st.headTab) {
        st.headTab = true;
        st.headWidth = st.col;
        st.col = 0;
    } else {
        st.col = (st.col | 7) + 1;
    }
}

__attribute__((always_inline)) inline void lineEnd(LineState& st) {
    if (!st.lineEnd) {
        st.lineEnd = true;
        st.headEnd = st.col;
    } else {
        st.innerMax = std::max(st.innerMax, st.col);
    }
    st.col = 0;
}

/// One block: width bits w1 (+ w2 for wide characters), ev = tabs and line ends, in position order.
__attribute__((always_inline)) inline void lineBlock(LineState& st, std::uint64_t w1, std::uint64_t w2,
                                                     std::uint64_t ev, std::uint64_t tabs) {
    while (ev) {
        const std::uint64_t bit = ev & (0 - ev);
        const std::uint64_t below = bit - 1;
        st.col +=
            static_cast<std::uint64_t>(__builtin_popcountll(w1 & below) + __builtin_popcountll(w2 & below));
        w1 &= ~below;
        w2 &= ~below;
        if (tabs & bit) {
            tabStop(st);
        } else {
            lineEnd(st);
        }
        ev ^= bit;
    }
    st.col += static_cast<std::uint64_t>(__builtin_popcountll(w1) + __builtin_popcountll(w2));
}

/// A block given its masks: hi (bytes >= 0x80), tabs, ev (tab, LF, FF, CR), print (ASCII 0x20..0x7E)
/// and cont() the continuation bytes 0x80..0xBF (computed only for a block with bytes >= 0x80); valid
/// = the positions to count.
template <typename Cont>
__attribute__((always_inline)) inline void linesOf(const unsigned char* p, std::uint64_t hi,
                                                   std::uint64_t tabs, std::uint64_t ev, std::uint64_t print,
                                                   Cont&& cont, std::uint64_t valid, LineState& st) {
    if (!hi) {  // ASCII: every byte is a character, the printable ones of width 1
        st.chars += static_cast<std::uint64_t>(__builtin_popcountll(valid));
        lineBlock(st, print & valid, 0, ev & valid, tabs);
        return;
    }
    std::uint64_t chars = ~hi, w1 = print, w2 = 0;
    if (const std::uint64_t lead = hi & ~cont() & valid) multiByteChars(p, lead, chars, w1, w2);
    st.chars += static_cast<std::uint64_t>(__builtin_popcountll(chars & valid));
    lineBlock(st, w1 & valid, w2, ev & valid, tabs);
}

__attribute__((always_inline)) inline void linesBlockSse2(const unsigned char* p, std::uint64_t valid,
                                                          LineState& st) {
    const __m128i tab = _mm_set1_epi8(9), lf = _mm_set1_epi8(10), ff = _mm_set1_epi8(12),
                  cr = _mm_set1_epi8(13), one = _mm_set1_epi8(1), sp = _mm_set1_epi8(0x20);
    std::uint64_t hi = 0, tabs = 0, ev = 0, print = 0;
    __m128i x[4];
    for (int k = 0; k < 4; ++k) {
        x[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
        const __m128i t = _mm_cmpeq_epi8(x[k], tab);
        const __m128i e = _mm_or_si128(_mm_or_si128(t, _mm_cmpeq_epi8(x[k], lf)),
                                       _mm_or_si128(_mm_cmpeq_epi8(x[k], ff), _mm_cmpeq_epi8(x[k], cr)));
        hi |= mask16(x[k]) << (16 * k);
        tabs |= mask16(t) << (16 * k);
        ev |= mask16(e) << (16 * k);
        print |= mask16(_mm_cmpgt_epi8(_mm_add_epi8(x[k], one), sp)) << (16 * k);  // 0x20..0x7E
    }
    const auto cont = [&] {
        const __m128i c0 = _mm_set1_epi8(static_cast<char>(0xC0));
        std::uint64_t c = 0;
        for (int k = 0; k < 4; ++k)
            c |= mask16(_mm_cmpgt_epi8(c0, x[k])) << (16 * k);  // signed: 0x80..0xBF
        return c;
    };
    linesOf(p, hi, tabs, ev, print, cont, valid, st);
}

__attribute__((target("avx2"))) __attribute__((always_inline)) inline void linesBlockAvx2(
    const unsigned char* p, std::uint64_t valid, LineState& st) {
    // pshufb lookup by low nibble: the line end or tab with that low nibble; bytes >= 0x80 look up 0
    // and 0x00 looks up 0xFF, so neither matches itself.
    const __m256i evTable =
        _mm256_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, 9, 10, -1, 12, 13, -1, -1,  //
                         -1, -1, -1, -1, -1, -1, -1, -1, -1, 9, 10, -1, 12, 13, -1, -1);
    const __m256i tab = _mm256_set1_epi8(9), one = _mm256_set1_epi8(1), sp = _mm256_set1_epi8(0x20);
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    const std::uint64_t hi = mask32(x0) | (mask32(x1) << 32);
    const std::uint64_t tabs =
        mask32(_mm256_cmpeq_epi8(x0, tab)) | (mask32(_mm256_cmpeq_epi8(x1, tab)) << 32);
    const std::uint64_t ev = mask32(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(evTable, x0), x0)) |
                             (mask32(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(evTable, x1), x1)) << 32);
    const std::uint64_t print = mask32(_mm256_cmpgt_epi8(_mm256_add_epi8(x0, one), sp)) |
                                (mask32(_mm256_cmpgt_epi8(_mm256_add_epi8(x1, one), sp)) << 32);
    const auto cont = [&]() __attribute__((target("avx2"))) {
        const __m256i c0 = _mm256_set1_epi8(static_cast<char>(0xC0));
        return mask32(_mm256_cmpgt_epi8(c0, x0)) | (mask32(_mm256_cmpgt_epi8(c0, x1)) << 32);
    };
    linesOf(p, hi, tabs, ev, print, cont, valid, st);
}

template <int Variant>
__attribute__((always_inline)) inline void linesSse2Impl(const unsigned char* p, std::size_t limit,
                                                         LineState& st) {
    LineState l = st;  // in registers
    const std::size_t full = limit / 64;
    for (std::size_t b = 0; b < full; ++b)
        linesBlockSse2(p + 64 * b, ~std::uint64_t{0}, l);
    if (const std::size_t rest = limit % 64) linesBlockSse2(p + 64 * full, (std::uint64_t{1} << rest) - 1, l);
    st = l;
}

void linesSse2(const unsigned char* p, std::size_t limit, LineState& st) {
    linesSse2Impl<0>(p, limit, st);
}

__attribute__((target("popcnt"))) void linesSse2Popcnt(const unsigned char* p, std::size_t limit,
                                                       LineState& st) {
    linesSse2Impl<1>(p, limit, st);
}

__attribute__((target("avx2,popcnt"))) void linesAvx2(const unsigned char* p, std::size_t limit,
                                                      LineState& st) {
    LineState l = st;  // in registers
    const std::size_t full = limit / 64;
    for (std::size_t b = 0; b < full; ++b)
        linesBlockAvx2(p + 64 * b, ~std::uint64_t{0}, l);
    if (const std::size_t rest = limit % 64) linesBlockAvx2(p + 64 * full, (std::uint64_t{1} << rest) - 1, l);
    st = l;
}

}  // namespace

unsigned charWidth(std::uint32_t cp) {
    return widthOf(cp);
}

LinesFn linesKernel(Kernel k) {
    if (k != Kernel::Sse2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt"))
        return linesAvx2;
    return __builtin_cpu_supports("popcnt") ? linesSse2Popcnt : linesSse2;
}

LineWidthSummary lineSummary(const LineState& st) {
    LineWidthSummary s;
    const std::uint64_t headCol = st.lineEnd ? st.headEnd : st.col;
    s.headTab = st.headTab;
    if (st.headTab) {
        s.headWidth = st.headWidth;
        s.headAfterTab = headCol;
    } else {
        s.headWidth = headCol;
    }
    if (st.lineEnd) {
        s.hasLineEnd = true;
        s.innerMax = st.innerMax;
        s.tail = st.col;
    }
    return s;
}

TotalsFn totalsKernel(Kernel k) {
    if (k != Kernel::Sse2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt"))
        return totalsAvx2;
    return __builtin_cpu_supports("popcnt") ? totalsSse2Popcnt : totalsSse2;
}

ClassifyFn classifier(Kernel k) {
    const bool avx2 = __builtin_cpu_supports("avx2");
    if (k == Kernel::Sse2) return classifySse2;
    return avx2 ? classifyAvx2 : classifySse2;
}

}  // namespace raftwc::wordcount::detail

namespace raftwc::wordcount {

const char* autoKernelName() {
    return __builtin_cpu_supports("avx2") ? "avx2" : "sse2";
}

bool kernelSupported(Kernel k) {
    return k != Kernel::Avx2 || __builtin_cpu_supports("avx2");
}

}  // namespace raftwc::wordcount
