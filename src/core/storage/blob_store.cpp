#include "storage/blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "storage/io_util.h"

namespace raftwc::storage {

namespace {

constexpr std::size_t kDigestBytes = 32;

bool fromHex(std::string_view h, std::string* out) {
    if (h.size() != 2 * kDigestBytes) return false;
    out->clear();
    for (std::size_t i = 0; i < h.size(); i += 2) {
        auto nib = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            return -1;
        };
        const int a = nib(h[i]), b = nib(h[i + 1]);
        if (a < 0 || b < 0) return false;
        out->push_back(static_cast<char>(a * 16 + b));
    }
    return true;
}

}  // namespace

std::string BlobStore::hex(std::string_view digest) {
    static const char* const kDigits = "0123456789abcdef";
    std::string out;
    out.reserve(digest.size() * 2);
    for (unsigned char c : digest) {
        out.push_back(kDigits[c >> 4]);
        out.push_back(kDigits[c & 15]);
    }
    return out;
}

Result<std::unique_ptr<BlobStore>> BlobStore::open(std::shared_ptr<FileOps> ops, const std::string& dir,
                                                   const std::string& sub) {
    const std::string blobs = dir + "/" + sub;
    if (::mkdir(blobs.c_str(), 0700) != 0 && errno != EEXIST)
        return detail::sysError("cannot create", blobs, errno);
    std::unique_ptr<BlobStore> store(new BlobStore(std::move(ops), blobs));
    DIR* d = ::opendir(blobs.c_str());
    if (!d) return detail::sysError("cannot list", blobs, errno);
    std::vector<std::string> stale;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        std::string digest;
        if (fromHex(name, &digest)) {
            store->present_.insert(digest);
        } else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
            stale.push_back(name);  // a blob a crash interrupted: never renamed into place
        }
    }
    ::closedir(d);
    for (const std::string& name : stale)
        if (store->ops_->unlink((blobs + "/" + name).c_str()) != 0 && errno != ENOENT)
            return detail::sysError("cannot remove", blobs + "/" + name, errno);
    if (!stale.empty()) {
        Status s = detail::syncDir(*store->ops_, blobs);
        if (!s.ok()) return s;
    }
    return store;
}

std::string BlobStore::path(std::string_view digest) const {
    return dir_ + "/" + hex(digest);
}

bool BlobStore::has(std::string_view digest) const {
    std::lock_guard<std::mutex> lock(mu_);
    return present_.count(std::string(digest)) > 0;
}

std::vector<std::string> BlobStore::list() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {present_.begin(), present_.end()};
}

Result<std::unique_ptr<BlobStore::Writer>> BlobStore::create(std::string_view digest) {
    if (digest.size() != kDigestBytes) return Status::error("a blob's name is a 32-byte SHA-256");
    const std::string tmp = path(digest) + ".tmp";
    const int fd = ops_->open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return detail::sysError("cannot create", tmp, errno);
    return std::unique_ptr<Writer>(new Writer(*this, std::string(digest), fd, tmp));
}

Status BlobStore::Writer::append(const char* data, std::size_t n) {
    if (n == 0) return {};
    Status s = detail::writeAllAt(*store_.ops_, fd_, tmp_, {iovec{const_cast<char*>(data), n}}, written_);
    if (s.ok()) written_ += n;
    return s;
}

Status BlobStore::Writer::commit() {
    if (store_.ops_->fsync(fd_) != 0) return detail::sysError("cannot sync", tmp_, errno);
    store_.ops_->close(fd_);
    fd_ = -1;
    const std::string final = store_.path(digest_);
    if (store_.ops_->rename(tmp_.c_str(), final.c_str()) != 0)
        return detail::sysError("cannot rename", tmp_, errno);
    committed_ = true;
    Status s = detail::syncDir(*store_.ops_, store_.dir_);
    if (!s.ok()) return s;
    std::lock_guard<std::mutex> lock(store_.mu_);
    store_.present_.insert(digest_);
    return {};
}

BlobStore::Writer::~Writer() {
    if (fd_ >= 0) store_.ops_->close(fd_);
    if (!committed_) store_.ops_->unlink(tmp_.c_str());
}

Status BlobStore::remove(std::string_view digest) {
    const std::string p = path(digest);
    {
        std::lock_guard<std::mutex> lock(mu_);
        present_.erase(std::string(digest));
    }
    if (ops_->unlink(p.c_str()) != 0 && errno != ENOENT) return detail::sysError("cannot remove", p, errno);
    return detail::syncDir(*ops_, dir_);
}

}  // namespace raftwc::storage
