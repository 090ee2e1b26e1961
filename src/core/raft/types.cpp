#include "raft/types.h"

#include <algorithm>

namespace raftwc::raft {

namespace {

constexpr std::uint8_t kConfChangeVersion = 1;
constexpr std::size_t kConfChangeHeader = 1 + 1 + 8 + 4;  // version, type, node, context length
constexpr std::size_t kMaxContext = 1u << 20;

void putU64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
}
void putU32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
}
std::uint64_t getLE(std::string_view b, std::size_t at, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i)
        v |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]))
             << (8 * i);
    return v;
}

bool sortedContains(const std::vector<NodeId>& v, NodeId id) {
    return std::binary_search(v.begin(), v.end(), id);
}
void insertSorted(std::vector<NodeId>& v, NodeId id) {
    v.insert(std::lower_bound(v.begin(), v.end(), id), id);
}
void eraseSorted(std::vector<NodeId>& v, NodeId id) {
    auto it = std::lower_bound(v.begin(), v.end(), id);
    if (it != v.end() && *it == id) v.erase(it);
}

}  // namespace

bool ConfState::isVoter(NodeId id) const {
    return sortedContains(voters, id);
}
bool ConfState::isLearner(NodeId id) const {
    return sortedContains(learners, id);
}

std::string encodeConfChange(const ConfChange& cc) {
    std::string out;
    out.reserve(kConfChangeHeader + cc.context.size());
    out.push_back(static_cast<char>(kConfChangeVersion));
    out.push_back(static_cast<char>(cc.type));
    putU64(out, cc.node);
    putU32(out, static_cast<std::uint32_t>(cc.context.size()));
    out.append(cc.context);
    return out;
}

std::optional<ConfChange> decodeConfChange(std::string_view bytes) {
    if (bytes.size() < kConfChangeHeader) return std::nullopt;
    if (static_cast<std::uint8_t>(bytes[0]) != kConfChangeVersion) return std::nullopt;
    const auto type = static_cast<std::uint8_t>(bytes[1]);
    if (type < static_cast<std::uint8_t>(ConfChangeType::AddLearner) ||
        type > static_cast<std::uint8_t>(ConfChangeType::AddVoter))
        return std::nullopt;
    const NodeId node = getLE(bytes, 2, 8);
    const std::uint64_t len = getLE(bytes, 10, 4);
    if (node == kNoNode || len > kMaxContext || len != bytes.size() - kConfChangeHeader) return std::nullopt;
    ConfChange cc;
    cc.type = static_cast<ConfChangeType>(type);
    cc.node = node;
    cc.context = std::string(bytes.substr(kConfChangeHeader));
    return cc;
}

bool applyConfChange(ConfState& cs, const ConfChange& cc) {
    if (cc.node == kNoNode) return false;
    switch (cc.type) {
        case ConfChangeType::AddLearner:
            if (cs.contains(cc.node)) return false;
            insertSorted(cs.learners, cc.node);
            return true;
        case ConfChangeType::AddVoter:
            if (cs.contains(cc.node)) return false;
            insertSorted(cs.voters, cc.node);
            return true;
        case ConfChangeType::PromoteLearner:
            if (!cs.isLearner(cc.node)) return false;
            eraseSorted(cs.learners, cc.node);
            insertSorted(cs.voters, cc.node);
            return true;
        case ConfChangeType::RemoveNode:
            if (!cs.contains(cc.node)) return false;
            eraseSorted(cs.learners, cc.node);
            eraseSorted(cs.voters, cc.node);
            return true;
    }
    return false;
}

std::string_view toString(MessageType t) {
    switch (t) {
        case MessageType::PreVote:
            return "PreVote";
        case MessageType::PreVoteResp:
            return "PreVoteResp";
        case MessageType::Vote:
            return "Vote";
        case MessageType::VoteResp:
            return "VoteResp";
        case MessageType::Append:
            return "Append";
        case MessageType::AppendResp:
            return "AppendResp";
        case MessageType::Heartbeat:
            return "Heartbeat";
        case MessageType::HeartbeatResp:
            return "HeartbeatResp";
        case MessageType::TimeoutNow:
            return "TimeoutNow";
        case MessageType::Snapshot:
            return "Snapshot";
    }
    return "Unknown";
}

std::string_view toString(Role r) {
    switch (r) {
        case Role::Follower:
            return "Follower";
        case Role::PreCandidate:
            return "PreCandidate";
        case Role::Candidate:
            return "Candidate";
        case Role::Leader:
            return "Leader";
    }
    return "Unknown";
}

}  // namespace raftwc::raft
