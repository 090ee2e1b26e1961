// Small pure helpers for addresses and interfaces.
#pragma once

#include <QByteArrayView>
#include <QList>
#include <QString>

#include <optional>

namespace raftwc::net {

/// "host:port" split. Host may be a name, an IPv4 literal or a bracketed IPv6 literal ("[::1]:9000").
struct HostPort {
    QString host;
    quint16 port = 0;

    bool operator==(const HostPort&) const = default;
    QString toString() const;
};

/// Parses "host:port" (port 1..65535, non-empty host). std::nullopt on anything else.
std::optional<HostPort> parseHostPort(const QString& s);
/// Parses a comma-separated list ("a:1,b:2"); empty items are ignored; any bad item → std::nullopt.
std::optional<QList<HostPort>> parseHostPortList(const QString& s);

/// Interface of the default route (destination 00000000) in the contents of /proc/net/route, or an
/// empty string if there is none. Pure: pass the file's bytes.
QString defaultRouteInterfaceFrom(QByteArrayView procNetRoute);
/// Reads /proc/net/route; falls back to "lo" when it is unreadable or has no default route.
QString defaultRouteInterface();

}  // namespace raftwc::net
