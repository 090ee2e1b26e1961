// The read side of the log that the core consults. The core never writes storage: it hands entries and
// hard state out through Ready, the application persists them and then calls RawNode::advance().
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "raft/types.h"

namespace raftwc::raft {

/// Read-only view of stable (persisted) storage.
///
/// Invariants: firstIndex() >= 1; lastIndex() >= firstIndex() - 1 (equal means empty);
/// term(firstIndex() - 1) is valid (0 for an uncompacted log: the term "before index 1").
/// Implementations: MemoryStorage (tests, simulation), storage::RaftLogStore (the durable log).
/// I/O errors are fatal: implementations throw std::runtime_error, which stops the node.
class Storage {
  public:
    virtual ~Storage() = default;

    /// The persisted hard state and the configuration in force before the first stored entry
    /// (empty for an uncompacted log; after compaction, the configuration of the snapshot).
    virtual HardState hardState() const = 0;
    virtual ConfState baseConfState() const = 0;
    /// The newest snapshot, to send to a member that needs entries compacted away. Its index is at least
    /// firstIndex() - 1. nullopt: none can be sent now (never compacted, or one is being made); the core
    /// tries again later. The default suits a storage that never compacts.
    virtual std::optional<Snapshot> snapshot() const { return std::nullopt; }

    virtual Index firstIndex() const = 0;
    virtual Index lastIndex() const = 0;
    /// \pre firstIndex() - 1 <= i <= lastIndex()
    virtual Term term(Index i) const = 0;
    /// Entries [lo, hi), stopping before the total payload exceeds maxBytes but always returning at
    /// least one entry when lo < hi. \pre firstIndex() <= lo <= hi <= lastIndex() + 1
    virtual std::vector<Entry> entries(Index lo, Index hi, std::size_t maxBytes) const = 0;
    /// Every ConfChange entry in [firstIndex(), lastIndex()], ascending by index (membership is
    /// rebuilt from these at start-up without reading the whole log).
    virtual std::vector<Entry> confEntries() const = 0;
};

}  // namespace raftwc::raft
