// The node simulation: real node::Node objects — discovery, bootstrap and join, the Ready loop, proposal
// forwarding, jobs, shard dispatch and reassignment, the state machine, the durable log on
// CrashFileOps — driven through the node's I/O seam (node/node_env.h) by one seeded, deterministic event
// queue. Time is simulated (a minute of cluster life runs in well under a second); the network delivers,
// delays, drops and partitions messages; a crash drops a node's process state, fails its peers'
// requests to it the way a reset TCP connection does, and applies a power loss to its unsynced writes.
// The same seed always replays the same history (docs/raft-simulation.md, "The node simulation").
#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QTemporaryDir>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "crash_file_ops.h"
#include "node/node.h"
#include "node/node_env.h"
#include "rng.h"

namespace raftwc::nodesim {

using raft::NodeId;
using raftsim::Rng;

class World;

/// The discrete-event queue: events at simulated milliseconds, FIFO among equal times, each owned by a
/// node incarnation (0: the world) so a crash drops exactly that process's pending work.
class World {
  public:
    explicit World(std::uint64_t seed) : rng_(seed) {}
    qint64 now() const { return now_; }
    Rng& rng() { return rng_; }
    std::uint64_t schedule(qint64 at, int owner, std::function<void()> f);
    void cancel(std::uint64_t id) { events_.erase(id); }
    /// A new owner id (one per node incarnation).
    int newOwner() { return ++lastOwner_; }
    /// Drops every pending event of `owner` (its process died).
    void kill(int owner);
    bool alive(int owner) const { return owner == 0 || !dead_.count(owner); }
    /// Runs the next event; false if there is none.
    bool step();
    /// Runs events up to time `t` (inclusive); the clock ends at `t`.
    void runFor(qint64 ms);
    /// Runs until `pred()` holds (checked after every event) or `ms` pass; returns pred().
    bool runUntil(const std::function<bool()>& pred, qint64 ms);
    std::uint64_t eventsRun() const { return eventsRun_; }
    /// Called after every event (invariant checks).
    std::function<void()> afterEvent;

  private:
    struct Event {
        int owner = 0;
        std::function<void()> f;
    };
    using Key = std::pair<qint64, std::uint64_t>;
    qint64 now_ = 0;
    std::uint64_t nextId_ = 1;
    std::priority_queue<Key, std::vector<Key>, std::greater<Key>> queue_;
    std::unordered_map<std::uint64_t, Event> events_;
    std::set<int> dead_;
    int lastOwner_ = 0;
    std::uint64_t eventsRun_ = 0;
    Rng rng_;
};

/// A node incarnation's NodeEnv: timers and posts on the world's queue; worker-thread work runs as a later
/// event (0–3 ms), then its continuation.
class SimEnv final : public node::NodeEnv {
  public:
    SimEnv(World& w, int owner, std::uint64_t seed) : w_(w), owner_(owner), rng_(seed) {}
    qint64 nowMs() const override { return w_.now(); }
    qint64 wallMs() const override { return 1'780'000'000'000 + w_.now(); }
    void post(std::function<void()> f) override { w_.schedule(w_.now(), owner_, std::move(f)); }
    std::uint64_t after(int ms, std::function<void()> f) override {
        return w_.schedule(w_.now() + std::max(0, ms), owner_, std::move(f));
    }
    void cancel(std::uint64_t timer) override { w_.cancel(timer); }
    void offLoop(std::function<std::function<void()>()> work) override;
    std::uint64_t random64() override { return rng_.next(); }

  private:
    World& w_;
    int owner_;
    Rng rng_;
};

class Cluster;

/// Network faults, as the cluster's nemesis sets them.
struct NetConfig {
    int minLatencyMs = 1;
    int maxLatencyMs = 6;
    double loss = 0.0;       ///< Raft messages and datagrams dropped (requests ride TCP: never)
    double duplicate = 0.0;  ///< Raft messages delivered twice
};

/// One upload as the client saw it.
struct UploadRecord {
    int node = 0;  ///< index of the node it was sent to
    QByteArray text;
    QString jobId;
    qint64 sentMs = 0;
    std::optional<node::JobOutcome> outcome;  ///< empty: no answer (the node died, or still running)
    qint64 answeredMs = -1;
    int incarnation = 0;           ///< of the node it was sent to, at the time
    bool visibleAtAnswer = false;  ///< the answering node listed the job when it answered (read your writes)
};

/// Reference counts of an ASCII text of lowercase words separated by spaces, tabs and newlines (the
/// generator's alphabet): computed here by the simplest loop, independently of the counting kernel.
struct Reference {
    std::uint64_t words = 0, lines = 0, unique = 0;
};
Reference referenceCount(const QByteArray& text);
/// A text of `bytes` bytes over a small Zipf-ish vocabulary (lowercase words, spaces, tabs, newlines).
QByteArray makeText(Rng& rng, std::size_t bytes);

class Cluster {
  public:
    struct Options {
        int nodes = 3;
        std::uint64_t seed = 1;
        /// Job tunables shrunk so small files still make many chunks and shards.
        qint64 chunkBytes = 16 << 10;
        std::uint64_t minShardBytes = 4 << 10;
        int chunkWindow = 4;
        /// Log bytes applied between snapshots (0: the node's default, 64 MiB: never in a short run).
        qint64 snapshotBytes = 0;
    };
    explicit Cluster(Options o);
    ~Cluster();

    World& world() { return w_; }
    int size() const;
    NodeId id(int i) const;
    int indexOf(NodeId id) const;
    bool up(int i) const;
    /// How many times node i was started (a crash and restart makes a new incarnation).
    int incarnation(int i) const;
    node::Node& node(int i) const;
    NetConfig& net() { return net_; }

    /// Starts every node fresh (bootstrapExpect = all) and runs until one leader leads all as voters.
    bool form(qint64 withinMs = 30000);
    void crash(int i);
    void restart(int i);
    /// Cuts (or restores) both directions between i and j.
    void cut(int i, int j, bool down = true);
    void isolate(int i);
    void heal();
    bool connected(NodeId a, NodeId b) const;

    /// The node that leads in the highest term among up nodes, or -1.
    int leader() const;
    /// Sends `text` as an upload to node i; returns the record's index.
    std::size_t upload(int i, QByteArray text, QString jobId = {});
    const std::vector<UploadRecord>& uploads() const { return uploads_; }

    /// Waits (healed) until every up node applied the same commit index under one leader.
    bool converge(qint64 withinMs = 60000);
    /// Checks after converge(): every answered upload is exact; every node has the same files and jobs,
    /// every file's bytes on every node match its manifest's sha256. Returns "" or what is wrong.
    QString checkConsistent() const;
    /// Election safety and other invariants violated so far ("" if none).
    const QString& violation() const { return violation_; }
    /// Counters: raft messages and requests delivered by method.
    std::map<QString, std::uint64_t> counters;
    /// Called when a request with `method` reaches node `to` from `from` (before the node sees it).
    std::function<void(int from, int to, quint16 method)> onRequestDelivered;
    std::string trace() const;

  private:
    friend class SimPeerLink;
    friend class SimDiscovery;
    struct SimNode;
    void startNode(int i);
    void checkInvariants();
    qint64 latency();

    Options opt_;
    World w_;
    NetConfig net_;
    std::vector<SimNode> nodes_;
    std::set<std::pair<NodeId, NodeId>> cuts_;
    std::vector<UploadRecord> uploads_;
    std::map<raft::Term, NodeId> leaders_;  ///< election safety: one leader per term, ever
    QString violation_;
    QTemporaryDir dir_;
    std::uint64_t nextRequestId_ = 1;
};

}  // namespace raftwc::nodesim
