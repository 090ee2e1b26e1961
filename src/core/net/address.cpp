#include "net/address.h"

#include <QFile>

namespace raftwc::net {

QString HostPort::toString() const {
    const QString h = host.contains(QLatin1Char(':')) ? QLatin1Char('[') + host + QLatin1Char(']') : host;
    return h + QLatin1Char(':') + QString::number(port);
}

std::optional<HostPort> parseHostPort(const QString& in) {
    const QString s = in.trimmed();
    const qsizetype colon = s.lastIndexOf(QLatin1Char(':'));
    if (colon <= 0 || colon == s.size() - 1) return std::nullopt;
    QString host = s.first(colon);
    if (host.startsWith(QLatin1Char('['))) {
        if (!host.endsWith(QLatin1Char(']')) || host.size() < 3) return std::nullopt;
        host = host.sliced(1, host.size() - 2);
    } else if (host.contains(QLatin1Char(':')) || host.contains(QLatin1Char(']'))) {
        return std::nullopt;  // unbracketed IPv6 is ambiguous
    }
    bool ok = false;
    const uint port = s.sliced(colon + 1).toUInt(&ok);
    if (!ok || port == 0 || port > 65535) return std::nullopt;
    for (QChar c : host)
        if (c.isSpace()) return std::nullopt;
    return HostPort{host, static_cast<quint16>(port)};
}

std::optional<QList<HostPort>> parseHostPortList(const QString& s) {
    QList<HostPort> out;
    const QStringList items = s.split(QLatin1Char(','), Qt::SkipEmptyParts);
    for (const QString& item : items) {
        if (item.trimmed().isEmpty()) continue;
        auto hp = parseHostPort(item);
        if (!hp) return std::nullopt;
        out.append(*hp);
    }
    return out;
}

QString defaultRouteInterfaceFrom(QByteArrayView procNetRoute) {
    // Format: "Iface\tDestination\tGateway\tFlags\t..." header, then one line per route, hex fields.
    const QList<QByteArray> lines = procNetRoute.toByteArray().split('\n');
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QList<QByteArray> f = lines[i].simplified().split(' ');
        if (f.size() < 4) continue;
        bool ok = false;
        const uint flags = f[3].toUInt(&ok, 16);
        const bool up = ok && (flags & 0x1u) != 0;
        if (f[1] == "00000000" && up && !f[0].isEmpty()) return QString::fromUtf8(f[0]);
    }
    return {};
}

QString defaultRouteInterface() {
    QFile f(QStringLiteral("/proc/net/route"));
    if (f.open(QIODevice::ReadOnly)) {
        const QString iface = defaultRouteInterfaceFrom(f.readAll());
        if (!iface.isEmpty()) return iface;
    }
    return QStringLiteral("lo");
}

}  // namespace raftwc::net
