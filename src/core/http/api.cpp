#include "http/api.h"

#include <QJsonDocument>

namespace raftwc::http {

// ---- ApiReply --------------------------------------------------------------------------------------

ApiReply ApiReply::json(int status, const QJsonObject& object) {
    ApiReply r;
    r.status = status;
    r.body = QJsonDocument(object).toJson(QJsonDocument::Compact);
    return r;
}

ApiReply ApiReply::error(int status, const QString& code, const QString& message) {
    return json(status, QJsonObject{{QStringLiteral("error"), code}, {QStringLiteral("message"), message}});
}

ApiReply ApiReply::text(int status, const QByteArray& body, const QByteArray& contentType) {
    ApiReply r;
    r.status = status;
    r.body = body;
    r.contentType = contentType;
    return r;
}

// ---- the default streamed upload: buffer, then count() --------------------------------------------

namespace {

class BufferingSink final : public UploadSink {
  public:
    BufferingSink(ApiBackend* backend, UploadMeta meta, std::function<void(ApiReply)> done)
        : m_backend(backend), m_meta(std::move(meta)), m_done(std::move(done)) {
        if (m_meta.declaredSize > 0) m_data.reserve(qsizetype(m_meta.declaredSize));
    }
    qint64 room() const override { return qint64(1) << 20; }
    void write(QByteArrayView bytes) override { m_data.append(bytes.data(), bytes.size()); }
    void finish() override {
        Upload upload;
        upload.data = std::move(m_data);
        upload.length = upload.data.size();
        upload.name = m_meta.name;
        upload.mode = m_meta.mode;
        upload.jobId = m_meta.jobId;
        m_backend->count(std::move(upload), std::move(m_done));
    }

  private:
    ApiBackend* m_backend;
    UploadMeta m_meta;
    std::function<void(ApiReply)> m_done;
    QByteArray m_data;
};

}  // namespace

std::unique_ptr<UploadSink> ApiBackend::beginUpload(UploadMeta meta, std::function<void(ApiReply)> done) {
    return std::make_unique<BufferingSink>(this, std::move(meta), std::move(done));
}

}  // namespace raftwc::http
