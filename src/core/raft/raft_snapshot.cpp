// RaftCore, snapshots (docs/RAFT.md, "Snapshots and compaction"): the leader sends one to a member that
// needs compacted entries and waits in Snapshot state (answer, report or timeout); the follower installs
// it or, when its log already holds it, only moves its commit index.
#include "raft/raft.h"
#include "raft/raft_internal.h"

namespace raftwc::raft {

using detail::str;

// ---- leader ------------------------------------------------------------------------------------------

bool RaftCore::maybeSendSnapshot(NodeId to, Progress& pr) {
    const std::optional<Snapshot> snap = storage_.snapshot();
    if (!snap || snap->meta.index + 1 < log_.firstIndex()) {
        log(LogLevel::Debug, who() + " cannot replicate to " + idStr(to) + ": entry " + str(pr.next - 1) +
                                 " is compacted and no snapshot is available yet");
        return false;
    }
    log(LogLevel::Info, who() + " sends snapshot " + str(snap->meta.index) + " (term " +
                            str(snap->meta.term) + ") to " + idStr(to) + ", which needs entry " +
                            str(pr.next));
    pr.becomeSnapshot(snap->meta.index);
    Message m;
    m.type = MessageType::Snapshot;
    m.to = to;
    m.snapshot = *snap;
    send(std::move(m));
    return true;
}

void RaftCore::tickSnapshots() {
    const int timeout =
        cfg_.snapshotTimeoutTicks > 0 ? cfg_.snapshotTimeoutTicks : 10 * cfg_.electionTicksMax;
    for (auto& [pid, pr] : prs_) {
        if (pr.state != Progress::State::Snapshot || ++pr.snapshotElapsed < timeout) continue;
        log(LogLevel::Info, who() + " heard nothing of snapshot " + str(pr.pendingSnapshot) + " sent to " +
                                idStr(pid) + "; probing again");
        pr.becomeProbe();
    }
}

void RaftCore::reportSnapshot(NodeId to, bool installed) {
    if (role_ != Role::Leader) return;
    auto it = prs_.find(to);
    if (it == prs_.end() || it->second.state != Progress::State::Snapshot) return;
    Progress& pr = it->second;
    log(LogLevel::Info, who() + " snapshot " + str(pr.pendingSnapshot) + " to " + idStr(to) +
                            (installed ? " installed" : " failed; probing again after a heartbeat"));
    if (installed) {
        pr.snapshotDone();
    } else {
        pr.becomeProbe();
    }
    pr.probeSent = true;  // wait for its answer (or a heartbeat's) before the next Append
}

// ---- follower ----------------------------------------------------------------------------------------

void RaftCore::handleSnapshot(const Message& m) {
    const SnapshotMeta& sm = m.snapshot.meta;
    if (sm.index == 0 || sm.term == 0 || sm.term > m.term || sm.conf.voters.empty()) {
        log(LogLevel::Warning, who() + " drops a malformed Snapshot from " + idStr(m.from));
        return;
    }
    Message r;
    r.type = MessageType::AppendResp;
    r.to = m.from;
    if (restore(m.snapshot)) {
        log(LogLevel::Info, who() + " installs the snapshot from " + idStr(m.from) + " at index " +
                                str(sm.index) + " (term " + str(sm.term) + "), " + confStr(sm.conf));
        r.index = log_.lastIndex();
    } else {
        r.index = log_.committed();
    }
    send(std::move(r));
}

bool RaftCore::restore(const Snapshot& s) {
    const SnapshotMeta& sm = s.meta;
    if (sm.index <= log_.committed()) return false;
    if (log_.matchTerm(sm.index, sm.term)) {
        // The log already holds it: the snapshot only says that far is committed (etcd: fast-forward).
        log_.commitTo(sm.index);
        noteConfInForce();
        return false;
    }
    log_.restore(s);
    confHistory_.clear();
    confHistory_.emplace_back(sm.index, sm.conf);
    handedTo_ = sm.index;
    noteConfInForce();
    return true;
}

}  // namespace raftwc::raft
