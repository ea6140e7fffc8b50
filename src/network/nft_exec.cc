#include "network/nft_exec.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "base/unique_fd.h"

extern char** environ;

namespace berth::network {
namespace {

// nft gets a minute: a batch is a few dozen rules, so more means the kernel or nft is stuck.
constexpr std::chrono::milliseconds kNftTimeout{60'000};

// An anonymous in-memory file. nft reads `-f -` by opening /dev/stdin again, which works on a
// memfd (a pipe would too, but feeding one needs a poll loop and care with SIGPIPE).
Result<UniqueFd> memfd(const char* name) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) return FailErrno(errno, "memfd_create {}", name);
  return fd;
}

Result<std::string> read_back(int fd) {
  if (::lseek(fd, 0, SEEK_SET) < 0) return FailErrno(errno, "lseek");
  return read_all(fd);
}

// Messages in the C locale, so the error categories below can be recognised.
std::vector<std::string> c_locale_env() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view v(*e);
    if (starts_with(v, "LC_ALL=") || starts_with(v, "LANG=") || starts_with(v, "LANGUAGE="))
      continue;
    env.emplace_back(v);
  }
  env.emplace_back("LC_ALL=C");
  return env;
}

ErrorCode code_for_nft_message(std::string_view text) {
  if (text.find("No such file or directory") != std::string_view::npos) return ErrorCode::NotFound;
  if (text.find("Operation not permitted") != std::string_view::npos)
    return ErrorCode::PermissionDenied;
  if (text.find("File exists") != std::string_view::npos) return ErrorCode::AlreadyExists;
  return ErrorCode::Internal;
}

std::string collapse_whitespace(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : trim(s)) {
    bool ws = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (ws) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string summarize_nft_error(std::string_view text) {
  std::vector<std::string> lines = split(text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    auto at = lines[i].find("Error: ");
    if (at == std::string::npos) continue;
    std::string message(trim(std::string_view(lines[i]).substr(at)));
    if (i + 1 < lines.size()) {
      std::string_view command = trim(lines[i + 1]);
      if (!command.empty() && command.find_first_not_of('^') != std::string_view::npos)
        return fmt::format("{}: {}", command, message);
    }
    return message;
  }
  std::string all = collapse_whitespace(text);
  return all.empty() ? "no message" : all;
}

Result<std::string> run_nft(const std::string& nft_path, const std::vector<std::string>& args,
                            std::string_view input) {
  UniqueFd in = TRY(memfd("nft-stdin"));
  UniqueFd out = TRY(memfd("nft-stdout"));
  UniqueFd err = TRY(memfd("nft-stderr"));
  TRY(write_all(in.get(), input));
  if (::lseek(in.get(), 0, SEEK_SET) < 0) return FailErrno(errno, "lseek");

  SpawnOptions opts;
  opts.path = nft_path;
  opts.argv.push_back("nft");
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.env = c_locale_env();
  opts.stdin_fd = in.get();
  opts.stdout_fd = out.get();
  opts.stderr_fd = err.get();
  std::string what = fmt::format("nft {}", join(args, " "));
  ChildProcess child = TRY_CTX(what, spawn(opts));
  int status = TRY_CTX(what, child.wait(kNftTimeout));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return read_back(out.get());

  std::string err_text = TRY(read_back(err.get()));
  if (err_text.empty())
    return Fail(ErrorCode::Internal, "{}: exited with code {}", what,
                exit_code_from_status(status));
  return Err(Error(code_for_nft_message(err_text), "nft: " + summarize_nft_error(err_text)));
}

Result<void> nft_apply(const std::string& nft_path, std::string_view batch) {
  TRY(run_nft(nft_path, {"-f", "-"}, batch));
  return {};
}

}  // namespace berth::network
