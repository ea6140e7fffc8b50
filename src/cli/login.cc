// berth login | logout, with Docker's flags and messages.
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "base/strings.h"
#include "cli/engine_cli.h"
#include "engine/registry_login.h"

namespace berth::cli {
namespace {

struct LoginFlags {
  std::string server;
  std::string username;
  std::string password;
  bool password_stdin = false;
};

std::string prompt(const std::string& label, bool secret) {
  std::cerr << label << std::flush;
  termios old{};
  bool tty = ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (secret && tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (secret && tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  return line;
}

void run_login(EngineGlobals& g, LoginFlags flags) {
  if (!flags.password.empty() && flags.password_stdin)
    return fail(g, "--password and --password-stdin are mutually exclusive");
  if (flags.password_stdin) {
    if (flags.username.empty()) return fail(g, "Must provide --username with --password-stdin");
    std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    while (!all.empty() && (all.back() == '\n' || all.back() == '\r')) all.pop_back();
    flags.password = all;
  } else if (!flags.password.empty()) {
    std::cerr << "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n";
  }
  if (flags.username.empty()) flags.username = std::string(trim(prompt("Username: ", false)));
  if (flags.password.empty()) flags.password = prompt("Password: ", true);
  if (flags.username.empty()) return fail(g, "Username is required");
  if (flags.password.empty()) return fail(g, "Password is required");
  auto r = engine::login(g.options, flags.server, {flags.username, flags.password, ""});
  if (!r) return fail(g, r.error());
  std::cout << "Login Succeeded\n";
}

}  // namespace

void add_login(CLI::App& app, EngineGlobals& g) {
  auto* login = app.add_subcommand("login", "Log in to a registry");
  auto flags = std::make_shared<LoginFlags>();
  login->add_option("server", flags->server, "registry (default Docker Hub)");
  login->add_option("-u,--username", flags->username, "username");
  login->add_option("-p,--password", flags->password, "password (insecure: use --password-stdin)");
  login->add_flag("--password-stdin", flags->password_stdin, "take the password from stdin");
  login->callback([&g, flags] { run_login(g, *flags); });

  auto* logout = app.add_subcommand("logout", "Log out from a registry");
  auto server = std::make_shared<std::string>();
  logout->add_option("server", *server, "registry (default Docker Hub)");
  logout->callback([&g, server] {
    std::string registry = engine::login_registry(*server);
    auto r = engine::logout(g.options, *server);
    if (!r && r.error().code() == ErrorCode::NotFound) {
      std::cout << "Not logged in to " << registry << "\n";
      return;
    }
    if (!r) return fail(g, r.error());
    std::cout << "Removing login credentials for " << registry << "\n";
  });
}

}  // namespace berth::cli
