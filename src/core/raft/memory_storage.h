// MemoryStorage: Storage kept in memory, for unit tests and the deterministic simulation. A value type:
// copying it is how the simulation models "what was synced survives a crash".
#pragma once

#include <vector>

#include "raft/storage.h"

namespace raftwc::raft {

class MemoryStorage final : public Storage {
  public:
    HardState hardState() const override { return hardState_; }
    ConfState baseConfState() const override { return snap_.meta.conf; }
    std::optional<Snapshot> snapshot() const override;
    Index firstIndex() const override { return snap_.meta.index + 1; }
    Index lastIndex() const override { return snap_.meta.index + entries_.size(); }
    Term term(Index i) const override;
    std::vector<Entry> entries(Index lo, Index hi, std::size_t maxBytes) const override;
    std::vector<Entry> confEntries() const override;

    void setHardState(const HardState& hs) { hardState_ = hs; }
    /// Appends `ents` (consecutive indexes), first dropping every stored entry at or after
    /// ents.front().index. \pre firstIndex() <= ents.front().index <= lastIndex() + 1
    void append(const std::vector<Entry>& ents);
    /// Stored entries, firstIndex() first.
    const std::vector<Entry>& all() const { return entries_; }

    /// Records a snapshot the application made of its state at `s.meta.index` and deletes the entries
    /// it covers (compaction). \pre firstIndex() - 1 <= s.meta.index <= lastIndex(), with the stored
    /// term there; throws std::invalid_argument otherwise (a snapshot older than the current one too).
    void compact(const Snapshot& s);
    /// Installs a snapshot received from the leader (Ready::snapshot): the whole log is replaced by it.
    /// Entries after it are kept only if the log holds the snapshot's (index, term) (etcd does the same).
    void applySnapshot(const Snapshot& s);

  private:
    HardState hardState_;
    Snapshot snap_;               ///< Empty (index 0) until the first compaction.
    std::vector<Entry> entries_;  ///< entries_[k] has index snap_.meta.index + 1 + k.
};

}  // namespace raftwc::raft
