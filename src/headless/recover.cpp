#include "recover.h"

#include <QCommandLineParser>
#include <QProcessEnvironment>
#include <QTextStream>

#include "node/jobs.h"
#include "storage/recovery.h"

namespace raftwc::recover {

namespace {

QString ids(const std::vector<raft::NodeId>& v) {
    QStringList out;
    for (raft::NodeId id : v)
        out << node::nodeIdString(id);
    return out.isEmpty() ? QStringLiteral("-") : out.join(QLatin1Char(' '));
}

QString describe(const storage::RecoveryPlan& p) {
    QString s;
    QTextStream t(&s);
    t << "node            " << node::nodeIdString(p.self) << "\n"
      << "voters before   " << ids(p.before.voters) << "\n"
      << "learners before " << ids(p.before.learners) << "\n";
    for (const raft::ConfChange& cc : p.changes)
        t << (cc.type == raft::ConfChangeType::RemoveNode ? "remove          " : "promote         ")
          << node::nodeIdString(cc.node) << "\n";
    t << "term            " << p.oldHardState.term << " -> " << p.newHardState.term << "\n"
      << "commit          " << p.oldHardState.commit << " -> " << p.newHardState.commit << " ("
      << p.uncommittedKept
      << " entries past the stored commit index, which may lag, all kept as committed)\n";
    return s;
}

}  // namespace

int run(const QStringList& args) {
    QTextStream out(stdout);
    QTextStream err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Disaster recovery after a PERMANENT loss of quorum: rewrites this stopped node's data directory so "
        "that it restarts as the only voter of its cluster, with every entry it holds (uploads, results). "
        "Every other member is removed; they must never start again with their old data (wipe them and let "
        "them join as new nodes). Run it on ONE survivor only, the one with the longest log "
        "(`raftwc ctl status` shows lastIndex). docs/OPERATIONS.md, \"Recovery from permanent loss of "
        "quorum\"."));
    const QCommandLineOption dataDir(
        QStringLiteral("data-dir"), QStringLiteral("The stopped node's data directory (or RAFTWC_DATA_DIR)."),
        QStringLiteral("DIR"));
    const QCommandLineOption dryRun(QStringLiteral("dry-run"),
                                    QStringLiteral("Print the plan; change nothing."));
    const QCommandLineOption yes(QStringLiteral("yes"),
                                 QStringLiteral("Confirm: without it only the plan is printed."));
    const QCommandLineOption help(QStringList{QStringLiteral("h"), QStringLiteral("help")},
                                  QStringLiteral("This help."));
    parser.addOptions({dataDir, dryRun, yes, help});
    if (!parser.parse(QStringList{QStringLiteral("raftwc recover")} + args)) {
        err << "raftwc recover: " << parser.errorText() << "\n";
        return 2;
    }
    if (parser.isSet(help)) {
        QString text = parser.helpText();
        text = text.mid(text.indexOf(QLatin1Char('\n')) + 1);  // Qt's usage line names the binary's path
        out << "Usage: raftwc recover --data-dir DIR [--dry-run | --yes]\n" << text;
        out << "\nExit status: 0 rewritten (or plan printed), 1 refused or failed, 2 bad arguments.\n";
        return 0;
    }
    if (!parser.positionalArguments().isEmpty()) {
        err << "raftwc recover: unexpected argument " << parser.positionalArguments().first() << "\n";
        return 2;
    }
    QString dir = parser.value(dataDir);
    if (dir.isEmpty())
        dir = QProcessEnvironment::systemEnvironment().value(QStringLiteral("RAFTWC_DATA_DIR"));
    if (dir.isEmpty()) {
        err << "raftwc recover: --data-dir DIR is required\n";
        return 2;
    }
    storage::RaftLogStoreOptions so;
    so.dir = dir.toStdString();
    so.logger = [&err](storage::LogLevel level, std::string_view msg) {
        if (level >= storage::LogLevel::Warning)
            err << "storage: " << QString::fromUtf8(msg.data(), qsizetype(msg.size())) << "\n";
    };
    auto opened = storage::RaftLogStore::open(so);
    if (!opened.ok()) {
        err << "raftwc recover: cannot open " << dir << ": "
            << QString::fromStdString(opened.status().message())
            << " (is the node still running? stop it first)\n";
        return 1;
    }
    auto store = opened.take();
    const bool apply = parser.isSet(yes) && !parser.isSet(dryRun);
    auto r = apply ? storage::forceNewCluster(*store) : storage::planForceNewCluster(*store);
    if (!r.ok()) {
        err << "raftwc recover: " << QString::fromStdString(r.status().message()) << "\n";
        return 1;
    }
    out << describe(r.value());
    if (apply)
        out << "done: start the node as before; it elects itself; then add new members (fresh data "
               "directories).\n";
    else
        out << "nothing changed (plan only): run again with --yes to rewrite " << dir << "\n";
    out.flush();
    return 0;
}

}  // namespace raftwc::recover
