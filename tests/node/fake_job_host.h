// FakeJobHost: a JobHost held entirely in memory, for JobCoordinator and ShardWorker tests.
//
//  - proposeCommand appends the command to an in-memory log and commits it on a later event-loop turn
//    (in log order) by applying it to a real StateMachine; it can refuse proposals (failNext) or have
//    no leader at all.
//  - Fake members 1..n: each live member has its own real ShardWorker bound to this host (they share
//    the log, as replicas hold the same file). A member can instead answer with an error, never answer
//    ("dead"), or hold its shards until released.
//  - fileSource reads a stored file's bytes from the chunk entries' payloads, like the node's log source.
#pragma once

#include <QObject>
#include <QPointer>
#include <QTimer>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "node/commands.h"
#include "node/jobs.h"
#include "node/qt_env.h"
#include "node/statemachine.h"

namespace raftwc::node::testing {

/// Reads a file from chunk payloads (header + bytes), as Node's LogFileSource does from disk.
class ChunkPayloadSource final : public wordcount::ByteSource {
  public:
    struct Piece {
        std::uint64_t fileOffset = 0;
        std::uint32_t length = 0;
        std::shared_ptr<const std::string> payload;
    };
    explicit ChunkPayloadSource(std::vector<Piece> pieces) : pieces_(std::move(pieces)) {}
    bool read(std::uint64_t offset, std::size_t len, char* out) const override {
        for (const Piece& p : pieces_) {
            if (len == 0) return true;
            if (offset < p.fileOffset || offset >= p.fileOffset + p.length) continue;
            const std::uint64_t within = offset - p.fileOffset;
            const std::size_t n = std::size_t(std::min<std::uint64_t>(len, p.length - within));
            if (p.payload->size() < kChunkHeaderBytes + within + n) return false;
            std::memcpy(out, p.payload->data() + kChunkHeaderBytes + within, n);
            out += n;
            offset += n;
            len -= n;
        }
        return len == 0;
    }

  private:
    std::vector<Piece> pieces_;  ///< Sorted by fileOffset, contiguous.
};

class FakeJobHost : public QObject, public JobHost {
    Q_OBJECT
  public:
    enum class Behaviour {
        Live,      ///< Counts with a real ShardWorker.
        Error,     ///< Answers every shard with an error.
        ErrorNow,  ///< Answers every shard with an error before sendShard returns.
        Dead,      ///< Never answers.
        Hold,      ///< Keeps the shard until release() (then counts it).
    };

    explicit FakeJobHost(int members, QObject* parent = nullptr) : QObject(parent) { setMembers(members); }
    ~FakeJobHost() override { workers_.clear(); }

    void setMembers(int n) {
        live_.clear();
        for (int i = 1; i <= n; ++i)
            live_.push_back(raft::NodeId(i));
        for (raft::NodeId id : live_)
            if (!workers_.count(id)) workers_[id] = std::make_unique<ShardWorker>(*this);
    }
    void setLive(std::vector<raft::NodeId> live) { live_ = std::move(live); }
    void setBehaviour(raft::NodeId id, Behaviour b) { behaviour_[id] = b; }
    void setCoordinator(JobCoordinator* c) { coordinator_ = c; }

    // Knobs.
    bool hasLeader = true;
    QString catchingUpWhy;        ///< catchingUp() answer
    qsizetype maxReplyBytes = 0;  ///< > 0: shard replies go through encodeShardReplyBounded with this limit
    int repliesEncoded = 0;
    int repliesTooLarge = 0;
    int needsMoreReplies = 0;   ///< Pipelined pieces answered kNeedsMoreBytes.
    int pipelinedRequests = 0;  ///< Requests over a file still being stored (knownEnd > 0).
    int failNext = 0;           ///< The next N proposals fail.
    ProposeOutcome::Code failCode = ProposeOutcome::Code::Failed;
    bool failSynchronously = false;  ///< Call `done` of a failed proposal before proposeCommand returns.
    raft::Term term = 7;

    // Observations.
    int proposals = 0;
    qsizetype largestProposal = 0;
    int failedProposals = 0;
    std::map<raft::NodeId, int> shardsSent;
    const std::vector<raft::Entry>& log() const { return log_; }
    StateMachine& stateMachine() { return sm_; }
    ShardWorker& worker(raft::NodeId id) { return *workers_.at(id); }
    int held() const { return int(held_.size()); }

    /// Counts every held shard now.
    void releaseHeld() {
        auto held = std::move(held_);
        held_.clear();
        for (auto& h : held)
            runWorker(h.to, h.req, std::move(h.done));
    }

    // JobHost
    NodeEnv& env() override { return env_; }
    raft::NodeId selfId() const override { return 1; }
    raft::Term currentTerm() const override { return term; }
    bool leaderKnown() const override { return hasLeader; }
    QString catchingUp() const override { return catchingUpWhy; }

    void proposeCommand(QByteArray command, std::function<void(ProposeOutcome)> done) override {
        ++proposals;
        largestProposal = std::max(largestProposal, command.size());
        if (!hasLeader || failNext > 0) {
            if (hasLeader) --failNext;
            ++failedProposals;
            const ProposeOutcome o{hasLeader ? failCode : ProposeOutcome::Code::NoLeader, 0, 0,
                                   QStringLiteral("simulated proposal failure")};
            if (failSynchronously) {  // as Node::proposeCommand does without a leader
                done(o);
            } else {
                QTimer::singleShot(0, this, [done = std::move(done), o] { done(o); });
            }
            return;
        }
        raft::Entry e{term, log_.size() + 1, raft::EntryType::Normal, command.toStdString()};
        log_.push_back(e);
        payloads_.push_back(std::make_shared<const std::string>(e.data));
        QTimer::singleShot(0, this, [this, index = e.index, done = std::move(done)] {
            commitUpTo(index);
            done({ProposeOutcome::Code::Committed, term, index, {}});
        });
    }

    const StateMachine& state() const override { return sm_; }

    void whenApplied(raft::Index index, int timeoutMs, std::function<void(bool)> cb) override {
        if (sm_.applied() >= index) {
            cb(true);
            return;
        }
        auto shared = std::make_shared<std::function<void(bool)>>(std::move(cb));
        waiters_.emplace(index, shared);
        QTimer::singleShot(timeoutMs, this, [shared] {
            if (auto f = std::exchange(*shared, nullptr)) f(false);
        });
    }

    std::vector<raft::NodeId> liveMembers() const override { return live_; }

    void sendShard(raft::NodeId to, const ShardRequest& req, int,
                   std::function<void(ShardReply)> done) override {
        ++shardsSent[to];
        const Behaviour b = behaviour_.count(to) ? behaviour_.at(to) : Behaviour::Live;
        switch (b) {
            case Behaviour::Live:
                runWorker(to, req, std::move(done));
                return;
            case Behaviour::Error:
                QTimer::singleShot(0, this, [done = std::move(done), to] {
                    done({false, QStringLiteral("simulated failure on node %1").arg(to), {}, 0});
                });
                return;
            case Behaviour::ErrorNow:
                done({false, QStringLiteral("immediate failure on node %1").arg(to), {}, 0});
                return;
            case Behaviour::Dead:
                dead_.push_back(std::move(done));  // never called
                return;
            case Behaviour::Hold:
                held_.push_back({to, req, std::move(done)});
                return;
        }
    }

    std::shared_ptr<wordcount::ByteSource> fileSource(const StoredFile& f) override {
        std::vector<ChunkPayloadSource::Piece> pieces;
        for (const ChunkRef& c : f.chunks)
            pieces.push_back({c.fileOffset, c.length, payloads_.at(c.index - 1)});
        return std::make_shared<ChunkPayloadSource>(std::move(pieces));
    }

  private:
    void commitUpTo(raft::Index index) {
        while (sm_.applied() < index) {
            sm_.apply(log_.at(sm_.applied()));
            notes_ += sm_.takeNotes();
        }
        while (!waiters_.empty() && waiters_.begin()->first <= sm_.applied()) {
            auto f = std::exchange(*waiters_.begin()->second, nullptr);
            waiters_.erase(waiters_.begin());
            if (f) f(true);
        }
    }
    void runWorker(raft::NodeId to, const ShardRequest& req, std::function<void(ShardReply)> done) {
        QPointer<JobCoordinator> c(coordinator_);
        if (req.knownEnd > 0) ++pipelinedRequests;
        workers_.at(to)->handle(
            req,
            [c](const ShardProgressNote& n) {
                if (c) c->onProgress(n);
            },
            [this, done = std::move(done)](ShardReply reply) {
                if (reply.error.startsWith(QLatin1String(kNeedsMoreBytes))) ++needsMoreReplies;
                if (maxReplyBytes <= 0 || reply.counts.freq.size() == 0) return done(std::move(reply));
                // As a remote worker does: the reply goes through its bounded encoding.
                ++repliesEncoded;
                auto decoded = decodeShardReply(encodeShardReplyBounded(reply, maxReplyBytes));
                if (!decoded->ok) ++repliesTooLarge;
                done(std::move(*decoded));
            });
    }

    struct Held {
        raft::NodeId to;
        ShardRequest req;
        std::function<void(ShardReply)> done;
    };

    StateMachine sm_;
    std::vector<raft::Entry> log_;
    std::vector<std::shared_ptr<const std::string>> payloads_;  ///< Shared with worker threads.
    std::multimap<raft::Index, std::shared_ptr<std::function<void(bool)>>> waiters_;
    std::vector<raft::NodeId> live_;
    std::map<raft::NodeId, Behaviour> behaviour_;
    QtNodeEnv env_;  ///< before the workers: destroyed after them
    std::map<raft::NodeId, std::unique_ptr<ShardWorker>> workers_;
    std::vector<std::function<void(ShardReply)>> dead_;
    std::vector<Held> held_;
    JobCoordinator* coordinator_ = nullptr;

  public:
    QStringList notes_;  ///< State machine notes seen while committing.
};

}  // namespace raftwc::node::testing
