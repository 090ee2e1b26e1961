#include "net/messages.h"

#include "net/bytes.h"

namespace raftwc::net {

namespace {

constexpr std::uint8_t kRejectFlag = 0x01;
constexpr std::uint8_t kTransferFlag = 0x02;
// Smallest encoded entry: term(8) + index(8) + type(1) + data length(4).
constexpr qsizetype kMinEntryBytes = 21;

bool validMessageType(std::uint8_t t) {
    return t >= 1 && t <= 10;
}

void writeIds(ByteWriter& w, const std::vector<raft::NodeId>& ids) {
    w.u32(static_cast<std::uint32_t>(ids.size()));
    for (raft::NodeId id : ids)
        w.u64(id);
}

/// A sorted list of distinct non-zero ids (what ConfState holds); false on anything else.
bool readIds(ByteReader& r, std::vector<raft::NodeId>* out) {
    const std::uint32_t n = r.u32();
    if (!r.ok() || static_cast<qsizetype>(n) > r.remaining() / 8) return false;
    out->reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        const raft::NodeId id = r.u64();
        if (id == raft::kNoNode || (!out->empty() && id <= out->back())) return false;
        out->push_back(id);
    }
    return r.ok();
}
bool validEntryType(std::uint8_t t) {
    return t >= 1 && t <= 3;
}

}  // namespace

QByteArray encodeRaftMessage(const raft::Message& m) {
    ByteWriter w;
    w.u8(static_cast<std::uint8_t>(m.type));
    w.u64(m.from);
    w.u64(m.to);
    w.u64(m.term);
    w.u64(m.logTerm);
    w.u64(m.index);
    w.u64(m.commit);
    w.u64(m.commitTerm);
    w.u8(static_cast<std::uint8_t>((m.reject ? kRejectFlag : 0) | (m.transfer ? kTransferFlag : 0)));
    w.u64(m.rejectHint);
    w.u64(m.rejectHintTerm);
    w.u32(static_cast<std::uint32_t>(m.entries.size()));
    for (const raft::Entry& e : m.entries) {
        w.u64(e.term);
        w.u64(e.index);
        w.u8(static_cast<std::uint8_t>(e.type));
        w.bytes(e.data);
    }
    if (m.type == raft::MessageType::Snapshot) {
        w.u64(m.snapshot.meta.index);
        w.u64(m.snapshot.meta.term);
        writeIds(w, m.snapshot.meta.conf.voters);
        writeIds(w, m.snapshot.meta.conf.learners);
        w.bytes(m.snapshot.data);
    }
    return w.take();
}

std::optional<raft::Message> decodeRaftMessage(QByteArrayView bytes) {
    ByteReader r(bytes);
    raft::Message m;
    const std::uint8_t type = r.u8();
    if (!validMessageType(type)) return std::nullopt;
    m.type = static_cast<raft::MessageType>(type);
    m.from = r.u64();
    m.to = r.u64();
    m.term = r.u64();
    m.logTerm = r.u64();
    m.index = r.u64();
    m.commit = r.u64();
    m.commitTerm = r.u64();
    const std::uint8_t flags = r.u8();
    if ((flags & ~(kRejectFlag | kTransferFlag)) != 0) return std::nullopt;
    m.reject = (flags & kRejectFlag) != 0;
    m.transfer = (flags & kTransferFlag) != 0;
    m.rejectHint = r.u64();
    m.rejectHintTerm = r.u64();
    const std::uint32_t count = r.u32();
    if (!r.ok() || static_cast<qsizetype>(count) > r.remaining() / kMinEntryBytes) return std::nullopt;
    m.entries.reserve(count);
    for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
        raft::Entry e;
        e.term = r.u64();
        e.index = r.u64();
        const std::uint8_t et = r.u8();
        if (!validEntryType(et)) return std::nullopt;
        e.type = static_cast<raft::EntryType>(et);
        e.data = r.stdBytes();
        m.entries.push_back(std::move(e));
    }
    if (m.type == raft::MessageType::Snapshot) {
        m.snapshot.meta.index = r.u64();
        m.snapshot.meta.term = r.u64();
        if (!readIds(r, &m.snapshot.meta.conf.voters) || !readIds(r, &m.snapshot.meta.conf.learners))
            return std::nullopt;
        for (raft::NodeId v : m.snapshot.meta.conf.voters)
            if (m.snapshot.meta.conf.isLearner(v)) return std::nullopt;
        m.snapshot.data = r.stdBytes();
    }
    if (!r.ok() || !r.atEnd()) return std::nullopt;
    return m;
}

QByteArray encodeProbe(const Probe& p) {
    ByteWriter w;
    w.u64(p.id);
    w.string(p.rpcAddress);
    w.string(p.httpAddress);
    w.string(p.clusterId);
    w.boolean(p.hasData);
    return w.take();
}

std::optional<Probe> decodeProbe(QByteArrayView bytes) {
    ByteReader r(bytes);
    Probe p;
    p.id = r.u64();
    p.rpcAddress = r.string(kMaxAddressBytes);
    p.httpAddress = r.string(kMaxAddressBytes);
    p.clusterId = r.string(kMaxAddressBytes);
    p.hasData = r.boolean();
    if (!r.atEnd()) return std::nullopt;
    return p;
}

QByteArray encodeAnnounce(const Announce& a) {
    ByteWriter w;
    w.u64(a.term);
    w.u64(a.leaderId);
    w.string(a.leaderRpcAddress);
    w.string(a.leaderHttpAddress);
    w.u64(a.commit);
    w.string(a.clusterId);
    w.u64(a.configVersion);
    w.u32(a.memberCount);
    return w.take();
}

std::optional<Announce> decodeAnnounce(QByteArrayView bytes) {
    ByteReader r(bytes);
    Announce a;
    a.term = r.u64();
    a.leaderId = r.u64();
    a.leaderRpcAddress = r.string(kMaxAddressBytes);
    a.leaderHttpAddress = r.string(kMaxAddressBytes);
    a.commit = r.u64();
    a.clusterId = r.string(kMaxAddressBytes);
    a.configVersion = r.u64();
    a.memberCount = r.u32();
    if (!r.atEnd()) return std::nullopt;
    return a;
}

QByteArray encodeHello(const Hello& h) {
    ByteWriter w;
    w.u64(h.id);
    w.string(h.rpcAddress);
    w.string(h.httpAddress);
    w.boolean(h.hasData);
    w.string(h.clusterId);
    return w.take();
}

std::optional<Hello> decodeHello(QByteArrayView bytes) {
    ByteReader r(bytes);
    Hello h;
    h.id = r.u64();
    h.rpcAddress = r.string(kMaxAddressBytes);
    h.httpAddress = r.string(kMaxAddressBytes);
    h.hasData = r.boolean();
    h.clusterId = r.string(kMaxAddressBytes);
    if (!r.atEnd()) return std::nullopt;
    return h;
}

QByteArray encodeAppEnvelope(const AppEnvelope& e) {
    ByteWriter w;
    w.u64(e.requestId);
    w.u16(e.method);
    w.u16(e.status);
    w.bytes(e.payload);
    return w.take();
}

std::optional<AppEnvelope> decodeAppEnvelope(QByteArrayView bytes) {
    ByteReader r(bytes);
    AppEnvelope e;
    e.requestId = r.u64();
    e.method = r.u16();
    e.status = r.u16();
    e.payload = r.bytes();
    if (!r.atEnd()) return std::nullopt;
    return e;
}

}  // namespace raftwc::net
