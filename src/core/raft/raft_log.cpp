#include "raft/raft_log.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace raftwc::raft {

RaftLog::RaftLog(const Storage& storage) : storage_(storage) {
    offset_ = storage_.lastIndex() + 1;
}

std::optional<Term> RaftLog::term(Index i) const {
    if (i >= offset_) {
        if (i - offset_ < unstable_.size()) return unstable_[i - offset_].term;
        return std::nullopt;
    }
    if (snap_) {  // the stored entries below it are being replaced
        if (i == snap_->meta.index) return snap_->meta.term;
        return std::nullopt;
    }
    const Index first = storage_.firstIndex();
    if (i + 1 < first) return std::nullopt;
    if (i > storage_.lastIndex()) return std::nullopt;
    return storage_.term(i);
}

std::vector<Entry> RaftLog::entries(Index lo, Index hi, std::size_t maxBytes) const {
    if (lo < firstIndex() || lo > hi || hi > lastIndex() + 1)
        throw std::logic_error("RaftLog::entries: range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                               ") out of bounds");
    std::vector<Entry> out;
    if (lo == hi) return out;
    std::size_t bytes = 0;
    if (lo < offset_) {
        const Index shi = std::min(hi, offset_);
        out = storage_.entries(lo, shi, maxBytes);
        for (const Entry& e : out)
            bytes += e.data.size();
        if (out.empty() || out.back().index + 1 < shi) return out;  // size limit reached
    }
    for (Index i = std::max(lo, offset_); i < hi; ++i) {
        const Entry& e = unstable_[i - offset_];
        if (!out.empty() && bytes + e.data.size() > maxBytes) break;
        bytes += e.data.size();
        out.push_back(e);
    }
    return out;
}

Index RaftLog::findConflict(const std::vector<Entry>& ents) const {
    for (const Entry& e : ents)
        if (!matchTerm(e.index, e.term)) return e.index;
    return 0;
}

std::pair<Index, Term> RaftLog::findConflictByTerm(Index index, Term t) const {
    index = std::min(index, lastIndex());
    while (true) {
        auto tt = term(index);
        if (!tt) return {index, 0};
        if (*tt <= t || index == 0) return {index, *tt};
        --index;
    }
}

void RaftLog::append(const std::vector<Entry>& ents) {
    if (ents.empty()) return;
    const Index after = ents.front().index;
    if (after <= committed_)
        throw std::logic_error("RaftLog::append: would truncate committed entry " + std::to_string(after) +
                               " (committed " + std::to_string(committed_) + ")");
    if (after > lastIndex() + 1)
        throw std::logic_error("RaftLog::append: gap before index " + std::to_string(after));
    if (after == offset_ + unstable_.size()) {
        unstable_.insert(unstable_.end(), ents.begin(), ents.end());
    } else if (after <= offset_) {
        // Replaces stable entries too: the Ready hands these out and the application truncates storage.
        offset_ = after;
        unstable_ = ents;
    } else {
        unstable_.resize(after - offset_);
        unstable_.insert(unstable_.end(), ents.begin(), ents.end());
    }
}

void RaftLog::stableTo(Index i, Term t) {
    if (snap_) return;  // entries after a snapshot are durable only once it is (writes complete in order)
    if (i < offset_ || !matchTerm(i, t)) return;
    unstable_.erase(unstable_.begin(), unstable_.begin() + static_cast<std::ptrdiff_t>(i + 1 - offset_));
    offset_ = i + 1;
}

void RaftLog::restore(const Snapshot& s) {
    if (s.meta.index <= committed_)
        throw std::logic_error("RaftLog::restore: snapshot " + std::to_string(s.meta.index) +
                               " is not past commit " + std::to_string(committed_));
    snap_ = s;
    offset_ = s.meta.index + 1;
    unstable_.clear();
    committed_ = s.meta.index;
}

void RaftLog::stableSnapTo(Index i) {
    if (snap_ && snap_->meta.index == i) snap_.reset();
}

void RaftLog::commitTo(Index i) {
    if (i <= committed_) return;
    if (i > lastIndex())
        throw std::logic_error("RaftLog::commitTo(" + std::to_string(i) + ") past last index " +
                               std::to_string(lastIndex()));
    committed_ = i;
}

void RaftLog::appliedTo(Index i) {
    if (i == 0 || i <= applied_) return;
    if (i > committed_)
        throw std::logic_error("RaftLog::appliedTo(" + std::to_string(i) + ") past commit " +
                               std::to_string(committed_));
    applied_ = i;
}

}  // namespace raftwc::raft
