#include "net/sha256.h"

#include <QCryptographicHash>

#ifdef RAFTWC_NET_HAVE_OPENSSL
#include <openssl/evp.h>
#endif

namespace raftwc::net {

struct Sha256::Impl {
#ifdef RAFTWC_NET_HAVE_OPENSSL
    EVP_MD_CTX* ctx = nullptr;  ///< null: OpenSSL could not start, Qt's code hashes instead
    bool failed = false;        ///< OpenSSL failed part way: result() gives no digest rather than a wrong one
#endif
    QCryptographicHash qt{QCryptographicHash::Sha256};
};

Sha256::Sha256() : d_(std::make_unique<Impl>()) {
#ifdef RAFTWC_NET_HAVE_OPENSSL
    d_->ctx = EVP_MD_CTX_new();
    if (d_->ctx && EVP_DigestInit_ex(d_->ctx, EVP_sha256(), nullptr) != 1) {
        EVP_MD_CTX_free(d_->ctx);
        d_->ctx = nullptr;
    }
#endif
}

Sha256::~Sha256() {
#ifdef RAFTWC_NET_HAVE_OPENSSL
    if (d_->ctx) EVP_MD_CTX_free(d_->ctx);
#endif
}

void Sha256::add(QByteArrayView data) {
#ifdef RAFTWC_NET_HAVE_OPENSSL
    if (d_->ctx) {
        if (!data.isEmpty() && EVP_DigestUpdate(d_->ctx, data.data(), std::size_t(data.size())) != 1)
            d_->failed = true;
        return;
    }
#endif
    d_->qt.addData(data);
}

QByteArray Sha256::result() {
#ifdef RAFTWC_NET_HAVE_OPENSSL
    if (d_->ctx) {
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (d_->failed || EVP_DigestFinal_ex(d_->ctx, out, &len) != 1 || len != 32) return {};
        return QByteArray(reinterpret_cast<const char*>(out), 32);
    }
#endif
    return d_->qt.result();
}

bool Sha256::usesOpenSsl() {
#ifdef RAFTWC_NET_HAVE_OPENSSL
    return true;
#else
    return false;
#endif
}

}  // namespace raftwc::net
