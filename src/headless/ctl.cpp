// raftwc ctl — the operator's client: status, members, count, jobs, transfer, remove, over any node's HTTP
// API, with human or --json output (as etcdctl / consul members do).
#include "ctl.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QProcessEnvironment>
#include <QTextStream>
#include <QTimer>
#include <QUrl>

namespace raftwc::ctl {

namespace {

constexpr int kUsage = 2, kFailed = 1, kUnreachable = 3;

const char* const kHelp =
    "Usage: raftwc ctl [--node HOST:PORT] [--json] [--admin-token-file FILE] COMMAND [ARGS]\n"
    "Talks to a node's HTTP API (default 127.0.0.1:3000, or RAFTWC_NODE).\n\n"
    "Commands:\n"
    "  status                 this node's view: role, term, leader, indexes, members\n"
    "  members                the members: id, address, role, voter, alive, last contact, match index\n"
    "  count FILE [--raw]     count a file's words through the cluster (like wc: lines, words, chars, "
    "bytes)\n"
    "  jobs                   finished jobs, newest first\n"
    "  transfer [ID]          hand leadership to ID (default: the most up-to-date voter)\n"
    "  remove ID              remove a member from the configuration (e.g. a dead one)\n"
    "  compact                snapshot this node's state and delete the log it covers\n\n"
    "transfer, remove and compact need the admin token (--admin-token-file, or RAFTWC_ADMIN_TOKEN).\n"
    "Exit status: 0 done; 1 the node refused (its message is printed); 2 bad usage; 3 node unreachable.\n";

struct Answer {
    int status = 0;  ///< 0: no HTTP answer (unreachable)
    QJsonObject body;
    QString error;
};

class Client {
  public:
    Client(QString node, QByteArray token) : node_(std::move(node)), token_(std::move(token)) {
        net_.setProxy(QNetworkProxy::NoProxy);
    }
    Answer request(const QByteArray& verb, const QString& path, QIODevice* body = nullptr,
                   const QList<QPair<QByteArray, QByteArray>>& headers = {}, int timeoutMs = 30000) {
        QNetworkRequest req(QUrl(QStringLiteral("http://%1%2").arg(node_, path)));
        req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
        if (!token_.isEmpty()) req.setRawHeader("Authorization", "Bearer " + token_);
        for (const auto& [k, v] : headers)
            req.setRawHeader(k, v);
        QNetworkReply* reply = net_.sendCustomRequest(req, verb, body);
        QEventLoop loop;
        QTimer timer;
        timer.setSingleShot(true);
        QObject::connect(&timer, &QTimer::timeout, reply, &QNetworkReply::abort);
        QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
        timer.start(timeoutMs);
        loop.exec();
        Answer a;
        a.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        a.body = QJsonDocument::fromJson(reply->readAll()).object();
        a.error = a.status ? a.body.value(QStringLiteral("message")).toString() : reply->errorString();
        reply->deleteLater();
        return a;
    }

  private:
    QString node_;
    QByteArray token_;
    QNetworkAccessManager net_;
};

QString pad(const QString& s, int w) {
    return s.leftJustified(w, QLatin1Char(' '));
}

void printMembers(QTextStream& out, const QJsonObject& cluster) {
    out << pad(QStringLiteral("ID"), 18) << pad(QStringLiteral("HTTP"), 22) << pad(QStringLiteral("ROLE"), 10)
        << pad(QStringLiteral("VOTER"), 7) << pad(QStringLiteral("ALIVE"), 7)
        << pad(QStringLiteral("LAST CONTACT"), 14) << "MATCH\n";
    // Only a leader tracks its peers' match index; a follower's answer has 0 there, shown as "-".
    const bool askedLeader = cluster.value(QStringLiteral("role")).toString() == QLatin1String("leader");
    for (const QJsonValue& v : cluster.value(QStringLiteral("members")).toArray()) {
        const QJsonObject m = v.toObject();
        const bool self = m.value(QStringLiteral("self")).toBool();
        const bool alive = self || m.value(QStringLiteral("alive")).toBool();
        const qint64 last = m.value(QStringLiteral("lastContactMs")).toInteger(-1);
        out << pad(m.value(QStringLiteral("id")).toString() + (self ? QStringLiteral("*") : QString()), 18)
            << pad(m.value(QStringLiteral("http")).toString(), 22)
            << pad(alive ? m.value(QStringLiteral("role")).toString() : QStringLiteral("down"), 10)
            << pad(m.value(QStringLiteral("voter")).toBool() ? QStringLiteral("yes") : QStringLiteral("no"),
                   7)
            << pad(alive ? QStringLiteral("yes") : QStringLiteral("no"), 7)
            << pad(self       ? QStringLiteral("-")
                   : last < 0 ? QStringLiteral("never")
                              : QStringLiteral("%1 ms").arg(last),
                   14)
            << ((askedLeader || self) && m.contains(QStringLiteral("matchIndex"))
                    ? QString::number(m.value(QStringLiteral("matchIndex")).toInteger())
                    : QStringLiteral("-"))
            << '\n';
    }
}

}  // namespace

int run(const QStringList& argsIn) {
    QTextStream out(stdout), err(stderr);
    const QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    QString node = env.value(QStringLiteral("RAFTWC_NODE"), QStringLiteral("127.0.0.1:3000"));
    QByteArray token = env.value(QStringLiteral("RAFTWC_ADMIN_TOKEN")).toUtf8();
    bool json = false, raw = false;
    QStringList args;
    for (int i = 0; i < argsIn.size(); ++i) {
        const QString& a = argsIn[i];
        auto value = [&]() -> QString { return i + 1 < argsIn.size() ? argsIn[++i] : QString(); };
        if (a == QLatin1String("--node")) {
            node = value();
        } else if (a == QLatin1String("--json")) {
            json = true;
        } else if (a == QLatin1String("--raw")) {
            raw = true;
        } else if (a == QLatin1String("--admin-token-file")) {
            QFile f(value());
            if (!f.open(QIODevice::ReadOnly)) {
                err << "raftwc ctl: cannot read the admin token file: " << f.errorString() << '\n';
                return kUsage;
            }
            token = f.readAll().trimmed();
        } else if (a == QLatin1String("--help") || a == QLatin1String("-h")) {
            out << kHelp;
            return 0;
        } else if (a.startsWith(QLatin1String("--"))) {
            err << "raftwc ctl: unknown option " << a << "\n" << kHelp;
            return kUsage;
        } else {
            args << a;
        }
    }
    if (args.isEmpty() || node.isEmpty()) {
        err << kHelp;
        return kUsage;
    }
    Client client(node, token);
    const QString cmd = args.takeFirst();
    auto fail = [&](const Answer& a) {
        if (!a.status) {
            err << "raftwc ctl: " << node << " unreachable: " << a.error << '\n';
            return kUnreachable;
        }
        err << "raftwc ctl: " << a.status << ' ' << a.body.value(QStringLiteral("error")).toString() << ": "
            << a.error << '\n';
        return kFailed;
    };
    auto printJson = [&](const QJsonValue& v) {
        out << (v.isArray() ? QJsonDocument(v.toArray()) : QJsonDocument(v.toObject()))
                   .toJson(QJsonDocument::Indented);
    };

    if (cmd == QLatin1String("status") || cmd == QLatin1String("members")) {
        const Answer a = client.request("GET", QStringLiteral("/api/cluster"));
        if (a.status != 200) return fail(a);
        if (cmd == QLatin1String("members")) {
            if (json)
                printJson(a.body.value(QStringLiteral("members")));
            else
                printMembers(out, a.body);
            return 0;
        }
        if (json) {
            printJson(a.body);
            return 0;
        }
        const QJsonValue leader = a.body.value(QStringLiteral("leader"));
        out << "node      " << a.body.value(QStringLiteral("id")).toString() << " ("
            << a.body.value(QStringLiteral("role")).toString() << ", "
            << a.body.value(QStringLiteral("phase")).toString() << ")\nterm      "
            << a.body.value(QStringLiteral("term")).toInteger() << "\nleader    "
            << (leader.isObject()
                    ? leader.toObject().value(QStringLiteral("id")).toString() + QStringLiteral(" at ") +
                          leader.toObject().value(QStringLiteral("http")).toString()
                    : QStringLiteral("none"))
            << "\ncommit    " << a.body.value(QStringLiteral("commitIndex")).toInteger() << " (applied "
            << a.body.value(QStringLiteral("appliedIndex")).toInteger() << ")\n\n";
        printMembers(out, a.body);
        return 0;
    }
    if (cmd == QLatin1String("count")) {
        if (args.size() != 1) {
            err << "raftwc ctl: count needs one FILE\n";
            return kUsage;
        }
        QFile file(args[0]);
        if (!file.open(QIODevice::ReadOnly)) {
            err << "raftwc ctl: cannot read " << args[0] << ": " << file.errorString() << '\n';
            return kUsage;
        }
        const Answer a =
            client.request("POST",
                           QStringLiteral("/api/count?mode=%1")
                               .arg(raw ? QStringLiteral("raw") : QStringLiteral("normalized")),
                           &file,
                           {{"Content-Type", "application/octet-stream"},
                            {"X-Filename", QUrl::toPercentEncoding(QFileInfo(args[0]).fileName())}},
                           24 * 3600 * 1000);
        if (a.status != 200) return fail(a);
        if (json) {
            printJson(a.body);
            return 0;
        }
        auto n = [&](const char* k) {
            const QJsonValue v = a.body.value(QLatin1String(k));
            return v.isDouble() ? QString::number(v.toInteger()) : QStringLiteral("-");
        };
        // wc's order: lines, words, characters, bytes; then the file.
        out << n("lines") << ' ' << n("words") << ' ' << n("chars") << ' ' << n("bytes") << ' ' << args[0]
            << '\n';
        return 0;
    }
    if (cmd == QLatin1String("jobs")) {
        const Answer a = client.request("GET", QStringLiteral("/api/jobs"));
        if (a.status != 200) return fail(a);
        const QJsonArray jobs = a.body.value(QStringLiteral("jobs")).toArray();
        if (json) {
            printJson(jobs);
            return 0;
        }
        out << pad(QStringLiteral("ID"), 40) << pad(QStringLiteral("NAME"), 24)
            << pad(QStringLiteral("WORDS"), 12) << pad(QStringLiteral("BYTES"), 14) << "CREATED\n";
        for (const QJsonValue& v : jobs) {
            const QJsonObject j = v.toObject();
            out << pad(j.value(QStringLiteral("id")).toString(), 40)
                << pad(j.value(QStringLiteral("name")).toString(), 24)
                << pad(QString::number(j.value(QStringLiteral("words")).toInteger()), 12)
                << pad(QString::number(j.value(QStringLiteral("bytes")).toInteger()), 14)
                << j.value(QStringLiteral("createdAt")).toString() << '\n';
        }
        return 0;
    }
    if (cmd == QLatin1String("transfer")) {
        const Answer a =
            client.request("POST", QStringLiteral("/api/leader/transfer") +
                                       (args.isEmpty() ? QString() : QStringLiteral("?to=") + args[0]));
        if (a.status / 100 != 2) return fail(a);
        if (json)
            printJson(a.body);
        else
            out << "leadership transfer started\n";
        return 0;
    }
    if (cmd == QLatin1String("compact")) {
        const Answer a = client.request("POST", QStringLiteral("/api/admin/compact"), nullptr, {}, 40000);
        if (a.status / 100 != 2) return fail(a);
        if (json) {
            printJson(a.body);
        } else {
            const QJsonObject& o = a.body;
            out << "snapshot at index " << o.value(QStringLiteral("snapshotIndex")).toInteger()
                << "; the log now holds " << o.value(QStringLiteral("firstIndex")).toInteger() << ".."
                << o.value(QStringLiteral("lastIndex")).toInteger() << " ("
                << o.value(QStringLiteral("logBytes")).toInteger() << " bytes)\n";
        }
        return 0;
    }
    if (cmd == QLatin1String("remove")) {
        if (args.size() != 1) {
            err << "raftwc ctl: remove needs one member ID\n";
            return kUsage;
        }
        const Answer a = client.request("DELETE", QStringLiteral("/api/members/") + args[0]);
        if (a.status / 100 != 2) return fail(a);
        if (json)
            printJson(a.body);
        else
            out << "removed " << args[0] << '\n';
        return 0;
    }
    err << "raftwc ctl: unknown command " << cmd << "\n" << kHelp;
    return kUsage;
}

}  // namespace raftwc::ctl
