#include "net/multicast_channel.h"

#include <QDateTime>
#include <QHostInfo>
#include <QNetworkDatagram>
#include <QUdpSocket>

#include "net/log.h"

namespace raftwc::net {

MulticastChannel::MulticastChannel(MulticastConfig cfg, AuthConfig auth, QObject* parent,
                                   std::function<qint64()> clock)
    : QObject(parent), cfg_(std::move(cfg)), auth_(std::move(auth)), clock_(std::move(clock)) {
    if (!clock_) clock_ = [] { return QDateTime::currentMSecsSinceEpoch(); };
    mono_.start();
}

MulticastChannel::~MulticastChannel() = default;

bool MulticastChannel::isOpen() const {
    return socket_ && socket_->state() == QAbstractSocket::BoundState;
}

quint16 MulticastChannel::localPort() const {
    return socket_ ? socket_->localPort() : 0;
}

bool MulticastChannel::open(QString* error) {
    if (isOpen()) return true;
    auto fail = [&](const QString& msg) {
        if (error) *error = msg;
        qCWarning(lcNet) << "multicast channel:" << msg;
        delete socket_;
        socket_ = nullptr;
        return false;
    };
    delete socket_;
    socket_ = new QUdpSocket(this);
    connect(socket_, &QUdpSocket::readyRead, this, &MulticastChannel::onReadyRead);
    const auto bindMode = QAbstractSocket::ShareAddress | QAbstractSocket::ReuseAddressHint;

    if (staticPeersMode()) {
        peers_.clear();
        for (const HostPort& hp : cfg_.staticPeers) {
            QHostAddress addr(hp.host);
            if (addr.isNull()) {
                const QHostInfo info = QHostInfo::fromName(hp.host);  // once, at start
                for (const QHostAddress& a : info.addresses())
                    if (a.protocol() == QAbstractSocket::IPv4Protocol) {
                        addr = a;
                        break;
                    }
                if (addr.isNull() && !info.addresses().isEmpty()) addr = info.addresses().constFirst();
            }
            if (addr.isNull()) return fail(QStringLiteral("cannot resolve static peer ") + hp.toString());
            peers_.append({addr, hp.port});
        }
        if (!socket_->bind(cfg_.bindAddress, cfg_.port, bindMode))
            return fail(QStringLiteral("bind ") + cfg_.bindAddress.toString() + QLatin1Char(':') +
                        QString::number(cfg_.port) + QStringLiteral(": ") + socket_->errorString());
        qCInfo(lcNet).noquote() << "discovery: static peers mode, udp port" << socket_->localPort() << "peers"
                                << peers_.size();
    } else {
        const QString name = cfg_.interfaceName.isEmpty() ? defaultRouteInterface() : cfg_.interfaceName;
        iface_ = QNetworkInterface::interfaceFromName(name);
        if (!iface_.isValid()) return fail(QStringLiteral("no such interface: ") + name);
        const QHostAddress any = cfg_.group.protocol() == QAbstractSocket::IPv6Protocol
                                     ? QHostAddress(QHostAddress::AnyIPv6)
                                     : QHostAddress(QHostAddress::AnyIPv4);
        if (!socket_->bind(any, cfg_.port, bindMode))
            return fail(QStringLiteral("bind port ") + QString::number(cfg_.port) + QStringLiteral(": ") +
                        socket_->errorString());
        socket_->setMulticastInterface(iface_);
        socket_->setSocketOption(QAbstractSocket::MulticastTtlOption, cfg_.ttl);
        socket_->setSocketOption(QAbstractSocket::MulticastLoopbackOption, cfg_.loopback ? 1 : 0);
        if (!socket_->joinMulticastGroup(cfg_.group, iface_))
            return fail(QStringLiteral("join ") + cfg_.group.toString() + QStringLiteral(" on ") + name +
                        QStringLiteral(": ") + socket_->errorString());
        qCInfo(lcNet).noquote() << "discovery: multicast"
                                << cfg_.group.toString() + QLatin1Char(':') + QString::number(cfg_.port)
                                << "on" << name << "ttl" << cfg_.ttl;
    }
    if (auth_.openMode())
        qCWarning(lcNet)
            << "discovery: no cluster key configured: running OPEN (datagrams are not authenticated)";
    return true;
}

bool MulticastChannel::sendProbe(const Probe& p) {
    return sendPayload(FrameKind::Probe, encodeProbe(p));
}
bool MulticastChannel::sendAnnounce(const Announce& a) {
    return sendPayload(FrameKind::Announce, encodeAnnounce(a));
}
bool MulticastChannel::sendHello(const Hello& h) {
    return sendPayload(FrameKind::Hello, encodeHello(h));
}

bool MulticastChannel::sendPayload(FrameKind kind, const QByteArray& payload) {
    if (!socket_) return false;
    if (payload.size() + kHeaderSize + kMacSize > kMaxDatagramBytes) {
        ++sendErrors_;
        qCWarning(lcNet) << "discovery: datagram too large, not sent:" << payload.size() << "bytes";
        return false;
    }
    const QByteArray frame = auth_.seal(kind, payload, clock_());
    bool ok = true;
    if (staticPeersMode()) {
        for (const auto& [addr, port] : std::as_const(peers_)) {
            if (socket_->writeDatagram(frame, addr, port) != frame.size()) ok = false;
        }
    } else {
        ok = socket_->writeDatagram(frame, cfg_.group, cfg_.port) == frame.size();
    }
    if (ok)
        ++sent_;
    else
        ++sendErrors_;
    return ok;
}

void MulticastChannel::onReadyRead() {
    while (socket_ && socket_->hasPendingDatagrams()) {
        // One byte more than the limit so an oversized datagram is detected rather than silently cut.
        const QNetworkDatagram d = socket_->receiveDatagram(kMaxDatagramBytes + 1);
        if (!d.isValid()) break;
        handleDatagram(d.data(), d.senderAddress());
    }
}

void MulticastChannel::drop(DropReason r, const QHostAddress& from) {
    if (r == DropReason::OwnEcho) return;
    std::uint64_t suppressed = 0;
    if (logLimiter_.shouldLog(r, mono_.elapsed(), &suppressed))
        qCWarning(lcNet).noquote()
            << "discovery: dropped datagram from" << from.toString() << "reason" << dropReasonName(r)
            << QStringLiteral("(%1 more suppressed since the last line)").arg(suppressed);
}

void MulticastChannel::handleDatagram(const QByteArray& data, const QHostAddress& from) {
    const OpenResult r = auth_.openDatagram(data, clock_());
    if (!r.ok()) return drop(r.reason, from);
    const FrameHeader& h = r.frame->header;
    const QByteArray& payload = r.frame->payload;
    auto bad = [&](DropReason why) {
        auth_.countDrop(why);
        drop(why, from);
    };
    switch (h.kind) {
        case FrameKind::Probe: {
            auto p = decodeProbe(payload);
            if (!p) return bad(DropReason::BadPayload);
            if (p->id != h.sender) return bad(DropReason::SenderMismatch);
            ++received_;
            emit probeReceived(*p, h, from);
            return;
        }
        case FrameKind::Announce: {
            auto a = decodeAnnounce(payload);
            if (!a) return bad(DropReason::BadPayload);
            if (a->leaderId != h.sender) return bad(DropReason::SenderMismatch);
            ++received_;
            emit announceReceived(*a, h, from);
            return;
        }
        case FrameKind::Hello: {
            auto m = decodeHello(payload);
            if (!m) return bad(DropReason::BadPayload);
            if (m->id != h.sender) return bad(DropReason::SenderMismatch);
            ++received_;
            emit helloReceived(*m, h, from);
            return;
        }
        default:
            return bad(DropReason::BadKind);
    }
}

ChannelStats MulticastChannel::stats() const {
    ChannelStats s;
    s.datagramsSent = sent_;
    s.datagramsReceived = received_;
    s.sendErrors = sendErrors_;
    s.drops = auth_.counters();
    return s;
}

}  // namespace raftwc::net
