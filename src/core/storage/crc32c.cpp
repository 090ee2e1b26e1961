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
__attribute__((target("sse4.2"))) std::uint32_t crc32cHardware(std::uint32_t crc, const void* data,
                                                               std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t c = ~crc;
    while (n > 0 && (reinterpret_cast<std::uintptr_t>(p) & 7u) != 0) {
        c = _mm_crc32_u8(static_cast<std::uint32_t>(c), *p++);
        --n;
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
