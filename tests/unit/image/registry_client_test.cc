// The registry client against a real registry (docker-registry on loopback): blobs and
// manifests both ways, unknown names, basic auth, resumed downloads, corrupted blobs.
#include <fcntl.h>

#include <random>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "image/registry_client.h"
#include "registry_fixture.h"

namespace berth::image {
namespace {

using testing::memfd_with;
using testing::RegistryFixture;

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(gen());
  return out;
}

class RegistryClientTest : public RegistryFixture {
 protected:
  // Pushes data as a blob of repo; returns its digest.
  Digest push(RegistryClient& c, const oci::ImageReference& repo, const std::string& data) {
    Digest d = sha256_of(data);
    UniqueFd fd = memfd_with(data);
    auto r = c.push_blob(repo, d, static_cast<int64_t>(data.size()), fd.get(), nullptr);
    EXPECT_TRUE(r.has_value()) << r.error().what();
    return d;
  }
};

TEST_F(RegistryClientTest, PingAnonymousRegistry) {
  ASSERT_NO_FATAL_FAILURE(start_registry());
  auto c = client();
  auto r = c->ping(host());
  EXPECT_TRUE(r.has_value()) << r.error().what();
}

TEST_F(RegistryClientTest, PushBlobAndManifestThenPullThemBack) {
  ASSERT_NO_FATAL_FAILURE(start_registry());
  auto c = client();
  auto repo = ref("app");
  testing::TestImage img = testing::make_image(*content_, oci::host_platform(), {random_bytes(300000, 1)});
  for (const auto& blob : {img.layers[0], img.config}) {
    auto fd = content_->open(blob.digest);
    ASSERT_TRUE(fd.has_value());
    auto r = c->push_blob(repo, blob.digest, blob.size, fd->get(), nullptr);
    ASSERT_TRUE(r.has_value()) << r.error().what();
    EXPECT_TRUE(c->blob_exists(repo, blob.digest).value_or(false));
  }
  auto pushed = c->put_manifest(repo, "1", img.manifest.media_type, img.manifest_bytes);
  ASSERT_TRUE(pushed.has_value()) << pushed.error().what();
  EXPECT_EQ(*pushed, img.manifest.digest);

  auto m = c->get_manifest(repo, "1");
  ASSERT_TRUE(m.has_value()) << m.error().what();
  EXPECT_EQ(m->bytes, img.manifest_bytes);
  EXPECT_EQ(m->media_type, oci::media_type::kOciManifest);
  EXPECT_EQ(m->digest, img.manifest.digest);
  auto by_digest = c->get_manifest(repo, img.manifest.digest.to_string());
  ASSERT_TRUE(by_digest.has_value()) << by_digest.error().what();

  // Download the layer into a second store and compare.
  auto other = open_local_content_store(dir_ + "/other");
  ASSERT_TRUE(other.has_value());
  auto w = (*other)->writer("pull-layer");
  ASSERT_TRUE(w.has_value());
  auto info = c->fetch_blob(repo, img.layers[0].digest, img.layers[0].size, **w, nullptr);
  ASSERT_TRUE(info.has_value()) << info.error().what();
  EXPECT_EQ((*other)->read(img.layers[0].digest).value_or(""), content_->read(img.layers[0].digest).value_or("x"));
}

TEST_F(RegistryClientTest, UnknownTagIsNotFoundWithTheRegistrysMessage) {
  ASSERT_NO_FATAL_FAILURE(start_registry());
  auto c = client();
  auto m = c->get_manifest(ref("nothing"), "1");
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code(), ErrorCode::NotFound) << m.error().what();
  EXPECT_NE(m.error().what().find("unknown"), std::string::npos) << m.error().what();
  auto exists = c->blob_exists(ref("nothing"), sha256_of("x"));
  ASSERT_TRUE(exists.has_value()) << exists.error().what();
  EXPECT_FALSE(*exists);
}

TEST_F(RegistryClientTest, ManifestFetchedByDigestIsVerified) {
  ASSERT_NO_FATAL_FAILURE(start_registry());
  auto c = client();
  auto repo = ref("app");
  testing::TestImage img = testing::make_image(*content_, oci::host_platform(), {"layer"});
  for (const auto& blob : {img.layers[0], img.config}) {
    auto fd = content_->open(blob.digest);
    ASSERT_TRUE(fd.has_value());
    ASSERT_TRUE(c->push_blob(repo, blob.digest, blob.size, fd->get(), nullptr).has_value());
  }
  ASSERT_TRUE(c->put_manifest(repo, "1", img.manifest.media_type, img.manifest_bytes).has_value());
  // The registry keeps manifests as blobs: change the stored bytes behind its back.
  std::string tampered = img.manifest_bytes;
  tampered.insert(tampered.size() - 1, " ");
  ASSERT_TRUE(write_file(registry_blob_path(img.manifest.digest), tampered).has_value());
  auto m = c->get_manifest(repo, img.manifest.digest.to_string());
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.error().what().find("digest mismatch"), std::string::npos) << m.error().what();
}

TEST_F(RegistryClientTest, BasicAuthNeedsTheRightCredentials) {
  ASSERT_NO_FATAL_FAILURE(start_registry("alice", "s3cret"));
  auto repo = ref("private");
  {
    auto anonymous = client();
    auto ping = anonymous->ping(host());
    ASSERT_FALSE(ping.has_value());
    EXPECT_EQ(ping.error().code(), ErrorCode::PermissionDenied) << ping.error().what();
    auto m = anonymous->get_manifest(repo, "1");
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error().code(), ErrorCode::PermissionDenied) << m.error().what();
    EXPECT_NE(m.error().what().find("unauthorized"), std::string::npos) << m.error().what();
  }
  {
    auto wrong = client(AuthConfig{"alice", "wrong", ""});
    auto m = wrong->get_manifest(repo, "1");
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error().code(), ErrorCode::PermissionDenied) << m.error().what();
  }
  auto right = client(AuthConfig{"alice", "s3cret", ""});
  EXPECT_TRUE(right->ping(host()).has_value());
  Digest d = push(*right, repo, "layer bytes");
  EXPECT_TRUE(right->blob_exists(repo, d).value_or(false));
  auto m = right->get_manifest(repo, "1");
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code(), ErrorCode::NotFound) << m.error().what();
}

TEST_F(RegistryClientTest, FetchResumesAnInterruptedDownloadWithARange) {
  ASSERT_NO_FATAL_FAILURE(start_registry());
  auto c = client();
  auto repo = ref("resume");
  std::string data = random_bytes(1 << 20, 7);
  Digest d = push(*c, repo, data);
  const size_t half = data.size() / 2;
  {
    auto w = content_->writer("pull-" + d.to_string());
    ASSERT_TRUE(w.has_value()) << w.error().what();
    ASSERT_TRUE((*w)->write(std::string_view(data).substr(0, half)).has_value());
  }  // the ingest stays for a resume
  auto w = content_->writer("pull-" + d.to_string());
  ASSERT_TRUE(w.has_value()) << w.error().what();
  ASSERT_EQ((*w)->offset(), static_cast<int64_t>(half));
  int64_t first = -1, last = -1;
  auto info = c->fetch_blob(repo, d, static_cast<int64_t>(data.size()), **w,
                            [&](int64_t done, int64_t total) {
                              if (first < 0) first = done;
                              last = done;
                              EXPECT_EQ(total, static_cast<int64_t>(data.size()));
                            });
  ASSERT_TRUE(info.has_value()) << info.error().what();
  EXPECT_EQ(first, static_cast<int64_t>(half));  // the download started at the offset
  EXPECT_EQ(last, static_cast<int64_t>(data.size()));
  EXPECT_EQ(content_->read(d, 2 << 20).value_or(""), data);
}

TEST_F(RegistryClientTest, CorruptedBlobFailsVerificationAndLeavesNothing) {
  ASSERT_NO_FATAL_FAILURE(start_registry());
  auto c = client();
  auto repo = ref("corrupt");
  std::string data = random_bytes(100000, 3);
  Digest d = push(*c, repo, data);
  std::string bad = data;
  bad[5000] ^= 0x55;
  std::string path = registry_blob_path(d);
  ASSERT_TRUE(path_exists(path)) << path;
  ASSERT_TRUE(write_file(path, bad).has_value());
  auto w = content_->writer("pull-" + d.to_string());
  ASSERT_TRUE(w.has_value());
  auto info = c->fetch_blob(repo, d, static_cast<int64_t>(data.size()), **w, nullptr);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code(), ErrorCode::InvalidArgument) << info.error().what();
  EXPECT_NE(info.error().what().find(d.to_string()), std::string::npos) << info.error().what();
  auto st = content_->stat(d);
  ASSERT_TRUE(st.has_value());
  EXPECT_FALSE(st->has_value());
}

TEST_F(RegistryClientTest, BearerTokensFromTheRealmAreFetchedAndCached) {
  ASSERT_NO_FATAL_FAILURE(start_token_registry("alice", "s3cret"));
  auto repo = ref("team/app");
  {
    auto anonymous = client();
    auto m = anonymous->get_manifest(repo, "1");
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error().code(), ErrorCode::PermissionDenied) << m.error().what();
    EXPECT_NE(m.error().what().find("fetch token from " + token_realm()), std::string::npos)
        << m.error().what();
  }
  ASSERT_TRUE(write_file(token_requests_path(), "").has_value());
  auto c = client(AuthConfig{"alice", "s3cret", ""});
  testing::TestImage img = testing::make_image(*content_, oci::host_platform(), {"layer"});
  for (const auto& blob : {img.layers[0], img.config}) {
    auto fd = content_->open(blob.digest);
    ASSERT_TRUE(fd.has_value());
    auto r = c->push_blob(repo, blob.digest, blob.size, fd->get(), nullptr);
    ASSERT_TRUE(r.has_value()) << r.error().what();
  }
  auto pushed = c->put_manifest(repo, "1", img.manifest.media_type, img.manifest_bytes);
  ASSERT_TRUE(pushed.has_value()) << pushed.error().what();
  auto m = c->get_manifest(repo, "1");
  ASSERT_TRUE(m.has_value()) << m.error().what();
  EXPECT_EQ(m->digest, img.manifest.digest);
  auto again = c->get_manifest(repo, "1");
  ASSERT_TRUE(again.has_value()) << again.error().what();
  // One token per scope, reused for the session's later requests.
  std::string log = read_file(token_requests_path()).value_or("");
  EXPECT_EQ(split(std::string(trim(log)), '\n').size(), 2u) << log;
  EXPECT_NE(log.find("scope=repository%3Ateam%2Fapp%3Apull%2Cpush"), std::string::npos) << log;
  EXPECT_NE(log.find("scope=repository%3Ateam%2Fapp%3Apull&"), std::string::npos) << log;
  EXPECT_NE(log.find("service=berth-registry"), std::string::npos) << log;
}

TEST_F(RegistryClientTest, HttpsVerifiesTheCertificate) {
  auto cert = run_capture({"sh", "-c",
                           "cd " + dir_ + " && openssl req -x509 -newkey rsa:2048 -nodes "
                           "-keyout tls.key -out tls.crt -days 2 -subj /CN=127.0.0.1 "
                           "-addext subjectAltName=IP:127.0.0.1 2>&1"});
  ASSERT_TRUE(cert.has_value()) << cert.error().what();
  http_extra_yaml_ = "  tls:\n    certificate: " + dir_ + "/tls.crt\n    key: " + dir_ + "/tls.key\n";
  ASSERT_NO_FATAL_FAILURE(start_registry());
  http::Client client(http::ClientOptions{});
  http::Request req;
  req.url = "https://" + host() + "/v2/";
  auto r = client.send(req);
  ASSERT_FALSE(r.has_value()) << "a self-signed certificate was accepted";
  EXPECT_EQ(r.error().code(), ErrorCode::Unavailable);
  EXPECT_NE(r.error().what().find("TLS handshake with https://" + host()), std::string::npos)
      << r.error().what();
  EXPECT_NE(r.error().what().find("certificate verify failed"), std::string::npos) << r.error().what();
}

TEST_F(RegistryClientTest, DroppedConnectionIsRetriedFromWhereItStopped) {
  ASSERT_NO_FATAL_FAILURE(start_registry());
  auto c = client();
  std::string data = random_bytes(1 << 20, 11);
  Digest d = push(*c, ref("flaky"), data);
  std::string proxy = start_flaky_proxy(300000);
  if (proxy.empty()) GTEST_SKIP() << "python3 is not installed";
  oci::ImageReference via_proxy{proxy, "flaky", "1", ""};
  auto w = content_->writer("pull-" + d.to_string());
  ASSERT_TRUE(w.has_value());
  auto info = c->fetch_blob(via_proxy, d, static_cast<int64_t>(data.size()), **w, nullptr);
  ASSERT_TRUE(info.has_value()) << info.error().what();
  EXPECT_EQ(content_->read(d, 2 << 20).value_or(""), data);
  std::string log = read_file(proxy_log_path()).value_or("");
  EXPECT_NE(log.find("Range: bytes="), std::string::npos) << log;  // the retry resumed
  EXPECT_EQ(log.find("Range: bytes=0-"), std::string::npos) << log;
}

TEST_F(RegistryClientTest, PlainHttpIsRefusedForRemoteHosts) {
  http::Client client(http::ClientOptions{});
  http::Request req;
  req.url = "http://registry.example.com/v2/";
  auto r = client.send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::PermissionDenied);
}

TEST(RegistryHost, DockerHubMapsToRegistry1) {
  EXPECT_EQ(registry_host("docker.io"), "registry-1.docker.io");
  EXPECT_EQ(registry_host("ghcr.io"), "ghcr.io");
  EXPECT_EQ(registry_host("localhost:5000"), "localhost:5000");
}

TEST(HttpUrl, ParsesAndResolves) {
  auto u = http::parse_url("http://[::1]:5000/v2/?x=1");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "5000");
  EXPECT_EQ(u->target, "/v2/?x=1");
  EXPECT_EQ(u->to_string(), "http://[::1]:5000/v2/?x=1");
  auto r = http::resolve_url(*u, "/v2/app/blobs/uploads/abc?_state=x");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->to_string(), "http://[::1]:5000/v2/app/blobs/uploads/abc?_state=x");
  auto other = http::resolve_url(*u, "https://s3.example.com/bucket/x");
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->authority(), "s3.example.com");
  EXPECT_FALSE(http::parse_url("ftp://x/").has_value());
  EXPECT_FALSE(http::parse_url("https://:443/").has_value());
  EXPECT_TRUE(http::is_loopback_host("127.0.0.1:5000"));
  EXPECT_TRUE(http::is_loopback_host("localhost"));
  EXPECT_TRUE(http::is_loopback_host("[::1]:5000"));
  EXPECT_FALSE(http::is_loopback_host("127.example.com"));
  EXPECT_FALSE(http::is_loopback_host("registry.local:5000"));
}

}  // namespace
}  // namespace berth::image
