// bld login [-u USER] [--password-stdin | -p PASS] REGISTRY and bld logout REGISTRY:
// credentials in auth.json (see registry/auth.h for where).
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "base/file.h"
#include "cli/commands.h"
#include "cli/registry_flags.h"
#include "registry/auth.h"

namespace bld::cli {

namespace {

struct LoginFlags {
  std::string username;
  std::string password;
  bool password_stdin = false;
  bool tls_verify = true;
  std::string registry;
};

// Reads a line from the terminal, without echo when `secret`.
Result<std::string> Prompt(const std::string& what, bool secret) {
  std::fprintf(stderr, "%s: ", what.c_str());
  std::fflush(stderr);
  termios old{};
  bool restore = false;
  if (secret && ::tcgetattr(STDIN_FILENO, &old) == 0) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    restore = ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
  }
  std::string line;
  bool ok = static_cast<bool>(std::getline(std::cin, line));
  if (restore) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
  }
  if (!ok) return InvalidArgumentError("no " + what + " given");
  return line;
}

int Login(const LoginFlags& f) {
  if (f.password_stdin && !f.password.empty()) {
    return ReportError(InvalidArgumentError("--password and --password-stdin are exclusive"));
  }
  const bool tty = ::isatty(STDIN_FILENO) != 0;
  registry::Credentials creds;
  creds.username = f.username;
  if (creds.username.empty()) {
    if (!tty || f.password_stdin) {
      return ReportError(
          InvalidArgumentError("login " + f.registry + ": give the user name with -u"));
    }
    auto u = Prompt("Username", false);
    if (!u.ok()) return ReportError(u.error());
    creds.username = *u;
  }
  if (f.password_stdin) {
    auto in = ReadFd(STDIN_FILENO);
    if (!in.ok()) return ReportError(in.error().Wrap("read password from stdin"));
    creds.password = *in;
    while (!creds.password.empty() &&
           (creds.password.back() == '\n' || creds.password.back() == '\r')) {
      creds.password.pop_back();
    }
  } else if (!f.password.empty()) {
    creds.password = f.password;
  } else if (tty) {
    auto p = Prompt("Password", true);
    if (!p.ok()) return ReportError(p.error());
    creds.password = *p;
  } else {
    return ReportError(InvalidArgumentError("login " + f.registry +
                                            ": give the password with --password-stdin or -p"));
  }
  if (creds.password.empty()) {
    return ReportError(InvalidArgumentError("login " + f.registry + ": empty password"));
  }
  const std::string key = registry::NormalizeRegistryKey(f.registry);
  auto client = MakeRegistryClient(key, f.tls_verify, creds);
  if (!client.ok()) return ReportError(client.error());
  Status s = (*client)->CheckLogin();
  if (!s.ok()) return ReportError(s.error().Wrap("login " + key));
  s = registry::StoreCredentials(key, creds);
  if (!s.ok()) return ReportError(s.error().Wrap("login " + key));
  std::printf("Login Succeeded\n");
  return kExitOk;
}

int Logout(const std::string& registry_name) {
  const std::string key = registry::NormalizeRegistryKey(registry_name);
  Status s = registry::EraseCredentials(key);
  if (!s.ok()) return ReportError(s.error().Wrap("logout"));
  std::printf("Removed login credentials for %s\n", key.c_str());
  return kExitOk;
}

}  // namespace

Command MakeLoginCommand() {
  return {"login", "Log in to a registry", [](CLI::App* app, const GlobalOptions*) {
            auto f = std::make_shared<LoginFlags>();
            app->add_option("-u,--username", f->username, "User name");
            app->add_option("-p,--password", f->password,
                            "Password (visible to other users; prefer --password-stdin)");
            app->add_flag("--password-stdin", f->password_stdin, "Read the password from stdin");
            AddTlsVerifyFlag(app, &f->tls_verify);
            app->add_option("REGISTRY", f->registry, "Registry host[:port]")->required();
            return [f]() { return Login(*f); };
          }};
}

Command MakeLogoutCommand() {
  return {"logout", "Remove a registry's stored credentials",
          [](CLI::App* app, const GlobalOptions*) {
            auto r = std::make_shared<std::string>();
            app->add_option("REGISTRY", *r, "Registry host[:port]")->required();
            return [r]() { return Logout(*r); };
          }};
}

}  // namespace bld::cli
