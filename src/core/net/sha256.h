// Sha256: an incremental SHA-256 (a stored file's checksum, computed chunk by chunk as it is uploaded).
// OpenSSL's libcrypto when the build found it (SHA extensions: ~2 GB/s on this machine's CPUs), else
// QCryptographicHash (Qt 6.4's own code, ~10x slower). Either gives the same digest.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <memory>

namespace raftwc::net {

class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void add(QByteArrayView data);
    /// The 32-byte digest of everything added; the object is then spent (call once).
    QByteArray result();
    /// Whether this build uses libcrypto.
    static bool usesOpenSsl();

  private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

}  // namespace raftwc::net
