// RaftLog: the core's view of the log = stable entries read through Storage + an "unstable" buffer of
// entries not yet persisted (etcd's raftLog / unstable). Internal to the core.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "raft/storage.h"
#include "raft/types.h"

namespace raftwc::raft {

class RaftLog {
  public:
    explicit RaftLog(const Storage& storage);

    /// First index held (after a received snapshot not yet persisted: the one after it).
    Index firstIndex() const { return snap_ ? snap_->meta.index + 1 : storage_.firstIndex(); }
    /// Last index of the log (unstable entries included).
    Index lastIndex() const { return offset_ - 1 + unstable_.size(); }
    Term lastTerm() const { return termOrZero(lastIndex()); }
    /// Every entry at or below this index is in Storage (persisted) and agrees with this log.
    Index stableLastIndex() const { return offset_ - 1; }
    Index unstableOffset() const { return offset_; }
    const std::vector<Entry>& unstableEntries() const { return unstable_; }

    /// Term of entry i; nullopt if i is out of the available range (compacted or past the end).
    std::optional<Term> term(Index i) const;
    Term termOrZero(Index i) const { return term(i).value_or(0); }
    bool matchTerm(Index i, Term t) const {
        auto tt = term(i);
        return tt && *tt == t;
    }
    /// Raft §5.4.1: is (lastTerm, lastIndex) at least as up to date as this log?
    bool isUpToDate(Term lt, Index li) const {
        return lt > lastTerm() || (lt == lastTerm() && li >= lastIndex());
    }

    /// Entries [lo, hi) limited to about maxBytes of payload (at least one if lo < hi).
    /// \pre firstIndex() <= lo <= hi <= lastIndex() + 1
    std::vector<Entry> entries(Index lo, Index hi, std::size_t maxBytes) const;

    /// Index of the first entry of `ents` whose term conflicts with (or is missing from) the log;
    /// 0 if every entry is already present.
    Index findConflict(const std::vector<Entry>& ents) const;
    /// etcd's findConflictByTerm: the largest index <= index whose term is <= term, and its term.
    std::pair<Index, Term> findConflictByTerm(Index index, Term term) const;

    /// Appends consecutive entries, truncating any conflicting suffix at ents.front().index.
    /// \pre ents.front().index > committed()
    void append(const std::vector<Entry>& ents);
    /// Marks entries up to i (if still of term t) as persisted: drops them from the unstable buffer.
    void stableTo(Index i, Term t);

    /// Replaces the whole log by a snapshot received from the leader (etcd's raftLog.restore): it is
    /// "unstable" until the application persisted it (stableSnapTo). Commit moves to the snapshot's index.
    /// \pre s.meta.index > committed()
    void restore(const Snapshot& s);
    /// The received snapshot not yet persisted, if any.
    const std::optional<Snapshot>& pendingSnapshot() const { return snap_; }
    /// The snapshot at index i is persisted: Storage now starts after it.
    void stableSnapTo(Index i);

    Index committed() const { return committed_; }
    Index applied() const { return applied_; }
    void commitTo(Index i);
    void appliedTo(Index i);
    /// Only at start-up (restored hard state) and in bootstrap.
    void setCommitted(Index i) { committed_ = i; }

  private:
    const Storage& storage_;
    std::optional<Snapshot> snap_;  ///< Received, not yet persisted. Then offset_ == snap_->meta.index + 1.
    Index offset_ = 1;              ///< Index of unstable_[0]. Invariant: offset_ >= storage_.firstIndex().
    std::vector<Entry> unstable_;   ///< Not yet persisted; unstable_[k].index == offset_ + k.
    Index committed_ = 0;           ///< Invariant: applied_ <= committed_ <= lastIndex().
    Index applied_ = 0;
};

}  // namespace raftwc::raft
