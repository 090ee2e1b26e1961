// ClusterFeed: the dashboard's link to a running cluster. It reads GET /api/events (Server-Sent Events)
// from every member it knows of, merges them into one ClusterView (each event once), learns members'
// addresses from their status, reconnects with back-off (resuming from the last event id) and keeps going
// when any member — the first one included — dies. Optionally it listens to the multicast group for
// leader announcements (never sending: an observer is never a member). Actions go through the HTTP API of
// a live member.
#pragma once

#include <QElapsedTimer>
#include <QNetworkAccessManager>
#include <QObject>
#include <QPointer>
#include <QTimer>

#include <map>
#include <memory>

#include "cluster_view.h"
#include "sse.h"

namespace raftwc::net {
class MulticastChannel;
}

namespace raftwc::gui {

class ClusterFeed : public QObject {
    Q_OBJECT
  public:
    explicit ClusterFeed(QObject* parent = nullptr);
    ~ClusterFeed() override;

    /// A member's HTTP address "host:port" to read events from (no-op if known).
    void addPeer(const QString& hostPort);
    /// Listens (only) to the discovery group for announcements and hellos naming members' HTTP addresses.
    /// False with `error` if the socket cannot be opened.
    bool listenForAnnouncements(const QString& group, quint16 port, const QString& interfaceName,
                                const QByteArray& clusterKey, QString* error);
    void setAdminToken(const QByteArray& token) { adminToken_ = token; }

    const ClusterView& view() const { return view_; }
    QStringList peers() const;
    /// Peers whose stream delivered a status within the last 3 s.
    QStringList connectedPeers() const;
    /// A connected peer to send actions to (the leader's if connected), or empty.
    QString actionPeer() const;

    /// POST /api/count of a file (one job); progress and the outcome come as signals.
    void upload(const QString& path, const QString& mode = QStringLiteral("normalized"));
    void transferLeadership(const QString& to);
    void removeMember(const QString& id);

  signals:
    /// The view changed (at most every 100 ms).
    void changed();
    void connectionChanged();
    void uploadProgress(const QString& name, qint64 sent, qint64 total);
    void uploadFinished(const QString& name, bool ok, const QString& message);
    /// An action (transfer, remove) ended; `message` is the server's answer or the error.
    void actionFinished(const QString& what, bool ok, const QString& message);

  private:
    struct Stream {
        QString address;
        QPointer<QNetworkReply> reply;
        SseParser parser;
        QString lastId;
        int backoffMs = 250;
        qint64 lastStatusMs = -100000;
        QElapsedTimer lastBytes;
        bool retryScheduled = false;
    };
    void connectStream(Stream& s);
    void onBytes(Stream& s);
    void onEnded(Stream& s);
    void handle(Stream& s, const SseEvent& e);
    void watchdog();
    void markChanged();
    qint64 nowMs() const;
    void adminRequest(const QString& what, const QByteArray& verb, const QString& path);

    QNetworkAccessManager net_;
    ClusterView view_;
    std::map<QString, std::unique_ptr<Stream>> streams_;
    QTimer watchdog_;
    QTimer changeTimer_;
    bool connectedBefore_ = false;
    int lastConnected_ = -1;
    QByteArray adminToken_;
    raftwc::net::MulticastChannel* channel_ = nullptr;
};

}  // namespace raftwc::gui
