#include "node/options.h"

#include <QCommandLineParser>

#include "node/logging.h"

#include <QFile>
#include <QProcessEnvironment>
#include <functional>
#include <map>

namespace raftwc::node {

std::optional<HostPort> parseHostPort(const QString& s, quint16 defaultPort) {
    QString host = s.trimmed();
    QString portText;
    if (host.startsWith(QLatin1Char('['))) {  // [v6]:port
        const qsizetype close = host.indexOf(QLatin1Char(']'));
        if (close < 0) return std::nullopt;
        portText = host.mid(close + 1);
        host = host.mid(1, close - 1);
        if (!portText.isEmpty()) {
            if (!portText.startsWith(QLatin1Char(':'))) return std::nullopt;
            portText = portText.mid(1);
        }
    } else if (host.count(QLatin1Char(':')) == 1) {
        portText = host.section(QLatin1Char(':'), 1);
        host = host.section(QLatin1Char(':'), 0, 0);
    }
    if (host.isEmpty()) return std::nullopt;
    HostPort hp{host, defaultPort};
    if (!portText.isEmpty()) {
        bool ok = false;
        const uint p = portText.toUInt(&ok);
        if (!ok || p > 65535) return std::nullopt;
        hp.port = quint16(p);
    }
    if (hp.port == 0 && defaultPort != 0) return std::nullopt;
    return hp;
}

namespace {

struct Spec {
    const char* name;
    bool takesValue;
    const char* help;
    std::function<QString(NodeOptions&, const QString&)> set;  // returns error or empty
};

QString setInt(int& out, const QString& v, int lo, int hi, const char* what) {
    bool ok = false;
    const int x = v.toInt(&ok);
    if (!ok || x < lo || x > hi)
        return QStringLiteral("%1 must be an integer in [%2, %3], got '%4'")
            .arg(QLatin1String(what))
            .arg(lo)
            .arg(hi)
            .arg(v);
    out = x;
    return {};
}

QString setHostPort(HostPort& out, const QString& v, const char* what) {
    auto hp = parseHostPort(v, out.port);
    if (!hp) return QStringLiteral("%1 must be ADDR:PORT, got '%2'").arg(QLatin1String(what), v);
    out = *hp;
    return {};
}

qint64 parseSize(const QString& v, bool* ok) {
    QString s = v.trimmed().toUpper();
    qint64 mul = 1;
    if (s.endsWith(QLatin1String("IB"))) s.chop(2);
    if (s.endsWith(QLatin1Char('B'))) s.chop(1);
    if (s.endsWith(QLatin1Char('K')))
        mul = qint64(1) << 10, s.chop(1);
    else if (s.endsWith(QLatin1Char('M')))
        mul = qint64(1) << 20, s.chop(1);
    else if (s.endsWith(QLatin1Char('G')))
        mul = qint64(1) << 30, s.chop(1);
    const qint64 n = s.toLongLong(ok);
    return *ok && n >= 0 && n <= (qint64(1) << 40) / mul ? n * mul : (*ok = false, 0);
}

/// A size like 10G or 500M, or "0" (off); `example` shows the flag's usual form in the error.
QString setSizeOrOff(qint64& out, const QString& v, const char* what, const char* example) {
    bool ok = false;
    const qint64 n = v == QLatin1String("0") ? 0 : parseSize(v, &ok);
    if (v != QLatin1String("0") && (!ok || n <= 0))
        return QStringLiteral("%1 must be a size like %2, or 0, got '%3'")
            .arg(QLatin1String(what), QLatin1String(example), v);
    out = n;
    return QString();
}

/// "90s", "15m", "12h", "7d", a plain number of seconds, or "0"; milliseconds, or -1 if malformed.
qint64 parseDuration(const QString& v) {
    QString s = v.trimmed().toLower();
    qint64 mul = 1000;
    if (s.endsWith(QLatin1Char('s')))
        s.chop(1);
    else if (s.endsWith(QLatin1Char('m')))
        mul = 60 * 1000, s.chop(1);
    else if (s.endsWith(QLatin1Char('h')))
        mul = 3600 * 1000, s.chop(1);
    else if (s.endsWith(QLatin1Char('d')))
        mul = 24 * 3600 * 1000, s.chop(1);
    bool ok = false;
    const qint64 n = s.toLongLong(&ok);
    return ok && n >= 0 && n <= (qint64(1) << 40) / mul ? n * mul : -1;
}

const std::vector<Spec>& specs() {
    static const std::vector<Spec> table = {
        {"data-dir", true, "Directory of the log and hard state (default ./raftwc-data)",
         [](NodeOptions& o, const QString& v) {
             o.dataDir = v;
             return QString();
         }},
        {"node-id", true, "Node id, hex (default: generated once and kept in the data dir)",
         [](NodeOptions& o, const QString& v) {
             bool ok = false;
             o.nodeId = v.toULongLong(&ok, 16);
             return ok && o.nodeId != 0 ? QString()
                                        : QStringLiteral("--node-id must be non-zero hex, got '%1'").arg(v);
         }},
        {"http", true, "HTTP listen address (default 0.0.0.0:3000)",
         [](NodeOptions& o, const QString& v) { return setHostPort(o.http, v, "--http"); }},
        {"rpc", true, "Node-to-node TCP listen address (default 0.0.0.0:7000)",
         [](NodeOptions& o, const QString& v) { return setHostPort(o.rpc, v, "--rpc"); }},
        {"advertise", true, "Address other nodes use to reach this one (default: the interface's IPv4)",
         [](NodeOptions& o, const QString& v) {
             if (QHostAddress(v).isNull())
                 return QStringLiteral("--advertise must be an IP address, got '%1'").arg(v);
             o.advertise = v;
             return QString();
         }},
        {"group", true, "Multicast group ADDR:PORT (default 239.0.0.1:10000)",
         [](NodeOptions& o, const QString& v) {
             QString err = setHostPort(o.group, v, "--group");
             if (err.isEmpty() && !QHostAddress(o.group.host).isMulticast())
                 err = QStringLiteral("--group address %1 is not a multicast address").arg(o.group.host);
             return err;
         }},
        {"interface", true, "Network interface for multicast (default: that of the default route)",
         [](NodeOptions& o, const QString& v) {
             o.interfaceName = v;
             return QString();
         }},
        {"ttl", true, "Multicast TTL (default 1: never routed off the local network)",
         [](NodeOptions& o, const QString& v) { return setInt(o.ttl, v, 1, 255, "--ttl"); }},
        {"election-timeout", true, "Election timeout range MIN-MAX in ms (default 1000-2000)",
         [](NodeOptions& o, const QString& v) {
             const QStringList parts = v.split(QLatin1Char('-'));
             bool a = false, b = false;
             const int lo = parts.value(0).toInt(&a), hi = parts.value(1).toInt(&b);
             if (parts.size() != 2 || !a || !b || lo < 20 || hi < lo || hi > 600000)
                 return QStringLiteral(
                            "--election-timeout must be MIN-MAX ms with 20 <= MIN <= MAX, got '%1'")
                     .arg(v);
             o.electionMinMs = lo;
             o.electionMaxMs = hi;
             return QString();
         }},
        {"heartbeat", true, "Leader heartbeat interval in ms (default 100)",
         [](NodeOptions& o, const QString& v) { return setInt(o.heartbeatMs, v, 5, 60000, "--heartbeat"); }},
        {"cluster-key-file", true, "File holding the shared cluster key (or env RAFTWC_CLUSTER_KEY)",
         [](NodeOptions& o, const QString& v) {
             QFile f(v);
             if (!f.open(QIODevice::ReadOnly))
                 return QStringLiteral("cannot read cluster key file %1: %2").arg(v, f.errorString());
             o.clusterKeyFile = v;
             o.clusterKey = f.readAll().trimmed();
             if (o.clusterKey.size() < 16)
                 return QStringLiteral("cluster key in %1 is shorter than 16 bytes").arg(v);
             return QString();
         }},
        {"admin-token-file", true,
         "File holding the token (>= 16 bytes, not the cluster key) that the administration routes require "
         "as 'Authorization: Bearer <token>' (or env RAFTWC_ADMIN_TOKEN); without it, a node with a cluster "
         "key refuses them",
         [](NodeOptions& o, const QString& v) {
             QFile f(v);
             if (!f.open(QIODevice::ReadOnly))
                 return QStringLiteral("cannot read admin token file %1: %2").arg(v, f.errorString());
             o.adminToken = f.readAll().trimmed();
             if (o.adminToken.size() < 16)
                 return QStringLiteral("admin token in %1 is shorter than 16 bytes").arg(v);
             return QString();
         }},
        {"peers", true, "Static peers HOST:PORT,... (UDP port of each peer): replaces multicast",
         [](NodeOptions& o, const QString& v) {
             o.peers.clear();
             for (const QString& p : v.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
                 auto hp = parseHostPort(p, o.group.port);
                 if (!hp) return QStringLiteral("--peers entry '%1' is not HOST:PORT").arg(p);
                 o.peers.push_back(*hp);
             }
             return QString();
         }},
        {"bootstrap-expect", true,
         "Fresh nodes (this one included) that must hear each other before the lowest id bootstraps a new "
         "cluster; use the cluster's full size. Default: none - a node only joins a cluster it hears, and "
         "never forms one unless told (this option or --single)",
         [](NodeOptions& o, const QString& v) {
             return setInt(o.bootstrapExpect, v, 1, 1000, "--bootstrap-expect");
         }},
        {"single", false,
         "Bootstrap a one-node cluster if no cluster is heard (same as --bootstrap-expect 1)",
         [](NodeOptions& o, const QString&) {
             o.bootstrapExpect = 1;
             return QString();
         }},
        {"max-upload", true, "Largest accepted upload, e.g. 1G, 200M (default 1G)",
         [](NodeOptions& o, const QString& v) {
             bool ok = false;
             const qint64 n = parseSize(v, &ok);
             if (!ok || n <= 0)
                 return QStringLiteral("--max-upload must be a size like 1G or 500M, got '%1'").arg(v);
             o.maxUpload = n;
             return QString();
         }},
        {"max-connections", true, "Open HTTP connections at most; more are answered 503 (default 1024)",
         [](NodeOptions& o, const QString& v) {
             return setInt(o.maxConnections, v, 1, 1000000, "--max-connections");
         }},
        {"max-uploads", true,
         "Uploads received or counted at once at most; more are answered 503 + Retry-After (default 16)",
         [](NodeOptions& o, const QString& v) {
             return setInt(o.maxConcurrentUploads, v, 1, 100000, "--max-uploads");
         }},
        {"max-upload-inflight", true,
         "Bytes of the uploads in flight at most, e.g. 2G; more are answered 503 + Retry-After (default 2G)",
         [](NodeOptions& o, const QString& v) {
             bool ok = false;
             const qint64 n = parseSize(v, &ok);
             if (!ok || n <= 0)
                 return QStringLiteral("--max-upload-inflight must be a size like 2G or 512M, got '%1'")
                     .arg(v);
             o.maxUploadInflight = n;
             return QString();
         }},
        {"min-upload-rate", true,
         "Bytes/s a request body must average over each 10 s, e.g. 1K; slower clients get 408; 0 turns it "
         "off (default 1K)",
         [](NodeOptions& o, const QString& v) {
             return setSizeOrOff(o.minUploadRate, v, "--min-upload-rate", "1K");
         }},
        {"retain-files", true,
         "Finished jobs (each with its file) kept at most; the oldest beyond are deleted on every node "
         "through the log; 0: no limit (default 1000)",
         [](NodeOptions& o, const QString& v) {
             return setInt(o.retainFiles, v, 0, 100000000, "--retain-files");
         }},
        {"retain-bytes", true,
         "Bytes of stored files kept at most, e.g. 10G; the oldest jobs' files beyond are deleted; 0: no "
         "limit "
         "(default 10G)",
         [](NodeOptions& o, const QString& v) {
             return setSizeOrOff(o.retainBytes, v, "--retain-bytes", "10G or 500M");
         }},
        {"retain-age", true,
         "Finished jobs (and their files) older than this are deleted, e.g. 7d, 12h, 30m; 0: no limit "
         "(default 7d)",
         [](NodeOptions& o, const QString& v) {
             const qint64 ms = parseDuration(v);
             if (ms < 0)
                 return QStringLiteral("--retain-age must be a duration like 7d, 12h or 30m, or 0, got '%1'")
                     .arg(v);
             o.retainAgeMs = ms;
             return QString();
         }},
        {"snapshot-bytes", true,
         "Take a snapshot and compact the log once this many bytes of entries were applied since the last "
         "one, e.g. 64M; 0: only on demand (POST /api/admin/compact) (default 64M)",
         [](NodeOptions& o, const QString& v) {
             return setSizeOrOff(o.snapshotBytes, v, "--snapshot-bytes", "64M");
         }},
        {"segment-bytes", true, "Size of one log segment file, e.g. 64M (at least 1M; default 64M)",
         [](NodeOptions& o, const QString& v) {
             bool ok = false;
             const qint64 n = parseSize(v, &ok);
             if (!ok || n < (qint64(1) << 20) || n > (qint64(1) << 32))
                 return QStringLiteral("--segment-bytes must be a size from 1M to 4G, got '%1'").arg(v);
             o.segmentBytes = n;
             return QString();
         }},
        {"head-timeout", true, "Milliseconds a request head may take to arrive; then 408 (default 30000)",
         [](NodeOptions& o, const QString& v) {
             return setInt(o.headTimeoutMs, v, 100, 3600000, "--head-timeout");
         }},
        {"discovery", true, "Discovery window in ms before a fresh node bootstraps (default 3000)",
         [](NodeOptions& o, const QString& v) { return setInt(o.discoveryMs, v, 0, 600000, "--discovery"); }},
        {"log-level", true, "Least severe lines logged: debug, info, warning or error (default info)",
         [](NodeOptions& o, const QString& v) {
             QtMsgType t;
             if (!parseLogLevel(v, &t))
                 return QStringLiteral("--log-level must be debug, info, warning or error, got '%1'").arg(v);
             o.logLevel = v.trimmed().toLower();
             return QString();
         }},
        {"log-format", true,
         "text (date, time and zone, node id, level, message) or json (one object per line) (default text)",
         [](NodeOptions& o, const QString& v) {
             if (v != QLatin1String("text") && v != QLatin1String("json"))
                 return QStringLiteral("--log-format must be text or json, got '%1'").arg(v);
             o.logFormat = v;
             return QString();
         }},
        {"verbose", false, "Log debug lines (same as --log-level debug)",
         [](NodeOptions& o, const QString&) {
             o.verbose = true;
             o.logLevel = QStringLiteral("debug");
             return QString();
         }},
    };
    return table;
}

QString envName(const char* name) {
    return QStringLiteral("RAFTWC_") +
           QString::fromLatin1(name).toUpper().replace(QLatin1Char('-'), QLatin1Char('_'));
}

}  // namespace

QString helpText() {
    static const std::map<QString, QString> valueNames{
        {QStringLiteral("data-dir"), QStringLiteral("DIR")},
        {QStringLiteral("node-id"), QStringLiteral("HEX")},
        {QStringLiteral("http"), QStringLiteral("HOST:PORT")},
        {QStringLiteral("rpc"), QStringLiteral("HOST:PORT")},
        {QStringLiteral("advertise"), QStringLiteral("HOST")},
        {QStringLiteral("group"), QStringLiteral("ADDR:PORT")},
        {QStringLiteral("interface"), QStringLiteral("NAME")},
        {QStringLiteral("ttl"), QStringLiteral("N")},
        {QStringLiteral("election-timeout"), QStringLiteral("MIN-MAX")},
        {QStringLiteral("heartbeat"), QStringLiteral("MS")},
        {QStringLiteral("cluster-key-file"), QStringLiteral("FILE")},
        {QStringLiteral("admin-token-file"), QStringLiteral("FILE")},
        {QStringLiteral("peers"), QStringLiteral("HOST:PORT,...")},
        {QStringLiteral("bootstrap-expect"), QStringLiteral("N")},
        {QStringLiteral("max-upload"), QStringLiteral("SIZE")},
        {QStringLiteral("max-connections"), QStringLiteral("N")},
        {QStringLiteral("max-uploads"), QStringLiteral("N")},
        {QStringLiteral("max-upload-inflight"), QStringLiteral("SIZE")},
        {QStringLiteral("min-upload-rate"), QStringLiteral("SIZE")},
        {QStringLiteral("head-timeout"), QStringLiteral("MS")},
        {QStringLiteral("retain-files"), QStringLiteral("N")},
        {QStringLiteral("retain-bytes"), QStringLiteral("SIZE")},
        {QStringLiteral("retain-age"), QStringLiteral("DURATION")},
        {QStringLiteral("snapshot-bytes"), QStringLiteral("SIZE")},
        {QStringLiteral("segment-bytes"), QStringLiteral("SIZE")},
        {QStringLiteral("discovery"), QStringLiteral("MS")},
        {QStringLiteral("log-level"), QStringLiteral("LEVEL")},
        {QStringLiteral("log-format"), QStringLiteral("FORMAT")},
    };
    QString out = QStringLiteral(
        "Usage: raftwc [options]\n"
        "       raftwc ctl COMMAND   the operator's client: status, members, count, jobs, transfer, remove\n"
        "                            (raftwc ctl --help)\n"
        "       raftwc recover --data-dir DIR [--yes]   offline recovery of a stopped survivor after a\n"
        "                            permanent loss of quorum (raftwc recover --help)\n"
        "A high-availability word-counting cluster node. Every option is also an environment variable\n"
        "RAFTWC_<NAME> (e.g. --data-dir DIR -> RAFTWC_DATA_DIR=DIR; a flag: RAFTWC_SINGLE=1); the command\n"
        "line wins. Unknown RAFTWC_* variables are reported at start.\n\n");
    for (const Spec& s : specs()) {
        const QString name = QString::fromLatin1(s.name);
        const auto vn = valueNames.find(name);
        const QString value = !s.takesValue            ? QString()
                              : vn != valueNames.end() ? QLatin1Char(' ') + vn->second
                                                       : QStringLiteral(" VALUE");
        out += QStringLiteral("  --%1%2   [%3]\n      %4\n")
                   .arg(name, value, envName(s.name), QLatin1String(s.help));
    }
    out += QStringLiteral(
        "  --help, --version\n\n"
        "Exit status: 0 stopped on request (SIGTERM/SIGINT, leadership handed over first); 1 could not "
        "start\n"
        "(data directory locked or refused, port in use: the message says which); 2 bad options or\n"
        "environment; 3 stopped after an unrecoverable storage error (disk full or I/O error while\n"
        "persisting: fix the disk, then start it again). SIGHUP is logged and ignored.\n");
    return out;
}

std::variant<NodeOptions, QString> parseOptions(const QStringList& args, const QProcessEnvironment& env) {
    NodeOptions o;
    std::map<QString, QString> given;    // name → value, command line over environment
    std::map<QString, QString> fromEnv;  // name → the variable it came from (if not overridden)
    QStringList known{QStringLiteral("RAFTWC_CLUSTER_KEY"), QStringLiteral("RAFTWC_ADMIN_TOKEN")};
    for (const Spec& s : specs()) {
        const QString e = envName(s.name);
        known << e;
        if (env.contains(e)) {
            given[QString::fromLatin1(s.name)] = env.value(e);
            fromEnv[QString::fromLatin1(s.name)] = e;
        }
    }
    // A misspelt variable (RAFTWC_CLUSTERKEY) must not go unnoticed: the node would run without it.
    for (const QString& k : env.keys()) {
        if (!k.startsWith(QLatin1String("RAFTWC_")) || known.contains(k)) continue;
        QString hint;
        const QString squashed = QString(k).remove(QLatin1Char('_'));
        for (const QString& name : known)
            if (QString(name).remove(QLatin1Char('_')) == squashed)
                hint = QStringLiteral(" (did you mean %1?)").arg(name);
        o.warnings << QStringLiteral("unknown environment variable %1 ignored%2").arg(k, hint);
    }
    // The command line, through QCommandLineParser (--name value and --name=value; long options only). Its
    // English error texts are replaced by ones that name the option as the user wrote it.
    QCommandLineParser parser;
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    parser.setOptionsAfterPositionalArgumentsMode(QCommandLineParser::ParseAsOptions);
    for (const Spec& s : specs()) {
        QCommandLineOption opt(QString::fromLatin1(s.name), QLatin1String(s.help));
        if (s.takesValue) opt.setValueName(QStringLiteral("VALUE"));
        parser.addOption(opt);
    }
    if (!parser.parse(QStringList{QStringLiteral("raftwc")} + args)) {
        if (!parser.unknownOptionNames().isEmpty()) {
            const QString name = parser.unknownOptionNames().first();
            for (const QString& arg : args)  // one dash (-v) is not an option here
                if (arg == QLatin1Char('-') + name ||
                    arg.startsWith(QLatin1Char('-') + name + QLatin1Char('=')))
                    return QStringLiteral("unexpected argument '%1' (see --help)").arg(arg);
            return QStringLiteral("unknown option --%1 (see --help)").arg(name);
        }
        // Qt says "Missing value after '--ttl'." or "Unexpected value after '--single'.".
        for (const Spec& s : specs())
            if (parser.errorText().contains(QStringLiteral("'--%1'").arg(QLatin1String(s.name))))
                return s.takesValue ? QStringLiteral("option --%1 needs a value").arg(QLatin1String(s.name))
                                    : QStringLiteral("option --%1 takes no value").arg(QLatin1String(s.name));
        return QStringLiteral("bad command line: %1").arg(parser.errorText());
    }
    if (!parser.positionalArguments().isEmpty())
        return QStringLiteral("unexpected argument '%1' (see --help)")
            .arg(parser.positionalArguments().first());
    for (const Spec& s : specs()) {
        const QString name = QString::fromLatin1(s.name);
        if (!parser.isSet(name)) continue;
        given[name] = s.takesValue ? parser.values(name).last() : QStringLiteral("1");  // the last one wins
        fromEnv.erase(name);
    }
    for (const Spec& s : specs()) {
        auto it = given.find(QString::fromLatin1(s.name));
        if (it == given.end()) continue;
        if (!s.takesValue) {  // a flag from the environment: RAFTWC_VERBOSE=1|true|yes; 0|false|no|empty: off
            const QString v = it->second.toLower();
            if (v == QLatin1String("0") || v == QLatin1String("false") || v == QLatin1String("no") ||
                v.isEmpty())
                continue;
        }
        if (QString err = s.set(o, it->second); !err.isEmpty()) {
            auto var = fromEnv.find(it->first);
            return var == fromEnv.end()
                       ? err
                       : QStringLiteral("%1 (from the environment variable %2)").arg(err, var->second);
        }
    }
    if (o.clusterKey.isEmpty() && env.contains(QStringLiteral("RAFTWC_CLUSTER_KEY"))) {
        o.clusterKey = env.value(QStringLiteral("RAFTWC_CLUSTER_KEY")).toUtf8().trimmed();
        if (o.clusterKey.size() < 16) return QStringLiteral("RAFTWC_CLUSTER_KEY is shorter than 16 bytes");
    }
    if (o.adminToken.isEmpty() && env.contains(QStringLiteral("RAFTWC_ADMIN_TOKEN"))) {
        o.adminToken = env.value(QStringLiteral("RAFTWC_ADMIN_TOKEN")).toUtf8().trimmed();
        if (o.adminToken.size() < 16) return QStringLiteral("RAFTWC_ADMIN_TOKEN is shorter than 16 bytes");
    }
    if (!o.adminToken.isEmpty() && o.adminToken == o.clusterKey)
        return QStringLiteral(
            "the admin token must not be the cluster key (the key authenticates all cluster "
            "traffic and must never be sent over HTTP)");
    if (o.heartbeatMs * 2 > o.electionMinMs)
        return QStringLiteral("--heartbeat (%1 ms) must be at most half the minimum election timeout (%2 ms)")
            .arg(o.heartbeatMs)
            .arg(o.electionMinMs);
    o.tickMs = std::max(5, std::min(50, o.heartbeatMs / 2));
    return o;
}

raft::Config NodeOptions::raftConfig(raft::NodeId id, std::uint64_t seed) const {
    raft::Config rc;
    rc.id = id;
    rc.electionTicksMin = std::max(2, electionMinMs / tickMs);
    rc.electionTicksMax = std::max(rc.electionTicksMin, electionMaxMs / tickMs);
    rc.heartbeatTicks = std::max(1, heartbeatMs / tickMs);
    rc.seed = seed;
    return rc;
}

}  // namespace raftwc::node
