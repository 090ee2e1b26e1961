// parseOptions / parseHostPort: every option in both forms, environment fallbacks, precedence, errors.
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QTimeZone>
#include <QtTest>

#include "node/logging.h"
#include "node/options.h"

using namespace raftwc::node;

namespace {

QProcessEnvironment envOf(const QStringList& kv) {
    QProcessEnvironment env;  // empty: never the real environment
    for (const QString& s : kv)
        env.insert(s.section(QLatin1Char('='), 0, 0), s.section(QLatin1Char('='), 1));
    return env;
}

NodeOptions parseOk(const QStringList& args, const QStringList& env = {}) {
    auto r = parseOptions(args, envOf(env));
    if (const QString* err = std::get_if<QString>(&r)) {
        qWarning().noquote() << "unexpected error:" << *err;
        NodeOptions bad;
        bad.dataDir = QStringLiteral("<error>");
        return bad;
    }
    return std::get<NodeOptions>(r);
}

QString parseErr(const QStringList& args, const QStringList& env = {}) {
    auto r = parseOptions(args, envOf(env));
    if (const QString* err = std::get_if<QString>(&r)) return *err;
    return QString();
}

/// Both "--name=value" and "--name value".
QList<QStringList> bothForms(const QString& name, const QString& value) {
    return {{QStringLiteral("--%1=%2").arg(name, value)}, {QStringLiteral("--") + name, value}};
}

}  // namespace

class tst_NodeOptions : public QObject {
    Q_OBJECT
  private slots:
    void defaults();
    void eachOption_data();
    void eachOption();
    void environmentFallback_data();
    void environmentFallback();
    void commandLineWinsOverEnvironment();
    void verboseFromEnvironment();
    void environmentErrorsNameTheVariable();
    void badValues_data();
    void badValues();
    void heartbeatVersusElectionTimeout_data();
    void heartbeatVersusElectionTimeout();
    void maxUploadSizes_data();
    void maxUploadSizes();
    void peersLists_data();
    void peersLists();
    void peersDefaultPortFollowsGroup();
    void clusterKeyFile();
    void clusterKeyFromEnvironment();
    void parseHostPort_data();
    void parseHostPort();
    void lastOccurrenceWins();
    void singleMeansBootstrapAlone();
    void helpMentionsEveryOption();
    void logOptions();
    void logLinesCarryDateZoneNodeAndLevel();
};

void tst_NodeOptions::defaults() {
    const NodeOptions o = parseOk({});
    const NodeOptions d;
    QCOMPARE(o.dataDir, d.dataDir);
    QCOMPARE(o.nodeId, 0u);
    QCOMPARE(o.http, (HostPort{QStringLiteral("0.0.0.0"), 3000}));
    QCOMPARE(o.rpc, (HostPort{QStringLiteral("0.0.0.0"), 7000}));
    QCOMPARE(o.group, (HostPort{QStringLiteral("239.0.0.1"), 10000}));
    QCOMPARE(o.ttl, 1);
    QCOMPARE(o.electionMinMs, 1000);
    QCOMPARE(o.electionMaxMs, 2000);
    QCOMPARE(o.heartbeatMs, 100);
    QCOMPARE(o.tickMs, 50);
    QVERIFY(o.clusterKey.isEmpty());
    QVERIFY(o.peers.isEmpty());
    QCOMPARE(o.bootstrapExpect, 0);  // never forms a cluster alone unless told (issue 12)
    QCOMPARE(o.maxUpload, qint64(1) << 30);
    QCOMPARE(o.discoveryMs, 3000);
    QCOMPARE(o.verbose, false);
}

// name, value, a checker expressed as (field, expected string)
void tst_NodeOptions::eachOption_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("expected");
    QTest::newRow("data-dir") << "data-dir"
                              << "/var/lib/x y"
                              << "dataDir"
                              << "/var/lib/x y";
    QTest::newRow("node-id") << "node-id"
                             << "00ff10"
                             << "nodeId"
                             << "65296";
    QTest::newRow("node-id-upper") << "node-id"
                                   << "ABCDEF0123456789"
                                   << "nodeId"
                                   << "12379813738877118345";
    QTest::newRow("http") << "http"
                          << "127.0.0.1:8080"
                          << "http"
                          << "127.0.0.1:8080";
    QTest::newRow("http-host-only") << "http"
                                    << "10.1.2.3"
                                    << "http"
                                    << "10.1.2.3:3000";
    QTest::newRow("rpc") << "rpc"
                         << "[::1]:7100"
                         << "rpc"
                         << "::1:7100";
    QTest::newRow("rpc-host-only") << "rpc"
                                   << "192.168.0.9"
                                   << "rpc"
                                   << "192.168.0.9:7000";
    QTest::newRow("advertise") << "advertise"
                               << "10.0.0.5"
                               << "advertise"
                               << "10.0.0.5";
    QTest::newRow("advertise-v6") << "advertise"
                                  << "fd00::5"
                                  << "advertise"
                                  << "fd00::5";
    QTest::newRow("group") << "group"
                           << "239.5.5.5:12000"
                           << "group"
                           << "239.5.5.5:12000";
    QTest::newRow("group-host-only") << "group"
                                     << "239.9.9.9"
                                     << "group"
                                     << "239.9.9.9:10000";
    QTest::newRow("interface") << "interface"
                               << "eth7"
                               << "interface"
                               << "eth7";
    QTest::newRow("ttl") << "ttl"
                         << "32"
                         << "ttl"
                         << "32";
    QTest::newRow("election-timeout") << "election-timeout"
                                      << "300-900"
                                      << "election"
                                      << "300-900";
    QTest::newRow("heartbeat") << "heartbeat"
                               << "40"
                               << "heartbeat"
                               << "40";
    QTest::newRow("bootstrap-expect") << "bootstrap-expect"
                                      << "3"
                                      << "bootstrapExpect"
                                      << "3";
    QTest::newRow("max-upload") << "max-upload"
                                << "200M"
                                << "maxUpload"
                                << "209715200";
    QTest::newRow("discovery") << "discovery"
                               << "0"
                               << "discoveryMs"
                               << "0";
    QTest::newRow("peers") << "peers"
                           << "a:1,b:2"
                           << "peers"
                           << "a:1,b:2";
}

namespace {
QString fieldOf(const NodeOptions& o, const QString& field) {
    auto hp = [](const HostPort& h) -> QString {
        return h.host + QLatin1Char(':') + QString::number(h.port);
    };
    if (field == QLatin1String("dataDir")) return o.dataDir;
    if (field == QLatin1String("nodeId")) return QString::number(o.nodeId);
    if (field == QLatin1String("http")) return hp(o.http);
    if (field == QLatin1String("rpc")) return hp(o.rpc);
    if (field == QLatin1String("advertise")) return o.advertise;
    if (field == QLatin1String("group")) return hp(o.group);
    if (field == QLatin1String("interface")) return o.interfaceName;
    if (field == QLatin1String("ttl")) return QString::number(o.ttl);
    if (field == QLatin1String("election"))
        return QStringLiteral("%1-%2").arg(o.electionMinMs).arg(o.electionMaxMs);
    if (field == QLatin1String("heartbeat")) return QString::number(o.heartbeatMs);
    if (field == QLatin1String("bootstrapExpect")) return QString::number(o.bootstrapExpect);
    if (field == QLatin1String("maxUpload")) return QString::number(o.maxUpload);
    if (field == QLatin1String("discoveryMs")) return QString::number(o.discoveryMs);
    if (field == QLatin1String("peers")) {
        QStringList l;
        for (const HostPort& p : o.peers)
            l << hp(p);
        return l.join(QLatin1Char(','));
    }
    return QStringLiteral("<unknown field %1>").arg(field);
}
}  // namespace

void tst_NodeOptions::eachOption() {
    QFETCH(QString, name);
    QFETCH(QString, value);
    QFETCH(QString, field);
    QFETCH(QString, expected);
    QVERIFY(fieldOf(NodeOptions{}, field) != expected);  // the option really changes something
    for (const QStringList& args : bothForms(name, value)) {
        const auto r = parseOptions(args, QProcessEnvironment());
        QVERIFY2(std::holds_alternative<NodeOptions>(r), qPrintable(args.join(QLatin1Char(' '))));
        QCOMPARE(fieldOf(std::get<NodeOptions>(r), field), expected);
    }
    QCOMPARE(parseOk({QStringLiteral("--verbose")}).verbose, true);
}

void tst_NodeOptions::environmentFallback_data() {
    QTest::addColumn<QString>("var");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("expected");
    QTest::newRow("data-dir") << "RAFTWC_DATA_DIR"
                              << "/srv/d"
                              << "dataDir"
                              << "/srv/d";
    QTest::newRow("node-id") << "RAFTWC_NODE_ID"
                             << "2a"
                             << "nodeId"
                             << "42";
    QTest::newRow("http") << "RAFTWC_HTTP"
                          << "127.0.0.1:1"
                          << "http"
                          << "127.0.0.1:1";
    QTest::newRow("rpc") << "RAFTWC_RPC"
                         << "127.0.0.2:2"
                         << "rpc"
                         << "127.0.0.2:2";
    QTest::newRow("advertise") << "RAFTWC_ADVERTISE"
                               << "10.9.8.7"
                               << "advertise"
                               << "10.9.8.7";
    QTest::newRow("group") << "RAFTWC_GROUP"
                           << "239.1.2.3:4444"
                           << "group"
                           << "239.1.2.3:4444";
    QTest::newRow("interface") << "RAFTWC_INTERFACE"
                               << "br0"
                               << "interface"
                               << "br0";
    QTest::newRow("ttl") << "RAFTWC_TTL"
                         << "4"
                         << "ttl"
                         << "4";
    QTest::newRow("election-timeout") << "RAFTWC_ELECTION_TIMEOUT"
                                      << "500-700"
                                      << "election"
                                      << "500-700";
    QTest::newRow("heartbeat") << "RAFTWC_HEARTBEAT"
                               << "250"
                               << "heartbeat"
                               << "250";
    QTest::newRow("peers") << "RAFTWC_PEERS"
                           << "x:9"
                           << "peers"
                           << "x:9";
    QTest::newRow("bootstrap-expect") << "RAFTWC_BOOTSTRAP_EXPECT"
                                      << "5"
                                      << "bootstrapExpect"
                                      << "5";
    QTest::newRow("max-upload") << "RAFTWC_MAX_UPLOAD"
                                << "3K"
                                << "maxUpload"
                                << "3072";
    QTest::newRow("discovery") << "RAFTWC_DISCOVERY"
                               << "1500"
                               << "discoveryMs"
                               << "1500";
}

void tst_NodeOptions::environmentFallback() {
    QFETCH(QString, var);
    QFETCH(QString, value);
    QFETCH(QString, field);
    QFETCH(QString, expected);
    const NodeOptions o = parseOk({}, {var + QLatin1Char('=') + value});
    QCOMPARE(fieldOf(o, field), expected);
    // A bad value from the environment is an error too, not silently ignored.
    if (field != QLatin1String("dataDir") && field != QLatin1String("interface"))
        QVERIFY(!parseErr({}, {var + QStringLiteral("=[")}).isEmpty());
}

void tst_NodeOptions::commandLineWinsOverEnvironment() {
    const QStringList env{QStringLiteral("RAFTWC_DATA_DIR=/env"), QStringLiteral("RAFTWC_TTL=9"),
                          QStringLiteral("RAFTWC_HTTP=1.1.1.1:1"), QStringLiteral("RAFTWC_DISCOVERY=77")};
    const NodeOptions o =
        parseOk({QStringLiteral("--data-dir"), QStringLiteral("/cli"), QStringLiteral("--ttl=3")}, env);
    QCOMPARE(o.dataDir, QStringLiteral("/cli"));
    QCOMPARE(o.ttl, 3);
    QCOMPARE(o.http, (HostPort{QStringLiteral("1.1.1.1"), 1}));  // untouched by the command line
    QCOMPARE(o.discoveryMs, 77);
    // A valid command-line value even replaces an invalid environment value.
    QCOMPARE(parseOk({QStringLiteral("--ttl=2")}, {QStringLiteral("RAFTWC_TTL=banana")}).ttl, 2);
}

void tst_NodeOptions::environmentErrorsNameTheVariable() {
    // A bad value from the environment names the variable it came from.
    auto r = parseOptions({}, envOf({QStringLiteral("RAFTWC_HEARTBEAT=soon")}));
    QVERIFY(std::holds_alternative<QString>(r));
    QVERIFY2(std::get<QString>(r).contains(QLatin1String("RAFTWC_HEARTBEAT")),
             qPrintable(std::get<QString>(r)));
    // The same value on the command line is the command line's error.
    r = parseOptions({QStringLiteral("--heartbeat"), QStringLiteral("soon")},
                     envOf({QStringLiteral("RAFTWC_HEARTBEAT=100")}));
    QVERIFY(std::holds_alternative<QString>(r));
    QVERIFY(!std::get<QString>(r).contains(QLatin1String("RAFTWC_HEARTBEAT")));
    // A misspelt variable is not silently ignored: a warning, with the likely intended name.
    r = parseOptions({}, envOf({QStringLiteral("RAFTWC_CLUSTERKEY=0123456789abcdef0123"),
                                QStringLiteral("RAFTWC_DATA_DIR=/tmp/x")}));
    QVERIFY(std::holds_alternative<NodeOptions>(r));
    const NodeOptions o = std::get<NodeOptions>(r);
    QVERIFY(o.clusterKey.isEmpty());
    QCOMPARE(o.warnings.size(), 1);
    QVERIFY2(o.warnings[0].contains(QLatin1String("RAFTWC_CLUSTERKEY")) &&
                 o.warnings[0].contains(QLatin1String("did you mean RAFTWC_CLUSTER_KEY")),
             qPrintable(o.warnings[0]));
}

void tst_NodeOptions::verboseFromEnvironment() {
    QCOMPARE(parseOk({}, {QStringLiteral("RAFTWC_VERBOSE=1")}).verbose, true);
    QCOMPARE(parseOk({}, {QStringLiteral("RAFTWC_VERBOSE=0")}).verbose, false);
    QCOMPARE(parseOk({}, {QStringLiteral("RAFTWC_VERBOSE=")}).verbose, false);
    QCOMPARE(parseOk({QStringLiteral("--verbose")}, {QStringLiteral("RAFTWC_VERBOSE=0")}).verbose, true);
}

void tst_NodeOptions::badValues_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("mentions");  // the error names what is wrong
    auto row = [](const char* name, QStringList args, const char* mentions) {
        QTest::newRow(name) << args << QString::fromLatin1(mentions);
    };
    row("positional", {QStringLiteral("data")}, "unexpected argument 'data'");
    row("single-dash", {QStringLiteral("-v")}, "unexpected argument '-v'");
    row("unknown", {QStringLiteral("--colour=red")}, "unknown option --colour");
    row("missing-value", {QStringLiteral("--ttl")}, "--ttl needs a value");
    row("node-id-zero", {QStringLiteral("--node-id=0")}, "--node-id");
    row("node-id-not-hex", {QStringLiteral("--node-id=xyz")}, "--node-id");
    row("node-id-too-big", {QStringLiteral("--node-id=1ffffffffffffffff")}, "--node-id");
    row("http-port-text", {QStringLiteral("--http=h:abc")}, "--http");
    row("http-port-range", {QStringLiteral("--http=h:70000")}, "--http");
    row("http-port-zero", {QStringLiteral("--http=h:0")}, "--http");
    row("http-empty-host", {QStringLiteral("--http=:80")}, "--http");
    row("rpc-unclosed-v6", {QStringLiteral("--rpc=[::1:80")}, "--rpc");
    row("rpc-v6-junk", {QStringLiteral("--rpc=[::1]x80")}, "--rpc");
    row("advertise-name", {QStringLiteral("--advertise=host.example")}, "--advertise");
    row("group-unicast", {QStringLiteral("--group=10.0.0.1:10000")}, "not a multicast");
    row("group-bad-port", {QStringLiteral("--group=239.0.0.1:x")}, "--group");
    row("ttl-zero", {QStringLiteral("--ttl=0")}, "--ttl");
    row("ttl-256", {QStringLiteral("--ttl=256")}, "--ttl");
    row("ttl-text", {QStringLiteral("--ttl=one")}, "--ttl");
    row("election-single", {QStringLiteral("--election-timeout=500")}, "--election-timeout");
    row("election-reversed", {QStringLiteral("--election-timeout=900-300")}, "--election-timeout");
    row("election-too-small", {QStringLiteral("--election-timeout=19-100")}, "--election-timeout");
    row("election-three", {QStringLiteral("--election-timeout=1-2-3")}, "--election-timeout");
    row("election-text", {QStringLiteral("--election-timeout=a-b")}, "--election-timeout");
    row("election-huge", {QStringLiteral("--election-timeout=1000-600001")}, "--election-timeout");
    row("heartbeat-small", {QStringLiteral("--heartbeat=4")}, "--heartbeat");
    row("heartbeat-text", {QStringLiteral("--heartbeat=fast")}, "--heartbeat");
    row("bootstrap-zero", {QStringLiteral("--bootstrap-expect=0")}, "--bootstrap-expect");
    row("bootstrap-huge", {QStringLiteral("--bootstrap-expect=1001")}, "--bootstrap-expect");
    row("max-upload-zero", {QStringLiteral("--max-upload=0")}, "--max-upload");
    row("max-upload-neg", {QStringLiteral("--max-upload=-5M")}, "--max-upload");
    row("max-upload-unit", {QStringLiteral("--max-upload=2T")}, "--max-upload");
    row("max-upload-text", {QStringLiteral("--max-upload=lots")}, "--max-upload");
    row("max-upload-over-1TiB", {QStringLiteral("--max-upload=1025G")}, "--max-upload");
    row("discovery-neg", {QStringLiteral("--discovery=-1")}, "--discovery");
    row("peers-bad", {QStringLiteral("--peers=a:1,b:x")}, "'b:x'");
    row("peers-bad-port", {QStringLiteral("--peers=a:99999")}, "'a:99999'");
    row("key-file-missing", {QStringLiteral("--cluster-key-file=/nonexistent/raftwc.key")},
        "/nonexistent/raftwc.key");
}

void tst_NodeOptions::badValues() {
    QFETCH(QStringList, args);
    QFETCH(QString, mentions);
    const QString err = parseErr(args);
    QVERIFY2(!err.isEmpty(), "accepted a bad value");
    QVERIFY2(err.contains(mentions), qPrintable(err));
}

void tst_NodeOptions::heartbeatVersusElectionTimeout_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<int>("tickMs");
    QTest::newRow("defaults") << QStringList{} << true << 50;
    QTest::newRow("exactly-half") << QStringList{QStringLiteral("--heartbeat=50"),
                                                 QStringLiteral("--election-timeout=100-200")}
                                  << true << 25;
    QTest::newRow("over-half") << QStringList{QStringLiteral("--heartbeat=51"),
                                              QStringLiteral("--election-timeout=100-200")}
                               << false << 0;
    QTest::newRow("default-heartbeat-short-election")
        << QStringList{QStringLiteral("--election-timeout=150-300")} << false << 0;
    QTest::newRow("long-heartbeat-default-election")
        << QStringList{QStringLiteral("--heartbeat=600")} << false << 0;
    QTest::newRow("tiny") << QStringList{QStringLiteral("--heartbeat=5"),
                                         QStringLiteral("--election-timeout=20-20")}
                          << true << 5;
    QTest::newRow("tick-capped") << QStringList{QStringLiteral("--heartbeat=500"),
                                                QStringLiteral("--election-timeout=5000-9000")}
                                 << true << 50;
    QTest::newRow("tick-half-heartbeat") << QStringList{QStringLiteral("--heartbeat=30")} << true << 15;
}

void tst_NodeOptions::heartbeatVersusElectionTimeout() {
    QFETCH(QStringList, args);
    QFETCH(bool, ok);
    QFETCH(int, tickMs);
    auto r = parseOptions(args, QProcessEnvironment());
    QCOMPARE(std::holds_alternative<NodeOptions>(r), ok);
    if (ok) {
        const NodeOptions& o = std::get<NodeOptions>(r);
        QCOMPARE(o.tickMs, tickMs);
        QVERIFY(o.heartbeatMs * 2 <= o.electionMinMs);
        QVERIFY(o.tickMs <= o.heartbeatMs);
    } else {
        QVERIFY2(std::get<QString>(r).contains(QLatin1String("--heartbeat")),
                 qPrintable(std::get<QString>(r)));
    }
}

void tst_NodeOptions::maxUploadSizes_data() {
    QTest::addColumn<QString>("value");
    QTest::addColumn<qint64>("bytes");
    const qint64 K = 1024, M = K * K, G = M * K;
    QTest::newRow("plain") << "12345" << qint64(12345);
    QTest::newRow("K") << "4K" << 4 * K;
    QTest::newRow("k") << "4k" << 4 * K;
    QTest::newRow("KB") << "4KB" << 4 * K;
    QTest::newRow("KiB") << "4KiB" << 4 * K;
    QTest::newRow("M") << "200M" << 200 * M;
    QTest::newRow("MB") << "200mb" << 200 * M;
    QTest::newRow("MiB") << "200MiB" << 200 * M;
    QTest::newRow("G") << "1G" << G;
    QTest::newRow("GiB") << "3GiB" << 3 * G;
    QTest::newRow("B") << "100B" << qint64(100);
    QTest::newRow("spaces") << " 7M " << 7 * M;
    QTest::newRow("1TiB-limit") << "1024G" << 1024 * G;
}

void tst_NodeOptions::maxUploadSizes() {
    QFETCH(QString, value);
    QFETCH(qint64, bytes);
    for (const QStringList& args : bothForms(QStringLiteral("max-upload"), value))
        QCOMPARE(parseOk(args).maxUpload, bytes);
    QCOMPARE(parseOk({}, {QStringLiteral("RAFTWC_MAX_UPLOAD=") + value}).maxUpload, bytes);
}

void tst_NodeOptions::peersLists_data() {
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("expected");  // fieldOf(..., "peers")
    QTest::newRow("one") << "10.0.0.1:9000"
                         << "10.0.0.1:9000";
    QTest::newRow("three") << "a:1,b:2,c:3"
                           << "a:1,b:2,c:3";
    QTest::newRow("default-port") << "a,b:5"
                                  << "a:10000,b:5";
    QTest::newRow("empty-items") << ",a:1,,b:2,"
                                 << "a:1,b:2";
    QTest::newRow("v6") << "[fd00::1]:7,[fd00::2]"
                        << "fd00::1:7,fd00::2:10000";
    QTest::newRow("spaces") << " a:1 , b:2"
                            << "a:1,b:2";
    QTest::newRow("empty") << ""
                           << "";
}

void tst_NodeOptions::peersLists() {
    QFETCH(QString, value);
    QFETCH(QString, expected);
    for (const QStringList& args : bothForms(QStringLiteral("peers"), value))
        QCOMPARE(fieldOf(parseOk(args), QStringLiteral("peers")), expected);
}

void tst_NodeOptions::peersDefaultPortFollowsGroup() {
    // A peer without a port uses the discovery (group) port, whatever order the options come in.
    const NodeOptions a =
        parseOk({QStringLiteral("--peers=h1,h2:5"), QStringLiteral("--group=239.1.1.1:12000")});
    QCOMPARE(fieldOf(a, QStringLiteral("peers")), QStringLiteral("h1:12000,h2:5"));
    const NodeOptions b =
        parseOk({QStringLiteral("--peers=h1")}, {QStringLiteral("RAFTWC_GROUP=239.1.1.1:12001")});
    QCOMPARE(fieldOf(b, QStringLiteral("peers")), QStringLiteral("h1:12001"));
}

void tst_NodeOptions::clusterKeyFile() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto write = [&](const QString& name, const QByteArray& bytes) {
        QFile f(dir.filePath(name));
        if (!f.open(QIODevice::WriteOnly)) return QString();
        f.write(bytes);
        return f.fileName();
    };
    const QString good = write(QStringLiteral("good"), QByteArrayLiteral("  0123456789abcdef-key\n"));
    const QString exact = write(QStringLiteral("exact"), QByteArrayLiteral("0123456789abcdef\n"));
    const QString shortKey = write(QStringLiteral("short"), QByteArrayLiteral("0123456789abcde\n\n"));
    const QString blank = write(QStringLiteral("blank"), QByteArrayLiteral("   \n"));
    QVERIFY(!good.isEmpty() && !exact.isEmpty() && !shortKey.isEmpty() && !blank.isEmpty());

    for (const QStringList& args : bothForms(QStringLiteral("cluster-key-file"), good)) {
        const NodeOptions o = parseOk(args);
        QCOMPARE(o.clusterKey, QByteArrayLiteral("0123456789abcdef-key"));  // trimmed
        QCOMPARE(o.clusterKeyFile, good);
    }
    QCOMPARE(parseOk({QStringLiteral("--cluster-key-file=") + exact}).clusterKey,
             QByteArrayLiteral("0123456789abcdef"));
    for (const QString& bad : {shortKey, blank}) {
        const QString err = parseErr({QStringLiteral("--cluster-key-file=") + bad});
        QVERIFY2(err.contains(QLatin1String("shorter than 16")) && err.contains(bad), qPrintable(err));
    }
    // From the environment.
    QCOMPARE(parseOk({}, {QStringLiteral("RAFTWC_CLUSTER_KEY_FILE=") + good}).clusterKey,
             QByteArrayLiteral("0123456789abcdef-key"));
    QVERIFY(!parseErr({}, {QStringLiteral("RAFTWC_CLUSTER_KEY_FILE=") + shortKey}).isEmpty());
    // A directory is not a key file.
    QVERIFY(!parseErr({QStringLiteral("--cluster-key-file=") + dir.path()}).isEmpty());
}

void tst_NodeOptions::clusterKeyFromEnvironment() {
    QCOMPARE(parseOk({}, {QStringLiteral("RAFTWC_CLUSTER_KEY= a-long-enough-secret \n")}).clusterKey,
             QByteArrayLiteral("a-long-enough-secret"));
    const QString err = parseErr({}, {QStringLiteral("RAFTWC_CLUSTER_KEY=short")});
    QVERIFY2(err.contains(QLatin1String("RAFTWC_CLUSTER_KEY")), qPrintable(err));
    // The key file wins over the key variable.
    QTemporaryDir dir;
    QFile f(dir.filePath(QStringLiteral("k")));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("from-the-key-file-0123");
    f.close();
    const NodeOptions o = parseOk({QStringLiteral("--cluster-key-file"), f.fileName()},
                                  {QStringLiteral("RAFTWC_CLUSTER_KEY=from-the-environment-0123")});
    QCOMPARE(o.clusterKey, QByteArrayLiteral("from-the-key-file-0123"));
}

void tst_NodeOptions::parseHostPort_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("defaultPort");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::newRow("v4") << "1.2.3.4:80" << 0 << true << "1.2.3.4" << 80;
    QTest::newRow("name") << "node-a:7000" << 0 << true << "node-a" << 7000;
    QTest::newRow("default") << "node-a" << 99 << true << "node-a" << 99;
    QTest::newRow("no-default") << "node-a" << 0 << true << "node-a" << 0;
    QTest::newRow("v6") << "[::1]:5" << 0 << true << "::1" << 5;
    QTest::newRow("v6-default") << "[fe80::1]" << 6 << true << "fe80::1" << 6;
    QTest::newRow("trim") << "  h:1  " << 0 << true << "h" << 1;
    QTest::newRow("max-port") << "h:65535" << 0 << true << "h" << 65535;
    QTest::newRow("port-too-big") << "h:65536" << 0 << false << "" << 0;
    QTest::newRow("port-neg") << "h:-1" << 0 << false << "" << 0;
    QTest::newRow("port-zero-with-default") << "h:0" << 5 << false << "" << 0;
    QTest::newRow("empty") << "" << 5 << false << "" << 0;
    QTest::newRow("empty-host") << ":80" << 0 << false << "" << 0;
    QTest::newRow("v6-unclosed") << "[::1:80" << 0 << false << "" << 0;
    QTest::newRow("v6-garbage") << "[::1]80" << 0 << false << "" << 0;
    QTest::newRow("v6-empty") << "[]:80" << 0 << false << "" << 0;
    QTest::newRow("port-text") << "h:http" << 0 << false << "" << 0;
}

void tst_NodeOptions::parseHostPort() {
    QFETCH(QString, text);
    QFETCH(int, defaultPort);
    QFETCH(bool, ok);
    QFETCH(QString, host);
    QFETCH(int, port);
    const auto hp = raftwc::node::parseHostPort(text, quint16(defaultPort));
    QCOMPARE(hp.has_value(), ok);
    if (ok) {
        QCOMPARE(hp->host, host);
        QCOMPARE(int(hp->port), port);
    }
}

void tst_NodeOptions::lastOccurrenceWins() {
    const NodeOptions o = parseOk({QStringLiteral("--ttl=3"), QStringLiteral("--ttl"), QStringLiteral("7")});
    QCOMPARE(o.ttl, 7);
    // An option value may start with dashes in the two-argument form.
    QCOMPARE(parseOk({QStringLiteral("--data-dir"), QStringLiteral("--odd-dir")}).dataDir,
             QStringLiteral("--odd-dir"));
    // '=' inside the value is kept.
    QCOMPARE(parseOk({QStringLiteral("--data-dir=/a=b")}).dataDir, QStringLiteral("/a=b"));
}

void tst_NodeOptions::singleMeansBootstrapAlone() {
    QCOMPARE(parseOk({QStringLiteral("--single")}).bootstrapExpect, 1);
    QCOMPARE(parseOk({}, {QStringLiteral("RAFTWC_SINGLE=1")}).bootstrapExpect, 1);
    QCOMPARE(parseOk({QStringLiteral("--bootstrap-expect"), QStringLiteral("3")}).bootstrapExpect, 3);
}

void tst_NodeOptions::helpMentionsEveryOption() {
    const QString help = helpText();
    for (const char* name : {"data-dir", "node-id", "http", "rpc", "advertise", "group", "interface", "ttl",
                             "election-timeout", "heartbeat", "cluster-key-file", "peers", "bootstrap-expect",
                             "max-upload", "discovery", "verbose", "single"}) {
        const QString opt = QStringLiteral("--") + QLatin1String(name);
        QVERIFY2(help.contains(opt), name);
        // And every option in the help is accepted by the parser (with some value).
        const bool flag = opt == QLatin1String("--verbose");
        auto r = parseOptions(flag ? QStringList{opt} : QStringList{opt, QStringLiteral("?")},
                              QProcessEnvironment());
        if (auto* e = std::get_if<QString>(&r))
            QVERIFY2(!e->startsWith(QLatin1String("unknown option")), name);
    }
    QVERIFY(help.contains(QLatin1String("RAFTWC_")));
}

void tst_NodeOptions::logOptions() {
    const QProcessEnvironment none;
    auto parsed = parseOptions({QStringLiteral("--log-level"), QStringLiteral("warning"),
                                QStringLiteral("--log-format"), QStringLiteral("json")},
                               none);
    QVERIFY(std::holds_alternative<NodeOptions>(parsed));
    QCOMPARE(std::get<NodeOptions>(parsed).logLevel, QStringLiteral("warning"));
    QCOMPARE(std::get<NodeOptions>(parsed).logFormat, QStringLiteral("json"));
    QCOMPARE(std::get<NodeOptions>(parseOptions({QStringLiteral("--verbose")}, none)).logLevel,
             QStringLiteral("debug"));
    QProcessEnvironment env;
    env.insert(QStringLiteral("RAFTWC_LOG_FORMAT"), QStringLiteral("yaml"));
    auto bad = parseOptions({}, env);
    QVERIFY(std::holds_alternative<QString>(bad));
    QVERIFY2(std::get<QString>(bad).contains(QStringLiteral("RAFTWC_LOG_FORMAT")),
             qPrintable(std::get<QString>(bad)));
    QVERIFY(std::holds_alternative<QString>(parseOptions({QStringLiteral("--log-level=loud")}, none)));
    QtMsgType t = QtDebugMsg;
    QVERIFY(parseLogLevel(QStringLiteral("ERROR"), &t));
    QCOMPARE(t, QtCriticalMsg);
    QVERIFY(logLevelPasses(QtCriticalMsg, QtWarningMsg));
    QVERIFY(logLevelPasses(QtWarningMsg, QtWarningMsg));
    QVERIFY(!logLevelPasses(QtInfoMsg, QtWarningMsg));
    QVERIFY(!logLevelPasses(QtDebugMsg, QtInfoMsg));  // Qt's enum order is not severity order
    QVERIFY(logLevelPasses(QtInfoMsg, QtDebugMsg));
}

void tst_NodeOptions::logLinesCarryDateZoneNodeAndLevel() {
    const QDateTime t(QDate(2026, 12, 3), QTime(18, 20, 1, 234), QTimeZone(3600));
    LogLine line{t, QtWarningMsg, QStringLiteral("a1f3c9e2b4d60718"), QStringLiteral("raftwc.net"),
                 QStringLiteral("two\nlines")};
    QCOMPARE(formatLogLine(line, {}),
             QByteArray("2026-12-03T18:20:01.234+01:00 a1f3c9e2b4d60718 WARN  raftwc.net: two\\nlines\n"));
    LogSettings journal;
    journal.journald = true;
    line.category.clear();
    line.nodeId.clear();
    line.type = QtCriticalMsg;
    QCOMPARE(formatLogLine(line, journal),
             QByteArray("<3>2026-12-03T18:20:01.234+01:00 - ERROR two\\nlines\n"));
    LogSettings json;
    json.format = LogFormat::Json;
    line.nodeId = QStringLiteral("a1f3c9e2b4d60718");
    const QByteArray j = formatLogLine(line, json);
    QVERIFY(j.endsWith("}\n"));
    QCOMPARE(j.count('\n'), 1);
    const QJsonObject o = QJsonDocument::fromJson(j).object();
    QCOMPARE(o.value(QStringLiteral("level")).toString(), QStringLiteral("error"));
    QCOMPARE(o.value(QStringLiteral("node")).toString(), QStringLiteral("a1f3c9e2b4d60718"));
    QCOMPARE(o.value(QStringLiteral("msg")).toString(), QStringLiteral("two\nlines"));
    QCOMPARE(o.value(QStringLiteral("time")).toString(), QStringLiteral("2026-12-03T18:20:01.234+01:00"));
}

QTEST_GUILESS_MAIN(tst_NodeOptions)
#include "tst_node_options.moc"
