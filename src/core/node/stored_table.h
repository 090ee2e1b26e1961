// Reading a finished job's frequency table, which is stored in pieces: piece 0 in its JobResult entry, the
// rest in JobTablePiece entries; all are read back when asked for (through a PayloadReader: the job's table
// file, or the log until it is written), none is kept in memory (docs/PROTOCOL.md §9, docs/API.md).
#pragma once

#include <QByteArray>
#include <QString>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "node/statemachine.h"
#include "wordcount/frequency_table.h"

namespace raftwc::node {

/// The payload of the Normal entry at a log index (nullopt if it cannot be read).
using PayloadReader = std::function<std::optional<QByteArray>(raft::Index)>;

/// Words in the job's table: piece 0's plus every other piece's.
std::uint64_t storedTableWords(const StoredJob& job);

/// Decoded pieces kept between requests (paging through a table reads each piece once).
class TablePieceCache {
  public:
    std::shared_ptr<const std::vector<wordcount::WordCount>> get(const QByteArray& job,
                                                                 std::size_t piece) const;
    void put(const QByteArray& job, std::size_t piece,
             std::shared_ptr<const std::vector<wordcount::WordCount>> v);

  private:
    struct Slot {
        QByteArray job;
        std::size_t piece = 0;
        std::shared_ptr<const std::vector<wordcount::WordCount>> words;
    };
    std::vector<Slot> slots_;  ///< most recent last, at most kSlots
    static constexpr std::size_t kSlots = 4;
};

struct StoredWordsPage {
    std::vector<wordcount::WordCount> words;  ///< at most limit, from offset, in table order
    std::uint64_t stored = 0;                 ///< words the stored table has
    QString error;                            ///< set if a piece could not be read or decoded
};

/// One page of the stored table, reading only the pieces it overlaps.
StoredWordsPage storedWordsPage(const StoredJob& job, std::size_t offset, std::size_t limit,
                                const PayloadReader& read, TablePieceCache* cache = nullptr);

}  // namespace raftwc::node
