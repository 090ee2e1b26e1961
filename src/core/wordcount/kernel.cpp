#include "wordcount/kernel.h"

#include <immintrin.h>

#include <algorithm>

namespace raftwc::wordcount::detail {

namespace {

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

}  // namespace

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
