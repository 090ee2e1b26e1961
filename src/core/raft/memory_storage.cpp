#include "raft/memory_storage.h"

#include <stdexcept>

namespace raftwc::raft {

Term MemoryStorage::term(Index i) const {
    if (i == 0) return 0;
    if (i > entries_.size()) throw std::out_of_range("MemoryStorage::term: index past the end");
    return entries_[i - 1].term;
}

std::vector<Entry> MemoryStorage::entries(Index lo, Index hi, std::size_t maxBytes) const {
    if (lo < 1 || lo > hi || hi > entries_.size() + 1)
        throw std::out_of_range("MemoryStorage::entries: range out of bounds");
    std::vector<Entry> out;
    std::size_t bytes = 0;
    for (Index i = lo; i < hi; ++i) {
        const Entry& e = entries_[i - 1];
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
    if (first < 1 || first > entries_.size() + 1)
        throw std::out_of_range("MemoryStorage::append: gap before the appended entries");
    entries_.resize(first - 1);
    entries_.insert(entries_.end(), ents.begin(), ents.end());
}

}  // namespace raftwc::raft
