// The distribution API client: requests with authentication (registry_session.cc), manifests,
// blobs with resumable downloads, and monolithic uploads.
#include "image/registry_client.h"

#include <algorithm>

#include "base/strings.h"
#include "image/http_client.h"
#include "image/registry_auth.h"
#include "image/registry_session.h"
#include "oci/image_spec.h"

namespace berth::image {

namespace {

constexpr int64_t kProgressStep = 256 << 10;
constexpr int kBlobAttempts = 4;  // the first try and three retries

bool is_transient_status(int status) { return status == 429 || status >= 500; }

std::string strip_params(std::string_view content_type) {
  return std::string(trim(content_type.substr(0, content_type.find(';'))));
}

// Parses the start of "bytes <start>-<end>/<size>"; -1 when malformed.
int64_t content_range_start(const std::optional<std::string>& header) {
  if (!header || !starts_with(*header, "bytes ")) return -1;
  std::string_view v(*header);
  v.remove_prefix(6);
  auto start = parse_int(v.substr(0, v.find('-')), "Content-Range");
  return start ? *start : -1;
}

class DistributionClient final : public RegistryClient {
 public:
  explicit DistributionClient(RegistryOptions options) : session_(std::move(options)) {}

  Result<void> ping(const std::string& registry) override {
    http::Request req;
    req.url = session_.base_url(registry) + "/v2/";
    http::Response resp = TRY_CTX("ping " + registry, session_.send(registry, "", std::move(req)));
    if (resp.status != 200)
      return Err(registry_error(resp.status, resp.body).context("ping " + registry));
    return {};
  }

  Result<FetchedManifest> get_manifest(const oci::ImageReference& repo,
                                       const std::string& reference) override {
    http::Request req;
    req.url = repo_url(repo) + "/manifests/" + reference;
    req.headers.set("Accept", fmt::format("{}, {}, {}, {}", oci::media_type::kOciIndex,
                                          oci::media_type::kOciManifest,
                                          oci::media_type::kDockerManifestList,
                                          oci::media_type::kDockerManifest));
    http::Response resp = TRY(session_.send(repo.domain, pull_scope(repo), std::move(req)));
    if (resp.status != 200) return Err(registry_error(resp.status, resp.body));
    FetchedManifest out;
    out.media_type = strip_params(resp.headers.get("Content-Type").value_or(""));
    if (!oci::is_index_media_type(out.media_type) && !oci::is_manifest_media_type(out.media_type))
      out.media_type = TRY_CTX("manifest " + reference, oci::detect_manifest_media_type(resp.body));
    out.digest = sha256_of(resp.body);
    out.bytes = std::move(resp.body);
    if (starts_with(reference, "sha256:")) {
      Digest want = TRY(parse_digest(reference));
      if (want != out.digest)
        return Fail(ErrorCode::InvalidArgument, "manifest {}: digest mismatch: got {}",
                    reference, out.digest.to_string());
    }
    return out;
  }

  Result<BlobInfo> fetch_blob(const oci::ImageReference& repo, const Digest& digest, int64_t size,
                              ContentWriter& writer, const ProgressFn& progress) override {
    std::string what = "fetch blob " + digest.to_string();
    for (int attempt = 1;; ++attempt) {
      Result<int> status = download_once(repo, digest, size, writer, progress);
      bool last = attempt >= kBlobAttempts;
      if (!status) {
        if (status.error().code() == ErrorCode::Unavailable && !last) continue;
        return Err(std::move(status.error()).context(what));
      }
      if (*status == 416 && !last) {  // our offset is past the blob: start over
        TRY_CTX(what, writer.truncate());
        continue;
      }
      if (*status >= 200 && *status < 300) break;
      if (is_transient_status(*status) && !last) continue;
      return Err(registry_error(*status, "").context(what));
    }
    return TRY_CTX(what, writer.commit(digest, size));
  }

  Result<bool> blob_exists(const oci::ImageReference& repo, const Digest& digest) override {
    http::Request req;
    req.method = "HEAD";
    req.url = repo_url(repo) + "/blobs/" + digest.to_string();
    std::string what = "check blob " + digest.to_string();
    http::Response resp = TRY_CTX(what, session_.send(repo.domain, pull_scope(repo), std::move(req)));
    if (resp.status == 200) return true;
    if (resp.status == 404) return false;
    return Err(registry_error(resp.status, resp.body).context(what));
  }

  Result<void> push_blob(const oci::ImageReference& repo, const Digest& digest, int64_t size,
                         int fd, const ProgressFn& progress) override {
    std::string what = "push blob " + digest.to_string();
    if (TRY(blob_exists(repo, digest))) {
      if (progress) progress(size, size);
      return {};
    }
    http::Request start;
    start.method = "POST";
    start.url = repo_url(repo) + "/blobs/uploads/";
    http::Response started =
        TRY_CTX(what, session_.send(repo.domain, push_scope(repo), std::move(start)));
    auto location = started.headers.get("Location");
    if (started.status != 202 || !location)
      return Err(registry_error(started.status, started.body).context(what + ": start upload"));
    http::Url base = TRY_CTX(what, http::parse_url(started.final_url));
    http::Url upload = TRY_CTX(what, http::resolve_url(base, *location));
    upload.target += upload.target.find('?') == std::string::npos ? "?" : "&";
    upload.target += "digest=" + url_encode(digest.to_string());
    if (progress) progress(0, size);
    http::Request put;
    put.method = "PUT";
    put.url = upload.to_string();
    put.headers.set("Content-Type", "application/octet-stream");
    put.body_fd = fd;
    put.body_size = size;
    http::Response done = TRY_CTX(what, session_.send(repo.domain, push_scope(repo), std::move(put)));
    if (done.status != 201) return Err(registry_error(done.status, done.body).context(what));
    if (progress) progress(size, size);
    return {};
  }

  Result<Digest> put_manifest(const oci::ImageReference& repo, const std::string& reference,
                              const std::string& media_type, const std::string& bytes) override {
    std::string what = "put manifest " + repo.name() + ":" + reference;
    http::Request req;
    req.method = "PUT";
    req.url = repo_url(repo) + "/manifests/" + reference;
    req.headers.set("Content-Type", media_type);
    req.body = bytes;
    http::Response resp = TRY_CTX(what, session_.send(repo.domain, push_scope(repo), std::move(req)));
    if (resp.status != 201 && resp.status != 200)
      return Err(registry_error(resp.status, resp.body).context(what));
    Digest computed = sha256_of(bytes);
    if (auto reported = resp.headers.get("Docker-Content-Digest")) {
      Digest d = TRY_CTX(what + ": Docker-Content-Digest", parse_digest(trim(*reported)));
      if (d != computed)
        return Fail(ErrorCode::Internal, "{}: registry reports digest {}, the bytes have {}", what,
                    d.to_string(), computed.to_string());
    }
    return computed;
  }

 private:
  std::string repo_url(const oci::ImageReference& repo) const {
    return session_.base_url(repo.domain) + "/v2/" + repo.path;
  }
  static std::string pull_scope(const oci::ImageReference& repo) {
    return "repository:" + repo.path + ":pull";
  }
  static std::string push_scope(const oci::ImageReference& repo) {
    return "repository:" + repo.path + ":pull,push";
  }

  // One GET of a blob into writer, from writer.offset(). Returns the HTTP status; transport
  // failures are Unavailable errors (the caller retries, resuming).
  Result<int> download_once(const oci::ImageReference& repo, const Digest& digest, int64_t size,
                            ContentWriter& writer, const ProgressFn& progress) {
    int64_t offset = writer.offset();
    if (size >= 0 && offset == size) return 200;  // the ingest is whole; commit verifies it
    if (size >= 0 && offset > size) {
      TRY(writer.truncate());
      offset = 0;
    }
    http::Request req;
    req.url = repo_url(repo) + "/blobs/" + digest.to_string();
    if (offset > 0) req.range_from = offset;
    int64_t done = offset;
    int64_t reported = offset;
    req.on_response = [&](int status, const http::Headers& headers) -> Result<void> {
      if (offset > 0 && status == 200) {  // the server ignored our Range: start over
        TRY(writer.truncate());
        done = reported = 0;
      } else if (status == 206 && content_range_start(headers.get("Content-Range")) != offset) {
        return Fail(ErrorCode::Internal, "server answered a range request for byte {} with {}",
                    offset, headers.get("Content-Range").value_or("no Content-Range"));
      }
      if (progress) progress(done, size);
      return {};
    };
    http::BodySink sink = [&](std::string_view chunk) -> Result<void> {
      TRY(writer.write(chunk));
      done += static_cast<int64_t>(chunk.size());
      if (size >= 0 && done > size)
        return Fail(ErrorCode::InvalidArgument, "blob is larger than the {} bytes expected", size);
      if (progress && done - reported >= kProgressStep) {
        reported = done;
        progress(done, size);
      }
      return {};
    };
    http::Response resp = TRY(session_.send(repo.domain, pull_scope(repo), std::move(req), sink));
    if (progress && resp.status >= 200 && resp.status < 300 && done != reported) progress(done, size);
    return resp.status;
  }

  RegistrySession session_;
};

}  // namespace

std::string registry_host(const std::string& domain) {
  return domain == "docker.io" ? "registry-1.docker.io" : domain;
}

Result<std::unique_ptr<RegistryClient>> make_registry_client(RegistryOptions options) {
  return std::unique_ptr<RegistryClient>(std::make_unique<DistributionClient>(std::move(options)));
}

}  // namespace berth::image
