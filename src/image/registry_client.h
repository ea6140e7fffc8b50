// A client for the OCI distribution API (and Docker Hub's conventions): manifests and blobs,
// pull and push, with bearer-token and basic authentication.
//
// HTTP and TLS come from Boost.Beast over OpenSSL (see docs/design/images.md for why not
// libcurl). Registries on loopback addresses are spoken to over plain HTTP, as Docker does;
// others over HTTPS unless listed as insecure. Every method is safe to call from several
// threads at once (each call uses its own connection); progress callbacks run on the calling
// thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/error.h"
#include "image/content_store.h"
#include "oci/image_reference.h"

namespace berth::image {

// Credentials for one registry, as `docker login` stores them.
struct AuthConfig {
  std::string username;
  std::string password;
  std::string identity_token;  // OAuth refresh token, when the registry issued one
};

// Looks up credentials for a registry host ("docker.io", "localhost:5000"); nullopt for none.
using CredentialLookup = std::function<std::optional<AuthConfig>(const std::string& registry)>;

struct RegistryOptions {
  CredentialLookup credentials;
  std::vector<std::string> insecure_registries;  // hosts spoken to over plain HTTP
  std::string user_agent = "berth";
  int timeout_seconds = 60;
};

struct FetchedManifest {
  std::string media_type;
  std::string bytes;
  Digest digest;  // of bytes; verified against the reference's digest when it had one
};

// Progress of one blob transfer; total is -1 when unknown.
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

class RegistryClient {
 public:
  virtual ~RegistryClient() = default;

  // GET /v2/ with credentials; Unauthenticated registries succeed. PermissionDenied on 401.
  virtual Result<void> ping(const std::string& registry) = 0;
  // The manifest or index a tag or digest names (reference: tag or "sha256:..."), accepting
  // OCI and Docker schema2 media types. NotFound for an unknown name, tag or digest.
  virtual Result<FetchedManifest> get_manifest(const oci::ImageReference& repo,
                                               const std::string& reference) = 0;
  // Downloads a blob into writer, resuming at writer.offset() with a Range request, verified
  // and committed against digest and size.
  virtual Result<BlobInfo> fetch_blob(const oci::ImageReference& repo, const Digest& digest,
                                      int64_t size, ContentWriter& writer,
                                      const ProgressFn& progress) = 0;
  virtual Result<bool> blob_exists(const oci::ImageReference& repo, const Digest& digest) = 0;
  // Uploads a blob from fd (monolithic POST+PUT), unless it already exists.
  virtual Result<void> push_blob(const oci::ImageReference& repo, const Digest& digest,
                                 int64_t size, int fd, const ProgressFn& progress) = 0;
  // PUT a manifest under a tag or its digest; returns the digest the registry reports.
  virtual Result<Digest> put_manifest(const oci::ImageReference& repo,
                                      const std::string& reference,
                                      const std::string& media_type,
                                      const std::string& bytes) = 0;
};

Result<std::unique_ptr<RegistryClient>> make_registry_client(RegistryOptions options);

// The host to contact for a reference's domain: docker.io is registry-1.docker.io.
std::string registry_host(const std::string& domain);

}  // namespace berth::image
