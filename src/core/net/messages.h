// Payload codecs: pure functions from values to bytes and back (no sockets, no clocks).
//
// These are the *payloads* carried inside an authenticated frame (net/frame.h); the frame kind says
// which decoder applies. Every decoder returns std::nullopt on malformed input and never crashes;
// trailing bytes are an error. Field layouts are in docs/PROTOCOL.md.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <cstdint>
#include <optional>

#include "raft/types.h"

namespace raftwc::net {

using NodeId = raft::NodeId;

// ---- Raft ---------------------------------------------------------------------------------------

/// Encodes every field of a raft::Message, entries included. Channel: TCP, FrameKind::Raft.
QByteArray encodeRaftMessage(const raft::Message& m);
std::optional<raft::Message> decodeRaftMessage(QByteArrayView bytes);

// ---- Discovery datagrams (multicast or unicast to static peers) ---------------------------------
//
// Bootstrap/join protocol built on these (the node layer runs it):
//  1. A starting node multicasts Probe every probe interval during a discovery window.
//  2. A leader answers every Probe (and also sends periodically) with Announce. A node that hears an
//     Announce for its cluster (or any cluster, if it has none yet) asks that leader to join through
//     the app RPC (method Join) on the leader's rpc address.
//  3. Nodes without a leader send Hello during the window. When the window ends without an Announce,
//     the nodes that heard each other's Hello pick the lowest id among those (preferring nodes with
//     data: a node with hasData=true and a clusterId never bootstraps a new cluster over another)
//     as the bootstrapper; it bootstraps a single-member cluster and starts announcing, the others
//     join it as in step 2.

/// "Is there a leader?" sent by a node looking for its cluster.
struct Probe {
    NodeId id = raft::kNoNode;
    QString rpcAddress;    ///< "host:port" of the sender's RPC transport.
    QString httpAddress;   ///< "host:port" of the sender's HTTP front end.
    QString clusterId;     ///< Empty if the node has never joined a cluster.
    bool hasData = false;  ///< True if the node has a non-empty log (it must not bootstrap a new cluster).

    bool operator==(const Probe&) const = default;
};

/// Leader heartbeat/announcement: sent periodically by the leader and in answer to a Probe.
struct Announce {
    raft::Term term = 0;
    NodeId leaderId = raft::kNoNode;
    QString leaderRpcAddress;
    QString leaderHttpAddress;
    raft::Index commit = 0;
    QString clusterId;
    std::uint64_t configVersion = 0;  ///< Index of the configuration in force (changes when members change).
    std::uint32_t memberCount = 0;    ///< Voters + learners in that configuration.

    bool operator==(const Announce&) const = default;
};

/// A node without a leader announcing itself during discovery (for the lowest-id bootstrap choice).
struct Hello {
    NodeId id = raft::kNoNode;
    QString rpcAddress;
    QString httpAddress;
    bool hasData = false;
    QString clusterId;

    bool operator==(const Hello&) const = default;
};

QByteArray encodeProbe(const Probe& p);
std::optional<Probe> decodeProbe(QByteArrayView bytes);
QByteArray encodeAnnounce(const Announce& a);
std::optional<Announce> decodeAnnounce(QByteArrayView bytes);
QByteArray encodeHello(const Hello& h);
std::optional<Hello> decodeHello(QByteArrayView bytes);

/// Longest address/cluster id string accepted by the discovery decoders (bytes of UTF-8).
inline constexpr std::uint32_t kMaxAddressBytes = 255;

// ---- App RPC envelope (TCP, FrameKind::AppRequest / AppResponse) --------------------------------

/// Transport-level status values. The node layer may define its own non-zero statuses >= 100.
enum class RpcStatus : std::uint16_t {
    Ok = 0,
    UnknownMethod = 1,  ///< The receiver has no handler for the method.
    BadRequest = 2,     ///< The payload could not be decoded.
    NotLeader = 3,      ///< The request needs the leader; payload may carry a hint.
    Internal = 4,       ///< The handler failed.
};

struct AppEnvelope {
    std::uint64_t requestId = 0;  ///< Chosen by the requester; echoed in the response.
    std::uint16_t method = 0;     ///< Defined by the node layer (ForwardPropose, Join, Shard*, ...).
    std::uint16_t status = 0;     ///< 0 in requests; RpcStatus or a node-defined code in responses.
    QByteArray payload;           ///< Opaque to the transport.

    bool operator==(const AppEnvelope&) const = default;
};

QByteArray encodeAppEnvelope(const AppEnvelope& e);
std::optional<AppEnvelope> decodeAppEnvelope(QByteArrayView bytes);

}  // namespace raftwc::net
