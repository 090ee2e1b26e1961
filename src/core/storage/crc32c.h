// CRC32C (Castagnoli), hardware-accelerated with SSE4.2 when the CPU has it, table-driven otherwise.
#pragma once

#include <cstddef>
#include <cstdint>

namespace raftwc::storage {

/// Extends `crc` (the CRC32C of the preceding bytes; 0 for none) over `n` more bytes.
/// crc32cExtend(crc32cExtend(0, a), b) == CRC32C of a followed by b.
std::uint32_t crc32cExtend(std::uint32_t crc, const void* data, std::size_t n);
inline std::uint32_t crc32c(const void* data, std::size_t n) {
    return crc32cExtend(0, data, n);
}

/// The two implementations, for tests and benchmarks. crc32cHardware requires crc32cHardwareAvailable().
std::uint32_t crc32cTable(std::uint32_t crc, const void* data, std::size_t n);
std::uint32_t crc32cHardware(std::uint32_t crc, const void* data, std::size_t n);
bool crc32cHardwareAvailable();

}  // namespace raftwc::storage
