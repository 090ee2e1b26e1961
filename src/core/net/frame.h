// Framing and cluster authentication, pure: no sockets, no clock reads (callers pass `nowMs`).
//
// Every datagram and every TCP frame has the layout (big-endian, see docs/PROTOCOL.md):
//   magic "RWC1" | version u8 | kind u8 | flags u16 | sender u64 | incarnation u64 | seq u64 |
//   timestampMs i64 | payloadLength u32 | payload | mac[32]
// mac = HMAC-SHA256(cluster key, every byte before it). With an empty key the node runs "open":
// the mac field is all zeros, flag kFlagOpen is set, and receivers without a key skip the mac check
// (framing, freshness and replay checks still apply). A keyed receiver rejects open frames.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QLatin1StringView>

#include <array>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "raft/types.h"

namespace raftwc::net {

using NodeId = raft::NodeId;

inline constexpr char kMagic[4] = {'R', 'W', 'C', '1'};
inline constexpr std::uint8_t kProtocolVersion =
    3;  // 2: configurations in force once committed (docs/RAFT.md); 3: vote requests carry commitTerm
inline constexpr qsizetype kHeaderSize = 44;
inline constexpr qsizetype kMacSize = 32;
/// Largest datagram (whole frame, header and mac included) sent or accepted.
inline constexpr qsizetype kMaxDatagramBytes = 1400;
/// Largest TCP frame payload accepted (the frame adds kHeaderSize + kMacSize).
inline constexpr std::uint32_t kMaxStreamPayload = 64u * 1024 * 1024;
/// Default freshness window: frames whose timestamp is further than this from the receiver's clock
/// (in the past or the future) are dropped.
inline constexpr qint64 kDefaultMaxAgeMs = 30'000;

/// Header flag: the frame was sealed without a key (open mode); its mac field is zero.
inline constexpr std::uint16_t kFlagOpen = 0x0001;

enum class FrameKind : std::uint8_t {
    // Datagrams (multicast or unicast UDP)
    Probe = 1,
    Announce = 2,
    Hello = 3,
    // TCP stream frames
    Raft = 16,
    AppRequest = 17,
    AppResponse = 18,
};

enum class Channel : std::uint8_t { Datagram, Stream };

/// True for kinds that travel on `channel`.
bool kindAllowedOn(FrameKind kind, Channel channel);

struct FrameHeader {
    std::uint8_t version = kProtocolVersion;
    FrameKind kind = FrameKind::Probe;
    std::uint16_t flags = 0;
    NodeId sender = raft::kNoNode;
    std::uint64_t incarnation = 0;
    std::uint64_t seq = 0;  ///< Starts at 1; 0 is never valid.
    qint64 timestampMs = 0;
    std::uint32_t payloadLength = 0;

    bool operator==(const FrameHeader&) const = default;
};

/// Why a frame (or its payload) was dropped. Values index DropCounters.
enum class DropReason : std::uint8_t {
    Truncated,        ///< Fewer bytes than the header/length announce.
    BadMagic,         ///< Not "RWC1": garbage or another protocol.
    BadVersion,       ///< Unsupported protocol version.
    BadKind,          ///< Unknown kind, or a kind not allowed on this channel.
    TooLarge,         ///< Length over the channel limit.
    LengthMismatch,   ///< Datagram size differs from header + payload + mac.
    Unauthenticated,  ///< Open-mode frame received by a node that has a key.
    BadMac,           ///< HMAC does not verify (wrong key, forged or modified).
    Stale,            ///< Timestamp older than the freshness window.
    FromFuture,       ///< Timestamp newer than now + window.
    Replayed,         ///< Sequence number already seen.
    BehindWindow,     ///< Sequence number too old for the replay window / not increasing on a stream.
    OwnEcho,          ///< Our own datagram looped back (normal with multicast loopback; not logged).
    BadPayload,       ///< Authenticated frame whose payload does not decode.
    SenderMismatch,   ///< Sender differs from the one this connection/message is bound to.
    Count
};

inline constexpr std::size_t kDropReasonCount = static_cast<std::size_t>(DropReason::Count);

/// Stable lower-case name, e.g. "bad_mac" (used in logs and /metrics labels).
QLatin1StringView dropReasonName(DropReason r);

/// Per-reason drop counters, a plain value.
struct DropCounters {
    std::array<std::uint64_t, kDropReasonCount> counts{};

    void add(DropReason r) { ++counts[static_cast<std::size_t>(r)]; }
    std::uint64_t count(DropReason r) const { return counts[static_cast<std::size_t>(r)]; }
    std::uint64_t total() const;
    DropCounters& operator+=(const DropCounters& o);
};

/// Allows at most one log line per reason per interval; counts what it suppressed.
class DropLogLimiter {
  public:
    explicit DropLogLimiter(qint64 intervalMs = 10'000) : intervalMs_(intervalMs) {}
    /// True if a line for `r` may be logged now. Returns the number suppressed since the last line.
    bool shouldLog(DropReason r, qint64 nowMs, std::uint64_t* suppressedSinceLast = nullptr);

  private:
    qint64 intervalMs_;
    std::array<qint64, kDropReasonCount> last_{};
    std::array<bool, kDropReasonCount> logged_{};
    std::array<std::uint64_t, kDropReasonCount> suppressed_{};
};

struct Frame {
    FrameHeader header;
    QByteArray payload;
};

/// Result of opening a frame: either `frame` is set, or `reason` says why it was dropped.
struct OpenResult {
    std::optional<Frame> frame;
    DropReason reason = DropReason::Truncated;

    bool ok() const { return frame.has_value(); }
};

/// HMAC-SHA256(key, data), 32 bytes. Uses OpenSSL's libcrypto when the build found it (~30x faster
/// than Qt 6.4's portable SHA-256), else QMessageAuthenticationCode; both give identical results.
QByteArray hmacSha256(QByteArrayView key, QByteArrayView data);
/// The QMessageAuthenticationCode implementation (reference for tests).
QByteArray qtHmacSha256(QByteArrayView key, QByteArrayView data);
/// True if hmacSha256 uses OpenSSL.
bool hmacUsesOpenSsl();

/// Builds one frame. `key` empty → open mode (kFlagOpen, zero mac). \pre header.payloadLength ignored.
QByteArray sealFrame(FrameHeader header, QByteArrayView payload, QByteArrayView key);

/// Parses the fixed header only (magic, version, kind, length limit for `channel`).
/// Needs at least kHeaderSize bytes (else Truncated).
std::optional<FrameHeader> parseFrameHeader(QByteArrayView bytes, Channel channel, DropReason* why);

/// Checks structure and mac of exactly one whole frame (no freshness/replay checks).
OpenResult verifyFrame(QByteArrayView bytes, Channel channel, QByteArrayView key);

/// Sliding-window replay detector for one sequence space (IPsec/WireGuard style).
class ReplayWindow {
  public:
    enum class Verdict { Fresh, Replayed, BehindWindow };
    explicit ReplayWindow(std::size_t bits = 1024);

    Verdict check(std::uint64_t seq) const;
    /// Records `seq` as seen. \pre check(seq) == Fresh
    void accept(std::uint64_t seq);
    std::uint64_t highest() const { return highest_; }

  private:
    bool bit(std::uint64_t seq) const;
    void setBit(std::uint64_t seq, bool v);
    std::vector<std::uint64_t> words_;
    std::uint64_t bits_;
    std::uint64_t highest_ = 0;
};

/// Per (sender, incarnation) replay windows, bounded: beyond `maxEntries` the least recently used
/// entry is evicted (a replay of an evicted incarnation is still stopped by the freshness window
/// unless it is younger than maxAge — size the table well above the cluster size).
class ReplayGuard {
  public:
    explicit ReplayGuard(std::size_t windowBits = 1024, std::size_t maxEntries = 1024)
        : windowBits_(windowBits), maxEntries_(maxEntries) {}

    /// Checks and, if fresh, records `seq`. Returns Fresh, Replayed or BehindWindow.
    ReplayWindow::Verdict checkAndAccept(NodeId sender, std::uint64_t incarnation, std::uint64_t seq);
    std::size_t size() const { return table_.size(); }

  private:
    struct Key {
        NodeId sender;
        std::uint64_t incarnation;
        bool operator==(const Key&) const = default;
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept {
            return std::hash<std::uint64_t>{}(k.sender * 0x9E3779B97F4A7C15ull ^ k.incarnation);
        }
    };
    struct Slot {
        ReplayWindow window;
        std::uint64_t lastUse = 0;
    };
    std::size_t windowBits_;
    std::size_t maxEntries_;
    std::uint64_t useClock_ = 0;
    std::unordered_map<Key, Slot, KeyHash> table_;
};

/// Identity and secret of this process on the wire.
struct AuthConfig {
    QByteArray key;                        ///< Cluster key; empty → open mode (no authentication).
    NodeId self = raft::kNoNode;           ///< Our node id (sender field).
    std::uint64_t incarnation = 0;         ///< Random per process start (randomIncarnation()).
    qint64 maxAgeMs = kDefaultMaxAgeMs;    ///< Freshness window.
    std::size_t replayWindowBits = 4096;   ///< Per-sender replay window.
    std::size_t maxTrackedSenders = 1024;  ///< Bound of the replay table.
};

/// A fresh non-zero random incarnation (QRandomGenerator::system()).
std::uint64_t randomIncarnation();

/// The per-stream (per TCP connection) receive state: the sender it is bound to and its last seq.
struct StreamState {
    NodeId sender = raft::kNoNode;  ///< kNoNode until the first authenticated frame.
    std::uint64_t incarnation = 0;
    std::uint64_t lastSeq = 0;
};

/// Seals outgoing and opens incoming frames for one channel instance (one MulticastChannel or one
/// RpcTransport): owns the outgoing sequence counter, the replay table and the drop counters.
/// Sequence numbers are strictly increasing per (incarnation, FrameAuth instance); receivers track
/// them per (sender, incarnation) in their own FrameAuth, so datagram and stream sequence spaces are
/// separate.
class FrameAuth {
  public:
    explicit FrameAuth(AuthConfig cfg);

    bool openMode() const { return cfg_.key.isEmpty(); }
    const AuthConfig& config() const { return cfg_; }

    /// Builds the next frame of `kind` (next sequence number, timestamp nowMs).
    QByteArray seal(FrameKind kind, QByteArrayView payload, qint64 nowMs);

    /// Full check of one datagram: structure, mac, freshness, replay, own echo.
    OpenResult openDatagram(QByteArrayView bytes, qint64 nowMs);
    /// Full check of one whole stream frame; `stream` binds the connection to its first sender and
    /// requires strictly increasing sequence numbers on it (plus the shared replay window).
    OpenResult openStreamFrame(QByteArrayView bytes, qint64 nowMs, StreamState& stream);

    /// For a TCP receive buffer: the total size of the frame at its start once the header is
    /// complete (0 while fewer than kHeaderSize bytes), or -1 if the header is invalid (`why` set).
    static qsizetype streamFrameSize(QByteArrayView buffered, DropReason* why);

    /// Records a drop found by a higher layer (e.g. BadPayload) in this instance's counters.
    void countDrop(DropReason r) { counters_.add(r); }
    const DropCounters& counters() const { return counters_; }
    std::uint64_t lastSentSeq() const { return seq_; }

  private:
    OpenResult finish(OpenResult r);
    bool checkFreshness(const FrameHeader& h, qint64 nowMs, DropReason* why) const;

    AuthConfig cfg_;
    std::uint64_t seq_ = 0;
    ReplayGuard guard_;
    DropCounters counters_;
};

}  // namespace raftwc::net
