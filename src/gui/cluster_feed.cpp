#include "cluster_feed.h"

#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QRandomGenerator>
#include <QUrl>

#include "net/multicast_channel.h"

namespace raftwc::gui {

namespace {
constexpr int kMaxBackoffMs = 4000;
constexpr int kSilentMs = 4000;        // no bytes for this long (status comes every second): reconnect
constexpr qint64 kConnectedMs = 3000;  // a status within this long: connected
}  // namespace

ClusterFeed::ClusterFeed(QObject* parent) : QObject(parent) {
    net_.setProxy(QNetworkProxy::NoProxy);  // members are reached directly, never through a proxy
    watchdog_.setInterval(500);
    connect(&watchdog_, &QTimer::timeout, this, &ClusterFeed::watchdog);
    watchdog_.start();
    changeTimer_.setSingleShot(true);
    changeTimer_.setInterval(100);
    connect(&changeTimer_, &QTimer::timeout, this, &ClusterFeed::changed);
}

ClusterFeed::~ClusterFeed() {
    for (auto& [addr, s] : streams_)
        if (s->reply) {
            s->reply->disconnect(this);
            s->reply->abort();
        }
}

qint64 ClusterFeed::nowMs() const {
    return QDateTime::currentMSecsSinceEpoch();
}

void ClusterFeed::markChanged() {
    if (!changeTimer_.isActive()) changeTimer_.start();
}

void ClusterFeed::addPeer(const QString& hostPort) {
    const QString a = hostPort.trimmed();
    if (a.isEmpty() || a.startsWith(QLatin1String("0.0.0.0:")) || streams_.count(a)) return;
    auto s = std::make_unique<Stream>();
    s->address = a;
    Stream& ref = *s;
    streams_.emplace(a, std::move(s));
    connectStream(ref);
    emit connectionChanged();
}

QStringList ClusterFeed::peers() const {
    QStringList out;
    for (const auto& [a, s] : streams_)
        out << a;
    return out;
}

QStringList ClusterFeed::connectedPeers() const {
    QStringList out;
    const qint64 now = nowMs();
    for (const auto& [a, s] : streams_)
        if (now - s->lastStatusMs < kConnectedMs) out << a;
    return out;
}

QString ClusterFeed::actionPeer() const {
    const QStringList live = connectedPeers();
    for (const MemberRow& m : view_.members())
        if (m.id == view_.leader() && live.contains(m.http)) return m.http;
    return live.isEmpty() ? QString() : live.first();
}

void ClusterFeed::connectStream(Stream& s) {
    s.retryScheduled = false;
    // The first time: everything the member still holds (the timeline's history); then from the last id.
    QNetworkRequest req(
        QUrl(QStringLiteral("http://%1/api/events%2")
                 .arg(s.address, s.lastId.isEmpty() ? QStringLiteral("?after=0") : QString())));
    req.setRawHeader("Accept", "text/event-stream");
    if (!s.lastId.isEmpty()) req.setRawHeader("Last-Event-ID", s.lastId.toLatin1());
    req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    req.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
    QNetworkReply* reply = net_.get(req);
    s.reply = reply;
    s.parser = SseParser{};
    s.lastBytes.start();
    const QString addr = s.address;
    connect(reply, &QNetworkReply::readyRead, this, [this, addr] {
        auto it = streams_.find(addr);
        if (it != streams_.end()) onBytes(*it->second);
    });
    connect(reply, &QNetworkReply::finished, this, [this, addr, reply] {
        reply->deleteLater();
        auto it = streams_.find(addr);
        if (it != streams_.end() && it->second->reply == reply) onEnded(*it->second);
    });
}

void ClusterFeed::onBytes(Stream& s) {
    if (!s.reply) return;
    s.lastBytes.restart();
    const QByteArray bytes = s.reply->readAll();
    for (const SseEvent& e : s.parser.feed(bytes))
        handle(s, e);
}

void ClusterFeed::handle(Stream& s, const SseEvent& e) {
    const QJsonObject o = QJsonDocument::fromJson(e.data).object();
    if (o.isEmpty()) return;
    if (e.event == QLatin1String("status")) {
        const bool wasConnected = nowMs() - s.lastStatusMs < kConnectedMs;
        s.lastStatusMs = nowMs();
        s.backoffMs = 250;
        view_.applyStatus(o.value(QStringLiteral("status")).toObject(),
                          o.value(QStringLiteral("time")).toInteger());
        for (const QString& a : view_.httpAddresses())
            addPeer(a);  // every member is read, so losing any one loses nothing
        if (!wasConnected) emit connectionChanged();
        markChanged();
        return;
    }
    if (!e.id.isEmpty()) s.lastId = e.id;
    if (view_.applyEvent(o)) markChanged();
}

void ClusterFeed::onEnded(Stream& s) {
    s.reply = nullptr;
    if (s.retryScheduled) return;
    s.retryScheduled = true;
    // Back-off with jitter; a member that is gone for good costs one attempt every few seconds.
    const int delay = s.backoffMs + int(QRandomGenerator::global()->bounded(s.backoffMs / 2 + 1));
    s.backoffMs = std::min(kMaxBackoffMs, s.backoffMs * 2);
    const QString addr = s.address;
    QTimer::singleShot(delay, this, [this, addr] {
        auto it = streams_.find(addr);
        if (it != streams_.end() && !it->second->reply) connectStream(*it->second);
    });
    emit connectionChanged();
}

void ClusterFeed::watchdog() {
    for (auto& [a, s] : streams_)
        if (s->reply && s->lastBytes.elapsed() > kSilentMs) s->reply->abort();  // finished → onEnded
    const int n = int(connectedPeers().size());
    if (n != lastConnected_) {
        lastConnected_ = n;
        emit connectionChanged();
    }
}

bool ClusterFeed::listenForAnnouncements(const QString& group, quint16 port, const QString& interfaceName,
                                         const QByteArray& clusterKey, QString* error) {
    net::MulticastConfig mc;
    mc.group = QHostAddress(group);
    mc.port = port;
    mc.interfaceName = interfaceName;
    net::AuthConfig auth;
    auth.key = clusterKey;
    auth.self = QRandomGenerator::system()->generate64() | 1;  // never a member's id
    auth.incarnation = net::randomIncarnation();
    channel_ = new net::MulticastChannel(mc, auth, this);
    if (!channel_->open(error)) return false;
    connect(channel_, &net::MulticastChannel::announceReceived, this,
            [this](const net::Announce& a, const net::FrameHeader&, const QHostAddress&) {
                addPeer(a.leaderHttpAddress);
            });
    connect(channel_, &net::MulticastChannel::helloReceived, this,
            [this](const net::Hello& h, const net::FrameHeader&, const QHostAddress&) {
                addPeer(h.httpAddress);
            });
    return true;
}

void ClusterFeed::upload(const QString& path, const QString& mode) {
    const QString name = QFileInfo(path).fileName();
    const QString peer = actionPeer();
    if (peer.isEmpty()) {
        emit uploadFinished(name, false, tr("no member is reachable"));
        return;
    }
    auto* file = new QFile(path);
    if (!file->open(QIODevice::ReadOnly)) {
        emit uploadFinished(name, false, tr("cannot read %1: %2").arg(path, file->errorString()));
        delete file;
        return;
    }
    QNetworkRequest req(QUrl(QStringLiteral("http://%1/api/count?mode=%2").arg(peer, mode)));
    req.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/octet-stream"));
    req.setRawHeader("X-Filename", QUrl::toPercentEncoding(name));
    req.setRawHeader("X-Job-Id", "gui-" + QByteArray::number(QRandomGenerator::system()->generate64(), 16));
    req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    QNetworkReply* reply = net_.post(req, file);
    file->setParent(reply);
    connect(reply, &QNetworkReply::uploadProgress, this,
            [this, name](qint64 sent, qint64 total) { emit uploadProgress(name, sent, total); });
    connect(reply, &QNetworkReply::finished, this, [this, reply, name] {
        reply->deleteLater();
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QJsonObject body = QJsonDocument::fromJson(reply->readAll()).object();
        if (status == 200)
            emit uploadFinished(name, true,
                                tr("%1 words, %2 lines")
                                    .arg(body.value(QStringLiteral("words")).toInteger())
                                    .arg(body.value(QStringLiteral("lines")).toInteger()));
        else
            emit uploadFinished(name, false,
                                status ? QStringLiteral("%1: %2").arg(status).arg(
                                             body.value(QStringLiteral("message")).toString())
                                       : reply->errorString());
    });
}

void ClusterFeed::adminRequest(const QString& what, const QByteArray& verb, const QString& path) {
    const QString peer = actionPeer();
    if (peer.isEmpty()) {
        emit actionFinished(what, false, tr("no member is reachable"));
        return;
    }
    QNetworkRequest req(QUrl(QStringLiteral("http://%1%2").arg(peer, path)));
    if (!adminToken_.isEmpty()) req.setRawHeader("Authorization", "Bearer " + adminToken_);
    req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    QNetworkReply* reply = net_.sendCustomRequest(req, verb);
    connect(reply, &QNetworkReply::finished, this, [this, reply, what] {
        reply->deleteLater();
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QJsonObject body = QJsonDocument::fromJson(reply->readAll()).object();
        const bool ok = status >= 200 && status < 300;
        emit actionFinished(what, ok,
                            ok       ? tr("done")
                            : status ? QStringLiteral("%1: %2").arg(status).arg(
                                           body.value(QStringLiteral("message")).toString())
                                     : reply->errorString());
    });
}

void ClusterFeed::transferLeadership(const QString& to) {
    adminRequest(
        tr("transfer leadership"), "POST",
        QStringLiteral("/api/leader/transfer") + (to.isEmpty() ? QString() : QStringLiteral("?to=") + to));
}

void ClusterFeed::removeMember(const QString& id) {
    adminRequest(tr("remove %1").arg(id), "DELETE", QStringLiteral("/api/members/") + id);
}

}  // namespace raftwc::gui
