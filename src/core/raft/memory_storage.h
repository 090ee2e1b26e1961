// MemoryStorage: Storage kept in memory, for unit tests and the deterministic simulation. A value type:
// copying it is how the simulation models "what was synced survives a crash".
#pragma once

#include <vector>

#include "raft/storage.h"

namespace raftwc::raft {

class MemoryStorage final : public Storage {
  public:
    HardState hardState() const override { return hardState_; }
    ConfState baseConfState() const override { return {}; }
    Index firstIndex() const override { return 1; }
    Index lastIndex() const override { return entries_.size(); }
    Term term(Index i) const override;
    std::vector<Entry> entries(Index lo, Index hi, std::size_t maxBytes) const override;
    std::vector<Entry> confEntries() const override;

    void setHardState(const HardState& hs) { hardState_ = hs; }
    /// Appends `ents` (consecutive indexes), first dropping every stored entry at or after
    /// ents.front().index. \pre ents.front().index <= lastIndex() + 1
    void append(const std::vector<Entry>& ents);
    const std::vector<Entry>& all() const { return entries_; }

  private:
    HardState hardState_;
    std::vector<Entry> entries_;  ///< entries_[i] has index i + 1.
};

}  // namespace raftwc::raft
