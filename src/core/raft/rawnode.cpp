#include "raft/rawnode.h"

#include "raft/raft.h"

namespace raftwc::raft {

namespace {

// Runs an input, then checks the invariants if the configuration asks for it.
template <typename F>
auto guarded(RaftCore& core, F&& f) {
    if constexpr (std::is_void_v<decltype(f())>) {
        f();
        if (core.invariantsEnabled()) core.checkInvariants();
    } else {
        auto r = f();
        if (core.invariantsEnabled()) core.checkInvariants();
        return r;
    }
}

}  // namespace

RawNode::RawNode(const Config& config, const Storage& storage)
    : core_(std::make_unique<RaftCore>(config, storage)) {
    if (core_->invariantsEnabled()) core_->checkInvariants();
}

RawNode::~RawNode() = default;

bool RawNode::bootstrap(const std::vector<NodeId>& voters) {
    return guarded(*core_, [&] { return core_->bootstrap(voters); });
}
void RawNode::tick() {
    guarded(*core_, [&] { core_->tick(); });
}
void RawNode::step(const Message& m) {
    guarded(*core_, [&] { core_->step(m); });
}
ProposeResult RawNode::propose(std::string data) {
    return guarded(*core_, [&] { return core_->propose(std::move(data)); });
}
ProposeResult RawNode::proposeConfChange(const ConfChange& cc) {
    return guarded(*core_, [&] { return core_->proposeConfChange(cc); });
}
bool RawNode::transferLeadership(NodeId to) {
    return guarded(*core_, [&] { return core_->transferLeadership(to); });
}
void RawNode::campaign() {
    guarded(*core_, [&] { core_->campaign(); });
}
void RawNode::reportSnapshot(NodeId to, bool installed) {
    guarded(*core_, [&] { core_->reportSnapshot(to, installed); });
}
bool RawNode::hasReady() const {
    return core_->hasReady();
}
Ready RawNode::ready() {
    return guarded(*core_, [&] { return core_->ready(); });
}
void RawNode::advance() {
    guarded(*core_, [&] { core_->advance(); });
}

void RawNode::persisted(std::uint64_t token) {
    guarded(*core_, [&] { core_->persisted(token); });
}
Status RawNode::status() const {
    return core_->status();
}
NodeId RawNode::id() const {
    return core_->id();
}

}  // namespace raftwc::raft
