// The OCI image model: parsing realistic index/manifest/config documents, error paths,
// canonical JSON round trips, media types, ChainIDs and platforms.
#include "oci/image_spec.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::oci {
namespace {

const std::string kAmd64 = "sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51";
const std::string kArm64 = "sha256:f69162950f235e3cdbbad33f1f912d1a504be90d8a37d002c735d6f3e3882265";
const std::string kConfig = "sha256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910";
const std::string kL1 = "sha256:2804bad6fe94a55f18b2b37e300919a5fd517b95aa81e95db574c0ba069a3740";
const std::string kL2 = "sha256:8a1cee436cbac1489a1883c9d886fcfc46f302c55ed4106ae31729e4f4eb9041";

// The shape of Docker Hub's busybox manifest list.
const std::string kBusyboxList = R"({
  "manifests": [
    {"digest": ")" + kAmd64 + R"(", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "amd64", "os": "linux"}, "size": 528},
    {"digest": "sha256:5b93ff5f5cd53074088b6155e5d584c4606f26fc75be9f3d0ca03a60e8d00d8c",
     "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v5"}, "size": 528},
    {"digest": "sha256:5ba6c8710dd1369ce61603ab9b7a81b25f92d4a9f74956ab72a7ea75884f07ee",
     "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}, "size": 528},
    {"digest": ")" + kArm64 + R"(", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}, "size": 528},
    {"digest": "sha256:f745a15153c4dacf0ea4bbf57265e73283941f8335939b33c693975315cf5916",
     "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "amd64", "os": "windows", "os.version": "10.0.17763.5329",
                  "os.features": ["win32k"]}, "size": 1154, "unknownMember": true}
  ],
  "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
  "schemaVersion": 2
})";

const std::string kSchema2Manifest = R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1457,
              "digest": ")" + kConfig + R"("},
   "layers": [
      {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2152262,
       "digest": ")" + kL1 + R"("}
   ]
})";

const std::string kOciManifestDoc = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": ")" + kConfig +
                                 R"(", "size": 7023},
  "layers": [
    {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ")" + kL1 +
                                 R"(", "size": 32654},
    {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": ")" + kL2 +
                                 R"(", "size": 16724, "urls": ["https://mirror.example/l2"],
     "annotations": {"org.opencontainers.image.title": "l2.tar.zst"}}
  ],
  "annotations": {"com.example.key1": "value1", "com.example.key2": "value2"}
})";

// A Docker image config as `docker build` writes it: nulls, healthcheck, history.
const std::string kDockerConfig = R"({
  "architecture": "amd64",
  "config": {
    "Hostname": "", "Domainname": "", "User": "app", "AttachStdin": false,
    "ExposedPorts": {"8080/tcp": {}, "53/udp": {}},
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"],
    "Cmd": ["serve", "--port", "8080"],
    "Healthcheck": {"Test": ["CMD-SHELL", "wget -q -O- localhost:8080/health || exit 1"],
                    "Interval": 30000000000, "Timeout": 5000000000, "StartPeriod": 10000000000,
                    "StartInterval": 1000000000, "Retries": 3},
    "ArgsEscaped": true,
    "Image": "sha256:0000",
    "Volumes": {"/data": {}, "/cache": {}},
    "WorkingDir": "/srv",
    "Entrypoint": null,
    "OnBuild": null,
    "Labels": {"org.opencontainers.image.source": "https://example.com/app", "maintainer": "me"},
    "StopSignal": "SIGQUIT",
    "Shell": ["/bin/sh", "-c"]
  },
  "container": "3d2a8b0f",
  "created": "2024-01-19T18:46:05.123456789Z",
  "docker_version": "20.10.23",
  "history": [
    {"created": "2024-01-17T21:49:12.25Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
    {"created": "2024-01-17T21:49:12.5Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]",
     "empty_layer": true},
    {"created": "2024-01-19T18:46:05Z", "created_by": "RUN /bin/sh -c make install # buildkit",
     "comment": "buildkit.dockerfile.v0", "author": "me"}
  ],
  "os": "linux",
  "rootfs": {"type": "layers", "diff_ids": [")" + kL1 + R"(", ")" + kL2 + R"("]}
})";

TEST(ParseIndex, BusyboxManifestList) {
  auto idx = parse_index(kBusyboxList);
  ASSERT_TRUE(idx.has_value()) << idx.error().what();
  EXPECT_EQ(idx->schema_version, 2);
  EXPECT_EQ(idx->media_type, media_type::kDockerManifestList);
  ASSERT_EQ(idx->manifests.size(), 5u);
  EXPECT_EQ(idx->manifests[0].digest.to_string(), kAmd64);
  EXPECT_EQ(idx->manifests[0].size, 528);
  ASSERT_TRUE(idx->manifests[3].platform.has_value());
  EXPECT_EQ(idx->manifests[3].platform->to_string(), "linux/arm64/v8");
  const Platform& win = *idx->manifests[4].platform;
  EXPECT_EQ(win.os, "windows");
  EXPECT_EQ(win.os_version, "10.0.17763.5329");
  EXPECT_EQ(win.os_features, std::vector<std::string>{"win32k"});
  auto mt = detect_manifest_media_type(kBusyboxList);
  ASSERT_TRUE(mt.has_value());
  EXPECT_EQ(*mt, media_type::kDockerManifestList);
  EXPECT_TRUE(is_index_media_type(*mt));
}

TEST(ParseManifest, DockerSchema2) {
  auto m = parse_manifest(kSchema2Manifest);
  ASSERT_TRUE(m.has_value()) << m.error().what();
  EXPECT_EQ(m->media_type, media_type::kDockerManifest);
  EXPECT_EQ(m->config.media_type, media_type::kDockerConfig);
  EXPECT_EQ(m->config.digest.to_string(), kConfig);
  EXPECT_EQ(m->config.size, 1457);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].size, 2152262);
  EXPECT_EQ(*layer_compression(m->layers[0].media_type), Compression::Gzip);
}

TEST(ParseManifest, Oci) {
  auto m = parse_manifest(kOciManifestDoc);
  ASSERT_TRUE(m.has_value()) << m.error().what();
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[1].urls, std::vector<std::string>{"https://mirror.example/l2"});
  EXPECT_EQ(m->layers[1].annotations.at("org.opencontainers.image.title"), "l2.tar.zst");
  EXPECT_EQ(m->annotations.size(), 2u);
  EXPECT_EQ(*layer_compression(m->layers[1].media_type), Compression::Zstd);
  EXPECT_EQ(*detect_manifest_media_type(kOciManifestDoc), media_type::kOciManifest);
}

TEST(ParseImageConfig, DockerBuildConfig) {
  auto c = parse_image_config(kDockerConfig);
  ASSERT_TRUE(c.has_value()) << c.error().what();
  EXPECT_EQ(c->architecture, "amd64");
  EXPECT_EQ(c->os, "linux");
  EXPECT_EQ(c->created, "2024-01-19T18:46:05.123456789Z");
  EXPECT_EQ(c->docker_version, "20.10.23");
  const ContainerConfig& cc = c->config;
  EXPECT_EQ(cc.user, "app");
  EXPECT_EQ(cc.exposed_ports, (std::vector<std::string>{"53/udp", "8080/tcp"}));
  EXPECT_EQ(cc.volumes, (std::vector<std::string>{"/cache", "/data"}));
  EXPECT_EQ(cc.env.size(), 2u);
  EXPECT_EQ(cc.cmd, (std::vector<std::string>{"serve", "--port", "8080"}));
  EXPECT_TRUE(cc.entrypoint.empty());  // null is absent
  EXPECT_TRUE(cc.on_build.empty());
  EXPECT_EQ(cc.working_dir, "/srv");
  EXPECT_EQ(cc.labels.at("maintainer"), "me");
  EXPECT_EQ(cc.stop_signal, "SIGQUIT");
  EXPECT_EQ(cc.shell, (std::vector<std::string>{"/bin/sh", "-c"}));
  EXPECT_TRUE(cc.args_escaped);
  ASSERT_TRUE(cc.healthcheck.has_value());
  EXPECT_EQ(cc.healthcheck->test.size(), 2u);
  EXPECT_EQ(cc.healthcheck->interval, 30000000000);
  EXPECT_EQ(cc.healthcheck->timeout, 5000000000);
  EXPECT_EQ(cc.healthcheck->start_period, 10000000000);
  EXPECT_EQ(cc.healthcheck->start_interval, 1000000000);
  EXPECT_EQ(cc.healthcheck->retries, 3);
  ASSERT_EQ(c->diff_ids.size(), 2u);
  EXPECT_EQ(c->diff_ids[1].to_string(), kL2);
  ASSERT_EQ(c->history.size(), 3u);
  EXPECT_TRUE(c->history[1].empty_layer);
  EXPECT_EQ(c->history[2].comment, "buildkit.dockerfile.v0");
  EXPECT_EQ(c->history[2].author, "me");
  EXPECT_EQ(c->platform().to_string(), "linux/amd64");
}

// parse(to_json(x)) == x, and to_json is a fixed point.
TEST(ImageJson, RoundTrips) {
  auto idx = *parse_index(kBusyboxList);
  auto idx2 = parse_index(to_json(idx));
  ASSERT_TRUE(idx2.has_value()) << idx2.error().what();
  EXPECT_EQ(*idx2, idx);
  EXPECT_EQ(to_json(*idx2), to_json(idx));

  for (const auto& doc : {kSchema2Manifest, kOciManifestDoc}) {
    auto m = *parse_manifest(doc);
    auto m2 = parse_manifest(to_json(m));
    ASSERT_TRUE(m2.has_value()) << m2.error().what();
    EXPECT_EQ(*m2, m);
  }

  auto c = *parse_image_config(kDockerConfig);
  std::string json = to_json(c);
  auto c2 = parse_image_config(json);
  ASSERT_TRUE(c2.has_value()) << c2.error().what();
  EXPECT_EQ(*c2, c);
  EXPECT_EQ(to_json(*c2), json);
  // Docker's member names, sets as objects of {}, no empty members, no whitespace.
  EXPECT_NE(json.find(R"("ExposedPorts":{"53/udp":{},"8080/tcp":{}})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("Volumes":{"/cache":{},"/data":{}})"), std::string::npos);
  EXPECT_EQ(json.find("Entrypoint"), std::string::npos);
  EXPECT_EQ(json.find("Image"), std::string::npos);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_EQ(json.rfind(R"({"created":"2024-01-19T18:46:05.123456789Z","architecture":"amd64",)", 0), 0u);
}

TEST(ImageJson, CanonicalManifest) {
  Manifest m;
  m.media_type = std::string(media_type::kOciManifest);
  m.config.media_type = std::string(media_type::kOciConfig);
  m.config.digest = *parse_digest(kConfig);
  m.config.size = 2;
  EXPECT_EQ(to_json(m), R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                        R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                            kConfig + R"(","size":2},"layers":[]})");
  ImageConfig c;
  c.architecture = "arm64";
  c.os = "linux";
  c.variant = "v8";
  EXPECT_EQ(to_json(c),
            R"({"architecture":"arm64","os":"linux","variant":"v8","config":{},)"
            R"("rootfs":{"type":"layers","diff_ids":[]}})");
  EXPECT_EQ(c.platform().to_string(), "linux/arm64/v8");
}

void expect_error(const Result<Manifest>& r, const std::string& message) {
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(r.error().what(), message);
}

TEST(ParseManifest, Errors) {
  std::string bad_digest = kOciManifestDoc;
  bad_digest.replace(bad_digest.find(kL2), kL2.size(), "sha256:zz");
  expect_error(parse_manifest(bad_digest),
               R"(layers[1].digest: invalid digest "sha256:zz": sha256 needs 64 hex digits)");
  expect_error(parse_manifest(R"({"schemaVersion":1,"config":{},"layers":[]})"),
               "schemaVersion: must be 2, got 1");
  expect_error(parse_manifest(R"({"schemaVersion":2,"layers":[]})"), "config: must be set");
  expect_error(parse_manifest(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")" + kConfig +
                              R"(","size":-1},"layers":[]})"),
               "config.size: must not be negative, got -1");
  expect_error(parse_manifest(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")" + kConfig +
                              R"(","size":1},"layers":{}})"),
               "layers: expected an array, got an object");
  expect_error(parse_manifest(R"({"schemaVersion":2,"config":{"mediaType":"x","size":1},"layers":[]})"),
               "config.digest: must be set");
  expect_error(parse_manifest(kBusyboxList),
               R"(mediaType: "application/vnd.docker.distribution.manifest.list.v2+json" is an image index, not a manifest)");
}

TEST(ParseManifest, RejectsIndexAndSyntaxErrors) {
  std::string as_index = kSchema2Manifest;
  std::string mt(media_type::kDockerManifest);
  as_index.replace(as_index.find(mt), mt.size(), std::string(media_type::kOciIndex));
  expect_error(parse_manifest(as_index),
               R"(mediaType: "application/vnd.oci.image.index.v1+json" is an image index, not a manifest)");
  expect_error(parse_manifest("[1]"), "parse image manifest: expected an object, got an array");
  auto r = parse_manifest("{\"schemaVersion\": 2,\n  \"config\": }");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().what().rfind("parse image manifest: line 2, column", 0), 0u) << r.error().what();
}

TEST(ParseIndex, Errors) {
  std::string as_manifest = kBusyboxList;
  std::string mt(media_type::kDockerManifestList);
  as_manifest.replace(as_manifest.find(mt), mt.size(), std::string(media_type::kOciManifest));
  auto r = parse_index(as_manifest);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().what(),
            R"(mediaType: "application/vnd.oci.image.manifest.v1+json" is an image manifest, not an index)");
  auto no_arch = parse_index(R"({"schemaVersion":2,"manifests":[{"mediaType":"m","digest":")" + kAmd64 +
                             R"(","size":1,"platform":{"os":"linux"}}]})");
  ASSERT_FALSE(no_arch.has_value());
  EXPECT_EQ(no_arch.error().what(), "manifests[0].platform.architecture: must be set");
  auto bad_os_version = parse_index(R"({"schemaVersion":2,"manifests":[{"mediaType":"m","digest":")" +
                                    kAmd64 + R"(","size":1,"platform":{"os":"linux","architecture":"amd64","os.version":3}}]})");
  ASSERT_FALSE(bad_os_version.has_value());
  EXPECT_EQ(bad_os_version.error().what(),
            R"(manifests[0].platform["os.version"]: expected a string, got 3)");
  auto missing = parse_index(R"({"schemaVersion":2})");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().what(), "manifests: must be set");
}

TEST(ParseImageConfig, Errors) {
  auto bad_type = parse_image_config(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"tar"}})");
  ASSERT_FALSE(bad_type.has_value());
  EXPECT_EQ(bad_type.error().what(), R"(rootfs.type: must be "layers", got "tar")");
  auto bad_diff = parse_image_config(
      R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:x"]}})");
  ASSERT_FALSE(bad_diff.has_value());
  EXPECT_EQ(bad_diff.error().what(),
            R"(rootfs.diff_ids[0]: invalid digest "sha256:x": sha256 needs 64 hex digits)");
  auto bad_port = parse_image_config(
      R"({"architecture":"amd64","os":"linux","config":{"ExposedPorts":["80/tcp"]},"rootfs":{"type":"layers"}})");
  ASSERT_FALSE(bad_port.has_value());
  EXPECT_EQ(bad_port.error().what(), "config.ExposedPorts: expected an object, got an array");
  auto bad_retries = parse_image_config(
      R"({"architecture":"amd64","os":"linux","config":{"Healthcheck":{"Retries":"3"}},"rootfs":{"type":"layers"}})");
  ASSERT_FALSE(bad_retries.has_value());
  EXPECT_EQ(bad_retries.error().what(),
            R"(config.Healthcheck.Retries: expected a signed 32-bit integer, got "3")");
  auto no_rootfs = parse_image_config(R"({"architecture":"amd64","os":"linux"})");
  ASSERT_FALSE(no_rootfs.has_value());
  EXPECT_EQ(no_rootfs.error().what(), "rootfs: must be set");
}

TEST(DetectMediaType, Shapes) {
  EXPECT_EQ(*detect_manifest_media_type(R"({"schemaVersion":2,"manifests":[]})"), media_type::kOciIndex);
  EXPECT_EQ(*detect_manifest_media_type(R"({"schemaVersion":2,"config":{},"layers":[]})"),
            media_type::kOciManifest);
  EXPECT_EQ(*detect_manifest_media_type(R"({"mediaType":null,"config":{}})"), media_type::kOciManifest);
  auto neither = detect_manifest_media_type(R"({"schemaVersion":2})");
  ASSERT_FALSE(neither.has_value());
  EXPECT_EQ(neither.error().what(),
            "cannot tell the manifest type: no mediaType, manifests or config member");
  auto wrong = detect_manifest_media_type(R"({"mediaType":7})");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().what(), "mediaType: expected a string, got 7");
  auto v1 = detect_manifest_media_type(R"({"schemaVersion":1,"fsLayers":[]})");
  ASSERT_FALSE(v1.has_value());
  EXPECT_NE(v1.error().what().find("schema 1"), std::string::npos);
  EXPECT_FALSE(detect_manifest_media_type("nope").has_value());
}

TEST(MediaTypes, Predicates) {
  using namespace media_type;
  EXPECT_TRUE(is_index_media_type(kOciIndex));
  EXPECT_TRUE(is_index_media_type(kDockerManifestList));
  EXPECT_FALSE(is_index_media_type(kOciManifest));
  EXPECT_TRUE(is_manifest_media_type(kOciManifest));
  EXPECT_TRUE(is_manifest_media_type(kDockerManifest));
  EXPECT_FALSE(is_manifest_media_type(kDockerManifestList));
  for (auto mt : {kOciLayer, kOciLayerGzip, kOciLayerZstd, kOciLayerNondistributableGzip, kDockerLayer,
                  kDockerLayerGzip, kDockerForeignLayerGzip})
    EXPECT_TRUE(is_layer_media_type(mt)) << mt;
  EXPECT_FALSE(is_layer_media_type(kOciConfig));
  EXPECT_EQ(*layer_compression(kOciLayer), Compression::None);
  EXPECT_EQ(*layer_compression(kDockerLayer), Compression::None);
  EXPECT_EQ(*layer_compression(kDockerForeignLayerGzip), Compression::Gzip);
  auto bad = layer_compression(kOciConfig);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().what(),
            R"(media type "application/vnd.oci.image.config.v1+json" is not a layer)");
}

TEST(ChainIds, KnownVector) {
  // Computed with: printf 'layer-a' | sha256sum; printf '%s %s' "$A" "$B" | sha256sum; ...
  Digest a = *parse_digest("sha256:589f0d58b9053a4ff7329b8fdb4f9dd120e29354c086ad0b3b10733f6cfd6de3");
  Digest b = *parse_digest("sha256:55fea2a37a9fc5963f1beccd0d162b856e6bd05ca07cdd3726847846ab740f0d");
  Digest c = *parse_digest("sha256:e6c65c655ca8172ab7a2b634dab3220a45472dd6571b6efd956ccc05e229a201");
  EXPECT_EQ(a, sha256_of("layer-a"));
  auto ids = chain_ids({a, b, c});
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], a);
  EXPECT_EQ(ids[1].to_string(),
            "sha256:267c5fd16af60e52927fabf0a36a31f3b5a2069347f7f00c7bd7f93f6ebc01f4");
  EXPECT_EQ(ids[2].to_string(),
            "sha256:82c0ed5f6c15be9b9180a8c04b9f2c676d74af6db13c711f5bb47a0fa43b56df");
  EXPECT_TRUE(chain_ids({}).empty());
}

TEST(Platforms, Parse) {
  auto arm64 = parse_platform("linux/arm64");
  ASSERT_TRUE(arm64.has_value()) << arm64.error().what();
  EXPECT_EQ(arm64->os, "linux");
  EXPECT_EQ(arm64->architecture, "arm64");
  EXPECT_EQ(arm64->variant, "v8");
  EXPECT_EQ(arm64->to_string(), "linux/arm64/v8");
  EXPECT_EQ(parse_platform("linux/amd64")->to_string(), "linux/amd64");
  EXPECT_EQ(parse_platform("linux/x86_64")->to_string(), "linux/amd64");
  EXPECT_EQ(parse_platform("Linux/AARCH64")->to_string(), "linux/arm64/v8");
  EXPECT_EQ(parse_platform("aarch64")->to_string(), "linux/arm64/v8");
  EXPECT_EQ(parse_platform("linux/arm")->to_string(), "linux/arm/v7");
  EXPECT_EQ(parse_platform("linux/arm/6")->to_string(), "linux/arm/v6");
  EXPECT_EQ(parse_platform("linux/armhf")->to_string(), "linux/arm/v7");
  EXPECT_EQ(parse_platform("linux/386")->to_string(), "linux/386");
  EXPECT_EQ(parse_platform("linux")->os, "linux");
  EXPECT_EQ(parse_platform("linux")->architecture, host_platform().architecture);
  EXPECT_EQ(parse_platform("windows/amd64")->os, "windows");
}

TEST(Platforms, ParseErrors) {
  auto expect = [](std::string_view text, const std::string& message) {
    auto r = parse_platform(text);
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(r.error().what(), message);
  };
  expect("linux/", R"(invalid platform "linux/": empty architecture)");
  expect("", R"(invalid platform "": empty)");
  expect("/amd64", R"(invalid platform "/amd64": empty operating system)");
  expect("linux/arm64/v8/x", R"(invalid platform "linux/arm64/v8/x": expected os[/arch[/variant]])");
  expect("linux/am d64",
         R"(invalid platform "linux/am d64": architecture "am d64" has characters other than letters, digits, '_' and '-')");
  expect("plan10", R"(invalid platform "plan10": unknown operating system or architecture)");
}

TEST(Platforms, HostAndMatching) {
  Platform host = host_platform();
  EXPECT_EQ(host.os, "linux");
  EXPECT_FALSE(host.architecture.empty());
  EXPECT_NE(host.architecture, "x86_64");
  EXPECT_NE(host.architecture, "aarch64");
  EXPECT_TRUE(platform_matches(host, host));

  Platform want = *parse_platform("linux/arm64");
  EXPECT_TRUE(platform_matches(want, {"arm64", "linux", "v8", "", {}}));
  EXPECT_TRUE(platform_matches(want, {"arm64", "linux", "", "", {}}));  // empty arm64 is v8
  EXPECT_FALSE(platform_matches(want, {"arm64", "linux", "v9", "", {}}));
  EXPECT_FALSE(platform_matches(want, {"amd64", "linux", "", "", {}}));
  EXPECT_FALSE(platform_matches(want, {"arm64", "windows", "v8", "", {}}));
  Platform amd64 = *parse_platform("linux/amd64");
  EXPECT_TRUE(platform_matches(amd64, {"amd64", "linux", "", "", {}}));
  EXPECT_TRUE(platform_matches(amd64, {"amd64", "linux", "v3", "", {}}));  // no variant wanted
  EXPECT_FALSE(platform_matches(*parse_platform("linux/arm/v7"), {"arm", "linux", "v6", "", {}}));

  // Selecting from the busybox list.
  auto idx = *parse_index(kBusyboxList);
  std::vector<std::string> picked;
  for (const auto& d : idx.manifests)
    if (d.platform && platform_matches(want, *d.platform)) picked.push_back(d.digest.to_string());
  EXPECT_EQ(picked, std::vector<std::string>{kArm64});
}

}  // namespace
}  // namespace berth::oci
