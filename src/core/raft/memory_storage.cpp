#include "raft/memory_storage.h"

#include <stdexcept>
#include <string>

namespace raftwc::raft {

std::optional<Snapshot> MemoryStorage::snapshot() const {
    if (snap_.empty()) return std::nullopt;
    return snap_;
}

Term MemoryStorage::term(Index i) const {
    if (i == snap_.meta.index) return snap_.meta.term;
    if (i < snap_.meta.index) throw std::out_of_range("MemoryStorage::term: index compacted");
    if (i > lastIndex()) throw std::out_of_range("MemoryStorage::term: index past the end");
    return entries_[i - firstIndex()].term;
}

std::vector<Entry> MemoryStorage::entries(Index lo, Index hi, std::size_t maxBytes) const {
    if (lo < firstIndex() || lo > hi || hi > lastIndex() + 1)
        throw std::out_of_range("MemoryStorage::entries: range out of bounds");
    std::vector<Entry> out;
    std::size_t bytes = 0;
    for (Index i = lo; i < hi; ++i) {
        const Entry& e = entries_[i - firstIndex()];
        if (!out.empty() && bytes + e.data.size() > maxBytes) break;
        bytes += e.data.size();
        out.push_back(e);
    }
    return out;
}

std::vector<Entry> MemoryStorage::confEntries() const {
    std::vector<Entry> out;
    for (const Entry& e : entries_)
        if (e.type == EntryType::ConfChange) out.push_back(e);
    return out;
}

void MemoryStorage::append(const std::vector<Entry>& ents) {
    if (ents.empty()) return;
    const Index first = ents.front().index;
    if (first < firstIndex() || first > lastIndex() + 1)
        throw std::out_of_range("MemoryStorage::append: entries start at " + std::to_string(first) +
                                ", outside " + std::to_string(firstIndex()) + ".." +
                                std::to_string(lastIndex() + 1));
    entries_.resize(first - firstIndex());
    entries_.insert(entries_.end(), ents.begin(), ents.end());
}

void MemoryStorage::compact(const Snapshot& s) {
    const Index i = s.meta.index;
    if (i < snap_.meta.index || i > lastIndex() || i == 0)
        throw std::invalid_argument("MemoryStorage::compact: snapshot index " + std::to_string(i) +
                                    " outside the stored log " + std::to_string(snap_.meta.index) + ".." +
                                    std::to_string(lastIndex()));
    if (term(i) != s.meta.term)
        throw std::invalid_argument("MemoryStorage::compact: snapshot term differs from the stored entry's");
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(i - snap_.meta.index));
    snap_ = s;
}

void MemoryStorage::applySnapshot(const Snapshot& s) {
    const Index i = s.meta.index;
    if (i == 0) throw std::invalid_argument("MemoryStorage::applySnapshot: empty snapshot");
    std::vector<Entry> keep;
    if (i >= snap_.meta.index && i < lastIndex() && term(i) == s.meta.term)
        keep.assign(entries_.begin() + static_cast<std::ptrdiff_t>(i + 1 - firstIndex()), entries_.end());
    entries_ = std::move(keep);
    snap_ = s;
}

}  // namespace raftwc::raft
