// The dashboard: SSE parsing at any chunking, the ClusterView reducer over event sequences (an election with
// a split vote then a winner, a learner joining and being promoted, a member dying, a job to its end), the
// models and the window (offscreen), and the feed against canned event streams (reconnect with the last
// id, failover to another member).
#include <QJsonArray>
#include <QJsonDocument>
#include <QTabWidget>
#include <QTableView>
#include <QTcpServer>
#include <QTcpSocket>
#include <QtTest>

#include "cluster_feed.h"
#include "cluster_view.h"
#include "main_window.h"
#include "models.h"
#include "sse.h"

using namespace raftwc::gui;

namespace {

const QString A = QStringLiteral("aaaaaaaaaaaaaaaa");
const QString B = QStringLiteral("bbbbbbbbbbbbbbbb");
const QString C = QStringLiteral("cccccccccccccccc");

qint64 g_seq = 0;
QJsonObject ev(const QString& node, const QString& type, qint64 time, qint64 term, QJsonObject extra = {}) {
    extra.insert(QStringLiteral("node"), node);
    extra.insert(QStringLiteral("type"), type);
    extra.insert(QStringLiteral("time"), time);
    extra.insert(QStringLiteral("term"), term);
    extra.insert(QStringLiteral("seq"), ++g_seq);
    return extra;
}

QJsonObject member(const QString& id, const QString& role, bool voter, bool alive, qint64 match = -1) {
    QJsonObject m{{QStringLiteral("id"), id},
                  {QStringLiteral("http"), QStringLiteral("10.0.0.%1:3000").arg(id[0].unicode() - 'a' + 1)},
                  {QStringLiteral("role"), role},
                  {QStringLiteral("voter"), voter},
                  {QStringLiteral("alive"), alive},
                  {QStringLiteral("lastContactMs"), alive ? 20 : 9000}};
    if (match >= 0) m.insert(QStringLiteral("matchIndex"), match);
    return m;
}

QJsonObject status(const QString& id, const QString& role, qint64 term, const QString& leader,
                   QJsonArray members, qint64 commit = 10) {
    return QJsonObject{
        {QStringLiteral("id"), id},
        {QStringLiteral("role"), role},
        {QStringLiteral("term"), term},
        {QStringLiteral("leader"),
         leader.isEmpty() ? QJsonValue() : QJsonValue(QJsonObject{{QStringLiteral("id"), leader}})},
        {QStringLiteral("commitIndex"), commit},
        {QStringLiteral("appliedIndex"), commit},
        {QStringLiteral("members"), members}};
}

QByteArray sse(const QJsonObject& o, bool withId = true) {
    QByteArray out;
    if (withId) out += "id: " + QByteArray::number(o.value(QStringLiteral("seq")).toInteger()) + "\n";
    out += "event: " + o.value(QStringLiteral("type")).toString().toUtf8() +
           "\ndata: " + QJsonDocument(o).toJson(QJsonDocument::Compact) + "\n\n";
    return out;
}

/// A canned /api/events server: answers each connection with a status event and then whatever the test
/// pushes; records the Last-Event-ID of each request.
class FakeNode : public QObject {
  public:
    explicit FakeNode(QJsonObject st) : status_(std::move(st)) {
        server.listen(QHostAddress::LocalHost, 0);
        connect(&server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket* s = server.nextPendingConnection()) {
                connect(s, &QTcpSocket::readyRead, this, [this, s] {
                    const QByteArray req = s->readAll();
                    const int at = req.indexOf("Last-Event-ID: ");
                    lastEventIds << (at < 0 ? QByteArray()
                                            : req.mid(at + 15, req.indexOf('\r', at) - at - 15));
                    s->write(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
                    s->write(sse(statusEvent(), false));
                    clients << s;
                });
            }
        });
        timer.setInterval(300);
        connect(&timer, &QTimer::timeout, this, [this] { push(sse(statusEvent(), false)); });
        timer.start();
    }
    QJsonObject statusEvent() const {
        return QJsonObject{{QStringLiteral("type"), QStringLiteral("status")},
                           {QStringLiteral("node"), status_.value(QStringLiteral("id"))},
                           {QStringLiteral("time"), QDateTime::currentMSecsSinceEpoch()},
                           {QStringLiteral("status"), status_}};
    }
    void push(const QByteArray& bytes) {
        for (QTcpSocket* s : std::as_const(clients))
            if (s->state() == QAbstractSocket::ConnectedState) s->write(bytes);
    }
    void dropClients() {
        for (QTcpSocket* s : std::as_const(clients))
            s->abort();
        clients.clear();
    }
    QString address() const { return QStringLiteral("127.0.0.1:%1").arg(server.serverPort()); }
    QTcpServer server;
    QList<QTcpSocket*> clients;
    QList<QByteArray> lastEventIds;
    QJsonObject status_;
    QTimer timer;
};

}  // namespace

class tst_Dashboard : public QObject {
    Q_OBJECT
  private slots:
    void sseAtAnyChunking();
    void sseCommentsMultilineAndBounds();
    void electionWithSplitVoteThenWinner();
    void learnerJoinsAndIsPromoted();
    void memberDeathAndQuorum();
    void jobProgressToDone();
    void eventsAreAppliedOnce();
    void windowShowsWhatModelsHold();
    void feedReconnectsWithTheLastIdAndFailsOver();
};

void tst_Dashboard::sseAtAnyChunking() {
    const QByteArray stream =
        "id: 7\nevent: term\ndata: {\"a\":1}\n\n: ping\n\nevent: status\r\ndata: {\"b\":2}\r\n\r\n"
        "id: 8\ndata: x\n\n";
    // Every split point, and byte by byte: the same events.
    for (int cut = 0; cut <= stream.size(); ++cut) {
        SseParser p;
        std::vector<SseEvent> all = p.feed(QByteArrayView(stream).first(cut));
        for (const SseEvent& e : p.feed(QByteArrayView(stream).sliced(cut)))
            all.push_back(e);
        QCOMPARE(all.size(), std::size_t(3));
        QCOMPARE(all[0].id, QStringLiteral("7"));
        QCOMPARE(all[0].event, QStringLiteral("term"));
        QCOMPARE(all[0].data, QByteArray("{\"a\":1}"));
        QCOMPARE(all[1].event, QStringLiteral("status"));
        QCOMPARE(all[1].data, QByteArray("{\"b\":2}"));
        QCOMPARE(all[1].id, QStringLiteral("7"));  // the last id carries over
        QCOMPARE(all[2].event, QStringLiteral("message"));
        QCOMPARE(p.lastId(), QStringLiteral("8"));
    }
    SseParser bytewise;
    int n = 0;
    for (char c : stream)
        n += int(bytewise.feed(QByteArrayView(&c, 1)).size());
    QCOMPARE(n, 3);
}

void tst_Dashboard::sseCommentsMultilineAndBounds() {
    SseParser p;
    auto e = p.feed("data: one\ndata: two\n\n:comment only\n\ndata\n\n");
    QCOMPARE(e.size(), std::size_t(2));
    QCOMPARE(e[0].data, QByteArray("one\ntwo"));
    QCOMPARE(e[1].data, QByteArray(""));
    // An endless line is dropped, not buffered without bound; the stream goes on after it.
    SseParser q;
    const QByteArray chunk(1 << 20, 'x');
    for (int i = 0; i < 20; ++i)
        q.feed(chunk);
    QVERIFY(q.pending() <= SseParser::kMaxLine);
    auto after = q.feed("\ndata: ok\n\n");
    QCOMPARE(after.size(), std::size_t(1));
    QCOMPARE(after[0].data, QByteArray("ok"));
}

void tst_Dashboard::electionWithSplitVoteThenWinner() {
    ClusterView v;
    // Term 5: A leads. Then it dies; B and C both campaign for term 6 and split (each votes for itself,
    // A is gone), nobody wins; term 7: C wins with B's vote.
    v.applyEvent(ev(A, QStringLiteral("leader"), 1000, 5, {{QStringLiteral("leader"), A}}));
    v.applyEvent(ev(B, QStringLiteral("leader"), 3000, 5, {{QStringLiteral("leader"), QJsonValue()}}));
    v.applyEvent(ev(B, QStringLiteral("campaign"), 3001, 5,
                    {{QStringLiteral("kind"), QStringLiteral("vote")}, {QStringLiteral("campaignTerm"), 6}}));
    v.applyEvent(ev(C, QStringLiteral("campaign"), 3002, 5,
                    {{QStringLiteral("kind"), QStringLiteral("vote")}, {QStringLiteral("campaignTerm"), 6}}));
    v.applyEvent(ev(C, QStringLiteral("vote"), 3003, 6,
                    {{QStringLiteral("kind"), QStringLiteral("vote")},
                     {QStringLiteral("campaignTerm"), 6},
                     {QStringLiteral("candidate"), B},
                     {QStringLiteral("granted"), false},
                     {QStringLiteral("reason"), QStringLiteral("already voted for cccc")}}));
    v.applyEvent(ev(C, QStringLiteral("campaign"), 4500, 6,
                    {{QStringLiteral("kind"), QStringLiteral("vote")}, {QStringLiteral("campaignTerm"), 7}}));
    v.applyEvent(ev(B, QStringLiteral("vote"), 4502, 7,
                    {{QStringLiteral("kind"), QStringLiteral("vote")},
                     {QStringLiteral("campaignTerm"), 7},
                     {QStringLiteral("candidate"), C},
                     {QStringLiteral("granted"), true},
                     {QStringLiteral("reason"), QStringLiteral("granted")}}));
    v.applyEvent(ev(C, QStringLiteral("elected"), 4503, 7,
                    {{QStringLiteral("kind"), QStringLiteral("vote")},
                     {QStringLiteral("campaignTerm"), 7},
                     {QStringLiteral("votes"), QJsonArray{B, C}}}));
    v.applyEvent(ev(B, QStringLiteral("leader"), 4510, 7, {{QStringLiteral("leader"), C}}));

    QCOMPARE(v.term(), qint64(7));
    QCOMPARE(v.leader(), C);
    QCOMPARE(v.leaderSinceMs(), qint64(4503));
    const TermRow& t6 = v.terms().at(6);
    QCOMPARE(t6.campaigners, (QStringList{B, C}));
    QVERIFY(t6.winner.isEmpty());
    QCOMPARE(t6.votes.size(), std::size_t(1));
    QVERIFY(!t6.votes[0].granted);
    QCOMPARE(t6.leaderlessSinceMs, qint64(3000));  // from the first member noticing
    const TermRow& t7 = v.terms().at(7);
    QCOMPARE(t7.winner, C);
    QCOMPARE(t7.electedAtMs, qint64(4503));
    QCOMPARE(t7.leaderlessMs(), qint64(1503));

    TimelineModel m(v);
    QCOMPARE(m.rowCount(), 3);                                                 // terms 5, 6, 7
    QCOMPARE(m.index(0, TimelineModel::Term).data().toLongLong(), qint64(7));  // newest first
    QCOMPARE(m.index(0, TimelineModel::Winner).data().toString(), shortId(C));
    QCOMPARE(m.index(1, TimelineModel::Winner).data().toString(), QStringLiteral("–"));
    QVERIFY(m.index(1, TimelineModel::Votes)
                .data(Qt::ToolTipRole)
                .toString()
                .contains(QStringLiteral("already voted")));
    QCOMPARE(m.index(0, TimelineModel::Leaderless).data().toString(), QStringLiteral("1503 ms"));
}

void tst_Dashboard::learnerJoinsAndIsPromoted() {
    ClusterView v;
    v.applyStatus(status(A, QStringLiteral("leader"), 2, A,
                         {member(A, QStringLiteral("leader"), true, true, 10),
                          member(B, QStringLiteral("follower"), true, true, 10)}),
                  1000);
    QCOMPARE(v.members().size(), std::size_t(2));
    v.applyStatus(status(A, QStringLiteral("leader"), 2, A,
                         {member(A, QStringLiteral("leader"), true, true, 12),
                          member(B, QStringLiteral("follower"), true, true, 12),
                          member(C, QStringLiteral("learner"), false, true, 4)},
                         12),
                  2000);
    MembersModel m(v);
    QCOMPARE(m.rowCount(), 3);
    QCOMPARE(m.index(2, MembersModel::Kind).data().toString(), QStringLiteral("learner"));
    QCOMPARE(m.index(2, MembersModel::Lag).data().toString(), QStringLiteral("8"));  // 12 - 4
    QCOMPARE(v.voters(), 2);
    v.applyStatus(status(A, QStringLiteral("leader"), 2, A,
                         {member(A, QStringLiteral("leader"), true, true, 13),
                          member(B, QStringLiteral("follower"), true, true, 13),
                          member(C, QStringLiteral("follower"), true, true, 13)},
                         13),
                  3000);
    QCOMPARE(m.index(2, MembersModel::Kind).data().toString(), QStringLiteral("voter"));
    QCOMPARE(m.index(2, MembersModel::Lag).data().toString(), QStringLiteral("0"));
    QCOMPARE(v.voters(), 3);
    QVERIFY(v.hasQuorum());
    QCOMPARE(v.httpAddresses().size(), 3);
}

void tst_Dashboard::memberDeathAndQuorum() {
    ClusterView v;
    const QJsonArray all{member(A, QStringLiteral("leader"), true, true, 9),
                         member(B, QStringLiteral("follower"), true, true, 9),
                         member(C, QStringLiteral("follower"), true, true, 9)};
    v.applyStatus(status(A, QStringLiteral("leader"), 3, A, all), 1000);
    QCOMPARE(v.aliveVoters(), 3);
    // B dies, then C: the leader's status says so.
    v.applyStatus(status(A, QStringLiteral("leader"), 3, A,
                         {member(A, QStringLiteral("leader"), true, true, 9),
                          member(B, QStringLiteral("follower"), true, false, 5),
                          member(C, QStringLiteral("follower"), true, true, 9)}),
                  2000);
    MembersModel m(v);
    QCOMPARE(m.index(1, MembersModel::Role).data().toString(), QStringLiteral("down"));
    QCOMPARE(m.index(1, MembersModel::Alive).data().toString(), QStringLiteral("no"));
    QVERIFY(!m.index(1, 0).data(AliveRole).toBool());
    QVERIFY(v.hasQuorum());
    v.applyStatus(status(A, QStringLiteral("leader"), 3, A,
                         {member(A, QStringLiteral("leader"), true, true, 9),
                          member(B, QStringLiteral("follower"), true, false, 5),
                          member(C, QStringLiteral("follower"), true, false, 9)}),
                  3000);
    QVERIFY(!v.hasQuorum());
    // A follower's status does not override a fresh leader's on membership; a stale leader's does not count.
    v.applyStatus(status(B, QStringLiteral("follower"), 3, A, all), 3100);
    QVERIFY(!v.hasQuorum());
    v.applyStatus(status(B, QStringLiteral("follower"), 4, QString(), all), 9000);  // A's status is now stale
    QVERIFY(v.hasQuorum());
    QCOMPARE(v.term(), qint64(4));
}

void tst_Dashboard::jobProgressToDone() {
    ClusterView v;
    auto job = [](const QString& state, double p0, double p1, qint64 words) {
        QJsonObject j{{QStringLiteral("id"), QStringLiteral("job-1")},
                      {QStringLiteral("name"), QStringLiteral("book.txt")},
                      {QStringLiteral("state"), state},
                      {QStringLiteral("bytes"), 2000},
                      {QStringLiteral("coordinator"), A},
                      {QStringLiteral("shards"),
                       QJsonArray{QJsonObject{{QStringLiteral("node"), A},
                                              {QStringLiteral("offset"), 0},
                                              {QStringLiteral("length"), 1000},
                                              {QStringLiteral("progress"), p0},
                                              {QStringLiteral("state"), QStringLiteral("running")}},
                                  QJsonObject{{QStringLiteral("node"), B},
                                              {QStringLiteral("offset"), 1000},
                                              {QStringLiteral("length"), 1000},
                                              {QStringLiteral("progress"), p1},
                                              {QStringLiteral("state"), QStringLiteral("running")}}}}};
        if (words >= 0) {
            j.insert(QStringLiteral("words"), words);
            j.insert(QStringLiteral("top"),
                     QJsonArray{QJsonObject{{QStringLiteral("word"), QStringLiteral("the")},
                                            {QStringLiteral("count"), 40}}});
        }
        return QJsonObject{{QStringLiteral("job"), j}, {QStringLiteral("relayed"), true}};
    };
    v.applyEvent(ev(B, QStringLiteral("job"), 1000, 2, job(QStringLiteral("counting"), 0.5, 0.0, -1)));
    // B's own shard event moves its shard.
    v.applyEvent(ev(B, QStringLiteral("shard"), 1100, 2,
                    {{QStringLiteral("job"), QStringLiteral("job-1")},
                     {QStringLiteral("offset"), 1000},
                     {QStringLiteral("length"), 1000},
                     {QStringLiteral("bytesDone"), 250},
                     {QStringLiteral("state"), QStringLiteral("running")}}));
    JobsModel m(v);
    QCOMPARE(m.rowCount(), 3);  // the job and its two shards
    QCOMPARE(m.index(2, JobsModel::Progress).data(ProgressRole).toDouble(), 0.25);
    QCOMPARE(m.index(0, JobsModel::Progress).data(ProgressRole).toDouble(), 0.375);
    v.applyEvent(ev(B, QStringLiteral("job"), 1500, 2, job(QStringLiteral("done"), 1, 1, 321)));
    // A late progress note (older) does not undo the end.
    v.applyEvent(ev(C, QStringLiteral("job"), 1400, 2, job(QStringLiteral("counting"), 0.9, 0.9, -1)));
    QCOMPARE(m.rowCount(), 1);  // done: one line
    QCOMPARE(m.index(0, JobsModel::State).data().toString(), QStringLiteral("done"));
    QCOMPARE(m.index(0, JobsModel::Words).data().toString(), QStringLiteral("321"));
    QCOMPARE(m.jobAt(0)->top.front().first, QStringLiteral("the"));
}

void tst_Dashboard::eventsAreAppliedOnce() {
    ClusterView v;
    QJsonObject e = ev(
        A, QStringLiteral("log"), 1000, 1,
        {{QStringLiteral("commit"), 5},
         {QStringLiteral("applied"), 5},
         {QStringLiteral("recent"), QJsonArray{QJsonObject{{QStringLiteral("index"), 5},
                                                           {QStringLiteral("term"), 1},
                                                           {QStringLiteral("kind"), QStringLiteral("chunk")},
                                                           {QStringLiteral("bytes"), 100}}}}});
    QVERIFY(v.applyEvent(e));
    QVERIFY(!v.applyEvent(e));  // the same (node, seq) from a second connection
    // The same entry reported by another node is one row.
    QJsonObject other = e;
    other.insert(QStringLiteral("node"), B);
    QVERIFY(v.applyEvent(other));
    QCOMPARE(v.entries().size(), std::size_t(1));
    QCOMPARE(v.commit(), qint64(5));
    LogModel m(v);
    QCOMPARE(m.index(0, LogModel::Kind).data().toString(), QStringLiteral("chunk"));
}

void tst_Dashboard::windowShowsWhatModelsHold() {
    ClusterFeed feed;  // no peers: the window renders the (empty, then filled) view
    MainWindow w(feed, false);
    w.show();
    QVERIFY(w.summaryText().contains(QStringLiteral("Waiting")));
    auto* tabs = w.findChild<QTabWidget*>(QStringLiteral("tabs"));
    QVERIFY(tabs);
    QCOMPARE(tabs->count(), 4);
    for (const char* name : {"members", "timeline", "log", "jobs"}) {
        auto* view = w.findChild<QTableView*>(QLatin1String(name));
        QVERIFY2(view, name);
        QVERIFY(view->model());
    }
    QCOMPARE(w.findChild<QTableView*>(QStringLiteral("members"))->model(), &w.membersModel());
    QCOMPARE(w.findChild<QTableView*>(QStringLiteral("jobs"))->model(), &w.jobsModel());
    QVERIFY(!w.findChild<QLabel*>(QStringLiteral("connection"))->text().isEmpty());
}

void tst_Dashboard::feedReconnectsWithTheLastIdAndFailsOver() {
    const QJsonArray members{member(A, QStringLiteral("leader"), true, true, 9),
                             member(B, QStringLiteral("follower"), true, true, 9)};
    FakeNode a(status(A, QStringLiteral("leader"), 2, A, members));
    FakeNode b(status(B, QStringLiteral("follower"), 2, A, members));
    // The members' status names their http addresses: point them at the fakes.
    QJsonArray real;
    for (int i = 0; i < 2; ++i) {
        QJsonObject m = members[i].toObject();
        m.insert(QStringLiteral("http"), i == 0 ? a.address() : b.address());
        real.append(m);
    }
    a.status_ = status(A, QStringLiteral("leader"), 2, A, real);
    b.status_ = status(B, QStringLiteral("follower"), 2, A, real);

    ClusterFeed feed;
    feed.addPeer(a.address());                                         // told only of A
    QTRY_COMPARE_WITH_TIMEOUT(feed.connectedPeers().size(), 2, 5000);  // learned B from A's status
    QTRY_VERIFY(!a.clients.isEmpty());
    a.push(sse(ev(A, QStringLiteral("term"), 1000, 3)));
    const QJsonObject leaderEvent = ev(A, QStringLiteral("leader"), 1001, 3, {{QStringLiteral("leader"), A}});
    a.push(sse(leaderEvent));
    QTRY_COMPARE(feed.view().term(), qint64(3));  // the events arrived (the status says term 2)
    QTRY_VERIFY(feed.view().terms().count(3) && feed.view().terms().at(3).winner == A);
    // A's connection drops: the feed reconnects with the last id it saw.
    const int requests = int(a.lastEventIds.size());
    a.dropClients();
    QTRY_VERIFY_WITH_TIMEOUT(a.lastEventIds.size() > requests, 5000);
    QCOMPARE(a.lastEventIds.last(), QByteArray::number(leaderEvent.value(QStringLiteral("seq")).toInteger()));
    // A dies for good (its server closes): B still feeds the view.
    a.timer.stop();
    a.dropClients();
    a.server.close();
    b.push(sse(ev(B, QStringLiteral("leader"), 5000, 4, {{QStringLiteral("leader"), B}})));
    QTRY_COMPARE_WITH_TIMEOUT(feed.view().leader(), B, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(feed.connectedPeers(), QStringList{b.address()}, 8000);
    QCOMPARE(feed.actionPeer(), b.address());
}

QTEST_MAIN(tst_Dashboard)
#include "tst_dashboard.moc"
