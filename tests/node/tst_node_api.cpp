// NodeApi against a real single Node (runs in a private network namespace: NETNS), plus the pure
// status helpers roleName() and clusterJson().
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QThreadPool>
#include <QtTest>

#include "node/api.h"
#include "node/event_log.h"
#include "node/jobs.h"
#include "node/node.h"
#include "node/status.h"
#include "storage/raft_log_store.h"
#include "wordcount/wordcount.h"

using namespace raftwc::node;
namespace http = raftwc::http;
using raftwc::wordcount::FreqMode;

namespace {

QJsonObject bodyOf(const http::ApiReply& r) {
    return QJsonDocument::fromJson(r.body).object();
}

QByteArray header(const http::ApiReply& r, const QByteArray& name) {
    for (const auto& h : r.headers)
        if (h.first.compare(name, Qt::CaseInsensitive) == 0) return h.second;
    return {};
}

NodeOptions testOptions(const QString& dataDir, int bootstrapExpect) {
    NodeOptions o;
    o.dataDir = dataDir;
    o.http = {QStringLiteral("127.0.0.1"), 0};
    o.rpc = {QStringLiteral("127.0.0.1"), 0};
    o.advertise = QStringLiteral("127.0.0.1");
    o.interfaceName = QStringLiteral("lo");
    o.group = {QStringLiteral("239.77.0.1"), 17000};
    o.electionMinMs = 150;
    o.electionMaxMs = 300;
    o.heartbeatMs = 30;
    o.tickMs = 10;
    o.discoveryMs = 0;
    o.bootstrapExpect = bootstrapExpect;
    o.clusterKey = QByteArrayLiteral("node-api-test-cluster-key");
    return o;
}

QByteArray someText(int words) {
    static const char* const vocab[] = {"Lorem", "ipsum", "dolor", "sit", "amet", "lorem", "IPSUM", "don't"};
    QRandomGenerator rng(7);
    QByteArray out;
    for (int i = 0; i < words; ++i) {
        out += vocab[rng.bounded(8)];
        out += i % 9 == 8 ? '\n' : ' ';
    }
    return out;
}

}  // namespace

class tst_NodeApi : public QObject {
    Q_OBJECT
  private slots:
    void cleanup() { QThreadPool::globalInstance()->waitForDone(); }
    void roleNames();
    void jobOutcomesBecomeHttp();
    void clusterJsonShape();
    void leaderlessNode();
    void singleNodeServesTheApi();
    void administrationNeedsTheAdminToken();
    void identityWithoutLogStartsFresh();
    void eventLogIsBoundedAndOrdered();
    void sseMessagesAreOneLineOfJson();
    void singleNodeReportsWhatHappens();
};

void tst_NodeApi::roleNames() {
    QCOMPARE(roleName(raftwc::raft::Role::Leader), QStringLiteral("leader"));
    QCOMPARE(roleName(raftwc::raft::Role::Follower), QStringLiteral("follower"));
    QCOMPARE(roleName(raftwc::raft::Role::Candidate), QStringLiteral("candidate"));
    QCOMPARE(roleName(raftwc::raft::Role::PreCandidate), QStringLiteral("precandidate"));
    QCOMPARE(roleName(raftwc::raft::Role(200)), QStringLiteral("unknown"));
}

void tst_NodeApi::jobOutcomesBecomeHttp() {
    // The only place a job's outcome becomes HTTP.
    const QJsonObject result{{QStringLiteral("words"), 3}};
    http::ApiReply r = apiReply(JobOutcome::done(result));
    QCOMPARE(r.status, 200);
    QCOMPARE(QJsonDocument::fromJson(r.body).object(), result);
    r = apiReply(
        JobOutcome::failed(JobOutcome::Kind::Unavailable, QStringLiteral("no_leader"), QStringLiteral("m")));
    QCOMPARE(r.status, 503);
    QCOMPARE(QJsonDocument::fromJson(r.body).object().value(QStringLiteral("error")).toString(),
             QStringLiteral("no_leader"));
    QCOMPARE(QJsonDocument::fromJson(r.body).object().value(QStringLiteral("message")).toString(),
             QStringLiteral("m"));
    bool retryAfter = false;
    for (const auto& h : r.headers)
        retryAfter = retryAfter || (h.first == "Retry-After" && h.second == "2");
    QVERIFY(retryAfter);
    QCOMPARE(
        apiReply(JobOutcome::failed(JobOutcome::Kind::Duplicate, QStringLiteral("duplicate_job"), {})).status,
        409);
    r = apiReply(JobOutcome::failed(JobOutcome::Kind::Internal, QStringLiteral("internal"), {}));
    QCOMPARE(r.status, 500);
    QVERIFY(r.headers.isEmpty());
}

void tst_NodeApi::clusterJsonShape() {
    NodeStatus s;
    s.id = 0xabc;
    s.phase = QStringLiteral("member");
    s.role = raftwc::raft::Role::Follower;
    s.term = 9;
    s.commit = 40;
    s.applied = 39;
    s.lastIndex = 41;
    s.clusterId = QStringLiteral("cluster-1");
    s.rpcAddress = QStringLiteral("10.0.0.1:7000");
    s.httpAddress = QStringLiteral("10.0.0.1:3000");
    s.electionsStarted = 3;
    QJsonObject o = clusterJson(s);
    QCOMPARE(o.value(QStringLiteral("id")).toString(), QStringLiteral("0000000000000abc"));
    QVERIFY(o.value(QStringLiteral("leader")).isNull());  // no leader: null, not an empty object
    QCOMPARE(o.value(QStringLiteral("role")).toString(), QStringLiteral("follower"));
    QCOMPARE(o.value(QStringLiteral("phase")).toString(), QStringLiteral("member"));
    QCOMPARE(o.value(QStringLiteral("term")).toInteger(), qint64(9));
    QCOMPARE(o.value(QStringLiteral("commitIndex")).toInteger(), qint64(40));
    QCOMPARE(o.value(QStringLiteral("appliedIndex")).toInteger(), qint64(39));
    QCOMPARE(o.value(QStringLiteral("lastIndex")).toInteger(), qint64(41));
    QCOMPARE(o.value(QStringLiteral("clusterId")).toString(), QStringLiteral("cluster-1"));
    QCOMPARE(o.value(QStringLiteral("rpc")).toString(), QStringLiteral("10.0.0.1:7000"));
    QCOMPARE(o.value(QStringLiteral("http")).toString(), QStringLiteral("10.0.0.1:3000"));
    QCOMPARE(o.value(QStringLiteral("electionsStarted")).toInteger(), qint64(3));
    QVERIFY(o.value(QStringLiteral("members")).toArray().isEmpty());

    s.leader = 0xdef;
    s.leaderHttp = QStringLiteral("10.0.0.2:3000");
    MemberStatus self{0xabc, s.rpcAddress, s.httpAddress, QStringLiteral("follower"), true, true, true, 0,
                      40};
    MemberStatus other{0xdef,
                       QStringLiteral("10.0.0.2:7000"),
                       QStringLiteral("10.0.0.2:3000"),
                       QStringLiteral("leader"),
                       true,
                       false,
                       false,
                       -1,
                       0};
    s.members = {self, other};
    o = clusterJson(s);
    const QJsonObject leader = o.value(QStringLiteral("leader")).toObject();
    QCOMPARE(leader.value(QStringLiteral("id")).toString(), QStringLiteral("0000000000000def"));
    QCOMPARE(leader.value(QStringLiteral("http")).toString(), QStringLiteral("10.0.0.2:3000"));
    const QJsonArray members = o.value(QStringLiteral("members")).toArray();
    QCOMPARE(members.size(), 2);
    const QJsonObject m0 = members[0].toObject(), m1 = members[1].toObject();
    QCOMPARE(m0.value(QStringLiteral("id")).toString(), QStringLiteral("0000000000000abc"));
    QCOMPARE(m0.value(QStringLiteral("self")).toBool(), true);
    QCOMPARE(m0.value(QStringLiteral("alive")).toBool(), true);
    QCOMPARE(m0.value(QStringLiteral("voter")).toBool(), true);
    QCOMPARE(m0.value(QStringLiteral("matchIndex")).toInteger(), qint64(40));
    QCOMPARE(m0.value(QStringLiteral("lastContactMs")).toInteger(), qint64(0));
    QCOMPARE(m1.value(QStringLiteral("role")).toString(), QStringLiteral("leader"));
    QCOMPARE(m1.value(QStringLiteral("alive")).toBool(), false);
    QCOMPARE(m1.value(QStringLiteral("self")).toBool(), false);
    QCOMPARE(m1.value(QStringLiteral("lastContactMs")).toInteger(), qint64(-1));
    QCOMPARE(m1.value(QStringLiteral("rpc")).toString(), QStringLiteral("10.0.0.2:7000"));
    QCOMPARE(m1.value(QStringLiteral("http")).toString(), QStringLiteral("10.0.0.2:3000"));
    // Node ids are always 16 hex digits.
    s.id = ~0ull;
    QCOMPARE(clusterJson(s).value(QStringLiteral("id")).toString(), QStringLiteral("ffffffffffffffff"));
}

void tst_NodeApi::leaderlessNode() {
    // A fresh node waiting for more nodes before bootstrapping has no leader: health and uploads say so.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    NodeOptions options = testOptions(dir.path(), 3);
    options.clusterKey.clear();  // open mode: membership operations need no bearer token
    Node node(options);
    QString error;
    QVERIFY2(node.start(&error), qPrintable(error));
    NodeApi api(node);
    QCOMPARE(node.status().phase, QStringLiteral("discovering"));
    std::optional<http::ApiReply> removed;
    api.removeMember(QStringLiteral("abc"), {}, [&](http::ApiReply r) { removed = std::move(r); });
    QTRY_VERIFY_WITH_TIMEOUT(removed.has_value(), 5000);
    QCOMPARE(removed->status, 503);  // no leader to ask: worth retrying, not a conflict
    QCOMPARE(bodyOf(*removed).value(QStringLiteral("error")).toString(), QStringLiteral("no_leader"));
    QVERIFY2(
        bodyOf(*removed).value(QStringLiteral("message")).toString().contains(QLatin1String("no leader")),
        removed->body.constData());
    QVERIFY(std::any_of(removed->headers.begin(), removed->headers.end(),
                        [](const auto& h) { return h.first == "Retry-After"; }));
    const http::ApiReply h = api.health();
    QCOMPARE(h.status, 503);
    QCOMPARE(bodyOf(h).value(QStringLiteral("status")).toString(), QStringLiteral("no_leader"));
    QCOMPARE(header(h, "Retry-After"), QByteArrayLiteral("2"));
    const http::ApiReply notReady = api.ready();
    QCOMPARE(notReady.status, 503);
    const QStringList reasons = bodyOf(notReady).value(QStringLiteral("reasons")).toVariant().toStringList();
    QVERIFY2(reasons.contains(QStringLiteral("no leader known")), qPrintable(reasons.join(u',')));
    QVERIFY2(reasons.contains(QStringLiteral("phase discovering")), qPrintable(reasons.join(u',')));
    std::optional<http::ApiReply> reply;
    http::Upload u;
    u.data = "a b c";
    u.length = u.data.size();
    api.count(u, [&](http::ApiReply r) { reply = std::move(r); });
    QTRY_VERIFY_WITH_TIMEOUT(reply.has_value(), 5000);
    QCOMPARE(reply->status, 503);
    QCOMPARE(bodyOf(*reply).value(QStringLiteral("error")).toString(), QStringLiteral("no_leader"));
    QCOMPARE(header(*reply, "Retry-After"), QByteArrayLiteral("2"));
    const QJsonObject c = bodyOf(api.cluster());
    QVERIFY(c.value(QStringLiteral("leader")).isNull());
    QCOMPARE(c.value(QStringLiteral("phase")).toString(), QStringLiteral("discovering"));
    QCOMPARE(api.jobs(100, {}).status, 200);
    QVERIFY(bodyOf(api.jobs(100, {})).value(QStringLiteral("jobs")).toArray().isEmpty());
}

void tst_NodeApi::singleNodeServesTheApi() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto nodePtr = std::make_unique<Node>(testOptions(dir.path(), 1));
    Node& node = *nodePtr;
    QString error;
    QVERIFY2(node.start(&error), qPrintable(error));
    auto apiPtr = std::make_unique<NodeApi>(node);
    NodeApi& api = *apiPtr;
    QTRY_VERIFY_WITH_TIMEOUT(node.hasLeader() && node.status().role == raftwc::raft::Role::Leader, 10000);

    // health and cluster
    const http::ApiReply h = api.health();
    QCOMPARE(h.status, 200);
    QCOMPARE(bodyOf(h).value(QStringLiteral("status")).toString(), QStringLiteral("ok"));
    QCOMPARE(bodyOf(h).value(QStringLiteral("leader")).toString(), nodeIdString(node.id()));
    QCOMPARE(bodyOf(h).value(QStringLiteral("role")).toString(), QStringLiteral("leader"));
    QTRY_COMPARE_WITH_TIMEOUT(api.ready().status, 200, 5000);  // a member, leader known, caught up
    QCOMPARE(bodyOf(api.ready()).value(QStringLiteral("status")).toString(), QStringLiteral("ready"));
    const http::ApiReply c = api.cluster();
    QCOMPARE(c.status, 200);
    const QJsonObject cj = bodyOf(c);
    QCOMPARE(cj.value(QStringLiteral("id")).toString(), nodeIdString(node.id()));
    QCOMPARE(cj.value(QStringLiteral("role")).toString(), QStringLiteral("leader"));
    QCOMPARE(cj.value(QStringLiteral("phase")).toString(), QStringLiteral("member"));
    QCOMPARE(cj.value(QStringLiteral("leader")).toObject().value(QStringLiteral("id")).toString(),
             nodeIdString(node.id()));
    QVERIFY(cj.value(QStringLiteral("term")).toInteger() >= 1);
    QVERIFY(!cj.value(QStringLiteral("clusterId")).toString().isEmpty());
    const QJsonArray members = cj.value(QStringLiteral("members")).toArray();
    QCOMPARE(members.size(), 1);
    QCOMPARE(members[0].toObject().value(QStringLiteral("self")).toBool(), true);
    QCOMPARE(members[0].toObject().value(QStringLiteral("voter")).toBool(), true);

    // count → job → jobs → words
    const QByteArray text = someText(5000);
    http::Upload u;
    u.data = text;
    u.length = text.size();
    u.name = QStringLiteral("lorem.txt");
    u.jobId = QStringLiteral("api-job-0001");
    std::optional<http::ApiReply> reply;
    api.count(u, [&](http::ApiReply r) { reply = std::move(r); });
    QTRY_VERIFY_WITH_TIMEOUT(reply.has_value(), 20000);
    QVERIFY2(reply->status == 200, reply->body.constData());
    const QJsonObject result = bodyOf(*reply);
    const auto expected = raftwc::wordcount::countBytes(
        std::string_view(text.constData(), std::size_t(text.size())), FreqMode::Normalized);
    QCOMPARE(result.value(QStringLiteral("words")).toInteger(), qint64(expected.words));
    QCOMPARE(result.value(QStringLiteral("lines")).toInteger(), qint64(expected.lines));
    QCOMPARE(result.value(QStringLiteral("chars")).toInteger(), qint64(*expected.chars));
    QCOMPARE(result.value(QStringLiteral("maxLineWidth")).toInteger(), qint64(*expected.maxLineWidth()));
    QCOMPARE(result.value(QStringLiteral("uniqueWords")).toInteger(), qint64(expected.freq.size()));
    QCOMPARE(result.value(QStringLiteral("name")).toString(), QStringLiteral("lorem.txt"));

    const http::ApiReply j = api.job(QStringLiteral("api-job-0001"));
    QCOMPARE(j.status, 200);
    QCOMPARE(bodyOf(j), result);
    QCOMPARE(api.job(QStringLiteral("no-such-job")).status, 404);
    QCOMPARE(bodyOf(api.job(QStringLiteral("no-such-job"))).value(QStringLiteral("error")).toString(),
             QStringLiteral("not_found"));

    const QJsonArray list = bodyOf(api.jobs(100, {})).value(QStringLiteral("jobs")).toArray();
    QCOMPARE(list.size(), 1);
    const QJsonObject summary = list[0].toObject();
    QCOMPARE(summary.value(QStringLiteral("id")).toString(), QStringLiteral("api-job-0001"));
    QVERIFY(!summary.contains(QStringLiteral("top")));  // the list is a summary
    QVERIFY(!summary.contains(QStringLiteral("shards")));
    QCOMPARE(summary.value(QStringLiteral("words")).toInteger(), qint64(expected.words));

    // Paging through the whole table gives back exactly the expected frequencies, in top order.
    const auto sorted = raftwc::wordcount::sortedEntries(expected.freq);
    qsizetype seen = 0;
    for (qsizetype offset = 0; offset < qsizetype(sorted.size()) + 3; offset += 3) {
        const http::ApiReply w = api.jobWords(QStringLiteral("api-job-0001"), 3, offset, QString());
        QCOMPARE(w.status, 200);
        const QJsonObject page = bodyOf(w);
        QCOMPARE(page.value(QStringLiteral("total")).toInteger(), qint64(sorted.size()));
        QCOMPARE(page.value(QStringLiteral("mode")).toString(), QStringLiteral("normalized"));
        for (const QJsonValue& v : page.value(QStringLiteral("words")).toArray()) {
            const auto& want = sorted.at(std::size_t(seen++));
            QCOMPARE(v.toObject().value(QStringLiteral("word")).toString(), wordText(want.word));
            QCOMPARE(v.toObject().value(QStringLiteral("count")).toInteger(), qint64(want.count));
        }
    }
    QCOMPARE(seen, qsizetype(sorted.size()));
    const http::ApiReply wrongMode =
        api.jobWords(QStringLiteral("api-job-0001"), 10, 0, QStringLiteral("raw"));
    QCOMPARE(wrongMode.status, 409);
    QCOMPARE(bodyOf(wrongMode).value(QStringLiteral("error")).toString(), QStringLiteral("wrong_mode"));
    QCOMPARE(api.jobWords(QStringLiteral("no-such-job"), 10, 0, QString()).status, 404);

    // The same job id again answers the committed result (idempotent; nothing is counted twice).
    std::optional<http::ApiReply> again;
    api.count(u, [&](http::ApiReply r) { again = std::move(r); });
    QVERIFY(again.has_value());  // at once, from the state machine
    QCOMPARE(again->status, 200);
    QCOMPARE(bodyOf(*again), result);

    // metrics
    const QByteArray m = api.metrics();
    QVERIFY(m.contains("raftwc_jobs_committed 1\n"));
    QVERIFY(m.contains("raftwc_jobs_started_total 1\n"));
    QVERIFY(m.contains("raftwc_jobs_failed_total 0\n"));
    QVERIFY(m.contains("raftwc_members 1\n"));
    QVERIFY(m.contains("role=\"leader\""));
    QVERIFY(m.contains("# TYPE raftwc_commit_index gauge"));

    // The state survives a restart of the node on the same data directory.
    const QJsonObject before = bodyOf(api.job(QStringLiteral("api-job-0001")));
    const raftwc::raft::NodeId id = node.id();
    bool stopped = false;
    node.shutdown([&] { stopped = true; });
    QTRY_VERIFY_WITH_TIMEOUT(stopped, 5000);
    apiPtr.reset();
    nodePtr.reset();

    Node restarted(testOptions(dir.path(), 1));
    QVERIFY2(restarted.start(&error), qPrintable(error));
    QCOMPARE(restarted.id(), id);
    NodeApi api2(restarted);
    QTRY_VERIFY_WITH_TIMEOUT(restarted.hasLeader() && restarted.stateMachine().job("api-job-0001"), 10000);
    QCOMPARE(bodyOf(api2.job(QStringLiteral("api-job-0001"))), before);
    QCOMPARE(bodyOf(api2.jobs(100, {})).value(QStringLiteral("jobs")).toArray().size(), 1);
    const http::ApiReply w =
        api2.jobWords(QStringLiteral("api-job-0001"), 1, 0, QStringLiteral("normalized"));
    QCOMPARE(w.status, 200);
    const auto& top = sorted.front();
    QCOMPARE(bodyOf(w)
                 .value(QStringLiteral("words"))
                 .toArray()[0]
                 .toObject()
                 .value(QStringLiteral("count"))
                 .toInteger(),
             qint64(top.count));
}

void tst_NodeApi::administrationNeedsTheAdminToken() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    NodeOptions options = testOptions(dir.path(), 1);
    {
        // A node with a cluster key and no admin token refuses administration outright (403), whatever the
        // Authorization: the cluster key is never accepted over HTTP.
        QTemporaryDir otherDir;
        QVERIFY(otherDir.isValid());
        Node keyOnly(testOptions(otherDir.path(), 1));
        QString error;
        QVERIFY2(keyOnly.start(&error), qPrintable(error));
        NodeApi api(keyOnly);
        for (const QByteArray& auth :
             {QByteArray(), QByteArray(QByteArrayLiteral("Bearer ") + options.clusterKey)}) {
            std::optional<http::ApiReply> out;
            api.transferLeadership(QString(), auth, [&out](http::ApiReply r) { out = std::move(r); });
            QTRY_VERIFY(out.has_value());
            QCOMPARE(out->status, 403);
            QCOMPARE(bodyOf(*out).value(QStringLiteral("error")).toString(),
                     QStringLiteral("admin_disabled"));
        }
    }
    options.adminToken = QByteArrayLiteral("node-api-test-admin-token");
    Node node(options);
    QString error;
    QVERIFY2(node.start(&error), qPrintable(error));
    NodeApi api(node);
    QTRY_VERIFY_WITH_TIMEOUT(node.status().role == raftwc::raft::Role::Leader, 10000);
    auto call = [&](bool remove, const QString& arg, const QByteArray& auth) {
        std::optional<http::ApiReply> out;
        auto done = [&out](http::ApiReply r) { out = std::move(r); };
        if (remove)
            api.removeMember(arg, auth, done);
        else
            api.transferLeadership(arg, auth, done);
        if (!QTest::qWaitFor([&] { return out.has_value(); }, 5000)) qWarning("no answer within 5 s");
        return out.value_or(http::ApiReply::error(0, QStringLiteral("no_answer"), {}));
    };
    const QByteArray good = QByteArrayLiteral("Bearer ") + options.adminToken;
    const QByteArray wrong[] = {QByteArray(),
                                QByteArrayLiteral("Bearer ") + options.clusterKey,
                                QByteArrayLiteral("Bearer"),
                                QByteArrayLiteral("Bearer wrong"),
                                good.chopped(1),
                                good + 'x',
                                QByteArrayLiteral("Basic ") + options.clusterKey,
                                options.clusterKey};
    for (const QByteArray& auth : wrong) {
        for (bool remove : {true, false}) {
            const http::ApiReply r = call(remove, QStringLiteral("abc"), auth);
            QVERIFY2(r.status == 401, auth.constData());
            QCOMPARE(bodyOf(r).value(QStringLiteral("error")).toString(), QStringLiteral("unauthorized"));
            QCOMPARE(header(r, "WWW-Authenticate"), QByteArrayLiteral("Bearer"));
        }
    }
    // Authorized: bad ids are 400, impossible operations 409, and the node stays the leader.
    QCOMPARE(call(true, QStringLiteral("not-hex"), good).status, 400);
    QCOMPARE(call(true, QStringLiteral("0"), good).status, 400);
    QCOMPARE(call(false, QStringLiteral("xyz"), good).status, 400);
    const http::ApiReply unknown = call(true, QStringLiteral("1234"), good);
    QCOMPARE(unknown.status, 409);
    QCOMPARE(bodyOf(unknown).value(QStringLiteral("error")).toString(), QStringLiteral("not_removed"));
    const http::ApiReply alone = call(false, QString(), good);  // no other voter to hand over to
    QCOMPARE(alone.status, 409);
    QCOMPARE(bodyOf(alone).value(QStringLiteral("error")).toString(), QStringLiteral("not_transferred"));
    QVERIFY(node.status().role == raftwc::raft::Role::Leader);
    QCOMPARE(node.status().members.size(), std::size_t(1));
}

void tst_NodeApi::identityWithoutLogStartsFresh() {
    // A node stopped between writing its cluster id (bootstrap) and its first log write held a cluster id
    // and nothing else, and then waited for ever on restart: neither bootstrapping (it was not fresh) nor
    // finding its cluster. Found by this file's admin-token test (a node stopped right after bootstrap,
    // restarted on the same directory, never led). Nothing of that cluster was durable: it starts fresh.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    raftwc::raft::NodeId id = 0;
    {
        raftwc::storage::RaftLogStoreOptions so;
        so.dir = dir.path().toStdString();
        auto store = raftwc::storage::RaftLogStore::open(so);
        QVERIFY(store.ok());
        id = 0x5eed;
        QVERIFY(store.value()->setIdentity("orphan-cluster-id", id).ok());
    }
    Node node(testOptions(dir.path(), 1));
    QString error;
    QVERIFY2(node.start(&error), qPrintable(error));
    QCOMPARE(node.id(), id);
    QTRY_VERIFY_WITH_TIMEOUT(node.status().role == raftwc::raft::Role::Leader, 10000);
    QVERIFY(!node.status().clusterId.isEmpty());
    QVERIFY(node.status().clusterId != QLatin1String("orphan-cluster-id"));
}

QTEST_GUILESS_MAIN(tst_NodeApi)
void tst_NodeApi::eventLogIsBoundedAndOrdered() {
    EventLog log(5);
    QCOMPARE(log.lastSeq(), quint64(0));
    QCOMPARE(log.oldestSeq(), quint64(1));
    QVERIFY(log.after(0).empty());
    std::vector<quint64> heard;
    quint64 second = 0;
    const quint64 first = log.subscribe([&](const NodeEvent& e) {
        heard.push_back(e.seq);
        if (e.seq == 2) log.unsubscribe(second);  // a listener may remove another one mid-call
    });
    int secondCalls = 0;
    second = log.subscribe([&](const NodeEvent&) { ++secondCalls; });
    for (int i = 1; i <= 8; ++i)
        log.append(QJsonObject{{QStringLiteral("type"), QStringLiteral("t%1").arg(i)}}, 1000 + i);
    QCOMPARE(heard, (std::vector<quint64>{1, 2, 3, 4, 5, 6, 7, 8}));
    QCOMPARE(secondCalls, 1);  // removed while event 2 was being told: event 1 only
    QCOMPARE(log.listeners(), std::size_t(1));
    QCOMPARE(log.size(), std::size_t(5));  // bounded
    QCOMPARE(log.lastSeq(), quint64(8));
    QCOMPARE(log.oldestSeq(), quint64(4));
    const auto all = log.after(0);
    QCOMPARE(all.size(), std::size_t(5));
    QCOMPARE(all.front().seq, quint64(4));
    QCOMPARE(all.front().type(), QStringLiteral("t4"));
    QCOMPARE(all.front().data.value(QStringLiteral("time")).toInteger(), qint64(1004));
    QCOMPARE(all.front().data.value(QStringLiteral("seq")).toInteger(), qint64(4));
    const auto tail = log.after(6);
    QCOMPARE(tail.size(), std::size_t(2));
    QCOMPARE(tail[0].seq, quint64(7));
    QCOMPARE(log.after(6, 1).size(), std::size_t(1));
    QVERIFY(log.after(8).empty());
    QVERIFY(log.after(100).empty());
    log.unsubscribe(first);
    log.append(QJsonObject{{QStringLiteral("type"), QStringLiteral("t9")}}, 0);
    QCOMPARE(heard.size(), std::size_t(8));
}

void tst_NodeApi::sseMessagesAreOneLineOfJson() {
    EventLog log;
    const NodeEvent& e = log.append(QJsonObject{{QStringLiteral("type"), QStringLiteral("vote")},
                                                {QStringLiteral("reason"), QStringLiteral("a\nb")}},
                                    5);
    const QByteArray m = sseMessage(e);
    QVERIFY(m.startsWith("id: 1\nevent: vote\ndata: {"));
    QVERIFY(m.endsWith("}\n\n"));
    QCOMPARE(m.count('\n'), 4);  // a newline inside a value is escaped in the JSON
    const QByteArray json = m.mid(m.indexOf("data: ") + 6).trimmed();
    QCOMPARE(QJsonDocument::fromJson(json).object().value(QStringLiteral("reason")).toString(),
             QStringLiteral("a\nb"));
    QVERIFY(sseMessage(QJsonObject{{QStringLiteral("type"), QStringLiteral("status")}})
                .startsWith("event: status\n"));
}

void tst_NodeApi::singleNodeReportsWhatHappens() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto nodePtr = std::make_unique<Node>(testOptions(dir.path(), 1));
    Node& node = *nodePtr;
    QString error;
    QVERIFY2(node.start(&error), qPrintable(error));
    NodeApi api(node);
    QTRY_VERIFY_WITH_TIMEOUT(node.hasLeader() && node.status().role == raftwc::raft::Role::Leader, 10000);

    // A stream opened now: status first, then live events.
    struct Sink : http::StreamWriter {
        QByteArray bytes;
        bool open = true;
        bool write(const QByteArray& b) override {
            if (open) bytes += b;
            return open;
        }
    };
    auto sink = std::make_shared<Sink>();
    http::EventsQuery q;
    q.hasAfter = true;
    q.after = 0;  // replay everything from the start
    auto handle = api.openEvents(q, sink);
    QVERIFY(handle);
    QVERIFY(sink->bytes.startsWith("event: status\ndata: {"));

    auto eventsOf = [&](quint64 after) {
        http::EventsQuery jq;
        jq.json = true;
        jq.hasAfter = true;
        jq.after = after;
        std::optional<http::ApiReply> r;
        api.events(jq, [&](http::ApiReply a) { r = std::move(a); });
        return r ? bodyOf(*r) : QJsonObject();
    };
    auto types = [](const QJsonObject& o) {
        QStringList t;
        for (const QJsonValue& v : o.value(QStringLiteral("events")).toArray())
            t << v.toObject().value(QStringLiteral("type")).toString();
        return t;
    };
    // The start: phase member, a campaign and its win, the role and the leader.
    QTRY_VERIFY_WITH_TIMEOUT(types(eventsOf(0)).contains(QStringLiteral("leader")), 5000);
    const QJsonObject start = eventsOf(0);
    const QStringList t0 = types(start);
    for (const char* want : {"phase", "term", "campaign", "elected", "role", "leader", "members"})
        QVERIFY2(t0.contains(QLatin1String(want)), qPrintable(t0.join(QLatin1Char(','))));
    QVERIFY(t0.indexOf(QStringLiteral("campaign")) < t0.indexOf(QStringLiteral("elected")));
    qint64 lastSeq = 0;
    for (const QJsonValue& v : start.value(QStringLiteral("events")).toArray()) {
        const QJsonObject e = v.toObject();
        QCOMPARE(e.value(QStringLiteral("node")).toString(), nodeIdString(node.id()));
        QVERIFY(e.value(QStringLiteral("seq")).toInteger() > lastSeq);  // ordered
        lastSeq = e.value(QStringLiteral("seq")).toInteger();
        QVERIFY(e.value(QStringLiteral("time")).toInteger() > 1600000000000);
        if (e.value(QStringLiteral("type")).toString() == QLatin1String("leader"))
            QCOMPARE(e.value(QStringLiteral("leader")).toString(), nodeIdString(node.id()));
    }
    QCOMPARE(start.value(QStringLiteral("next")).toInteger(), lastSeq);
    QCOMPARE(start.value(QStringLiteral("status")).toObject().value(QStringLiteral("role")).toString(),
             QStringLiteral("leader"));

    // A job: its progress to done, this node's shards, the log's entries by kind.
    const QByteArray text = someText(3000);
    http::Upload u;
    u.data = text;
    u.length = text.size();
    u.name = QStringLiteral("events.txt");
    u.jobId = QStringLiteral("events-job-01");
    std::optional<http::ApiReply> reply;
    api.count(u, [&](http::ApiReply r) { reply = std::move(r); });
    QTRY_VERIFY_WITH_TIMEOUT(reply.has_value(), 20000);
    QCOMPARE(reply->status, 200);
    QTRY_VERIFY_WITH_TIMEOUT(types(eventsOf(quint64(lastSeq))).contains(QStringLiteral("log")), 3000);
    QJsonObject done, shard;
    QStringList kinds;
    QStringList jobStates;
    for (const QJsonValue& v : eventsOf(quint64(lastSeq)).value(QStringLiteral("events")).toArray()) {
        const QJsonObject e = v.toObject();
        const QString type = e.value(QStringLiteral("type")).toString();
        if (type == QLatin1String("job")) {
            const QJsonObject job = e.value(QStringLiteral("job")).toObject();
            QCOMPARE(job.value(QStringLiteral("id")).toString(), QStringLiteral("events-job-01"));
            QVERIFY(!e.value(QStringLiteral("relayed")).toBool());
            jobStates << job.value(QStringLiteral("state")).toString();
            if (job.value(QStringLiteral("state")).toString() == QLatin1String("done")) done = job;
        } else if (type == QLatin1String("shard") &&
                   e.value(QStringLiteral("state")).toString() == QLatin1String("done")) {
            shard = e;
        } else if (type == QLatin1String("log")) {
            for (const QJsonValue& r : e.value(QStringLiteral("recent")).toArray())
                kinds << r.toObject().value(QStringLiteral("kind")).toString();
        }
    }
    QVERIFY2(jobStates.first() == QLatin1String("storing"), qPrintable(jobStates.join(QLatin1Char(','))));
    QVERIFY(jobStates.contains(QStringLiteral("counting")));
    QCOMPARE(done.value(QStringLiteral("words")).toInteger(),
             bodyOf(*reply).value(QStringLiteral("words")).toInteger());
    QCOMPARE(shard.value(QStringLiteral("job")).toString(), QStringLiteral("events-job-01"));
    QCOMPARE(shard.value(QStringLiteral("bytesDone")).toInteger(),
             shard.value(QStringLiteral("length")).toInteger());
    for (const char* k : {"chunk", "manifest", "result"})
        QVERIFY2(kinds.contains(QLatin1String(k)), qPrintable(kinds.join(QLatin1Char(','))));

    // The stream saw the same events, with ids, in order; a second status after a second.
    QTRY_VERIFY_WITH_TIMEOUT(sink->bytes.count("event: status\n") >= 2, 3000);
    QVERIFY(sink->bytes.contains("id: 1\nevent: "));
    QVERIFY(sink->bytes.contains("event: job\n"));
    QVERIFY(sink->bytes.indexOf("event: campaign") < sink->bytes.indexOf("event: elected"));

    // Long poll: nothing new → waits (until an event or the end of the wait).
    const quint64 now = node.eventLog()->lastSeq();
    http::EventsQuery lp;
    lp.json = true;
    lp.hasAfter = true;
    lp.after = now;
    lp.waitMs = 200;
    std::optional<http::ApiReply> waited;
    QElapsedTimer clock;
    clock.start();
    api.events(lp, [&](http::ApiReply r) { waited = std::move(r); });
    QVERIFY(!waited);
    QTRY_VERIFY_WITH_TIMEOUT(waited.has_value(), 3000);
    QVERIFY(clock.elapsed() >= 150 || !bodyOf(*waited).value(QStringLiteral("events")).toArray().isEmpty());
    // An id from an earlier process (the node restarted: ids start again at 1): everything buffered, at once,
    // with a gap that says so — in the JSON answer and in a stream.
    lp.after = now + 1000;
    std::optional<http::ApiReply> again;
    api.events(lp, [&](http::ApiReply r) { again = std::move(r); });
    QVERIFY(again.has_value());
    const QJsonObject restarted = bodyOf(*again);
    QCOMPARE(restarted.value(QStringLiteral("gap")).toObject().value(QStringLiteral("reason")).toString(),
             QStringLiteral("restarted"));
    QCOMPARE(restarted.value(QStringLiteral("events"))
                 .toArray()
                 .first()
                 .toObject()
                 .value(QStringLiteral("seq"))
                 .toInt(),
             1);
    auto sink2 = std::make_shared<Sink>();
    http::EventsQuery sq;
    sq.hasAfter = true;
    sq.after = now + 1000;
    auto handle2 = api.openEvents(sq, sink2);
    QVERIFY(sink2->bytes.contains("\"reason\":\"restarted\""));
    QVERIFY(sink2->bytes.contains("id: 1\n"));
    handle2.reset();
    // Metrics an operator expects, after one job: leader known, build info, latency histograms that moved,
    // the process' own figures.
    const QByteArray metrics = api.metrics();
    auto value = [&metrics](const QByteArray& name) {
        for (const QByteArray& line : metrics.split('\n'))
            if (line.startsWith(QByteArray(name + ' '))) return line.mid(name.size() + 1).toDouble();
        return -1.0;
    };
    QCOMPARE(value("raftwc_has_leader"), 1.0);
    QVERIFY(metrics.contains("raftwc_build_info{version=\""));
    QCOMPARE(value("raftwc_job_duration_seconds_count"), 1.0);
    QVERIFY(value("raftwc_commit_seconds_count") >= 2);  // the file's chunk(s), manifest, result
    QVERIFY(value("raftwc_log_write_seconds_count") >= 2);
    QCOMPARE(value("raftwc_commit_seconds_bucket{le=\"+Inf\"}"), value("raftwc_commit_seconds_count"));
    QVERIFY(value("raftwc_disk_free_bytes") > 0);
    QVERIFY(value("process_resident_memory_bytes") > 1e6);
    QVERIFY(value("process_open_fds") > 3);
    QVERIFY(value("process_cpu_seconds_total") > 0);
    QVERIFY(std::abs(value("process_start_time_seconds") - double(QDateTime::currentSecsSinceEpoch())) < 600);
    // Buckets are cumulative and end at the count.
    raftwc::Histogram h = raftwc::Histogram::seconds(1);
    for (double v : {0.0005, 0.002, 0.002, 0.3, 7.0})
        h.observe(v);
    QCOMPARE(h.count, quint64(5));
    QCOMPARE(h.counts.front(), quint64(1));  // <= 1 ms
    QCOMPARE(h.counts.back(), quint64(1));   // > 1 s
    QCOMPARE(h.bounds.back(), 1.0);

    // A stream whose client is gone stops being written to, and the handle's end unsubscribes it.
    const std::size_t listeners = node.eventLog()->listeners();
    sink->open = false;
    handle.reset();
    QCOMPARE(node.eventLog()->listeners(), listeners - 1);
}

#include "tst_node_api.moc"
