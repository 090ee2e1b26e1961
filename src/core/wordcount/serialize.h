// Versioned binary encoding of ShardCounts for RPC. Little-endian:
//   "RWCS" | u16 version (1) | u8 mode | u8 0 | u64 words | u64 lines | u64 bytes | u64 entries |
//   entries x (u32 length | bytes | u64 count >= 1) | u64 hashBytes(everything before).
// decode rejects: wrong magic/version/mode, truncation, trailing bytes, zero counts, duplicate words,
// a table in mode None, a raw table whose counts do not sum to words, a bad checksum.
#pragma once

#include <string>
#include <string_view>

#include "wordcount/wordcount.h"

namespace raftwc::wordcount {

inline constexpr std::uint16_t kShardCountsVersion = 1;

std::string encodeShardCounts(const ShardCounts& counts);
/// False (with a reason in error, out unspecified) on malformed input.
bool decodeShardCounts(std::string_view bytes, ShardCounts& out, std::string* error = nullptr);

}  // namespace raftwc::wordcount
