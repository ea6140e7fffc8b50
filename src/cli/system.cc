// berth system df, and `berth image mount | unmount` (podman's verbs: a read-only view of an
// image's root filesystem).
#include <iostream>

#include "cli/engine_cli.h"
#include "cli/output.h"

namespace berth::cli {

void add_system(CLI::App& app, EngineGlobals& g) {
  auto* system = app.add_subcommand("system", "Manage berth");
  system->require_subcommand(1);
  auto* df = system->add_subcommand("df", "Show berth disk usage");
  auto format = std::make_shared<std::string>();
  df->add_option("--format", *format, "'table', 'json', or a Go template");
  df->callback([&g, format] {
    auto images = g.images();
    if (!images) return;
    auto du = images->disk_usage();
    if (!du) return fail(g, du.error());
    auto volumes = g.volumes();
    if (!volumes) return;
    auto vu = volumes->disk_usage();
    if (!vu) return fail(g, vu.error());
    auto percent = [](int64_t part, int64_t whole) {
      return whole > 0 ? fmt::format(" ({}%)", part * 100 / whole) : std::string();
    };
    std::vector<Row> rows;
    auto add = [&](const char* type, int64_t total, int64_t active, int64_t size, int64_t reclaimable) {
      Row r;
      r["Type"] = type;
      r["TotalCount"] = std::to_string(total);
      r["Active"] = std::to_string(active);
      r["Size"] = human_size(size);
      r["Reclaimable"] = human_size(reclaimable) + percent(reclaimable, size);
      rows.push_back(std::move(r));
    };
    add("Images", du->images, du->images_active, du->images_size, du->images_reclaimable);
    add("Containers", 0, 0, 0, 0);
    add("Local Volumes", vu->count, vu->active, vu->size, vu->reclaimable);
    add("Build Cache", 0, 0, 0, 0);
    auto out = render(rows, *format,
                      "table {{.Type}}\\t{{.TotalCount}}\\t{{.Active}}\\t{{.Size}}\\t{{.Reclaimable}}",
                      {{"TotalCount", "TOTAL"}});
    if (!out) return fail(g, out.error());
    std::cout << *out;
  });
}

void add_image_mount(CLI::App& image, EngineGlobals& g) {
  auto* mount = image.add_subcommand("mount", "Mount an image's root filesystem read-only and print where");
  auto name = std::make_shared<std::string>();
  mount->add_option("image", *name, "IMAGE")->required();
  mount->callback([&g, name] {
    auto images = g.images();
    if (!images) return;
    auto path = images->mount(*name);
    if (!path) return fail(g, path.error());
    std::cout << *path << "\n";
  });
  auto* unmount = image.add_subcommand("unmount", "Unmount an image mounted with `image mount`")->alias("umount");
  auto uname = std::make_shared<std::string>();
  unmount->add_option("image", *uname, "IMAGE")->required();
  unmount->callback([&g, uname] {
    auto images = g.images();
    if (!images) return;
    if (auto r = images->unmount(*uname); !r) fail(g, r.error());
  });
}

}  // namespace berth::cli
