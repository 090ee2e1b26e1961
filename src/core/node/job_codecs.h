// The jobs' wire values and their codecs (pure functions over bytes, like the other codecs): shard requests,
// replies and progress notes between nodes, and the bounded frequency table committed with a result.
// Decoders return nullopt on any malformed input.
#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raft/types.h"
#include "wordcount/wordcount.h"

namespace raftwc::node {

struct ShardRequest {
    QByteArray jobId;
    QByteArray fileId;
    /// The log index the worker waits to have applied: the file's manifest, or (pipelined) the last of
    /// the chunks that make up [0, knownEnd).
    raft::Index manifestIndex = 0;
    wordcount::ShardSpec shard;
    wordcount::FreqMode mode = wordcount::FreqMode::Normalized;
    std::uint32_t shardNo = 0;
    /// Pipelined counting (0: the stored file): the file is still being stored and its bytes [0, knownEnd)
    /// are committed; finalEnd says that knownEnd is its size. Encoded as version 2 (version 1 otherwise).
    std::uint64_t knownEnd = 0;
    bool finalEnd = false;
};
/// A worker's error for a pipelined piece whose last word runs past the bytes committed so far (the
/// coordinator sends it again once more of the file is stored).
inline constexpr const char* kNeedsMoreBytes = "needs_more_bytes";
QByteArray encodeShardRequest(const ShardRequest& r);
std::optional<ShardRequest> decodeShardRequest(const QByteArray& bytes);

struct ShardReply {
    bool ok = false;
    QString error;
    wordcount::ShardCounts counts;
    std::uint32_t ms = 0;
};
QByteArray encodeShardReply(const ShardReply& r);
/// A worker whose encoded reply would pass this (a shard of millions of distinct words) answers instead
/// ShardReply{false, kReplyTooLarge...}: the coordinator splits the shard in two and sends both halves, so a
/// reply never meets the transport's 64 MiB frame limit.
inline constexpr qsizetype kMaxShardReplyBytes = 48 << 20;
inline constexpr const char* kReplyTooLarge = "reply_too_large";
/// The reply a worker sends for `reply`: itself encoded, or the "too large" error if it is over `limit`.
QByteArray encodeShardReplyBounded(const ShardReply& reply, qsizetype limit = kMaxShardReplyBytes);
std::optional<ShardReply> decodeShardReply(const QByteArray& bytes);

struct ShardProgressNote {
    QByteArray jobId;
    std::uint32_t shardNo = 0;
    std::uint64_t bytesDone = 0;
};
QByteArray encodeShardProgress(const ShardProgressNote& p);
std::optional<ShardProgressNote> decodeShardProgress(const QByteArray& bytes);

/// The frequency table committed with a result: entries sorted by count desc, then word asc,
/// qCompress'ed. Bounded: if the whole table would exceed `maxCompressedBytes`, only the top entries
/// that fit are kept (*complete = false) — a file of a billion distinct tokens must not become one
/// giant log entry.
QByteArray encodeWordTable(const std::vector<wordcount::WordCount>& sorted, std::size_t maxCompressedBytes,
                           std::size_t* kept, bool* complete);
std::optional<std::vector<wordcount::WordCount>> decodeWordTable(const QByteArray& compressed);
inline constexpr std::size_t kMaxStoredTableBytes = 2u << 20;

/// The whole table cut into consecutive pieces in table order, each encodeWordTable'd to at most
/// `maxCompressedBytes` (a single entry that alone would not fit cannot occur: words are shownWord'ed).
/// Always at least one piece (an empty table is one empty piece). entries[k] = the words of piece k.
std::vector<QByteArray> encodeWordTablePieces(const std::vector<wordcount::WordCount>& sorted,
                                              std::size_t maxCompressedBytes,
                                              std::vector<std::size_t>* entries);

/// Words longer than this are shown (in a result's top list and its stored table) by shownWord().
inline constexpr std::size_t kMaxShownWordBytes = 256;
/// A word as results show it: itself, or if longer than kMaxShownWordBytes its first bytes (cut on a UTF-8
/// character boundary) followed by " …[N bytes, sha256 H]" (H: the first 16 hex digits of the SHA-256 of
/// the whole word). A space never occurs inside a word, so the form cannot be mistaken for one; counts
/// stay exact, and no result entry or table decoder limit can be exceeded by a long word (docs/API.md).
std::string shownWord(std::string_view word);

/// One entry of a word list as JSON, losslessly: {"word": text, "count": n}, where text is the word's
/// UTF-8 and any byte that is not part of a valid UTF-8 sequence appears as the escape \xNN (two
/// upper-case hex digits); such a word also carries "bytes": the base64 of its exact bytes, so raw words
/// that differ only in invalid bytes stay distinguishable and recoverable (docs/API.md).
QJsonObject wordJson(std::string_view word, qint64 count);
/// The word's text as wordJson shows it; *valid is false if it had bytes that are not UTF-8.
QString wordText(std::string_view word, bool* valid = nullptr);

}  // namespace raftwc::node
