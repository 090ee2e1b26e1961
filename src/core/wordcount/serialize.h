// Versioned binary encoding of ShardCounts for RPC. Little-endian:
//   "RWCS" | u16 version (2) | u8 mode | u8 0 | u64 words | u64 lines | u64 bytes | u64 entries |
//   entries x (u32 length | bytes | u64 count >= 1) |
//   v2: u8 known (1 chars, 2 line widths) | u64 chars | u32 fragments |
//       fragments x (u64 offset | u64 length | u8 flags (1 line end, 2 head tab) | u64 headWidth |
//                    u64 headAfterTab | u64 innerMax | u64 tail) |
//   u64 hashBytes(everything before).
// Version 1 (no v2 fields) still decodes, with chars and line widths unknown.
// decode rejects: wrong magic/version/mode, truncation, trailing bytes, zero counts, duplicate words,
// a table in mode None, a raw table whose counts do not sum to words, a bad checksum; and in v2 unknown
// flags, chars above bytes, fragments that are empty, out of order, wider than 8 columns per byte,
// not canonical, or longer in total than bytes.
#pragma once

#include <string>
#include <string_view>

#include "wordcount/wordcount.h"

namespace raftwc::wordcount {

inline constexpr std::uint16_t kShardCountsVersion = 2;

std::string encodeShardCounts(const ShardCounts& counts);
/// False (with a reason in error, out unspecified) on malformed input.
bool decodeShardCounts(std::string_view bytes, ShardCounts& out, std::string* error = nullptr);

}  // namespace raftwc::wordcount
