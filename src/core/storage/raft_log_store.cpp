#include "storage/raft_log_store.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <iterator>

#include <sys/stat.h>
#include <stdexcept>

#include "storage/io_util.h"
#include "storage/snapshot_file.h"

namespace raftwc::storage {
namespace {
constexpr std::size_t kEntryOverhead = sizeof(raft::Entry);  // so empty entries count against the cache too
}

namespace {

/// Creates dir and any missing parents (0700: the directory holds users' files), fsyncing the parent of
/// every directory it creates so the new entries survive a crash.
Status createDirDurably(FileOps& ops, const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::exists(dir, ec)) return {};
    const fs::path path(dir);
    const fs::path parent = path.parent_path();
    if (!parent.empty() && parent != path)
        if (Status s = createDirDurably(ops, parent.string()); !s.ok()) return s;
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return detail::sysError("cannot create data directory", dir, errno);
    return detail::syncDir(ops, parent.empty() ? std::string(".") : parent.string());
}

}  // namespace

Result<std::unique_ptr<RaftLogStore>> RaftLogStore::open(RaftLogStoreOptions o) {
    if (!o.fileOps) o.fileOps = FileOps::posix();
    if (o.dir.empty()) return Status::error("data directory not set", EINVAL);
    if (Status s = createDirDurably(*o.fileOps, o.dir); !s.ok()) return s;
    auto lock = DirLock::acquire(o.dir);
    if (!lock.ok()) return lock.status();
    auto hs = HardStateFile::open(o.dir, o.logger, o.fileOps);
    if (!hs.ok()) return hs.status();
    SegmentedLogOptions lo;
    lo.dir = o.dir + "/log";
    lo.segmentBytes = o.segmentBytes;
    lo.logger = o.logger;
    lo.fileOps = o.fileOps;
    auto log = SegmentedLog::open(std::move(lo));
    if (!log.ok()) return log.status();
    auto snap = readSnapshotFile(*o.fileOps, o.dir);
    if (!snap.ok()) return snap.status();
    if (const std::optional<raft::Snapshot>& sn = snap.value()) {
        // The snapshot file is written before the log is cut or replaced: finish what a crash interrupted.
        SegmentedLog& l = *log.value();
        const raft::Index si = sn->meta.index;
        if (l.firstIndex() > si + 1)
            return Status::error(
                "the log in " + o.dir + "/log starts at " + std::to_string(l.firstIndex()) +
                    ", after the snapshot at " + std::to_string(si) +
                    " (entries between them are missing); refusing to start. Restore the data "
                    "directory from a backup, or remove it so the node rejoins as a new member",
                EIO);
        const auto t = l.term(si);
        if (!t || *t != sn->meta.term) {
            if (o.logger)
                o.logger(LogLevel::Warning,
                         "the log does not hold the snapshot's entry " + std::to_string(si) +
                             ": it starts afresh after the snapshot (an interrupted install)");
            if (Status s = l.reset(si + 1, sn->meta.term); !s.ok()) return s;
        } else if (Status s = l.dropPrefix(si); !s.ok()) {
            return s;
        }
    }
    // A commit index is stored only after the entries it covers are synced: one past the last durable
    // entry means durable, committed entries were lost (damaged or replaced files). Never run on.
    if (const raft::Index commit = hs.value().current().hs.commit; commit > log.value()->lastIndex())
        return Status::error("stored commit index " + std::to_string(commit) + " (in " + o.dir +
                                 "/hardstate) is past the last stored log entry " +
                                 std::to_string(log.value()->lastIndex()) + " (in " + o.dir +
                                 "/log): committed entries are missing; refusing to start. Restore the data "
                                 "directory from a backup, or remove it so the node rejoins as a new member",
                             EIO);
    std::unique_ptr<RaftLogStore> store(
        new RaftLogStore(lock.take(), hs.take(), log.take(), o.cacheBytes, o.dir, o.fileOps));
    store->snap_ = std::move(snap.value());
    // Membership is rebuilt from the ConfChange entries: the index knows each entry's type, so only those
    // records are read.
    const SegmentedLog& l = *store->log_;
    for (raft::Index i = store->firstIndex(); i <= l.lastIndex(); ++i) {
        const auto inf = l.info(i);
        if (!inf || inf->type != raft::EntryType::ConfChange) continue;
        auto e = l.read(i);
        if (!e.ok()) return e.status();
        store->confEntries_.push_back(e.take());
    }
    return store;
}

RaftLogStore::~RaftLogStore() {
    std::thread worker;
    {
        std::lock_guard lk(jobMu_);
        stopping_ = true;
        worker = std::move(worker_);
    }
    jobCv_.notify_all();
    if (worker.joinable()) worker.join();
}

raft::HardState RaftLogStore::hardState() const {
    std::lock_guard lk(stateMu_);
    return hs_.hs;
}

std::string RaftLogStore::clusterId() const {
    std::lock_guard lk(stateMu_);
    return hs_.clusterId;
}

raft::NodeId RaftLogStore::nodeId() const {
    std::lock_guard lk(stateMu_);
    return hs_.nodeId;
}

std::vector<raft::Entry> RaftLogStore::confEntries() const {
    std::lock_guard lk(stateMu_);
    return confEntries_;
}

std::size_t RaftLogStore::cachedEntries() const {
    std::lock_guard lk(stateMu_);
    return cache_.size();
}

raft::ConfState RaftLogStore::baseConfState() const {
    std::lock_guard lk(stateMu_);
    return snap_ ? snap_->meta.conf : raft::ConfState{};
}

raft::Index RaftLogStore::snapshotIndex() const {
    std::lock_guard lk(stateMu_);
    return snap_ ? snap_->meta.index : 0;
}

std::optional<raft::Snapshot> RaftLogStore::snapshot() const {
    std::lock_guard lk(stateMu_);
    return snap_;
}

raft::Index RaftLogStore::firstIndex() const {
    const raft::Index first = log_->firstIndex();
    std::lock_guard lk(stateMu_);
    return snap_ ? std::max(first, snap_->meta.index + 1) : first;
}

raft::Term RaftLogStore::term(raft::Index i) const {
    {
        std::lock_guard lk(stateMu_);
        if (snap_ && i <= snap_->meta.index) {
            if (i == snap_->meta.index) return snap_->meta.term;
            throw std::out_of_range("RaftLogStore::term: index " + std::to_string(i) +
                                    " is compacted (snapshot at " + std::to_string(snap_->meta.index) + ")");
        }
    }
    const auto t = log_->term(i);
    if (!t)
        throw std::out_of_range("RaftLogStore::term: index " + std::to_string(i) + " outside [" +
                                std::to_string(log_->firstIndex() - 1) + ", " +
                                std::to_string(log_->lastIndex()) + "]");
    return *t;
}

raft::Entry RaftLogStore::readEntry(raft::Index i) const {
    {
        std::lock_guard lk(stateMu_);
        if (!cache_.empty() && i >= cache_.front().index && i <= cache_.back().index)
            return cache_[i - cache_.front().index];
    }
    auto e = log_->read(i);
    if (!e.ok()) throw std::runtime_error(e.status().message());
    return e.take();
}

std::vector<raft::Entry> RaftLogStore::entries(raft::Index lo, raft::Index hi, std::size_t maxBytes) const {
    if (lo < firstIndex() || lo > hi || hi > log_->lastIndex() + 1)
        throw std::out_of_range("RaftLogStore::entries: range [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + ") out of bounds");
    std::vector<raft::Entry> out;
    std::size_t bytes = 0;
    for (raft::Index i = lo; i < hi; ++i) {
        if (!out.empty()) {
            const auto inf = log_->info(i);
            if (!inf)
                throw std::out_of_range("RaftLogStore::entries: index " + std::to_string(i) + " vanished");
            if (bytes + inf->length > maxBytes) break;
        }
        out.push_back(readEntry(i));
        bytes += out.back().data.size();
    }
    return out;
}

void RaftLogStore::readPayload(raft::Index i, std::uint64_t offset, std::size_t length, char* out) const {
    if (Status s = log_->readPayload(i, offset, length, out); !s.ok()) throw std::runtime_error(s.message());
}

void RaftLogStore::cacheAppendLocked(const std::vector<raft::Entry>& ents) {
    for (const raft::Entry& e : ents) {
        if (!cache_.empty() && cache_.back().index + 1 != e.index) {  // keep the cache consecutive
            cache_.clear();
            cacheUsed_ = 0;
        }
        cache_.push_back(e);
        cacheUsed_ += e.data.size() + kEntryOverhead;
    }
    while (!cache_.empty() && cacheUsed_ > cacheBytes_) {
        cacheUsed_ -= cache_.front().data.size() + kEntryOverhead;
        cache_.pop_front();
    }
}

void RaftLogStore::cacheTruncateLocked(raft::Index from) {
    while (!cache_.empty() && cache_.back().index >= from) {
        cacheUsed_ -= cache_.back().data.size() + kEntryOverhead;
        cache_.pop_back();
    }
}

Status RaftLogStore::persist(const std::optional<raft::Snapshot>& snapshot,
                             const std::optional<raft::HardState>& hs, const std::vector<raft::Entry>& ents) {
    std::lock_guard w(writeMu_);
    if (snapshot)
        if (Status s = installSnapshotLocked(*snapshot); !s.ok()) return s;
    return persistLocked(hs, ents);
}

Status RaftLogStore::installSnapshotLocked(const raft::Snapshot& s) {
    const raft::Index si = s.meta.index;
    if (si == 0) return Status::error("persist: empty snapshot", EINVAL);
    if (Status st = writeSnapshotFile(*ops_, dir_, s); !st.ok()) return st;
    // From here on the snapshot is what a restart finds; the log is made to agree (again at open if a crash
    // interrupts this). Entries after it stay only if the log holds its (index, term), as etcd does.
    const auto t = si + 1 >= log_->firstIndex() ? log_->term(si) : std::nullopt;
    const bool keep = t && *t == s.meta.term;
    Status st = keep ? log_->dropPrefix(si) : log_->reset(si + 1, s.meta.term);
    std::lock_guard lk(stateMu_);
    if (!keep) {
        cache_.clear();
        cacheUsed_ = 0;
        confEntries_.clear();
    }
    noteSnapshotLocked(s);
    return st;
}

void RaftLogStore::noteSnapshotLocked(const raft::Snapshot& s) {
    const raft::Index si = s.meta.index;
    while (!cache_.empty() && cache_.front().index <= si) {
        cacheUsed_ -= cache_.front().data.size() + kEntryOverhead;
        cache_.pop_front();
    }
    std::erase_if(confEntries_, [si](const raft::Entry& e) { return e.index <= si; });
    snap_ = s;
}

Status RaftLogStore::compact(const raft::Snapshot& s) {
    std::lock_guard w(writeMu_);
    const raft::Index si = s.meta.index;
    const raft::Index current = snapshot() ? snapshot()->meta.index : 0;
    if (si == current && si > 0) return {};
    const auto t = log_->term(si);
    if (si < current || si > log_->lastIndex() || !t || *t != s.meta.term)
        return Status::error("compact: snapshot " + std::to_string(si) + " (term " +
                                 std::to_string(s.meta.term) + ") does not match the stored log " +
                                 std::to_string(firstIndex()) + ".." + std::to_string(log_->lastIndex()),
                             EINVAL);
    if (Status st = writeSnapshotFile(*ops_, dir_, s); !st.ok()) return st;
    {
        std::lock_guard lk(stateMu_);
        noteSnapshotLocked(s);
    }
    // Whole segments only; what remains before the snapshot is no longer served. A failure here leaves
    // them for the next compaction (or the next open).
    return log_->dropPrefix(si);
}

Status RaftLogStore::persistLocked(const std::optional<raft::HardState>& hs,
                                   const std::vector<raft::Entry>& ents) {
    if (!ents.empty()) {
        const raft::Index from = ents.front().index;
        if (from < firstIndex() || from > log_->lastIndex() + 1)
            return Status::error("persist: entries start at index " + std::to_string(from) + ", outside [" +
                                     std::to_string(firstIndex()) + ", " +
                                     std::to_string(log_->lastIndex() + 1) + "]",
                                 EINVAL);
        if (from <= log_->lastIndex()) {
            if (Status s = log_->truncateSuffix(from); !s.ok()) return s;
            std::lock_guard lk(stateMu_);
            cacheTruncateLocked(from);
            while (!confEntries_.empty() && confEntries_.back().index >= from)
                confEntries_.pop_back();
        }
        std::vector<Record> recs;
        recs.reserve(ents.size());
        for (const raft::Entry& e : ents)
            recs.push_back(Record{e.type, e.term, e.index, e.data});
        if (Status s = log_->append(recs); !s.ok()) return s;
        std::lock_guard lk(stateMu_);
        cacheAppendLocked(ents);
        for (const raft::Entry& e : ents)
            if (e.type == raft::EntryType::ConfChange) confEntries_.push_back(e);
    }
    // The hard state file is rewritten (write, fsync, rename, directory fsync) only when the term or the
    // vote changes: a commit-only change (Ready::mustSync false) is never worth that, and a stored commit
    // index may lag (docs/STORAGE.md). It rides along with the next term or vote change.
    const raft::HardState& cur = hsFile_.current().hs;
    if (hs && (hs->term != cur.term || hs->vote != cur.vote)) {
        HardStateRecord rec = hsFile_.current();
        rec.hs = *hs;
        Status s = hsFile_.write(rec);
        std::lock_guard lk(stateMu_);
        hs_ = hsFile_.current();
        return s;
    }
    return {};
}

void RaftLogStore::persistAsync(std::optional<raft::Snapshot> snapshot, std::optional<raft::HardState> hs,
                                std::vector<raft::Entry> entries, std::function<void(const Status&)> done) {
    {
        std::lock_guard lk(jobMu_);
        jobs_.push_back(Job{std::move(snapshot), std::move(hs), std::move(entries), std::move(done)});
        if (!worker_.joinable()) worker_ = std::thread([this] { runJobs(); });
    }
    jobCv_.notify_one();
}

void appendReplacing(std::vector<raft::Entry>& into, std::vector<raft::Entry>&& more) {
    if (more.empty()) return;
    const raft::Index from = more.front().index;
    while (!into.empty() && into.back().index >= from)
        into.pop_back();
    if (into.empty()) {
        into = std::move(more);
        return;
    }
    into.insert(into.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}

void RaftLogStore::runJobs() {
    for (;;) {
        std::deque<Job> group;
        {
            std::unique_lock lk(jobMu_);
            jobCv_.wait(lk, [&] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty()) return;  // stopping and drained
            group.swap(jobs_);
        }
        // Group commit: one write for everything queued while the previous one ran.
        std::optional<raft::Snapshot> snapshot;
        std::optional<raft::HardState> hs;
        std::vector<raft::Entry> entries;
        for (Job& job : group) {
            if (job.snapshot) {  // it replaces the log: what was queued before it is moot
                snapshot = std::move(job.snapshot);
                entries.clear();
            }
            if (job.hs) hs = job.hs;
            appendReplacing(entries, std::move(job.entries));
        }
        const Status s = persist(snapshot, hs, entries);
        {
            std::lock_guard lk(jobMu_);
            asyncStats_.jobs += group.size();
            asyncStats_.writes++;
            asyncStats_.largestGroup = std::max(asyncStats_.largestGroup, group.size());
        }
        for (Job& job : group)
            if (job.done) job.done(s);
    }
}

RaftLogStore::AsyncStats RaftLogStore::asyncStats() const {
    std::lock_guard lk(jobMu_);
    return asyncStats_;
}

Status RaftLogStore::setIdentity(const std::string& clusterId, raft::NodeId nodeId) {
    std::lock_guard w(writeMu_);
    HardStateRecord rec = hsFile_.current();
    rec.clusterId = clusterId;
    rec.nodeId = nodeId;
    if (rec == hsFile_.current()) return {};
    Status s = hsFile_.write(rec);
    std::lock_guard lk(stateMu_);
    hs_ = hsFile_.current();
    return s;
}

Status RaftLogStore::dropPrefix(raft::Index uptoIndex) {
    std::lock_guard w(writeMu_);
    if (Status s = log_->dropPrefix(uptoIndex); !s.ok()) return s;
    const raft::Index first = log_->firstIndex();
    std::lock_guard lk(stateMu_);
    while (!cache_.empty() && cache_.front().index < first) {
        cacheUsed_ -= cache_.front().data.size() + kEntryOverhead;
        cache_.pop_front();
    }
    std::erase_if(confEntries_, [first](const raft::Entry& e) { return e.index < first; });
    return {};
}

}  // namespace raftwc::storage
