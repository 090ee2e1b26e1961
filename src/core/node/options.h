// Node options: the product's command-line and environment interface (docs/OPERATIONS.md).
// Every option --name is also the environment variable RAFTWC_NAME (upper case, '-' → '_');
// the command line wins over the environment.
#pragma once

#include <QHostAddress>
#include <QString>
#include <QStringList>
#include <algorithm>
#include <cstdint>
#include <optional>
#include <variant>

#include "net/address.h"
#include "raft/rawnode.h"

class QProcessEnvironment;

namespace raftwc::node {

using HostPort = net::HostPort;

struct NodeOptions {
    QString dataDir = QStringLiteral("./raftwc-data");
    std::uint64_t nodeId = 0;  ///< 0: generated once and kept in the data dir.
    HostPort http{QStringLiteral("0.0.0.0"), 3000};
    HostPort rpc{QStringLiteral("0.0.0.0"), 7000};
    QString advertise;  ///< Address other nodes use to reach this one; default: the interface's first IPv4.
    HostPort group{QStringLiteral("239.0.0.1"), 10000};
    QString interfaceName;  ///< Multicast interface; default: the default route's interface.
    int ttl = 1;
    int electionMinMs = 1000;
    int electionMaxMs = 2000;
    int heartbeatMs = 100;
    int tickMs = 50;
    QString clusterKeyFile;
    QByteArray clusterKey;  ///< Loaded from clusterKeyFile or RAFTWC_CLUSTER_KEY.
    /// Bearer token of the administration routes (member removal, leadership transfer), from
    /// --admin-token-file or RAFTWC_ADMIN_TOKEN; never the cluster key, which never travels over HTTP.
    QByteArray adminToken;
    QList<HostPort> peers;  ///< Static peers (UDP discovery/heartbeat ports): replaces multicast.
    /// Fresh nodes that must hear each other before the lowest id bootstraps a new cluster; 0 (the
    /// default): never bootstrap, only join a cluster that is heard (a lone node never forms one by
    /// surprise).
    int bootstrapExpect = 0;
    qint64 maxUpload = qint64(1) << 30;
    int maxConnections = 1024;                   ///< open HTTP connections at most
    int maxConcurrentUploads = 16;               ///< uploads received or counted at once at most
    qint64 maxUploadInflight = qint64(2) << 30;  ///< their declared bytes at most
    qint64 minUploadRate = 1024;                 ///< bytes/s a request body must keep up (0: off)
    int headTimeoutMs = 30000;                   ///< a request head must be complete within this
    /// Retention (0: no limit): the leader deletes the oldest finished jobs and their files through the log
    /// beyond this many, beyond this many bytes of files, or older than this (node/retention.h).
    int retainFiles = 1000;
    qint64 retainBytes = qint64(10) << 30;
    qint64 retainAgeMs = qint64(7) * 24 * 3600 * 1000;
    /// Compaction (docs/STORAGE.md, "Compaction"): a snapshot of the state is taken and the log prefix it
    /// covers deleted once this many bytes of entries were applied since the last one (0: only on demand).
    qint64 snapshotBytes = qint64(64) << 20;
    qint64 segmentBytes = qint64(64) << 20;  ///< log segment size (whole segments are deleted)
    int discoveryMs = 3000;  ///< How long a fresh node listens for a leader before bootstrapping.
    bool verbose = false;    ///< same as logLevel "debug"
    QString logLevel = QStringLiteral("info");   ///< debug, info, warning, error
    QString logFormat = QStringLiteral("text");  ///< text or json
    /// Not errors, but worth a line in the log at start (e.g. an unknown RAFTWC_* variable).
    QStringList warnings;

    /// Every node says hello on the discovery channel this often (presence between Raft messages).
    static constexpr int kHelloIntervalMs = 1000;
    /// The one definition of "alive" for a peer (member lists, shard planning, "leader known"): heard from
    /// within the longest election timeout, and never less than 2.5 hello periods, since a follower hears
    /// the other followers only through their hellos.
    qint64 aliveMs() const { return std::max<qint64>(electionMaxMs, kHelloIntervalMs * 5 / 2); }
    /// The consensus core's timing, in ticks of tickMs, from the (validated) options.
    raft::Config raftConfig(raft::NodeId id, std::uint64_t seed) const;
};

/// Parses `args` (argv without the program name) with fallbacks from `env`. Returns the options or a
/// human-readable error. `--help`/`--version` are handled by the caller (see helpText()).
std::variant<NodeOptions, QString> parseOptions(const QStringList& args, const QProcessEnvironment& env);
QString helpText();
/// "host:port", "[v6]:port", or just "host" when `defaultPort` is given.
std::optional<HostPort> parseHostPort(const QString& s, quint16 defaultPort = 0);

}  // namespace raftwc::node
