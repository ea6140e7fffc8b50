// ADD of an http(s) URL: the body streamed to a temp file (0600, mtime from Last-Modified)
// while its sha256 is computed, checked against --checksum when given. Docker names the file
// after the URL's last path component.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include "base/fs.h"
#include "base/strings.h"
#include "build/build_internal.h"
#include "image/http_client.h"
#include "image/snapshot_store.h"

namespace berth::build::detail {
namespace {

// An HTTP date (RFC 7231: "Sun, 06 Nov 1994 08:49:37 GMT"); nullopt when it is not one.
std::optional<time_t> parse_http_date(const std::string& text) {
  struct tm tm = {};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end) return std::nullopt;
  return ::timegm(&tm);
}

}  // namespace

bool is_url_source(std::string_view source) {
  return starts_with(source, "http://") || starts_with(source, "https://");
}

std::string url_file_name(std::string_view url) {
  std::string_view rest = url.substr(url.find("://") + 3);
  auto slash = rest.find('/');
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  path = path.substr(0, path.find_first_of("?#"));
  std::string cleaned = go_clean(path.empty() ? "/" : std::string(path));
  std::string base = cleaned.substr(cleaned.rfind('/') + 1);
  return base.empty() || base == "." ? "__unnamed__" : base;
}

Download::~Download() {
  if (!dir.empty()) (void)remove_all(dir);
}

Result<std::unique_ptr<Download>> download_url(const std::string& url, const std::string& tmp_root,
                                               const std::string& checksum) {
  std::optional<Digest> expected;
  if (!checksum.empty()) expected = TRY_CTX("ADD --checksum=" + checksum, parse_digest(checksum));
  auto parsed = TRY_CTX("ADD " + url, image::http::parse_url(url));
  image::http::ClientOptions copts;
  // ADD speaks plain HTTP wherever the Dockerfile says http://.
  if (parsed.scheme == "http") copts.insecure_hosts = {parsed.host, parsed.authority()};
  copts.user_agent = "berth-build";
  image::http::Client client(copts);

  auto dl = std::make_unique<Download>();
  TRY(make_dirs(tmp_root, 0700));
  dl->dir = tmp_root + "/download-" + image::random_hex(8);
  TRY(make_dirs(dl->dir, 0700));
  dl->path = dl->dir + "/data";
  UniqueFd out(::open(dl->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return FailErrno(errno, "ADD {}: create {}", url, dl->path);
  Sha256 hash;
  image::http::Request req;
  req.url = url;
  req.on_response = [&](int, const image::http::Headers&) -> Result<void> {
    // A redirect may have restarted the body: start the file again.
    if (::ftruncate(out.get(), 0) != 0 || ::lseek(out.get(), 0, SEEK_SET) != 0)
      return FailErrno(errno, "ADD {}: truncate {}", url, dl->path);
    hash = Sha256();
    return {};
  };
  auto resp = client.send(req, [&](std::string_view chunk) -> Result<void> {
    hash.update(chunk);
    return write_all(out.get(), chunk);
  });
  if (!resp) return Err(resp.error().context("ADD " + url));
  if (resp->status < 200 || resp->status >= 300)
    return Fail(resp->status == 404 ? ErrorCode::NotFound : ErrorCode::Unavailable,
                "ADD {}: invalid response status {}", url, resp->status);
  dl->digest = hash.digest();
  if (expected && expected->to_string() != dl->digest.to_string())
    return Fail(ErrorCode::InvalidArgument, "ADD {}: checksum mismatch: expected {}, got {}", url,
                expected->to_string(), dl->digest.to_string());
  if (auto lm = resp->headers.get("Last-Modified")) {
    if (auto t = parse_http_date(*lm)) {
      struct timespec times[2] = {{*t, 0}, {*t, 0}};
      if (::futimens(out.get(), times) != 0) return FailErrno(errno, "ADD {}: set the mtime of {}", url, dl->path);
    }
  }
  if (::close(out.release()) != 0) return FailErrno(errno, "ADD {}: write {}", url, dl->path);
  return dl;
}

}  // namespace berth::build::detail
