// raftwc-dashboard — watch a cluster (observer: --observe) or run a member with its window (the same
// options as raftwc). Everything but option handling is in the dashboard library and src/core.
#include <QApplication>
#include <QCommandLineParser>
#include <QDateTime>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcessEnvironment>
#include <QSaveFile>
#include <QSettings>
#include <QTextStream>
#include <QTimer>
#include <csignal>

#include "cluster_feed.h"
#include "main_window.h"
#include "node/logging.h"
#include "node/node.h"
#include "node/options.h"
#include "node/signals.h"

using namespace raftwc;

namespace {

// The view as JSON for tests and scripts (--dump-state FILE, rewritten atomically every 500 ms).
QJsonObject stateJson(const gui::ClusterFeed& feed, const gui::MainWindow& window) {
    const gui::ClusterView& v = feed.view();
    QJsonArray members, terms, jobs;
    for (const gui::MemberRow& m : v.members())
        members.append(QJsonObject{{QStringLiteral("id"), m.id},
                                   {QStringLiteral("http"), m.http},
                                   {QStringLiteral("role"), m.role},
                                   {QStringLiteral("alive"), m.alive}});
    for (const auto& [t, row] : v.terms())
        terms.append(QJsonObject{{QStringLiteral("term"), t},
                                 {QStringLiteral("winner"), row.winner},
                                 {QStringLiteral("campaigners"), QJsonArray::fromStringList(row.campaigners)},
                                 {QStringLiteral("votes"), qint64(row.votes.size())},
                                 {QStringLiteral("electedAtMs"), row.electedAtMs},
                                 {QStringLiteral("leaderlessMs"), row.leaderlessMs()}});
    for (const auto& [id, j] : v.jobs())
        jobs.append(QJsonObject{{QStringLiteral("id"), id},
                                {QStringLiteral("state"), j.state},
                                {QStringLiteral("words"), j.words}});
    return QJsonObject{{QStringLiteral("time"), QDateTime::currentMSecsSinceEpoch()},
                       {QStringLiteral("term"), v.term()},
                       {QStringLiteral("leader"), v.leader()},
                       {QStringLiteral("connected"), QJsonArray::fromStringList(feed.connectedPeers())},
                       {QStringLiteral("summary"), window.summaryText()},
                       {QStringLiteral("members"), members},
                       {QStringLiteral("terms"), terms},
                       {QStringLiteral("jobs"), jobs}};
}

QString readKeyFile(const QString& path, QString* error) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1: %2").arg(path, f.errorString());
        return {};
    }
    return QString::fromUtf8(f.readAll().trimmed());
}

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("raftwc-dashboard"));
    QApplication::setOrganizationName(QStringLiteral("raftwc"));
    QApplication::setApplicationVersion(QStringLiteral(PROJECT_VERSION_STR));
    node::installLogging({QtInfoMsg, node::LogFormat::Text, false});

    // Dashboard options; everything else belongs to the member (raftwc's options, see raftwc --help).
    QStringList rest;
    bool observe = false;
    QString peers, group = QStringLiteral("239.0.0.1:10000"), iface, keyFile, tokenFile, dumpFile, shotFile;
    int shotDelay = 3000;
    QString tab;
    const QStringList args = QApplication::arguments().mid(1);
    for (int i = 0; i < args.size(); ++i) {
        const QString& a = args[i];
        auto value = [&](QString* out) {
            if (i + 1 >= args.size()) return false;
            *out = args[++i];
            return true;
        };
        if (a == QLatin1String("--help") || a == QLatin1String("-h")) {
            QTextStream(stdout) << QStringLiteral(
                "Usage: raftwc-dashboard --observe [--peers HOST:PORT,...] [--group ADDR:PORT] [--interface "
                "NAME]\n"
                "                        [--cluster-key-file FILE] [--admin-token-file FILE]\n"
                "       raftwc-dashboard [raftwc options]      (runs a member with this window)\n\n"
                "--observe            watch a running cluster without joining it (never votes, never a "
                "member)\n"
                "--peers HOST:PORT    members' HTTP addresses to start from (default: last used, else\n"
                "                     127.0.0.1:3000); more are learned from the members themselves\n"
                "--group ADDR:PORT    also learn members from leader announcements on this multicast group\n"
                "                     (needs --interface or a default route, and the cluster key)\n"
                "--admin-token-file F the token for transfer and remove (as the nodes' --admin-token-file)\n"
                "--dump-state FILE    write the view as JSON every 500 ms (scripts, tests)\n"
                "--screenshot FILE    save the window as PNG after --screenshot-delay MS (default 3000), "
                "quit\n"
                "--tab NAME           open on members, elections, log or jobs\n");
            return 0;
        }
        if (a == QLatin1String("--observe"))
            observe = true;
        else if (a == QLatin1String("--dump-state") && value(&dumpFile))
            continue;
        else if (a == QLatin1String("--screenshot") && value(&shotFile))
            continue;
        else if (a == QLatin1String("--tab") && value(&tab))
            continue;
        else if (a == QLatin1String("--screenshot-delay")) {
            QString v;
            if (!value(&v) || v.toInt() <= 0) {
                QTextStream(stderr) << "raftwc-dashboard: --screenshot-delay needs milliseconds\n";
                return 2;
            }
            shotDelay = v.toInt();
        } else {
            rest << a;  // the observer's or the member's options, read below
        }
    }

    gui::ClusterFeed feed;
    std::unique_ptr<node::Node> member;
    if (observe) {
        // Observer options.
        for (int i = 0; i < rest.size(); ++i) {
            const QString& a = rest[i];
            const QString v = i + 1 < rest.size() ? rest[i + 1] : QString();
            if (a == QLatin1String("--peers"))
                peers = v, ++i;
            else if (a == QLatin1String("--group"))
                group = v, ++i;
            else if (a == QLatin1String("--interface"))
                iface = v, ++i;
            else if (a == QLatin1String("--cluster-key-file"))
                keyFile = v, ++i;
            else if (a == QLatin1String("--admin-token-file"))
                tokenFile = v, ++i;
            else {
                QTextStream(stderr) << "raftwc-dashboard: unknown observer option " << a << " (see --help)\n";
                return 2;
            }
        }
        QString error;
        if (!tokenFile.isEmpty()) {
            const QString token = readKeyFile(tokenFile, &error);
            if (!error.isEmpty()) {
                QTextStream(stderr) << "raftwc-dashboard: " << error << '\n';
                return 2;
            }
            feed.setAdminToken(token.toUtf8());
        }
        QStringList start = peers.split(QLatin1Char(','), Qt::SkipEmptyParts);
        if (start.isEmpty()) start = QSettings().value(QStringLiteral("cluster/peers")).toStringList();
        if (start.isEmpty() && keyFile.isEmpty()) start << QStringLiteral("127.0.0.1:3000");
        for (const QString& p : start)
            feed.addPeer(p);
        if (!keyFile.isEmpty()) {
            const QString key = readKeyFile(keyFile, &error);
            const qsizetype colon = group.lastIndexOf(QLatin1Char(':'));
            if (error.isEmpty() &&
                !feed.listenForAnnouncements(group.left(colon), quint16(group.mid(colon + 1).toUInt()), iface,
                                             key.toUtf8(), &error))
                error = QStringLiteral("cannot listen to %1: %2").arg(group, error);
            if (!error.isEmpty())
                qWarning().noquote() << "raftwc-dashboard:" << error << "(using --peers only)";
        }
    } else {
        auto parsed = node::parseOptions(rest, QProcessEnvironment::systemEnvironment());
        if (auto* err = std::get_if<QString>(&parsed)) {
            QTextStream(stderr) << QStringLiteral("raftwc-dashboard: %1\n").arg(*err);
            return 2;
        }
        const node::NodeOptions options = std::get<node::NodeOptions>(parsed);
        member = std::make_unique<node::Node>(options);
        QObject::connect(member.get(), &node::Node::identified, &app, &node::setLogNodeId);
        QString error;
        if (!member->start(&error)) {
            QTextStream(stderr)
                << QStringLiteral("raftwc-dashboard: cannot start the member: %1\n").arg(error);
            return 1;
        }
        feed.setAdminToken(options.adminToken);
        feed.addPeer(QStringLiteral("127.0.0.1:%1").arg(member->httpPort()));
    }

    gui::MainWindow window(feed, member != nullptr);
    if (member) {
        // A member's window acts through the node itself.
        QObject::connect(&window, &gui::MainWindow::transferRequested, member.get(), [&](const QString& to) {
            member->transferLeadership(
                to.isEmpty() ? raft::kNoNode : to.toULongLong(nullptr, 16), [&window](const QString& e) {
                    window.showMessage(e.isEmpty() ? QObject::tr("leadership transfer started")
                                                   : QObject::tr("transfer: %1").arg(e));
                });
        });
        QObject::connect(&window, &gui::MainWindow::removeRequested, member.get(), [&](const QString& id) {
            member->removeMember(id.toULongLong(nullptr, 16), [&window, id](const QString& e) {
                window.showMessage(e.isEmpty() ? QObject::tr("removed %1").arg(id)
                                               : QObject::tr("remove: %1").arg(e));
            });
        });
    } else {
        QObject::connect(&window, &gui::MainWindow::transferRequested, &feed,
                         &gui::ClusterFeed::transferLeadership);
        QObject::connect(&window, &gui::MainWindow::removeRequested, &feed, &gui::ClusterFeed::removeMember);
    }
    if (!tab.isEmpty()) window.showTab(tab);
    window.show();

    QTimer dump;
    if (!dumpFile.isEmpty()) {
        QObject::connect(&dump, &QTimer::timeout, &app, [&] {
            QSaveFile f(dumpFile);
            if (f.open(QIODevice::WriteOnly)) {
                f.write(QJsonDocument(stateJson(feed, window)).toJson(QJsonDocument::Compact));
                f.commit();
            }
        });
        dump.start(500);
    }
    if (!shotFile.isEmpty())
        QTimer::singleShot(shotDelay, &app, [&] {
            if (!window.grab().save(shotFile)) qWarning().noquote() << "cannot save" << shotFile;
            window.close();
        });

    // A member stops gracefully (leadership handed over) when the window closes.
    QObject::connect(&app, &QApplication::lastWindowClosed, &app, [&] {
        if (member)
            member->shutdown([] { QApplication::exit(0); });
        else
            QApplication::exit(0);
    });
    app.setQuitOnLastWindowClosed(false);
    // SIGTERM/SIGINT close the window as the user would: a member hands leadership over and stops.
    node::routeSignals(&app, {SIGTERM, SIGINT}, [&window](int) { window.close(); });
    return app.exec();
}
