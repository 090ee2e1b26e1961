// The coordinator's counting: the file is cut into pieces (many more than members) that are handed out as
// members finish, so work follows speed; stragglers get a backup once nothing is pending; a member that dies
// has its pieces reassigned; the parts are merged one by one as they arrive, off the event loop.
//
// Pipelined: pieces are planned while the file is still being stored, as soon as their bytes (and the next
// chunk, where their last word may end) are committed, and each member counts them from the chunks it has
// applied — so storing and counting overlap, and when the manifest commits only the last piece is left.
#include <QJsonObject>
#include <algorithm>

#include "node/jobs.h"
#include "node/jobs_p.h"
#include "node/off_loop.h"
#include "wordcount/plan.h"

namespace raftwc::node {

using wordcount::ShardCounts;

namespace {

bool counting(const JobPhase p) {
    return p == JobPhase::Storing || p == JobPhase::Counting;
}

}  // namespace

void JobCoordinator::chunkCommitted(const std::shared_ptr<Job>& job, std::uint64_t offset,
                                    std::uint32_t length, raft::Index index) {
    job->committed.emplace(offset, std::make_pair(index, length));
    for (auto it = job->committed.find(job->committedPrefix); it != job->committed.end();
         it = job->committed.find(job->committedPrefix)) {
        job->prefixIndex = std::max(job->prefixIndex, it->second.first);
        job->committedPrefix += it->second.second;
    }
    planPieces(job);
}

bool JobCoordinator::allStored(const Job& job) const {
    return job.phase == JobPhase::Counting ||
           (job.inputDone && job.committedPrefix == job.size && job.nextOffset == job.size);
}

void JobCoordinator::planPieces(const std::shared_ptr<Job>& job) {
    if (!pipeline || !counting(job->phase)) return;
    const bool whole = allStored(*job);
    if (whole && job->storedMs < 0) job->storedMs = host_.env().nowMs() - job->startedMs;
    const std::uint64_t known = whole ? job->size : job->committedPrefix;
    const std::uint64_t unit = std::uint64_t(std::max<qint64>(1, chunkBytes));
    if (job->pieceBytes == 0) {
        // About shardsPerNode pieces per live member for the declared size (4 chunks when unknown), whole
        // chunks, at least minShardBytes, at most 8 chunks (a big file: more pieces, a short last one).
        const std::uint64_t members = std::max<std::size_t>(1, host_.liveMembers().size());
        const std::uint64_t size = job->declaredSize > 0 ? job->declaredSize : (whole ? job->size : 0);
        std::uint64_t target =
            size > 0 ? size / (members * std::uint64_t(std::max(1, shardsPerNode))) : 4 * unit;
        target = std::clamp(target, std::max(minShardBytes, unit), std::max(minShardBytes, 8 * unit));
        job->pieceBytes = std::max(unit, target / unit * unit);
    }
    // The file's tail (its last two pieces' worth, when the size is known) goes in single chunks, counted
    // side by side as they commit: what is left when the last chunk commits is then one chunk, not one piece.
    const std::uint64_t expected = whole ? job->size : job->declaredSize;
    while (job->plannedEnd < known) {
        const bool tail =
            expected > 0 && expected - std::min(expected, job->plannedEnd) <= 2 * job->pieceBytes;
        std::uint64_t end = job->plannedEnd + (tail ? unit : job->pieceBytes);
        if (!whole && end >= known) break;  // wait for bytes after it: its last word may go on
        end = std::min(end, known);
        ShardState s;
        s.no = std::uint32_t(job->shards.size());
        s.spec = {job->plannedEnd, end - job->plannedEnd};
        s.needEnd = whole ? 0 : end + 1;
        job->shards.push_back(s);
        job->plannedEnd = end;
    }
    if (job->members.empty()) {
        job->members = host_.liveMembers();
        if (job->members.empty()) job->members.push_back(host_.selfId());
    }
    feedAll(job);  // new pieces, and pieces that waited for more of the file
    maybeFinishCounting(job);
}

void JobCoordinator::feedAll(const std::shared_ptr<Job>& job) {
    std::vector<raft::NodeId> live = host_.liveMembers();
    if (std::find(live.begin(), live.end(), host_.selfId()) == live.end()) live.push_back(host_.selfId());
    // Pieces that became ready go to the least busy members first, then to those handed the fewest so far,
    // so pieces trickling in while the file is stored spread over the members instead of all going to the
    // first one with room.
    while (counting(job->phase)) {
        auto next = std::find_if(job->shards.begin(), job->shards.end(),
                                 [&](const ShardState& s) { return ready(*job, s); });
        if (next == job->shards.end()) break;
        raft::NodeId best = raft::kNoNode;
        std::pair<long, int> bestKey{0, 0};
        for (raft::NodeId m : live) {
            const long b = busy(*job, m);
            if (b >= std::max(1, piecesInFlight)) continue;
            const std::pair<long, int> key{b, job->handed[m]};
            if (best == raft::kNoNode || key < bestKey) {
                best = m;
                bestKey = key;
            }
        }
        if (best == raft::kNoNode) break;
        next->node = best;
        dispatchShard(job, std::size_t(next - job->shards.begin()));
    }
    // Members with room left (nothing ready): backups of stragglers, once the whole file is planned.
    if (job->phase == JobPhase::Counting && backupPieces)
        for (raft::NodeId m : live)
            if (job->phase == JobPhase::Counting) feed(job, m);
}

long JobCoordinator::busy(const Job& job, raft::NodeId member) const {
    return long(std::count_if(job.shards.begin(), job.shards.end(), [&](const ShardState& s) {
        return s.state == ShardState::State::Running && (s.node == member || s.backup == member);
    }));
}

void JobCoordinator::startCounting(const std::shared_ptr<Job>& job) {
    if (!job->on(JobEvent::Stored)) return;
    job->manifestMs = host_.env().nowMs() - job->startedMs;
    report(job);
    qInfo().noquote() << QStringLiteral("job %1: stored %2 bytes of '%3' in the log (index %4) in %5 ms")
                             .arg(QString::fromLatin1(job->id))
                             .arg(job->size)
                             .arg(job->name)
                             .arg(job->manifestIndex)
                             .arg(job->manifestMs);
    job->tail = {};  // the bytes are in the log now
    if (pipeline) {
        planPieces(job);  // the rest of the file; then pieces pending or not, then finishing
        if (job->phase == JobPhase::Counting) feedAll(job);
        return;
    }
    job->members = host_.liveMembers();
    if (job->members.empty()) job->members.push_back(host_.selfId());
    wordcount::PlanOptions plan;
    plan.shardsPerNode = std::uint32_t(std::max(1, shardsPerNode));
    plan.minShardBytes = minShardBytes;
    job->shards.clear();
    if (job->size > 0) {  // nothing to count in an empty file: it is all zeros
        for (const auto& a : wordcount::planShards(job->size, job->members, plan)) {
            ShardState s;
            s.no = a.index;
            s.spec = a.spec;
            s.node = a.node;
            job->shards.push_back(s);
        }
    }
    // Pieces go out as members finish: piecesInFlight to each member now, the rest on their answers.
    for (raft::NodeId m : job->members)
        feed(job, m);
    maybeFinishCounting(job);
}

bool JobCoordinator::ready(const Job& job, const ShardState& s) const {
    return s.state == ShardState::State::Pending &&
           (job.phase == JobPhase::Counting || s.needEnd <= job.committedPrefix);
}

void JobCoordinator::feed(const std::shared_ptr<Job>& job, raft::NodeId member) {
    if (!counting(job->phase)) return;
    const std::vector<raft::NodeId> live = host_.liveMembers();
    if (member != host_.selfId() && std::find(live.begin(), live.end(), member) == live.end()) return;
    while (busy(*job, member) < std::max(1, piecesInFlight)) {
        auto next = std::find_if(job->shards.begin(), job->shards.end(),
                                 [&](const ShardState& s) { return ready(*job, s); });
        if (next != job->shards.end()) {
            next->node = member;
            dispatchShard(job, std::size_t(next - job->shards.begin()));
            if (!counting(job->phase)) return;
            continue;
        }
        // Nothing to hand out. Once the whole file is planned and nothing is pending, back up a straggler
        // on another member (one backup per piece and per member).
        if (!backupPieces || job->phase != JobPhase::Counting ||
            std::any_of(job->shards.begin(), job->shards.end(),
                        [](const ShardState& s) { return s.state == ShardState::State::Pending; }))
            return;
        std::vector<qint64> took;
        for (const ShardState& s : job->shards)
            if (s.state == ShardState::State::Done) took.push_back(s.tookMs);
        qint64 median = 0;
        if (!took.empty()) {
            std::nth_element(took.begin(), took.begin() + std::ptrdiff_t(took.size() / 2), took.end());
            median = took[took.size() / 2];
        }
        const qint64 now = host_.env().nowMs();
        const qint64 slowAfter = std::max<qint64>(backupAfterMs, 3 * median);
        std::size_t best = job->shards.size();
        double bestDone = 2;
        for (std::size_t i = 0; i < job->shards.size(); ++i) {
            const ShardState& s = job->shards[i];
            if (s.state != ShardState::State::Running || s.backup != raft::kNoNode || s.node == member ||
                now - s.startedMs < slowAfter)
                continue;
            const double done = s.spec.length ? double(s.bytesDone) / double(s.spec.length) : 1;
            if (done < bestDone) {
                bestDone = done;
                best = i;
            }
        }
        if (best == job->shards.size()) return;
        sendBackup(job, best, member);
        return;  // at most one backup per member at a time
    }
}

ShardRequest JobCoordinator::requestFor(const Job& job, const ShardState& s) const {
    ShardRequest req{job.id, job.fileId, job.manifestIndex, s.spec, job.freqMode, s.no};
    if (job.phase == JobPhase::Storing) {  // pipelined: the committed prefix, not yet the manifest
        req.manifestIndex = job.prefixIndex;
        req.knownEnd = job.committedPrefix;
        req.finalEnd = job.inputDone && job.committedPrefix == job.size;
    }
    return req;
}

int JobCoordinator::timeoutFor(const ShardState& s) const {
    return shardTimeoutMs + int(std::min<std::uint64_t>(s.spec.length / (20u << 10), 600000));
}

void JobCoordinator::sendBackup(const std::shared_ptr<Job>& job, std::size_t idx, raft::NodeId member) {
    ShardState& s = job->shards[idx];
    s.backup = member;
    qInfo().noquote() << "job" << job->id << "shard" << s.no << "is slow on" << nodeIdString(s.node) << "("
                      << s.bytesDone << "of" << s.spec.length << "bytes): also counting it on"
                      << nodeIdString(member);
    QPointer<JobCoordinator> self(this);
    host_.sendShard(member, requestFor(*job, s), timeoutFor(s), [self, job, idx, member](ShardReply reply) {
        if (!self || !counting(job->phase)) return;
        ShardState& st = job->shards[idx];
        if (st.backup != member) return;  // a stale answer (the backup was dropped)
        if (st.state == ShardState::State::Done) {
            st.backup = raft::kNoNode;
            self->feed(job, member);
            return;
        }
        if (!reply.ok) {
            // The original keeps going. This member failed: it is not fed again from here (a member that
            // fails every piece would be handed backups for ever); its other answers still feed it.
            st.backup = raft::kNoNode;
            return;
        }
        st.node = member;  // the answer came from here
        self->pieceDone(job, idx, std::move(reply));
    });
}

void JobCoordinator::pieceDone(const std::shared_ptr<Job>& job, std::size_t idx, ShardReply reply) {
    ShardState& st = job->shards[idx];
    const raft::NodeId by = st.node;
    st.state = ShardState::State::Done;
    st.backup = raft::kNoNode;
    st.bytesDone = st.spec.length;
    st.words = reply.counts.words;
    st.ms = reply.ms;
    st.tookMs = host_.env().nowMs() - st.startedMs;
    job->mergeQueue.push_back(std::move(reply.counts));
    pumpMerge(job);
    if (counting(job->phase)) feed(job, by);
}

void JobCoordinator::pumpMerge(const std::shared_ptr<Job>& job) {
    if (job->merging || !counting(job->phase)) return;
    if (job->mergeQueue.empty()) {
        maybeFinishCounting(job);
        return;
    }
    // Every part that arrived, merged into the running total on a worker thread, one batch at a time.
    auto parts = std::make_shared<std::deque<ShardCounts>>(std::move(job->mergeQueue));
    job->mergeQueue.clear();
    job->merging = true;
    runOffLoop(
        host_.env(), QPointer<JobCoordinator>(this),
        [total = job->total, parts] {
            bool ok = true;
            for (const ShardCounts& p : *parts)
                ok = wordcount::mergeInto(*total, p) && ok;
            return ok;
        },
        [this, job](bool ok) {
            job->merging = false;
            if (!ok) {
                fail(job, JobOutcome::Kind::Internal, QStringLiteral("internal"),
                     QStringLiteral("a part was counted in another mode"));
                return;
            }
            pumpMerge(job);
        });
}

void JobCoordinator::maybeFinishCounting(const std::shared_ptr<Job>& job) {
    if (job->phase != JobPhase::Counting || job->merging || !job->mergeQueue.empty()) return;
    if (pipeline && job->plannedEnd < job->size) return;
    if (!std::all_of(job->shards.begin(), job->shards.end(),
                     [](const ShardState& s) { return s.state == ShardState::State::Done; }))
        return;
    if (job->countedMs < 0) job->countedMs = host_.env().nowMs() - job->startedMs;
    finishCounting(job);
}

void JobCoordinator::dispatchShard(const std::shared_ptr<Job>& job, std::size_t idx) {
    if (!counting(job->phase)) return;  // failed meanwhile: send nothing more
    ShardState& s = job->shards[idx];
    ++s.attempts;
    s.state = ShardState::State::Running;
    s.bytesDone = 0;
    s.startedMs = host_.env().nowMs();
    ++job->handed[s.node];
    const ShardRequest req = requestFor(*job, s);
    const raft::NodeId target = s.node;
    QPointer<JobCoordinator> self(this);
    host_.sendShard(target, req, timeoutFor(s), [self, job, idx, target, req](ShardReply reply) {
        if (!self || !counting(job->phase)) return;
        ShardState& st = job->shards[idx];
        // A stale answer: the piece went to another member, or its backup answered first. Either way
        // this member is free again.
        if (st.node != target || st.state != ShardState::State::Running) {
            self->feed(job, target);
            return;
        }
        if (reply.ok) {
            self->pieceDone(job, idx, std::move(reply));
            return;
        }
        if (reply.error.startsWith(QLatin1String(kNeedsMoreBytes)) && req.knownEnd > 0 && !req.finalEnd) {
            // Its last word runs past what was committed then: again once more is (not a failure).
            --st.attempts;
            st.state = ShardState::State::Pending;
            st.needEnd = std::max(st.needEnd, req.knownEnd + 1);
            if (st.backup != raft::kNoNode) st.backup = raft::kNoNode;
            self->feedAll(job);
            return;
        }
        // A shard whose table is too large to send (millions of distinct words) is counted in two halves.
        if (reply.error.startsWith(QLatin1String(kReplyTooLarge)) && self->splitShard(job, idx)) return;
        self->reassign(job, idx, reply.error);
    });
}

bool JobCoordinator::splitShard(const std::shared_ptr<Job>& job, std::size_t idx) {
    constexpr std::uint64_t kMinSplitBytes = 64 << 10;
    if (job->shards[idx].spec.length < 2 * kMinSplitBytes) return false;
    ShardState first = job->shards[idx];
    ShardState second = first;
    const std::uint64_t half = first.spec.length / 2;
    first.spec.length = half;
    second.spec.offset += half;
    second.spec.length -= half;
    first.attempts = second.attempts = 0;
    first.state = second.state = ShardState::State::Pending;
    first.backup = second.backup = raft::kNoNode;
    second.no = std::uint32_t(job->shards.size());  // a shard's number is its index (progress notes)
    const std::vector<raft::NodeId> live = host_.liveMembers();
    if (!live.empty()) second.node = live[second.no % live.size()];
    qInfo().noquote() << "job" << job->id << "shard" << first.no
                      << "has too many distinct words to send in one"
                      << "reply: counting it as shards" << first.no << "and" << second.no;
    job->shards[idx] = first;
    job->shards.push_back(second);
    // Merging is order-free: each part counts the words and characters starting in it, and line widths
    // compose by offset.
    dispatchShard(job, idx);
    dispatchShard(job, job->shards.size() - 1);
    return true;
}

void JobCoordinator::reassign(const std::shared_ptr<Job>& job, std::size_t idx, const QString& why) {
    if (job->phase == JobPhase::Counting && !host_.state().file(job->fileId)) return failFileDeleted(job);
    ShardState& st = job->shards[idx];
    qWarning().noquote() << "job" << job->id << "shard" << st.no << "on" << nodeIdString(st.node)
                         << "failed:" << why;
    if (st.attempts >= maxShardAttempts) {
        fail(job, JobOutcome::Kind::Unavailable, QStringLiteral("count_failed"),
             QStringLiteral("shard %1 failed %2 times; last error: %3").arg(st.no).arg(st.attempts).arg(why));
        return;
    }
    // The next live member after the one that failed; this node as the last resort.
    std::vector<raft::NodeId> live = host_.liveMembers();
    live.erase(std::remove(live.begin(), live.end(), st.node), live.end());
    st.node = live.empty() ? host_.selfId() : live[std::size_t(st.attempts) % live.size()];
    dispatchShard(job, idx);
}

void JobCoordinator::onProgress(const ShardProgressNote& p) {
    auto it = jobs_.find(p.jobId);
    if (it == jobs_.end() || p.shardNo >= it->second->shards.size()) return;
    ShardState& s = it->second->shards[p.shardNo];
    if (s.state == ShardState::State::Running) s.bytesDone = std::min(p.bytesDone, s.spec.length);
}

void JobCoordinator::watchdog() {
    for (auto& [id, job] : jobs_)
        if (job->phase != JobPhase::Done && job->phase != JobPhase::Failed) report(job);
    std::vector<raft::NodeId> live;
    bool fetched = false;
    for (auto& [id, job] : jobs_) {
        if (!counting(job->phase) || job->shards.empty()) continue;
        if (!fetched) {
            live = host_.liveMembers();
            fetched = true;
        }
        for (std::size_t i = 0; i < job->shards.size(); ++i) {
            const ShardState& s = job->shards[i];
            if (s.state == ShardState::State::Running && s.node != host_.selfId() &&
                std::find(live.begin(), live.end(), s.node) == live.end())
                reassign(job, i, QStringLiteral("node %1 is no longer live").arg(nodeIdString(s.node)));
            if (!counting(job->phase)) break;
        }
        // Stragglers become eligible for a backup with time, and idle members (a member that came back)
        // look again.
        if (counting(job->phase)) feedAll(job);
    }
}

}  // namespace raftwc::node
