// A real registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1 with a
// free port and storage in a temp dir, optionally behind htpasswd basic auth; plus helpers that
// build small images (layers, config, manifest) in a content store.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "base/digest.h"
#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "image/content_store.h"
#include "image/http_client.h"
#include "image/registry_client.h"
#include "oci/image_reference.h"
#include "oci/image_spec.h"

namespace berth::image::testing {

inline constexpr const char* kRegistryBinary = "/usr/bin/docker-registry";

// A port nobody listens on right now (bound to 0 and released).
inline int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(s);
  return port;
}

// A memfd holding data, for push_blob.
inline UniqueFd memfd_with(std::string_view data) {
  UniqueFd fd(::memfd_create("blob", MFD_CLOEXEC));
  EXPECT_TRUE(write_all(fd.get(), data).has_value());
  return fd;
}

// A token server for the registry's `auth: token` mode: python3 signing RS256 JWTs with an
// openssl key whose self-signed certificate the registry trusts (sent as x5c). It requires
// Basic user:password, grants what the scope asks, and logs each request line.
inline constexpr const char* kTokenServer = R"PY(
import base64, json, subprocess, sys, time, http.server, urllib.parse
port, key, cert, issuer, log, user, pw = sys.argv[1:8]
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b'=').decode()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        with open(log, 'a') as f: f.write(self.path + '\n')
        want = 'Basic ' + base64.b64encode((user + ':' + pw).encode()).decode()
        if self.headers.get('Authorization') != want:
            return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
        access = []
        for s in q.get('scope', []):
            parts = s.split(':')
            access.append({"type": parts[0], "name": ':'.join(parts[1:-1]), "actions": parts[-1].split(',')})
        now = int(time.time())
        claims = {"iss": issuer, "sub": user, "aud": q.get('service', [''])[0], "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": str(time.time()), "access": access}
        header = {"typ": "JWT", "alg": "RS256", "x5c": [cert]}
        signing = b64(json.dumps(header).encode()) + '.' + b64(json.dumps(claims).encode())
        sig = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', key], input=signing.encode(),
                             capture_output=True, check=True).stdout
        self.reply(200, {"token": signing + '.' + b64(sig), "expires_in": 300})
http.server.HTTPServer(('127.0.0.1', int(port)), H).serve_forever()
)PY";

// A TCP proxy in front of the registry that cuts the first blob download after a number of
// bytes sent to the client (a dropped connection), and logs each request's first bytes.
inline constexpr const char* kFlakyProxy = R"PY(
import socket, sys, threading
port, upstream, cut, log = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cut_done = [False]
def pump(src, dst, limit):
    sent = 0
    try:
        while True:
            data = src.recv(65536)
            if not data: break
            if limit is not None and sent + len(data) > limit:
                dst.sendall(data[:limit - sent]); break
            dst.sendall(data); sent += len(data)
    except OSError: pass
    for s in (src, dst):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def serve(client):
    first = client.recv(65536)
    if not first: return client.close()
    up = socket.create_connection(('127.0.0.1', upstream))
    with open(log, 'a') as f: f.write(first.decode('latin1') + '\n----\n')
    cutting = first.startswith(b'GET ') and b'/blobs/' in first and not cut_done[0]
    if cutting: cut_done[0] = True
    up.sendall(first)
    threading.Thread(target=pump, args=(client, up, None), daemon=True).start()
    pump(up, client, cut if cutting else None)
lsock = socket.socket(); lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(('127.0.0.1', port)); lsock.listen(16)
while True:
    c, _ = lsock.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
)PY";

class RegistryFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-registry-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = open_local_content_store(dir_ + "/content");
    ASSERT_TRUE(store.has_value()) << store.error().what();
    content_ = std::move(*store);
  }

  void TearDown() override {
    for (ChildProcess* p : {&registry_, &token_server_, &proxy_}) {
      if (p->pid() <= 0) continue;
      ::kill(p->pid(), SIGTERM);
      (void)p->wait(std::chrono::milliseconds(5000));
    }
    content_.reset();
    (void)remove_all(dir_);
  }

  // Waits until url answers any HTTP status; fails the test after 15 s.
  void wait_for_http(const std::string& url, const std::string& log) {
    http::Client client(http::ClientOptions{});
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      http::Request req;
      req.url = url;
      if (client.send(req)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << url << " did not answer: " << read_file(log).value_or("");
  }

  // Starts a token server and a registry that trusts its tokens (`auth: token`); the token
  // server hands out tokens to user:password only.
  void start_token_registry(const std::string& user, const std::string& password) {
    if (::access("/usr/bin/openssl", X_OK) != 0) GTEST_SKIP() << "openssl is not installed";
    auto python = run_capture({"sh", "-c", "command -v python3"});
    if (!python || python->empty()) GTEST_SKIP() << "python3 is not installed";
    auto cert = run_capture(
        {"sh", "-c",
         "cd " + dir_ + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout token.key "
         "-out token.crt -days 2 -subj /CN=berth-token 2>/dev/null && "
         "openssl x509 -in token.crt -outform DER | base64 -w0"});
    ASSERT_TRUE(cert.has_value()) << cert.error().what();
    ASSERT_TRUE(write_file(dir_ + "/token_server.py", kTokenServer).has_value());
    token_port_ = free_port();
    auto log = open_fd(dir_ + "/token.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_TRUE(log.has_value());
    SpawnOptions opts;
    opts.argv = {std::string(trim(*python)), dir_ + "/token_server.py", std::to_string(token_port_),
                 dir_ + "/token.key", *cert, "berth-issuer", token_requests_path(), user, password};
    opts.stdout_fd = log->get();
    opts.stderr_fd = log->get();
    auto child = spawn(opts);
    ASSERT_TRUE(child.has_value()) << child.error().what();
    token_server_ = std::move(*child);
    ASSERT_NO_FATAL_FAILURE(wait_for_http(token_realm(), dir_ + "/token.log"));
    ASSERT_TRUE(write_file(token_requests_path(), "").has_value());
    start_registry("", "",
                   "auth:\n  token:\n    realm: " + token_realm() +
                       "\n    service: berth-registry\n    issuer: berth-issuer\n"
                       "    rootcertbundle: " + dir_ + "/token.crt\n");
  }
  // Starts kFlakyProxy in front of the running registry; returns its host:port.
  std::string start_flaky_proxy(int64_t cut_after) {
    auto python = run_capture({"sh", "-c", "command -v python3"});
    if (!python || python->empty()) return "";
    int port = free_port();
    EXPECT_TRUE(write_file(dir_ + "/proxy.py", kFlakyProxy).has_value());
    SpawnOptions opts;
    opts.argv = {std::string(trim(*python)), dir_ + "/proxy.py", std::to_string(port),
                 std::to_string(port_), std::to_string(cut_after), proxy_log_path()};
    auto child = spawn(opts);
    EXPECT_TRUE(child.has_value());
    if (!child) return "";
    proxy_ = std::move(*child);
    std::string hostport = "127.0.0.1:" + std::to_string(port);
    for (int i = 0; i < 300; ++i) {  // wait until it accepts
      int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(port));
      bool up = ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
      ::close(s);
      if (up) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    (void)write_file(proxy_log_path(), "");  // forget the probe connections
    return hostport;
  }
  std::string proxy_log_path() const { return dir_ + "/proxy.log"; }

  std::string token_realm() const { return "http://127.0.0.1:" + std::to_string(token_port_) + "/token"; }
  std::string token_requests_path() const { return dir_ + "/token-requests.log"; }

  // Starts the registry; with a user, behind htpasswd basic auth for user:password; auth_yaml
  // replaces the auth section.
  void start_registry(const std::string& user = "", const std::string& password = "",
                      const std::string& auth_yaml = "") {
    if (::access(kRegistryBinary, X_OK) != 0) GTEST_SKIP() << kRegistryBinary << " is not installed";
    port_ = free_port();
    ASSERT_GT(port_, 0);
    std::string config = "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                         "storage:\n  filesystem:\n    rootdirectory: " + storage_dir() +
                         "\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:" +
                         std::to_string(port_) + "\n" + http_extra_yaml_;
    if (!user.empty()) {
      auto line = run_capture({"htpasswd", "-Bbn", user, password});
      ASSERT_TRUE(line.has_value()) << line.error().what();
      ASSERT_TRUE(write_file(dir_ + "/htpasswd", *line).has_value());
      config += "auth:\n  htpasswd:\n    realm: berth-test\n    path: " + dir_ + "/htpasswd\n";
    }
    config += auth_yaml;
    ASSERT_TRUE(write_file(dir_ + "/config.yml", config).has_value());
    auto log = open_fd(dir_ + "/registry.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_TRUE(log.has_value());
    SpawnOptions opts;
    opts.argv = {kRegistryBinary, "serve", dir_ + "/config.yml"};
    opts.stdout_fd = log->get();
    opts.stderr_fd = log->get();
    auto child = spawn(opts);
    ASSERT_TRUE(child.has_value()) << child.error().what();
    registry_ = std::move(*child);
    ASSERT_NO_FATAL_FAILURE(wait_for_http("http://" + host() + "/v2/", dir_ + "/registry.log"));
  }

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string storage_dir() const { return dir_ + "/registry-storage"; }
  // Where the registry keeps a blob's bytes.
  std::string registry_blob_path(const Digest& d) const {
    return storage_dir() + "/docker/registry/v2/blobs/sha256/" + d.hex.substr(0, 2) + "/" + d.hex + "/data";
  }
  oci::ImageReference ref(const std::string& path, const std::string& tag = "1") const {
    return oci::ImageReference{host(), path, tag, ""};
  }

  std::unique_ptr<RegistryClient> client(std::optional<AuthConfig> creds = std::nullopt) {
    RegistryOptions opts;
    if (creds) opts.credentials = [creds](const std::string&) { return creds; };
    opts.timeout_seconds = 10;
    auto c = make_registry_client(std::move(opts));
    EXPECT_TRUE(c.has_value());
    return std::move(*c);
  }

  std::string dir_;
  int port_ = 0;
  int token_port_ = 0;
  std::string http_extra_yaml_;  // appended to the http: section (e.g. tls:)
  ChildProcess registry_;
  ChildProcess token_server_;
  ChildProcess proxy_;
  std::unique_ptr<ContentStore> content_;
};

// An image whose blobs are in a content store.
struct TestImage {
  oci::Descriptor manifest;
  oci::Descriptor config;
  std::vector<oci::Descriptor> layers;
  std::string manifest_bytes;
};

inline oci::Descriptor put_blob(ContentStore& store, std::string_view data, std::string_view media_type) {
  auto info = store.put(data);
  EXPECT_TRUE(info.has_value()) << info.error().what();
  oci::Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = info ? info->digest : Digest{};
  d.size = static_cast<int64_t>(data.size());
  return d;
}

// Builds an OCI image for platform with one layer per entry of layers (bytes need not be a
// real tar: registries do not look inside).
inline TestImage make_image(ContentStore& store, const oci::Platform& platform,
                            const std::vector<std::string>& layers) {
  TestImage img;
  nlohmann::json diff_ids = nlohmann::json::array();
  for (const auto& l : layers) {
    img.layers.push_back(put_blob(store, l, oci::media_type::kOciLayer));
    diff_ids.push_back(sha256_of(l).to_string());
  }
  nlohmann::json config = {{"architecture", platform.architecture},
                           {"os", platform.os},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
                           {"config", {{"Cmd", {"/bin/sh"}}}}};
  if (!platform.variant.empty()) config["variant"] = platform.variant;
  img.config = put_blob(store, config.dump(), oci::media_type::kOciConfig);
  nlohmann::json layer_json = nlohmann::json::array();
  for (const auto& l : img.layers)
    layer_json.push_back({{"mediaType", l.media_type}, {"digest", l.digest.to_string()}, {"size", l.size}});
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", oci::media_type::kOciManifest},
      {"config", {{"mediaType", img.config.media_type}, {"digest", img.config.digest.to_string()}, {"size", img.config.size}}},
      {"layers", layer_json}};
  img.manifest_bytes = manifest.dump();
  img.manifest = put_blob(store, img.manifest_bytes, oci::media_type::kOciManifest);
  return img;
}

}  // namespace berth::image::testing
