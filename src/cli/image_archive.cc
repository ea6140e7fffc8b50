// berth load | save | import (and their `image` forms): archives on stdin/stdout or -i/-o.
#include <fcntl.h>
#include <unistd.h>

#include <iostream>

#include "base/fs.h"
#include "cli/engine_cli.h"
#include "cli/progress_display.h"

namespace berth::cli {
namespace {

struct LoadFlags {
  std::string input;
  bool quiet = false;
};

void run_load(EngineGlobals& g, const LoadFlags& flags) {
  UniqueFd file;
  int fd = STDIN_FILENO;
  if (!flags.input.empty()) {
    auto f = open_fd(flags.input, O_RDONLY | O_CLOEXEC);
    if (!f) return fail(g, f.error());
    file = std::move(*f);
    fd = file.get();
  } else if (::isatty(STDIN_FILENO)) {
    return fail(g, "requested load from stdin, but stdin is empty");
  }
  auto images = g.images();
  if (!images) return;
  ProgressDisplay display(flags.quiet || !::isatty(STDOUT_FILENO));
  auto r = images->load(fd, display.sink());
  display.finish();
  if (!r) return fail(g, r.error());
  for (const auto& img : *r) {
    if (img.names.empty()) std::cout << "Loaded image ID: " << img.id << "\n";
    for (const auto& n : img.names) std::cout << "Loaded image: " << n << "\n";
  }
}

void run_save(EngineGlobals& g, const std::vector<std::string>& names, const std::string& output) {
  UniqueFd file;
  int fd = STDOUT_FILENO;
  std::string tmp;
  if (!output.empty()) {
    tmp = output + ".berth-tmp";
    auto f = open_fd(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (!f) return fail(g, f.error());
    file = std::move(*f);
    fd = file.get();
  } else if (::isatty(STDOUT_FILENO)) {
    return fail(g, "cowardly refusing to save to a terminal. Use the -o flag or redirect");
  }
  auto images = g.images();
  if (!images) return;
  auto r = images->save(names, fd);
  if (!r) {
    if (!tmp.empty()) ::unlink(tmp.c_str());
    return fail(g, r.error());
  }
  if (!tmp.empty() && ::rename(tmp.c_str(), output.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return fail(g, SysError(errno, "rename " + tmp + " to " + output));
  }
}

void define_load(CLI::App* cmd, EngineGlobals& g) {
  auto flags = std::make_shared<LoadFlags>();
  cmd->add_option("-i,--input", flags->input, "read from a tar archive file instead of stdin");
  cmd->add_flag("-q,--quiet", flags->quiet, "suppress the load progress");
  cmd->callback([&g, flags] { run_load(g, *flags); });
}

void define_save(CLI::App* cmd, EngineGlobals& g) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto output = std::make_shared<std::string>();
  cmd->add_option("image", *names, "IMAGE [IMAGE...]")->required();
  cmd->add_option("-o,--output", *output, "write to a file instead of stdout");
  cmd->callback([&g, names, output] { run_save(g, *names, *output); });
}

void define_import(CLI::App* cmd, EngineGlobals& g) {
  auto file = std::make_shared<std::string>();
  auto request = std::make_shared<engine::ImportRequest>();
  cmd->add_option("file", *file, "file (or - for stdin) holding a root filesystem tarball")->required();
  cmd->add_option("reference", request->reference, "REPOSITORY[:TAG]");
  cmd->add_option("-c,--change", request->changes, "apply a Dockerfile instruction to the image")
      ->allow_extra_args(false);
  cmd->add_option("-m,--message", request->message, "commit message for the imported image");
  cmd->add_option("--platform", request->platform, "set the platform (os[/arch[/variant]])");
  cmd->callback([&g, file, request] {
    if (file->find("://") != std::string::npos) return fail(g, "import from a URL is not supported: " + *file);
    UniqueFd in;
    int fd = STDIN_FILENO;
    if (*file != "-") {
      auto f = open_fd(*file, O_RDONLY | O_CLOEXEC);
      if (!f) return fail(g, f.error());
      in = std::move(*f);
      fd = in.get();
    }
    auto images = g.images();
    if (!images) return;
    auto id = images->import(fd, *request);
    if (!id) return fail(g, id.error());
    std::cout << *id << "\n";
  });
}

}  // namespace

void add_load_save(CLI::App& app, CLI::App& image, EngineGlobals& g) {
  define_load(app.add_subcommand("load", "Load images from a tar archive or STDIN"), g);
  define_load(image.add_subcommand("load", "Load images from a tar archive or STDIN"), g);
  define_save(app.add_subcommand("save", "Save images to a tar archive (streamed to STDOUT by default)"), g);
  define_save(image.add_subcommand("save", "Save images to a tar archive (streamed to STDOUT by default)"), g);
}

void add_import(CLI::App& app, CLI::App& image, EngineGlobals& g) {
  define_import(app.add_subcommand("import", "Import a filesystem tarball to create an image"), g);
  define_import(image.add_subcommand("import", "Import a filesystem tarball to create an image"), g);
}

}  // namespace berth::cli
