#include "cluster.h"

#include <stdlib.h>

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <stdexcept>

#include "crash_file_ops.h"
#include "storage/raft_log_store.h"

namespace raftwc::raftsim {

using raft::HardState;
using raft::Ready;
using raft::Role;

namespace {

std::uint64_t hashBytes(std::uint64_t h, std::string_view bytes) {
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/// Hash of the log prefix ending with `e`, given the hash of the prefix before it.
std::uint64_t prefixHash(std::uint64_t prev, const Entry& e) {
    std::uint64_t h = prev ^ 0xcbf29ce484222325ULL;
    std::uint64_t s =
        h ^ (e.term * 0x9e3779b97f4a7c15ULL) ^ (e.index << 1) ^ static_cast<std::uint64_t>(e.type);
    h = splitmix64(s);
    return hashBytes(h, e.data);
}

/// The simulated state machine's state after a log prefix: the prefix's hash (what a snapshot holds).
std::string stateOf(std::uint64_t prefixHash) {
    return fmt("state:%016" PRIx64, prefixHash);
}

std::string entryText(const Entry& e) {
    std::string s = fmt("%" PRIu64 "@t%" PRIu64, e.index, e.term);
    if (e.type == raft::EntryType::NoOp) s += "(noop)";
    if (e.type == raft::EntryType::ConfChange) {
        auto cc = raft::decodeConfChange(e.data);
        if (cc) {
            const char* k = cc->type == raft::ConfChangeType::AddLearner       ? "add-learner"
                            : cc->type == raft::ConfChangeType::PromoteLearner ? "promote"
                            : cc->type == raft::ConfChangeType::RemoveNode     ? "remove"
                                                                               : "add-voter";
            s += fmt("(%s n%" PRIu64 ")", k, cc->node);
        } else {
            s += "(bad-confchange)";
        }
    }
    if (e.type == raft::EntryType::Normal) s += "\"" + e.data.substr(0, 24) + "\"";
    return s;
}

}  // namespace

raft::ConfState confAfter(const std::vector<Entry>& log, std::size_t upTo) {
    raft::ConfState cs;
    for (std::size_t i = 0; i < upTo && i < log.size(); ++i) {
        if (log[i].type != raft::EntryType::ConfChange) continue;
        if (auto cc = raft::decodeConfChange(log[i].data)) raft::applyConfChange(cs, *cc);
    }
    return cs;
}

std::string fmt(const char* f, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, f);
    std::vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

struct Cluster::Node {
    NodeId id = raft::kNoNode;
    enum class State : std::uint8_t { Down, Up, Gone } state = State::Down;
    raft::MemoryStorage storage;        ///< What has been synced: survives a crash (realStorage: a mirror).
    std::shared_ptr<CrashFileOps> ops;  ///< realStorage: the node's disk.
    std::unique_ptr<storage::RaftLogStore> store;  ///< realStorage: what the core reads and we persist to.
    std::unique_ptr<raft::RawNode> raw;
    std::uint64_t incarnation = 0;
    bool busy = false;  ///< A Ready is being persisted (pending; async: the group `writing`).
    Ready pending;
    std::deque<Ready> queued;    ///< Async: handed-off Readys whose write has not started.
    std::vector<Ready> writing;  ///< Async: the group being written (one sync).
    std::uint64_t groupSyncs = 0;
    std::deque<Message> inbox;  ///< Messages that arrived while busy.
    bool missedTick = false;
    std::vector<Entry> log;           ///< Storage plus every Ready taken in this life.
    std::vector<std::uint64_t> hash;  ///< hash[i]: prefix hash of log[0..i].
    std::vector<Entry> applied;
    HardState hs;  ///< Latest hard state of this life.
    bool wasLeader = false;
    Term leaderTerm = 0;
};

Cluster::Cluster(ClusterOptions options)
    : options_(std::move(options)), rng_(mixSeed(options_.seed, 0x5eed)) {
    if (options_.realStorage) {
        std::string parent = options_.storageRoot;
        if (parent.empty()) {
            // tmpfs when there is one: fsync costs nothing there, and CrashFileOps supplies the semantics.
            const char* t = std::getenv("TMPDIR");
            std::error_code ec;
            parent = t && *t ? t : std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "/tmp";
        }
        std::string tmpl = parent + "/raftwc-sim-XXXXXX";
        if (!::mkdtemp(tmpl.data()))
            throw std::runtime_error("raftsim: cannot create a scratch directory in " + parent);
        root_ = tmpl;
    }
    std::vector<NodeId> voters;
    for (int i = 0; i < options_.voters; ++i)
        voters.push_back(nextId_ + static_cast<NodeId>(i));
    for (NodeId id : voters) {
        auto n = std::make_unique<Node>();
        n->id = id;
        nodes_.emplace(id, std::move(n));
    }
    nextId_ += static_cast<NodeId>(voters.size());
    for (NodeId id : voters) {
        Node& n = node(id);
        start(n);
        if (!ok()) return;
        try {
            if (!n.raw->bootstrap(voters))
                fail(fmt("n%" PRIu64 ": bootstrap() refused on empty storage", id));
        } catch (const std::exception& e) {
            fail(fmt("n%" PRIu64 ": bootstrap threw: %s", id, e.what()));
        }
        process(n);
    }
}

Cluster::~Cluster() {
    for (auto& [id, n] : nodes_) {
        n->raw.reset();
        n->store.reset();
    }
    if (!root_.empty() && !std::getenv("RAFTWC_SIM_KEEP_DISK")) {  // kept on request, for post-mortems
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }
}

// ---- plumbing ------------------------------------------------------------------------------------

Cluster::Node* Cluster::find(NodeId id) const {
    auto it = nodes_.find(id);
    return it == nodes_.end() ? nullptr : it->second.get();
}

Cluster::Node& Cluster::node(NodeId id) const {
    Node* n = find(id);
    if (!n) throw std::invalid_argument("raftsim: unknown node id");
    return *n;
}

void Cluster::traceLine(const std::string& s) const {
    if (!options_.trace) return;
    options_.trace(fmt("%10.3fs ", static_cast<double>(now_) / kSec) + s);
}

void Cluster::fail(std::string what) {
    if (violation_) return;
    violation_ = fmt("[t=%.3fs] ", static_cast<double>(now_) / kSec) + what;
    traceLine("VIOLATION: " + what);
}

raft::Config Cluster::makeConfig(const Node& n) const {
    raft::Config c;
    c.id = n.id;
    c.electionTicksMin = options_.electionTicksMin;
    c.electionTicksMax = options_.electionTicksMax;
    c.heartbeatTicks = options_.heartbeatTicks;
    c.maxMsgBytes = options_.maxMsgBytes;
    c.maxInflightMsgs = options_.maxInflightMsgs;
    c.maxInflightBytes = options_.maxInflightBytes;
    c.preVote = options_.preVote;
    c.checkQuorum = options_.checkQuorum;
    c.autoPromoteLearners = options_.autoPromoteLearners;
    c.seed = mixSeed(options_.seed, n.id, n.incarnation);
    c.checkInvariants = options_.checkInvariants;
    c.asyncStorageWrites = options_.asyncWrites;
    if (options_.trace) {
        const NodeId id = n.id;
        c.logger = [this, id](raft::LogLevel, std::string_view text) {
            traceLine(fmt("n%" PRIu64 " core: ", id) + std::string(text));
        };
    }
    return c;
}

void Cluster::start(Node& n) {
    n.incarnation++;
    n.state = Node::State::Up;
    n.busy = false;
    n.pending = {};
    n.queued.clear();
    n.writing.clear();
    n.inbox.clear();
    n.missedTick = false;
    n.wasLeader = false;
    n.applied.clear();
    if (options_.realStorage) {
        // Recovery of what the last life left on disk (after a power loss: torn and lost writes).
        if (!n.ops) n.ops = std::make_shared<CrashFileOps>();
        storage::RaftLogStoreOptions so;
        so.dir = fmt("%s/n%" PRIu64, root_.c_str(), n.id);
        so.segmentBytes = 4096;  // small: rolls, multi-segment truncation and recovery happen often
        so.cacheBytes = mixSeed(options_.seed, n.id) % 2 ? 0 : 16384;
        so.fileOps = n.ops;
        if (options_.trace) {
            const NodeId id = n.id;
            so.logger = [this, id](storage::LogLevel, std::string_view text) {
                std::string line(text);  // scratch paths differ between runs: keep traces identical
                for (std::size_t at; (at = line.find(root_)) != std::string::npos;)
                    line.replace(at, root_.size(), "<disk>");
                traceLine(fmt("n%" PRIu64 " storage: ", id) + line);
            };
        }
        auto opened = storage::RaftLogStore::open(so);
        if (!opened.ok()) {
            n.state = Node::State::Down;
            fail(fmt("n%" PRIu64 ": storage refuses to open after a crash: %s", n.id,
                     opened.status().message().c_str()));
            return;
        }
        n.store = opened.take();
        n.storage = raft::MemoryStorage{};
        if (const auto snap = n.store->snapshot()) n.storage.applySnapshot(*snap);
        if (n.store->lastIndex() >= n.store->firstIndex())
            n.storage.append(n.store->entries(n.store->firstIndex(), n.store->lastIndex() + 1, SIZE_MAX));
        n.storage.setHardState(n.store->hardState());
    }
    n.hs = n.storage.hardState();
    resetLogView(n);
    try {
        const raft::Storage& disk =
            options_.realStorage ? static_cast<const raft::Storage&>(*n.store) : n.storage;
        n.raw = std::make_unique<raft::RawNode>(makeConfig(n), disk);
        if (n.raw->status().term < maxTermSent_[n.id]) {
            fail(fmt("n%" PRIu64 ": term went back across a crash: it sent term %" PRIu64
                     ", restarts at %" PRIu64,
                     n.id, maxTermSent_[n.id], n.raw->status().term));
            n.raw.reset();
            n.state = Node::State::Down;
            return;
        }
        const raft::Status st = n.raw->status();
        // A core that resumes applying after a persisted index implies a durable state machine.
        for (Index i = 1; i <= st.applied && i <= n.log.size(); ++i)
            n.applied.push_back(n.log[i - 1]);
    } catch (const std::exception& e) {
        n.raw.reset();
        n.state = Node::State::Down;
        fail(fmt("n%" PRIu64 ": RawNode construction threw: %s", n.id, e.what()));
        return;
    }
    traceLine(fmt("n%" PRIu64 " start (incarnation %" PRIu64 ", term %" PRIu64 ", log %zu, commit %" PRIu64
                  ")",
                  n.id, n.incarnation, n.hs.term, n.log.size(), n.hs.commit));
    Event ev;
    ev.at = now_ + rng_.range(1, options_.tick);
    ev.kind = EvKind::Tick;
    ev.node = n.id;
    ev.incarnation = n.incarnation;
    schedule(std::move(ev));
}

void Cluster::schedule(Event ev) {
    ev.seq = seq_++;
    queue_.push_back(std::move(ev));
    std::push_heap(queue_.begin(), queue_.end(),
                   [](const Event& a, const Event& b) { return a.at != b.at ? a.at > b.at : a.seq > b.seq; });
}

bool Cluster::step() {
    if (violation_ || queue_.empty()) return false;
    std::pop_heap(queue_.begin(), queue_.end(),
                  [](const Event& a, const Event& b) { return a.at != b.at ? a.at > b.at : a.seq > b.seq; });
    Event ev = std::move(queue_.back());
    queue_.pop_back();
    now_ = std::max(now_, ev.at);
    if (++events_ > options_.maxEvents) {
        fail(fmt("event budget exhausted: %" PRIu64 " events (a message storm or livelock?); last: %s",
                 options_.maxEvents, ev.kind == EvKind::Deliver ? describe(ev.msg).c_str() : "tick/sync"));
        return false;
    }
    handle(ev);
    while (!pendingStops_.empty()) {
        const NodeId id = pendingStops_.back();
        pendingStops_.pop_back();
        stop(id);
    }
    return !violation_;
}

bool Cluster::runFor(Micros d) {
    const Micros deadline = now_ + d;
    while (!violation_ && !queue_.empty() && queue_.front().at <= deadline)
        step();
    if (!violation_) now_ = std::max(now_, deadline);
    return !violation_;
}

bool Cluster::runUntil(const std::function<bool()>& pred, Micros timeout) {
    const Micros deadline = now_ + timeout;
    while (!violation_) {
        if (pred()) return true;
        if (queue_.empty() || queue_.front().at > deadline) {
            now_ = std::max(now_, deadline);
            return pred();
        }
        step();
    }
    return false;
}

void Cluster::handle(Event& ev) {
    Node* n = find(ev.kind == EvKind::Deliver ? ev.msg.to : ev.node);
    switch (ev.kind) {
        case EvKind::Tick: {
            if (!n || n->state != Node::State::Up || n->incarnation != ev.incarnation) return;
            Event next;
            next.at = ev.at + options_.tick;
            next.kind = EvKind::Tick;
            next.node = n->id;
            next.incarnation = n->incarnation;
            schedule(std::move(next));
            if (n->busy && !options_.asyncWrites) {
                n->missedTick = true;
                return;
            }
            try {
                n->raw->tick();
            } catch (const std::exception& e) {
                fail(fmt("n%" PRIu64 ": tick() threw: %s", n->id, e.what()));
                return;
            }
            process(*n);
            return;
        }
        case EvKind::Deliver: {
            if (!n || n->state != Node::State::Up || !linkUp(ev.msg.from, ev.msg.to)) {
                stats_.dropped++;
                if (options_.trace) traceLine("drop (at delivery) " + describe(ev.msg));
                return;
            }
            if (n->busy && !options_.asyncWrites) {
                n->inbox.push_back(std::move(ev.msg));
                return;
            }
            if (options_.trace) traceLine("deliver " + describe(ev.msg));
            stats_.delivered++;
            try {
                n->raw->step(ev.msg);
            } catch (const std::exception& e) {
                fail(fmt("n%" PRIu64 ": step(%s) threw: %s", n->id, describe(ev.msg).c_str(), e.what()));
                return;
            }
            process(*n);
            return;
        }
        case EvKind::PersistDone: {
            if (!n || n->state != Node::State::Up || n->incarnation != ev.incarnation || !n->busy) return;
            if (options_.asyncWrites) {
                finishWrites(*n);
                if (violation_ || n->state != Node::State::Up) return;
                process(*n);
                return;
            }
            Ready rd = std::move(n->pending);
            n->pending = {};
            n->busy = false;
            finishReady(*n, rd);
            if (violation_ || n->state != Node::State::Up) return;
            drainInbox(*n);
            process(*n);
            return;
        }
    }
}

void Cluster::drainInbox(Node& n) {
    while (!n.inbox.empty() && !violation_) {
        Message m = std::move(n.inbox.front());
        n.inbox.pop_front();
        if (options_.trace) traceLine("deliver (queued) " + describe(m));
        stats_.delivered++;
        try {
            n.raw->step(m);
        } catch (const std::exception& e) {
            fail(fmt("n%" PRIu64 ": step(%s) threw: %s", n.id, describe(m).c_str(), e.what()));
            return;
        }
    }
    if (n.missedTick && !violation_) {
        n.missedTick = false;
        try {
            n.raw->tick();
        } catch (const std::exception& e) {
            fail(fmt("n%" PRIu64 ": tick() threw: %s", n.id, e.what()));
        }
    }
}

Micros Cluster::diskLatency() {
    const DiskParams& d = options_.disk;
    if (d.stallChance > 0 && rng_.chance(d.stallChance)) return d.stallLatency;
    if (d.latencyMax == 0) return 0;
    return rng_.range(d.latencyMin, d.latencyMax);
}

void Cluster::schedulePersistDone(Node& n, Micros latency) {
    Event ev;
    ev.at = now_ + latency;
    ev.kind = EvKind::PersistDone;
    ev.node = n.id;
    ev.incarnation = n.incarnation;
    schedule(std::move(ev));
}

void Cluster::process(Node& n) {
    // The next Ready, checked; nullopt when there is none or the run failed.
    auto take = [&]() -> std::optional<Ready> {
        try {
            if (!n.raw->hasReady()) return std::nullopt;
            Ready rd = n.raw->ready();
            onReady(n, rd);
            if (violation_) return std::nullopt;
            return rd;
        } catch (const std::exception& e) {
            fail(fmt("n%" PRIu64 ": ready() threw: %s", n.id, e.what()));
            return std::nullopt;
        }
    };
    if (options_.asyncWrites) {
        while (!violation_ && n.state == Node::State::Up) {
            std::optional<Ready> rd = take();
            if (!rd) break;
            handOff(n, *rd);
        }
        if (!violation_ && n.state == Node::State::Up) startWrites(n);
        return;
    }
    while (!violation_ && n.state == Node::State::Up && !n.busy) {
        std::optional<Ready> next = take();
        if (!next) return;
        Ready& rd = *next;
        const bool needsSync = rd.mustSync || rd.hardState || !rd.entries.empty();
        const Micros lat = needsSync ? diskLatency() : 0;
        if (lat == 0) {
            finishReady(n, rd);
            continue;
        }
        n.busy = true;
        n.pending = std::move(rd);
        schedulePersistDone(n, lat);
        if (options_.trace) traceLine(fmt("n%" PRIu64 " persisting for %.1f ms", n.id, lat / 1000.0));
    }
}

// ---- the checks ----------------------------------------------------------------------------------

void Cluster::resetLogView(Node& n) {
    n.log.clear();
    n.hash.clear();
    // A compacted log: the prefix its snapshot covers is the committed history's (checked).
    const Index base = n.storage.firstIndex() - 1;
    if (base > 0) {
        const auto snap = n.storage.snapshot();
        if (!snap || !checkSnapshot(n, *snap, "stored")) {
            if (!snap)
                fail(fmt("n%" PRIu64 ": storage compacted to %" PRIu64 " without a snapshot", n.id, base));
            return;
        }
        n.log.assign(committed_.begin(), committed_.begin() + static_cast<std::ptrdiff_t>(base));
        n.hash.assign(committedHash_.begin(), committedHash_.begin() + static_cast<std::ptrdiff_t>(base));
    }
    std::uint64_t h = n.hash.empty() ? 0 : n.hash.back();
    for (const Entry& e : n.storage.all()) {
        h = prefixHash(h, e);
        n.log.push_back(e);
        n.hash.push_back(h);
    }
}

bool Cluster::checkSnapshot(const Node& n, const raft::Snapshot& s, const char* what) {
    const Index i = s.meta.index;
    if (i == 0 || i > committed_.size()) {
        fail(fmt("snapshot safety: n%" PRIu64 " %s snapshot at %" PRIu64
                 ", past everything known committed (%zu)",
                 n.id, what, i, committed_.size()));
        return false;
    }
    if (committed_[i - 1].term != s.meta.term || s.data != stateOf(committedHash_[i - 1])) {
        fail(fmt("snapshot safety: n%" PRIu64 " %s snapshot at %" PRIu64 "@t%" PRIu64
                 " whose state differs from the committed history's (%s)",
                 n.id, what, i, s.meta.term, entryText(committed_[i - 1]).c_str()));
        return false;
    }
    if (s.meta.conf != confAfter(committed_, i)) {
        fail(fmt("snapshot safety: n%" PRIu64 " %s snapshot at %" PRIu64
                 " with a configuration other than the one committed there",
                 n.id, what, i));
        return false;
    }
    return true;
}

void Cluster::loadSnapshot(Node& n, const raft::Snapshot& s) {
    const Index i = s.meta.index;
    if (i <= n.applied.size()) {
        fail(fmt("n%" PRIu64 ": asked to load snapshot %" PRIu64 " but has applied %zu already", n.id, i,
                 n.applied.size()));
        return;
    }
    if (!checkSnapshot(n, s, "loaded")) return;
    n.applied.assign(committed_.begin(), committed_.begin() + static_cast<std::ptrdiff_t>(i));
    snapshotsInstalled_++;
    traceLine(fmt("n%" PRIu64 " loads snapshot %" PRIu64 "@t%" PRIu64, n.id, i, s.meta.term));
}

void Cluster::maybeCompact(Node& n) {
    if (options_.snapshotEvery == 0 || options_.amnesiacDisk) return;
    if (n.state != Node::State::Up) return;
    const Index applied = n.applied.size();
    const Index base = n.storage.firstIndex() - 1;
    if (applied < base + options_.snapshotEvery + options_.snapshotKeep) return;
    const Index at = applied - options_.snapshotKeep;
    if (at <= base || at > n.storage.lastIndex() || at > n.log.size()) return;
    // Async writes: a received snapshot is loaded before it is durable; compact once it is.
    auto hasSnapshot = [](const Ready& rd) { return rd.snapshot.has_value(); };
    if (std::any_of(n.queued.begin(), n.queued.end(), hasSnapshot) ||
        std::any_of(n.writing.begin(), n.writing.end(), hasSnapshot))
        return;
    raft::Snapshot snap;
    snap.meta.index = at;
    snap.meta.term = n.log[at - 1].term;
    snap.meta.conf = confAfter(n.log, at);
    snap.data = stateOf(n.hash[at - 1]);
    if (!checkSnapshot(n, snap, "made")) return;
    if (options_.realStorage) {
        if (const storage::Status st = n.store->compact(snap); !st.ok()) {
            fail(fmt("n%" PRIu64 ": compaction at %" PRIu64 " on the real store failed: %s", n.id, at,
                     st.message().c_str()));
            return;
        }
    }
    try {
        n.storage.compact(snap);
    } catch (const std::exception& e) {
        fail(fmt("n%" PRIu64 ": compaction at %" PRIu64 " failed: %s", n.id, at, e.what()));
        return;
    }
    snapshotsMade_++;
    traceLine(
        fmt("n%" PRIu64 " snapshot at %" PRIu64 "@t%" PRIu64 ", log compacted", n.id, at, snap.meta.term));
}

void Cluster::appendLogView(Node& n, const std::vector<Entry>& ents) {
    const Index first = ents.front().index;
    if (first < 1 || first > n.log.size() + 1) {
        fail(fmt("n%" PRIu64 ": Ready entries start at %" PRIu64 " but the log ends at %zu (gap)", n.id,
                 first, n.log.size()));
        return;
    }
    if (first <= n.hs.commit) {
        fail(fmt("n%" PRIu64 ": Ready truncates committed entry %" PRIu64 " (commit %" PRIu64 ")", n.id,
                 first, n.hs.commit));
        return;
    }
    n.log.resize(first - 1);
    n.hash.resize(first - 1);
    for (const Entry& e : ents) {
        if (e.index != n.log.size() + 1) {
            fail(fmt("n%" PRIu64 ": Ready entries not consecutive at %" PRIu64, n.id, e.index));
            return;
        }
        if (!n.log.empty() && e.term < n.log.back().term) {
            fail(fmt("n%" PRIu64 ": log terms decrease at %s", n.id, entryText(e).c_str()));
            return;
        }
        if (e.term > n.hs.term) {
            fail(fmt("n%" PRIu64 ": entry %s from a term after the node's term %" PRIu64, n.id,
                     entryText(e).c_str(), n.hs.term));
            return;
        }
        const std::uint64_t h = prefixHash(n.hash.empty() ? 0 : n.hash.back(), e);
        auto [it, inserted] = prefixHashAt_.emplace(std::make_pair(e.term, e.index), h);
        if (!inserted && it->second != h) {
            fail(fmt("log matching: n%" PRIu64 " has %s but another log has the same index and term with a "
                     "different prefix or content",
                     n.id, entryText(e).c_str()));
            return;
        }
        n.log.push_back(e);
        n.hash.push_back(h);
    }
}

void Cluster::noteLeader(NodeId id, Term term, const char* how) {
    auto [it, inserted] = leaderOfTerm_.emplace(term, id);
    if (!inserted && it->second != id)
        fail(fmt("election safety: two leaders in term %" PRIu64 ": n%" PRIu64 " and n%" PRIu64 " (%s)", term,
                 it->second, id, how));
    else if (inserted)
        traceLine(fmt("n%" PRIu64 " is LEADER of term %" PRIu64, id, term));
}

void Cluster::noteCommit(Node& n, Term term, Index commit) {
    if (commit > n.log.size()) {
        fail(fmt("n%" PRIu64 ": commit %" PRIu64 " beyond its log (%zu)", n.id, commit, n.log.size()));
        return;
    }
    Index& seen = maxCommitSeenAtTerm_[term];
    seen = std::max(seen, commit);
    const Index common = std::min<Index>(commit, committed_.size());
    if (common > 0 && n.hash[common - 1] != committedHash_[common - 1]) {
        Index i = 1;
        while (i <= common && n.log[i - 1] == committed_[i - 1])
            ++i;
        fail(fmt("state machine safety: n%" PRIu64 " commits %s at index %" PRIu64 ", already committed: %s",
                 n.id, entryText(n.log[i - 1]).c_str(), i, entryText(committed_[i - 1]).c_str()));
        return;
    }
    const Index before = committed_.size();
    for (Index i = committed_.size() + 1; i <= commit; ++i) {
        committed_.push_back(n.log[i - 1]);
        committedHash_.push_back(n.hash[i - 1]);
    }
    if (commit > before) checkDurableOnMajority(before, commit);
}

void Cluster::checkDurableOnMajority(Index from, Index to) {
    // Shadow check: an entry is committed only once it is on the synced storage of a majority of the
    // configuration its leader counted with: the configuration of the last committed ConfChange before it,
    // or (the leader did not know that one committed yet) the one before.
    if (committedConfs_.empty()) committedConfs_.emplace_back(0, raft::ConfState{});
    for (Index c = from + 1; c <= to; ++c) {
        const Entry& e = committed_[c - 1];
        const raft::ConfState& x1 = committedConfs_.back().second;
        const raft::ConfState* x0 =
            committedConfs_.size() > 1 ? &committedConfs_[committedConfs_.size() - 2].second : nullptr;
        auto durableMajority = [&](const raft::ConfState& cs) {
            std::size_t have = 0;
            for (NodeId v : cs.voters) {
                const Node* d = find(v);
                // Compacted there: covered by a snapshot, made only of applied (so committed) entries.
                if (d && d->storage.lastIndex() >= c &&
                    (c + 1 < d->storage.firstIndex() || d->storage.term(c) == e.term))
                    ++have;
            }
            return 2 * have > cs.voters.size();
        };
        const bool bootstrap = e.term == 1 && c <= static_cast<Index>(options_.voters);  // committed by fiat
        if (!bootstrap && !x1.voters.empty() && !durableMajority(x1) &&
            !(x0 && !x0->voters.empty() && durableMajority(*x0))) {
            fail(fmt("durability: %s is committed but not on the synced storage of a majority of the voters",
                     entryText(e).c_str()));
            return;
        }
        if (e.type == raft::EntryType::ConfChange) {
            raft::ConfState next = committedConfs_.back().second;
            if (auto cc = raft::decodeConfChange(e.data)) raft::applyConfChange(next, *cc);
            committedConfs_.emplace_back(c, std::move(next));
        }
    }
}

void Cluster::noteSent(Node& n, const Message& m) {
    // Checks across a node's lives: its term never goes back, it never votes twice in a term.
    if (m.type != MessageType::PreVote && m.type != MessageType::PreVoteResp)
        maxTermSent_[n.id] = std::max(maxTermSent_[n.id], m.term);
    if (m.type == MessageType::VoteResp && !m.reject) {
        auto [it, fresh] = votedFor_[n.id].emplace(m.term, m.to);
        if (!fresh && it->second != m.to)
            fail(fmt("n%" PRIu64 " votes twice in term %" PRIu64 ": for n%" PRIu64 " and n%" PRIu64, n.id,
                     m.term, it->second, m.to));
    }
}

void Cluster::onReady(Node& n, const Ready& rd) {
    raft::Status st;
    try {
        st = n.raw->status();
    } catch (const std::exception& e) {
        fail(fmt("n%" PRIu64 ": status() threw: %s", n.id, e.what()));
        return;
    }
    if (options_.trace) {
        std::string s = fmt("n%" PRIu64 " ready [%s t%" PRIu64 "]", n.id,
                            std::string(raft::toString(st.role)).c_str(), st.term);
        if (rd.hardState)
            s += fmt(" hs{t%" PRIu64 " v%" PRIu64 " c%" PRIu64 "}", rd.hardState->term, rd.hardState->vote,
                     rd.hardState->commit);
        if (!rd.entries.empty()) {
            s += " entries";
            for (std::size_t i = 0; i < rd.entries.size() && i < 6; ++i)
                s += " " + entryText(rd.entries[i]);
            if (rd.entries.size() > 6) s += fmt(" ..%" PRIu64, rd.entries.back().index);
        }
        if (!rd.committedEntries.empty())
            s += fmt(" apply %" PRIu64 "..%" PRIu64, rd.committedEntries.front().index,
                     rd.committedEntries.back().index);
        if (!rd.messages.empty()) s += fmt(" msgs %zu", rd.messages.size());
        traceLine(s);
    }
    Index commitBefore = n.hs.commit;
    if (rd.hardState) {
        const HardState& hs = *rd.hardState;
        if (hs.term < n.hs.term) {
            fail(fmt("n%" PRIu64 ": term went back from %" PRIu64 " to %" PRIu64, n.id, n.hs.term, hs.term));
            return;
        }
        if (hs.term == n.hs.term && n.hs.vote != raft::kNoNode && hs.vote != n.hs.vote) {
            fail(fmt("n%" PRIu64 ": voted twice in term %" PRIu64 " (n%" PRIu64 " then n%" PRIu64 ")", n.id,
                     hs.term, n.hs.vote, hs.vote));
            return;
        }
        if (hs.commit < n.hs.commit) {
            fail(fmt("n%" PRIu64 ": commit went back from %" PRIu64 " to %" PRIu64, n.id, n.hs.commit,
                     hs.commit));
            return;
        }
        n.hs.term = hs.term;
        n.hs.vote = hs.vote;
    }
    if (rd.snapshot) {
        // It replaces the whole log: the view becomes the committed prefix it covers.
        if (!checkSnapshot(n, *rd.snapshot, "received")) return;
        const Index i = rd.snapshot->meta.index;
        if (i <= commitBefore) {
            fail(fmt("n%" PRIu64 ": Ready installs snapshot %" PRIu64 " at or below its commit %" PRIu64,
                     n.id, i, commitBefore));
            return;
        }
        n.log.assign(committed_.begin(), committed_.begin() + static_cast<std::ptrdiff_t>(i));
        n.hash.assign(committedHash_.begin(), committedHash_.begin() + static_cast<std::ptrdiff_t>(i));
        n.hs.commit = i;
    }
    if (st.term != n.hs.term) {
        fail(fmt("n%" PRIu64 ": status term %" PRIu64 " differs from its hard state term %" PRIu64
                 " (a term change without a HardState in Ready)",
                 n.id, st.term, n.hs.term));
        return;
    }
    if (!rd.entries.empty()) {
        if (st.role == Role::Leader && n.wasLeader && n.leaderTerm == st.term &&
            rd.entries.front().index <= n.log.size()) {
            fail(fmt("leader append-only: leader n%" PRIu64 " of term %" PRIu64
                     " overwrites its entry %s with %s",
                     n.id, st.term, entryText(n.log[rd.entries.front().index - 1]).c_str(),
                     entryText(rd.entries.front()).c_str()));
            return;
        }
        n.hs.commit = std::max(commitBefore, rd.snapshot ? rd.snapshot->meta.index : 0);
        appendLogView(n, rd.entries);
        if (violation_) return;
    }
    if (rd.hardState) {
        n.hs.commit = rd.hardState->commit;
        noteCommit(n, rd.hardState->term, rd.hardState->commit);
        if (violation_) return;
    }
    if (st.lastIndex != n.log.size() || (st.lastIndex > 0 && st.lastTerm != n.log.back().term)) {
        fail(fmt("n%" PRIu64 ": status says last %" PRIu64 "@t%" PRIu64 ", Ready stream gives %zu", n.id,
                 st.lastIndex, st.lastTerm, n.log.size()));
        return;
    }
    if (st.role == Role::Leader) {
        noteLeader(n.id, st.term, "status");
        if (!n.wasLeader || n.leaderTerm != st.term) {
            Index c = 0;
            for (const auto& [t, ci] : maxCommitSeenAtTerm_) {
                if (t >= st.term) break;
                c = std::max(c, ci);
            }
            if (c > n.log.size() || (c > 0 && n.hash[c - 1] != committedHash_[c - 1])) {
                fail(fmt("leader completeness: n%" PRIu64 " became leader of term %" PRIu64
                         " without every entry up to %" PRIu64
                         " committed in earlier terms (its log ends at %zu)",
                         n.id, st.term, c, n.log.size()));
                return;
            }
        }
        n.wasLeader = true;
        n.leaderTerm = st.term;
    } else {
        n.wasLeader = false;
    }
    for (const Message& m : rd.messages) {
        if (m.from != n.id) {
            fail(fmt("n%" PRIu64 " sends a message with from = n%" PRIu64, n.id, m.from));
            return;
        }
        if (m.type == MessageType::Append || m.type == MessageType::Heartbeat ||
            m.type == MessageType::TimeoutNow) {
            noteLeader(n.id, m.term, "sent Append/Heartbeat");
            if (violation_) return;
        }
        if (m.type == MessageType::Snapshot && !checkSnapshot(n, m.snapshot, "sent")) return;
        if (m.type == MessageType::Append) {
            const bool prevOk = m.index <= n.log.size() &&
                                (m.index == 0 ? m.logTerm == 0 : n.log[m.index - 1].term == m.logTerm);
            if (!prevOk) {
                fail(fmt("n%" PRIu64 " sends %s whose previous entry is not in its own log", n.id,
                         describe(m).c_str()));
                return;
            }
            for (const Entry& e : m.entries) {
                if (e.index > n.log.size() || !(n.log[e.index - 1] == e)) {
                    fail(fmt("n%" PRIu64 " sends entry %s that differs from its own log", n.id,
                             entryText(e).c_str()));
                    return;
                }
            }
        }
    }
}

bool Cluster::sendApplyAdvance(Node& n, Ready& rd) {
    send(n, rd.messages);
    if (rd.snapshot) loadSnapshot(n, *rd.snapshot);
    if (violation_) return false;
    apply(n, rd.committedEntries);
    if (violation_) return false;
    try {
        n.raw->advance();
    } catch (const std::exception& e) {
        fail(fmt("n%" PRIu64 ": advance() threw: %s", n.id, e.what()));
        return false;
    }
    if (!(options_.asyncWrites && rd.snapshot)) maybeCompact(n);  // async: its write is not even queued yet
    return !violation_;
}

void Cluster::handOff(Node& n, Ready& rd) {
    if (sendApplyAdvance(n, rd) && rd.needsPersist()) n.queued.push_back(std::move(rd));
}

void Cluster::startWrites(Node& n) {
    while (!violation_ && n.state == Node::State::Up && !n.busy && !n.queued.empty()) {
        n.writing.assign(std::make_move_iterator(n.queued.begin()), std::make_move_iterator(n.queued.end()));
        n.queued.clear();
        bool needsSync = false;
        for (const Ready& rd : n.writing)
            needsSync = needsSync || rd.mustSync || rd.hardState || !rd.entries.empty();
        const Micros lat = needsSync ? diskLatency() : 0;
        n.busy = true;
        if (lat == 0) {
            finishWrites(n);
            continue;
        }
        schedulePersistDone(n, lat);
        if (options_.trace)
            traceLine(fmt("n%" PRIu64 " persisting %zu Ready(s) with one sync for %.1f ms", n.id,
                          n.writing.size(), lat / 1000.0));
    }
}

void Cluster::finishWrites(Node& n) {
    std::vector<Ready> group = std::move(n.writing);
    n.writing.clear();
    n.busy = false;
    if (group.size() > 1) n.groupSyncs++;
    for (Ready& rd : group) {
        if (!persistReady(n, rd)) return;
        send(n, rd.messagesAfterPersist);
        if (violation_) return;
        try {
            n.raw->persisted(rd.persistToken);
        } catch (const std::exception& e) {
            fail(fmt("n%" PRIu64 ": persisted() threw: %s", n.id, e.what()));
            return;
        }
    }
}

bool Cluster::persistReady(Node& n, const Ready& rd) {
    if (rd.hardState && rd.hardState->vote != raft::kNoNode) {
        auto [it, fresh] = votedFor_[n.id].emplace(rd.hardState->term, rd.hardState->vote);
        if (!fresh && it->second != rd.hardState->vote) {
            fail(fmt("n%" PRIu64 " votes twice in term %" PRIu64 ": for n%" PRIu64 " and n%" PRIu64, n.id,
                     rd.hardState->term, it->second, rd.hardState->vote));
            return false;
        }
    }
    if (options_.realStorage) {
        const storage::Status s = n.store->persist(rd.snapshot, rd.hardState, rd.entries);
        if (!s.ok()) {
            fail(fmt("n%" PRIu64 ": persisting Ready on the real store failed: %s", n.id,
                     s.message().c_str()));
            return false;
        }
    }
    try {
        if (rd.snapshot) n.storage.applySnapshot(*rd.snapshot);
        if (!rd.entries.empty()) n.storage.append(rd.entries);
        if (rd.hardState) n.storage.setHardState(*rd.hardState);
    } catch (const std::exception& e) {
        fail(fmt("n%" PRIu64 ": persisting Ready failed: %s", n.id, e.what()));
        return false;
    }
    return true;
}

void Cluster::finishReady(Node& n, Ready& rd) {
    if (persistReady(n, rd)) sendApplyAdvance(n, rd);
}

void Cluster::send(Node& n, std::vector<Message>& msgs) {
    const NetParams& net = options_.net;
    for (Message& m : msgs) {
        noteSent(n, m);
        if (violation_) return;
        stats_.sent++;
        stats_.sentByType[static_cast<std::size_t>(m.type) & 15]++;
        if (m.type == MessageType::AppendResp && m.reject) stats_.appendRejects++;
        sentBy_[n.id]++;
        const bool known = find(m.to) != nullptr;
        if (!known || !linkUp(m.from, m.to) || rng_.chance(net.drop)) {
            stats_.dropped++;
            if (options_.trace) traceLine("lost " + describe(m));
            continue;
        }
        const int copies = rng_.chance(net.duplicate) ? 2 : 1;
        for (int c = 0; c < copies; ++c) {
            Event ev;
            ev.at = now_ + rng_.range(net.delayMin, net.delayMax);
            if (rng_.chance(net.reorder)) ev.at += rng_.range(0, net.reorderMax);
            ev.kind = EvKind::Deliver;
            ev.node = m.to;
            ev.msg = c + 1 == copies ? std::move(m) : m;
            schedule(std::move(ev));
        }
    }
}

void Cluster::apply(Node& n, const std::vector<Entry>& ents) {
    for (const Entry& e : ents) {
        if (e.index != n.applied.size() + 1) {
            fail(fmt("n%" PRIu64 ": applies %s after %zu (gap or repeat)", n.id, entryText(e).c_str(),
                     n.applied.size()));
            return;
        }
        if (e.index < n.storage.firstIndex() || e.index > n.storage.lastIndex() ||
            !(n.storage.all()[e.index - n.storage.firstIndex()] == e)) {
            fail(fmt("n%" PRIu64 ": applies %s which is not in its synced storage", n.id,
                     entryText(e).c_str()));
            return;
        }
        if (e.index > n.hs.commit) {
            fail(fmt("n%" PRIu64 ": applies %s beyond its commit index %" PRIu64, n.id, entryText(e).c_str(),
                     n.hs.commit));
            return;
        }
        if (e.index > committed_.size() || !(committed_[e.index - 1] == e)) {
            fail(fmt(
                "state machine safety: n%" PRIu64 " applies %s; committed at that index: %s", n.id,
                entryText(e).c_str(),
                e.index > committed_.size() ? "nothing known" : entryText(committed_[e.index - 1]).c_str()));
            return;
        }
        n.applied.push_back(e);
        auto pit = proposalAt_.find({e.term, e.index});
        if (pit != proposalAt_.end()) {
            Proposal& p = proposals_[pit->second];
            if (p.node == n.id && !p.acked) {
                if (p.data != e.data || e.type != raft::EntryType::Normal) {
                    fail(fmt("n%" PRIu64 ": proposal acknowledged at %" PRIu64 "@t%" PRIu64
                             " but the entry carries other data",
                             n.id, e.index, e.term));
                    return;
                }
                p.acked = true;
            }
        }
        if (e.type == raft::EntryType::ConfChange && options_.stopRemovedNodes) {
            auto cc = raft::decodeConfChange(e.data);
            if (!cc) {
                fail(
                    fmt("n%" PRIu64 ": committed ConfChange %s does not decode", n.id, entryText(e).c_str()));
                return;
            }
            if (cc->type == raft::ConfChangeType::RemoveNode && find(cc->node) &&
                node(cc->node).state != Node::State::Gone)
                pendingStops_.push_back(cc->node);
        }
    }
    // Proposals of this node overtaken at their index by another entry are lost (answer: failed).
    if (!ents.empty()) {
        for (Proposal& p : proposals_)
            if (p.node == n.id && !p.acked && !p.lost && p.index <= n.applied.size() &&
                n.applied[p.index - 1].term != p.term)
                p.lost = true;
    }
}

// ---- public operations ---------------------------------------------------------------------------

std::vector<NodeId> Cluster::nodeIds() const {
    std::vector<NodeId> ids;
    for (const auto& [id, n] : nodes_)
        ids.push_back(id);
    return ids;
}

bool Cluster::isUp(NodeId id) const {
    const Node* n = find(id);
    return n && n->state == Node::State::Up;
}
bool Cluster::isGone(NodeId id) const {
    const Node* n = find(id);
    return n && n->state == Node::State::Gone;
}
bool Cluster::isBusy(NodeId id) const {
    const Node* n = find(id);
    return n && n->state == Node::State::Up && n->busy;
}

void Cluster::crash(NodeId id) {
    Node& n = node(id);
    if (n.state != Node::State::Up) return;
    std::string torn;
    if (options_.realStorage) {
        // The power fails part-way through the Ready being persisted (if any), then the disk keeps only
        // part of what was never synced.
        if (n.busy && options_.disk.tornWrites) {
            n.ops->failAfter(static_cast<int>(rng_.range(1, 8)));
            if (options_.asyncWrites) {
                for (const Ready& rd : n.writing)
                    if (!n.store->persist(rd.snapshot, rd.hardState, rd.entries).ok()) break;
            } else {
                (void)n.store->persist(n.pending.snapshot, n.pending.hardState, n.pending.entries);
            }
        }
        n.raw.reset();
        n.store.reset();
        torn = " (" + n.ops->crash(rng_) + ")";
    } else if (n.busy && options_.asyncWrites && !n.writing.empty()) {
        // The group's Readys reach the disk in order: some whole, then part of one (or none of it).
        if (options_.disk.tornWrites) {
            const std::size_t whole = rng_.range(0, n.writing.size() - 1);
            for (std::size_t i = 0; i < whole; ++i) {
                if (n.writing[i].snapshot) n.storage.applySnapshot(*n.writing[i].snapshot);
                if (!n.writing[i].entries.empty()) n.storage.append(n.writing[i].entries);
                if (n.writing[i].hardState) n.storage.setHardState(*n.writing[i].hardState);
            }
            const Ready& part = n.writing[whole];
            // A snapshot is installed atomically (rename) before the entries after it are written.
            const bool snapIn = part.snapshot && rng_.chance(0.5);
            if (snapIn) n.storage.applySnapshot(*part.snapshot);
            const std::size_t k = part.snapshot && !snapIn ? 0 : rng_.range(0, part.entries.size());
            if (k > 0) n.storage.append(std::vector<Entry>(part.entries.begin(), part.entries.begin() + k));
            torn = fmt(" (torn group write: %zu of %zu Readys, then %zu of %zu entries)", whole,
                       n.writing.size(), k, part.entries.size());
        }
    } else if (n.busy && options_.disk.tornWrites && (!n.pending.entries.empty() || n.pending.snapshot)) {
        // The sync never completed: any prefix of the entry writes may have reached the disk, the hard
        // state (written after the entries) only if all of them did. Nothing of this Ready was sent.
        // A snapshot goes first and whole (written aside, then renamed), or not at all.
        const bool snapIn = n.pending.snapshot && rng_.chance(0.5);
        if (snapIn) {
            n.storage.applySnapshot(*n.pending.snapshot);
            torn = " (the snapshot reached the disk)";
        }
        const std::size_t k = n.pending.snapshot && !snapIn ? 0 : rng_.range(0, n.pending.entries.size());
        if (k > 0) {
            n.storage.append(std::vector<Entry>(n.pending.entries.begin(), n.pending.entries.begin() + k));
            torn = fmt(" (torn write: %zu of %zu entries reached the disk", k, n.pending.entries.size());
            if (k == n.pending.entries.size() && n.pending.hardState && rng_.chance(0.5)) {
                n.storage.setHardState(*n.pending.hardState);
                torn += ", and the hard state";
            }
            torn += ")";
        }
    }
    traceLine(
        fmt("n%" PRIu64 " CRASH%s%s", id, n.busy ? " (losing the Ready being persisted)" : "", torn.c_str()));
    n.raw.reset();
    n.state = Node::State::Down;
    if (options_.amnesiacDisk && !options_.realStorage) {
        std::vector<Entry> kept = n.storage.all();
        kept.resize(kept.size() - std::min<std::size_t>(kept.size(), rng_.range(1, 3)));
        raft::HardState hs = n.storage.hardState();
        hs.vote = raft::kNoNode;
        hs.commit = std::min<Index>(hs.commit, kept.size());
        n.storage = raft::MemoryStorage{};
        n.storage.append(kept);
        n.storage.setHardState(hs);
    }
    n.busy = false;
    n.pending = {};
    n.queued.clear();
    n.writing.clear();
    n.inbox.clear();
    n.wasLeader = false;
    crashes_++;
}

void Cluster::restart(NodeId id) {
    Node& n = node(id);
    if (n.state != Node::State::Down) return;
    start(n);
    process(n);
}

void Cluster::stop(NodeId id) {
    Node& n = node(id);
    if (n.state == Node::State::Gone) return;
    if (n.state == Node::State::Up) {
        crash(id);
        crashes_--;
    }
    n.state = Node::State::Gone;
    traceLine(fmt("n%" PRIu64 " STOPPED (removed)", id));
}

NodeId Cluster::createNode() {
    const NodeId id = nextId_++;
    auto p = std::make_unique<Node>();
    p->id = id;
    Node& n = *p;
    nodes_.emplace(id, std::move(p));
    start(n);
    process(n);
    return id;
}

void Cluster::setLink(NodeId from, NodeId to, bool up) {
    if (up)
        blocked_.erase({from, to});
    else
        blocked_.insert({from, to});
}

bool Cluster::linkUp(NodeId from, NodeId to) const {
    return blocked_.empty() || !blocked_.count({from, to});
}

void Cluster::isolate(NodeId id) {
    for (const auto& [other, n] : nodes_) {
        if (other == id) continue;
        setLink(id, other, false);
        setLink(other, id, false);
    }
    isolated_.insert(id);
    traceLine(fmt("n%" PRIu64 " isolated", id));
}

void Cluster::reconnect(NodeId id) {
    isolated_.erase(id);
    for (const auto& [other, n] : nodes_) {
        if (isolated_.count(other)) continue;
        setLink(id, other, true);
        setLink(other, id, true);
    }
    traceLine(fmt("n%" PRIu64 " reconnected", id));
}

void Cluster::partition(const std::vector<std::vector<NodeId>>& groups) {
    std::map<NodeId, int> groupOf;
    for (std::size_t g = 0; g < groups.size(); ++g)
        for (NodeId id : groups[g])
            groupOf[id] = static_cast<int>(g);
    blocked_.clear();
    isolated_.clear();
    std::string desc;
    for (const auto& [a, na] : nodes_) {
        if (!groupOf.count(a)) isolated_.insert(a);
        for (const auto& [b, nb] : nodes_) {
            if (a == b) continue;
            auto ga = groupOf.find(a), gb = groupOf.find(b);
            if (ga == groupOf.end() || gb == groupOf.end() || ga->second != gb->second)
                blocked_.insert({a, b});
        }
    }
    for (const auto& g : groups) {
        desc += " {";
        for (NodeId id : g)
            desc += fmt(" %" PRIu64, id);
        desc += " }";
    }
    traceLine("partition" + desc);
}

void Cluster::healAll() {
    blocked_.clear();
    isolated_.clear();
    traceLine("network healed");
}

raft::Status Cluster::status(NodeId id) const {
    const Node* n = find(id);
    if (!n || n->state != Node::State::Up) return {};
    return n->raw->status();
}

NodeId Cluster::leader() const {
    NodeId best = raft::kNoNode;
    Term bestTerm = 0;
    for (const auto& [id, n] : nodes_) {
        if (n->state != Node::State::Up) continue;
        const raft::Status st = n->raw->status();
        if (st.role == Role::Leader && (best == raft::kNoNode || st.term > bestTerm)) {
            best = id;
            bestTerm = st.term;
        }
    }
    return best;
}

raft::ProposeResult Cluster::propose(NodeId id, std::string data) {
    Node* n = find(id);
    raft::ProposeResult r;
    if (!n || n->state != Node::State::Up || violation_) return r;
    if (n->busy) {
        r.code = raft::ProposeResult::Code::Dropped;  // the node's event loop is busy syncing: try later
        return r;
    }
    std::string copy = data;
    try {
        r = n->raw->propose(std::move(data));
    } catch (const std::exception& e) {
        fail(fmt("n%" PRIu64 ": propose() threw: %s", id, e.what()));
        return r;
    }
    if (r.ok()) {
        auto [it, inserted] = proposalAt_.emplace(std::make_pair(r.term, r.index), proposals_.size());
        if (!inserted) {
            fail(fmt("n%" PRIu64 ": propose() returned %" PRIu64 "@t%" PRIu64 " twice", id, r.index, r.term));
            return r;
        }
        proposals_.push_back(Proposal{id, r.term, r.index, std::move(copy), false, false});
        if (options_.trace)
            traceLine(fmt("n%" PRIu64 " propose -> %" PRIu64 "@t%" PRIu64, id, r.index, r.term));
    }
    process(*n);
    return r;
}

raft::ProposeResult Cluster::proposeConfChange(NodeId id, const raft::ConfChange& cc) {
    Node* n = find(id);
    raft::ProposeResult r;
    if (!n || n->state != Node::State::Up || violation_) return r;
    if (n->busy) {
        r.code = raft::ProposeResult::Code::Dropped;
        return r;
    }
    try {
        r = n->raw->proposeConfChange(cc);
    } catch (const std::exception& e) {
        fail(fmt("n%" PRIu64 ": proposeConfChange() threw: %s", id, e.what()));
        return r;
    }
    if (options_.trace)
        traceLine(fmt("n%" PRIu64 " propose conf change (type %d, n%" PRIu64 ") -> code %d at %" PRIu64, id,
                      static_cast<int>(cc.type), cc.node, static_cast<int>(r.code), r.index));
    process(*n);
    return r;
}

bool Cluster::transferLeadership(NodeId from, NodeId to) {
    Node* n = find(from);
    if (!n || n->state != Node::State::Up || n->busy || violation_) return false;
    bool okay = false;
    try {
        okay = n->raw->transferLeadership(to);
    } catch (const std::exception& e) {
        fail(fmt("n%" PRIu64 ": transferLeadership() threw: %s", from, e.what()));
    }
    process(*n);
    return okay;
}

void Cluster::campaign(NodeId id) {
    Node* n = find(id);
    if (!n || n->state != Node::State::Up || n->busy || violation_) return;
    try {
        n->raw->campaign();
    } catch (const std::exception& e) {
        fail(fmt("n%" PRIu64 ": campaign() threw: %s", id, e.what()));
    }
    process(*n);
}

const std::vector<Entry>& Cluster::applied(NodeId id) const {
    return node(id).applied;
}
const std::vector<Entry>& Cluster::log(NodeId id) const {
    return node(id).log;
}
const raft::MemoryStorage& Cluster::storage(NodeId id) const {
    return node(id).storage;
}

std::uint64_t Cluster::sentBy(NodeId id) const {
    auto it = sentBy_.find(id);
    return it == sentBy_.end() ? 0 : it->second;
}

bool Cluster::converged(const std::vector<NodeId>& ids, std::string* why) const {
    auto no = [&](std::string s) {
        if (why) *why = std::move(s);
        return false;
    };
    if (ids.empty()) return no("no nodes");
    NodeId lead = raft::kNoNode;
    std::vector<raft::Status> sts;
    for (NodeId id : ids) {
        const Node* n = find(id);
        if (!n || n->state != Node::State::Up) return no(fmt("n%" PRIu64 " is not up", id));
        if (n->busy) return no(fmt("n%" PRIu64 " is persisting", id));
        sts.push_back(n->raw->status());
        if (sts.back().role == Role::Leader) {
            if (lead != raft::kNoNode) return no("two nodes in Leader role");
            lead = id;
        }
    }
    if (lead == raft::kNoNode) return no("no leader");
    const Node& ln = node(lead);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const raft::Status& st = sts[i];
        const Node& n = node(ids[i]);
        if (st.leader != lead)
            return no(fmt("n%" PRIu64 " does not know the leader n%" PRIu64, ids[i], lead));
        if (n.log.size() != ln.log.size() || (!n.log.empty() && n.hash.back() != ln.hash.back()))
            return no(fmt("n%" PRIu64 " log (%zu) differs from the leader's (%zu)", ids[i], n.log.size(),
                          ln.log.size()));
        if (st.commit != n.log.size())
            return no(fmt("n%" PRIu64 " commit %" PRIu64 " < last %zu", ids[i], st.commit, n.log.size()));
        if (n.applied.size() != n.log.size())
            return no(fmt("n%" PRIu64 " applied %zu < %zu", ids[i], n.applied.size(), n.log.size()));
    }
    for (const Proposal& p : proposals_) {
        if (!p.acked) continue;
        for (NodeId id : ids) {
            const Node& n = node(id);
            if (p.index > n.applied.size() || n.applied[p.index - 1].term != p.term ||
                n.applied[p.index - 1].data != p.data)
                return no(fmt("acknowledged proposal %" PRIu64 "@t%" PRIu64 " not applied on n%" PRIu64,
                              p.index, p.term, id));
        }
    }
    return true;
}

std::string Cluster::describe(const Message& m) {
    std::string s = fmt("%s n%" PRIu64 "->n%" PRIu64 " t%" PRIu64,
                        std::string(raft::toString(m.type)).c_str(), m.from, m.to, m.term);
    switch (m.type) {
        case MessageType::Append:
            s += fmt(" prev %" PRIu64 "@t%" PRIu64 " n=%zu commit %" PRIu64, m.index, m.logTerm,
                     m.entries.size(), m.commit);
            break;
        case MessageType::AppendResp:
            s += fmt(" idx %" PRIu64 "%s", m.index, m.reject ? "" : "");
            if (m.reject) s += fmt(" REJECT hint %" PRIu64 "@t%" PRIu64, m.rejectHint, m.rejectHintTerm);
            break;
        case MessageType::Heartbeat:
            s += fmt(" commit %" PRIu64, m.commit);
            break;
        case MessageType::Snapshot:
            s += fmt(" snapshot %" PRIu64 "@t%" PRIu64, m.snapshot.meta.index, m.snapshot.meta.term);
            break;
        case MessageType::Vote:
        case MessageType::PreVote:
            s += fmt(" last %" PRIu64 "@t%" PRIu64 "%s", m.index, m.logTerm, m.transfer ? " transfer" : "");
            break;
        case MessageType::VoteResp:
        case MessageType::PreVoteResp:
            s += m.reject ? " REJECT" : " granted";
            break;
        default:
            break;
    }
    return s;
}

NodeId Cluster::agreedLeader(const std::vector<NodeId>& group) const {
    NodeId l = raft::kNoNode;
    for (NodeId id : group)
        if (status(id).role == raft::Role::Leader) {
            if (l != raft::kNoNode) return raft::kNoNode;
            l = id;
        }
    if (l == raft::kNoNode) return raft::kNoNode;
    for (NodeId id : group)
        if (status(id).leader != l) return raft::kNoNode;
    return l;
}

}  // namespace raftwc::raftsim
