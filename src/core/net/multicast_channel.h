// MulticastChannel: authenticated discovery datagrams (Probe / Announce / Hello) over UDP multicast,
// or, in static-peers mode, by unicast to every configured peer's UDP port.
#pragma once

#include <QElapsedTimer>
#include <QHostAddress>
#include <QList>
#include <QNetworkInterface>
#include <QObject>
#include <QString>

#include <functional>

#include "net/address.h"
#include "net/frame.h"
#include "net/messages.h"

class QUdpSocket;

namespace raftwc::net {

struct MulticastConfig {
    QHostAddress group{QStringLiteral("239.0.0.1")};
    quint16 port = 10000;  ///< Group port; in static-peers mode, our own UDP port.
    /// Interface to pin sending and the group join to. Empty → defaultRouteInterface() (falls back to lo).
    QString interfaceName;
    int ttl = 1;
    bool loopback =
        true;  ///< Receive datagrams of other nodes on this host (and our own: dropped as OwnEcho).
    /// Non-empty → static-peers mode: no multicast; every datagram is sent by unicast to each peer.
    QList<HostPort> staticPeers;
    /// Local address to bind in static-peers mode (multicast mode binds AnyIPv4).
    QHostAddress bindAddress{QHostAddress::AnyIPv4};
};

/// Statistics as plain values (for /metrics).
struct ChannelStats {
    quint64 datagramsSent = 0;
    quint64 datagramsReceived = 0;  ///< Accepted (authenticated, fresh, decoded).
    quint64 sendErrors = 0;
    DropCounters drops;
};

class MulticastChannel : public QObject {
    Q_OBJECT
  public:
    /// `clock` returns wall-clock milliseconds since the epoch (default QDateTime); used for frame
    /// timestamps and the freshness window.
    MulticastChannel(MulticastConfig cfg, AuthConfig auth, QObject* parent = nullptr,
                     std::function<qint64()> clock = {});
    ~MulticastChannel() override;

    /// Binds the socket and (multicast mode) pins the interface and joins the group. Logs "open mode"
    /// when there is no key. Returns false with a message in `error` on failure. Idempotent.
    bool open(QString* error = nullptr);
    bool isOpen() const;
    bool staticPeersMode() const { return !cfg_.staticPeers.isEmpty(); }
    /// The interface actually used (multicast mode), after open().
    QString interfaceName() const { return iface_.name(); }
    /// Local UDP port bound (useful when cfg.port is 0 in static mode).
    quint16 localPort() const;

    /// Seal and send one datagram. False if not open, too large for a datagram, or the send failed.
    bool sendProbe(const Probe& p);
    bool sendAnnounce(const Announce& a);
    bool sendHello(const Hello& h);

    ChannelStats stats() const;
    const DropCounters& dropCounters() const { return auth_.counters(); }

  signals:
    /// Emitted for every accepted datagram. `header.sender` is the authenticated sender and equals the
    /// id carried in the message; `from` is the UDP source (not authenticated).
    void probeReceived(const raftwc::net::Probe& probe, const raftwc::net::FrameHeader& header,
                       const QHostAddress& from);
    void announceReceived(const raftwc::net::Announce& announce, const raftwc::net::FrameHeader& header,
                          const QHostAddress& from);
    void helloReceived(const raftwc::net::Hello& hello, const raftwc::net::FrameHeader& header,
                       const QHostAddress& from);

  private:
    bool sendPayload(FrameKind kind, const QByteArray& payload);
    void onReadyRead();
    void handleDatagram(const QByteArray& data, const QHostAddress& from);
    void drop(DropReason r, const QHostAddress& from);

    MulticastConfig cfg_;
    FrameAuth auth_;
    std::function<qint64()> clock_;
    QUdpSocket* socket_ = nullptr;
    QNetworkInterface iface_;
    QList<QPair<QHostAddress, quint16>> peers_;  ///< Resolved static peers.
    DropLogLimiter logLimiter_;
    QElapsedTimer mono_;  ///< Monotonic time for the log rate limit.
    quint64 sent_ = 0;
    quint64 received_ = 0;
    quint64 sendErrors_ = 0;
};

}  // namespace raftwc::net

Q_DECLARE_METATYPE(raftwc::net::Probe)
Q_DECLARE_METATYPE(raftwc::net::Announce)
Q_DECLARE_METATYPE(raftwc::net::Hello)
Q_DECLARE_METATYPE(raftwc::net::FrameHeader)
