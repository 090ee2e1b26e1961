#include "storage/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define RAFTWC_CRC32C_X86 1
#endif

namespace raftwc::storage {
namespace {

constexpr std::uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

constexpr std::array<std::uint32_t, 256> makeTable() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1u) ? (c >> 1) ^ kPoly : c >> 1;
        t[i] = c;
    }
    return t;
}

constexpr std::array<std::uint32_t, 256> kTable = makeTable();

}  // namespace

std::uint32_t crc32cTable(std::uint32_t crc, const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint32_t c = ~crc;
    for (std::size_t i = 0; i < n; ++i)
        c = kTable[(c ^ p[i]) & 0xffu] ^ (c >> 8);
    return ~c;
}

#ifdef RAFTWC_CRC32C_X86
namespace {

// Large buffers are processed as three independent streams of kBlock bytes (the crc32 instruction has a
// latency of 3 cycles and a throughput of 1), then combined: on the raw register (no inversions),
// R(s, A||B) = shift_|B|(R(s, A)) ^ R(0, B), and shift_n (appending n zero bytes) is linear in s, so it
// is a table lookup per byte of s.
constexpr std::size_t kBlock = 4096;

struct ShiftTable {
    std::uint32_t t[4][256];
    std::uint32_t apply(std::uint32_t s) const {
        return t[0][s & 0xff] ^ t[1][(s >> 8) & 0xff] ^ t[2][(s >> 16) & 0xff] ^ t[3][s >> 24];
    }
};

__attribute__((target("sse4.2"))) std::uint32_t rawZeros(std::uint32_t s, std::size_t n) {
    std::uint64_t c = s;
    for (std::size_t i = 0; i < n; i += 8)
        c = _mm_crc32_u64(c, 0);
    return static_cast<std::uint32_t>(c);
}

ShiftTable makeShift(std::size_t n) {
    std::uint32_t basis[32];
    for (int k = 0; k < 32; ++k)
        basis[k] = rawZeros(1u << k, n);
    ShiftTable st{};
    for (int j = 0; j < 4; ++j)
        for (std::uint32_t b = 0; b < 256; ++b) {
            std::uint32_t v = 0;
            for (int bit = 0; bit < 8; ++bit)
                if (b & (1u << bit)) v ^= basis[8 * j + bit];
            st.t[j][b] = v;
        }
    return st;
}

struct Shifts {
    ShiftTable one = makeShift(kBlock);
    ShiftTable two = makeShift(2 * kBlock);
};

}  // namespace

__attribute__((target("sse4.2"))) std::uint32_t crc32cHardware(std::uint32_t crc, const void* data,
                                                               std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t c = ~crc;
    while (n > 0 && (reinterpret_cast<std::uintptr_t>(p) & 7u) != 0) {
        c = _mm_crc32_u8(static_cast<std::uint32_t>(c), *p++);
        --n;
    }
    if (n >= 3 * kBlock) {
        static const Shifts shifts;  // immutable after its thread-safe initialization
        while (n >= 3 * kBlock) {
            std::uint64_t c0 = c, c1 = 0, c2 = 0;
            for (std::size_t i = 0; i < kBlock; i += 8) {
                std::uint64_t v0, v1, v2;
                std::memcpy(&v0, p + i, 8);
                std::memcpy(&v1, p + kBlock + i, 8);
                std::memcpy(&v2, p + 2 * kBlock + i, 8);
                c0 = _mm_crc32_u64(c0, v0);
                c1 = _mm_crc32_u64(c1, v1);
                c2 = _mm_crc32_u64(c2, v2);
            }
            c = shifts.two.apply(static_cast<std::uint32_t>(c0)) ^
                shifts.one.apply(static_cast<std::uint32_t>(c1)) ^ static_cast<std::uint32_t>(c2);
            p += 3 * kBlock;
            n -= 3 * kBlock;
        }
    }
    while (n >= 8) {
        std::uint64_t v;
        std::memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        c = _mm_crc32_u8(static_cast<std::uint32_t>(c), *p++);
        --n;
    }
    return ~static_cast<std::uint32_t>(c);
}

bool crc32cHardwareAvailable() {
    return __builtin_cpu_supports("sse4.2");
}
#else
std::uint32_t crc32cHardware(std::uint32_t crc, const void* data, std::size_t n) {
    return crc32cTable(crc, data, n);
}
bool crc32cHardwareAvailable() {
    return false;
}
#endif

std::uint32_t crc32cExtend(std::uint32_t crc, const void* data, std::size_t n) {
    // Decided once per process; immutable afterwards.
    static const bool hw = crc32cHardwareAvailable();
    return hw ? crc32cHardware(crc, data, n) : crc32cTable(crc, data, n);
}

}  // namespace raftwc::storage
