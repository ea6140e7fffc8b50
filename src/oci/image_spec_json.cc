// OCI / Docker schema2 image JSON <-> the image model: index, manifest, image config and
// descriptors; media-type predicates and ChainIDs. Unknown members are ignored; wrong types and
// bad values are errors naming the JSON path.
#include "oci/image_spec.h"

#include "oci/json_reader.h"

namespace berth {

// Found by argument-dependent lookup for Digest members (Digest lives in namespace berth).
static Result<void> read(const oci::jsonio::Json& j, const std::string& p, Digest& v) {
  std::string text;
  TRY(oci::jsonio::read(j, p, text));
  auto d = parse_digest(text);
  if (!d) return oci::jsonio::fail_at(p, "{}", d.error().message());
  v = std::move(*d);
  return {};
}

}  // namespace berth

namespace berth::oci {

using jsonio::Json;
using jsonio::ObjectReader;
using OJson = nlohmann::ordered_json;

bool is_index_media_type(std::string_view mt) {
  return mt == media_type::kOciIndex || mt == media_type::kDockerManifestList;
}

bool is_manifest_media_type(std::string_view mt) {
  return mt == media_type::kOciManifest || mt == media_type::kDockerManifest;
}

bool is_layer_media_type(std::string_view mt) { return layer_compression(mt).has_value(); }

Result<Compression> layer_compression(std::string_view mt) {
  using namespace media_type;
  if (mt == kOciLayer || mt == kDockerLayer || mt == "application/vnd.oci.image.layer.nondistributable.v1.tar")
    return Compression::None;
  if (mt == kOciLayerGzip || mt == kDockerLayerGzip || mt == kDockerForeignLayerGzip ||
      mt == kOciLayerNondistributableGzip)
    return Compression::Gzip;
  if (mt == kOciLayerZstd || mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd")
    return Compression::Zstd;
  return Fail(ErrorCode::InvalidArgument, "media type {} is not a layer", quote(mt));
}

std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> out;
  out.reserve(diff_ids.size());
  for (const auto& diff_id : diff_ids) {
    if (out.empty()) {
      out.push_back(diff_id);
    } else {
      out.push_back(sha256_of(out.back().to_string() + " " + diff_id.to_string()));
    }
  }
  return out;
}

// ---- reading ---------------------------------------------------------------------------------

namespace {

// The keys of a JSON object used as a set ({"80/tcp": {}}), read into a sorted vector.
struct KeySet {
  std::vector<std::string>& keys;
};

// schemaVersion, which must be 2.
struct SchemaVersion {
  int& value;
};

// A descriptor's size, which must not be negative.
struct Size {
  int64_t& value;
};

// rootfs: {"type": "layers", "diff_ids": [...]}.
struct RootFs {
  std::vector<Digest>& diff_ids;
};

Result<void> read(const Json& j, const std::string& p, KeySet& v) {
  if (!j.is_object()) return jsonio::type_error(p, "an object", j);
  v.keys.clear();
  for (auto it = j.begin(); it != j.end(); ++it) v.keys.push_back(it.key());
  return {};  // nlohmann's object is a std::map: keys arrive sorted and unique
}

Result<void> read(const Json& j, const std::string& p, SchemaVersion& v) {
  TRY(jsonio::read(j, p, v.value));
  if (v.value != 2) return jsonio::fail_at(p, "must be 2, got {}", v.value);
  return {};
}

Result<void> read(const Json& j, const std::string& p, Size& v) {
  TRY(jsonio::read(j, p, v.value));
  if (v.value < 0) return jsonio::fail_at(p, "must not be negative, got {}", v.value);
  return {};
}

Result<void> read(const Json& j, const std::string& p, RootFs& v) {
  std::string type;
  TRY(ObjectReader(j, p).required("type", type).field("diff_ids", v.diff_ids).done());
  if (type != "layers")
    return jsonio::fail_at(jsonio::member_path(p, "type"), "must be \"layers\", got {}",
                           quote(type));
  return {};
}

}  // namespace

static Result<void> read(const Json& j, const std::string& p, Platform& v) {
  return ObjectReader(j, p)
      .required("architecture", v.architecture)
      .required("os", v.os)
      .field("os.version", v.os_version)
      .field("os.features", v.os_features)
      .field("variant", v.variant)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Descriptor& v) {
  Size size{v.size};
  return ObjectReader(j, p)
      .required("mediaType", v.media_type)
      .required("digest", v.digest)
      .required("size", size)
      .field("urls", v.urls)
      .field("annotations", v.annotations)
      .field("platform", v.platform)
      .field("artifactType", v.artifact_type)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, HealthConfig& v) {
  return ObjectReader(j, p)
      .field("Test", v.test)
      .field("Interval", v.interval)
      .field("Timeout", v.timeout)
      .field("StartPeriod", v.start_period)
      .field("StartInterval", v.start_interval)
      .field("Retries", v.retries)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, ContainerConfig& v) {
  KeySet ports{v.exposed_ports};
  KeySet volumes{v.volumes};
  return ObjectReader(j, p)
      .field("User", v.user)
      .field("ExposedPorts", ports)
      .field("Env", v.env)
      .field("Entrypoint", v.entrypoint)
      .field("Cmd", v.cmd)
      .field("Volumes", volumes)
      .field("WorkingDir", v.working_dir)
      .field("Labels", v.labels)
      .field("StopSignal", v.stop_signal)
      .field("Healthcheck", v.healthcheck)
      .field("OnBuild", v.on_build)
      .field("Shell", v.shell)
      .field("ArgsEscaped", v.args_escaped)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, HistoryEntry& v) {
  return ObjectReader(j, p)
      .field("created", v.created)
      .field("created_by", v.created_by)
      .field("author", v.author)
      .field("comment", v.comment)
      .field("empty_layer", v.empty_layer)
      .done();
}

// The document's top level as an object, or an error naming what it is instead.
static Result<Json> parse_object(std::string_view json, std::string_view what) {
  Json j = TRY_CTX(fmt::format("parse {}", what), jsonio::parse_json(json));
  if (!j.is_object())
    return Fail(ErrorCode::InvalidArgument, "parse {}: expected an object, got {}", what,
                jsonio::describe(j));
  return j;
}

Result<Index> parse_index(std::string_view json) {
  Json j = TRY(parse_object(json, "image index"));
  Index v;
  // The media type first: a manifest passed as an index gets the clearest message.
  TRY(ObjectReader(j, "").field("mediaType", v.media_type).done());
  if (is_manifest_media_type(v.media_type))
    return jsonio::fail_at("mediaType", "{} is an image manifest, not an index",
                           quote(v.media_type));
  SchemaVersion schema{v.schema_version};
  TRY(ObjectReader(j, "")
          .required("schemaVersion", schema)
          .required("manifests", v.manifests)
          .field("annotations", v.annotations)
          .done());
  return v;
}

Result<Manifest> parse_manifest(std::string_view json) {
  Json j = TRY(parse_object(json, "image manifest"));
  Manifest v;
  TRY(ObjectReader(j, "").field("mediaType", v.media_type).done());
  if (is_index_media_type(v.media_type))
    return jsonio::fail_at("mediaType", "{} is an image index, not a manifest",
                           quote(v.media_type));
  SchemaVersion schema{v.schema_version};
  TRY(ObjectReader(j, "")
          .required("schemaVersion", schema)
          .required("config", v.config)
          .required("layers", v.layers)
          .field("annotations", v.annotations)
          .done());
  return v;
}

Result<ImageConfig> parse_image_config(std::string_view json) {
  Json j = TRY(parse_object(json, "image config"));
  ImageConfig v;
  RootFs rootfs{v.diff_ids};
  TRY(ObjectReader(j, "")
          .field("created", v.created)
          .field("author", v.author)
          .required("architecture", v.architecture)
          .required("os", v.os)
          .field("os.version", v.os_version)
          .field("variant", v.variant)
          .field("config", v.config)
          .required("rootfs", rootfs)
          .field("history", v.history)
          .field("comment", v.comment)
          .field("docker_version", v.docker_version)
          .done());
  return v;
}

Result<std::string> detect_manifest_media_type(std::string_view json) {
  Json j = TRY(parse_object(json, "manifest"));
  auto mt = j.find("mediaType");
  if (mt != j.end() && !mt->is_null()) {
    if (!mt->is_string()) return jsonio::type_error("mediaType", "a string", *mt);
    const auto& text = mt->get_ref<const std::string&>();
    if (!text.empty()) return text;
  }
  auto version = j.find("schemaVersion");
  if (version != j.end() && *version == 1)
    return Fail(ErrorCode::InvalidArgument,
                "Docker schema 1 manifests are not supported (deprecated since 2017)");
  if (j.contains("manifests")) return std::string(media_type::kOciIndex);
  if (j.contains("config")) return std::string(media_type::kOciManifest);
  return Fail(ErrorCode::InvalidArgument,
              "cannot tell the manifest type: no mediaType, manifests or config member");
}

// ---- writing ---------------------------------------------------------------------------------

namespace {

void put_nonempty(OJson& o, const char* key, const std::string& v) {
  if (!v.empty()) o[key] = v;
}

void put_nonempty(OJson& o, const char* key, const std::vector<std::string>& v) {
  if (!v.empty()) o[key] = v;
}

void put_nonempty(OJson& o, const char* key, const std::map<std::string, std::string>& v) {
  if (v.empty()) return;
  OJson m = OJson::object();
  for (const auto& [k, val] : v) m[k] = val;
  o[key] = std::move(m);
}

// {"a": {}, "b": {}}, as Docker writes ExposedPorts and Volumes.
void put_key_set(OJson& o, const char* key, const std::vector<std::string>& keys) {
  if (keys.empty()) return;
  OJson m = OJson::object();
  for (const auto& k : keys) m[k] = OJson::object();
  o[key] = std::move(m);
}

OJson write(const Platform& v) {
  OJson o = OJson::object();
  o["architecture"] = v.architecture;
  o["os"] = v.os;
  put_nonempty(o, "os.version", v.os_version);
  put_nonempty(o, "os.features", v.os_features);
  put_nonempty(o, "variant", v.variant);
  return o;
}

OJson write(const Descriptor& v) {
  OJson o = OJson::object();
  o["mediaType"] = v.media_type;
  o["digest"] = v.digest.to_string();
  o["size"] = v.size;
  put_nonempty(o, "urls", v.urls);
  put_nonempty(o, "annotations", v.annotations);
  if (v.platform) o["platform"] = write(*v.platform);
  put_nonempty(o, "artifactType", v.artifact_type);
  return o;
}

OJson write(const std::vector<Descriptor>& v) {
  OJson a = OJson::array();
  for (const auto& d : v) a.push_back(write(d));
  return a;
}

OJson write(const HealthConfig& v) {
  OJson o = OJson::object();
  put_nonempty(o, "Test", v.test);
  if (v.interval != 0) o["Interval"] = v.interval;
  if (v.timeout != 0) o["Timeout"] = v.timeout;
  if (v.start_period != 0) o["StartPeriod"] = v.start_period;
  if (v.start_interval != 0) o["StartInterval"] = v.start_interval;
  if (v.retries != 0) o["Retries"] = v.retries;
  return o;
}

// Docker's member order for container.Config.
OJson write(const ContainerConfig& v) {
  OJson o = OJson::object();
  put_nonempty(o, "User", v.user);
  put_key_set(o, "ExposedPorts", v.exposed_ports);
  put_nonempty(o, "Env", v.env);
  put_nonempty(o, "Cmd", v.cmd);
  if (v.healthcheck) o["Healthcheck"] = write(*v.healthcheck);
  if (v.args_escaped) o["ArgsEscaped"] = true;
  put_key_set(o, "Volumes", v.volumes);
  put_nonempty(o, "WorkingDir", v.working_dir);
  put_nonempty(o, "Entrypoint", v.entrypoint);
  put_nonempty(o, "OnBuild", v.on_build);
  put_nonempty(o, "Labels", v.labels);
  put_nonempty(o, "StopSignal", v.stop_signal);
  put_nonempty(o, "Shell", v.shell);
  return o;
}

OJson write(const HistoryEntry& v) {
  OJson o = OJson::object();
  put_nonempty(o, "created", v.created);
  put_nonempty(o, "created_by", v.created_by);
  put_nonempty(o, "author", v.author);
  put_nonempty(o, "comment", v.comment);
  if (v.empty_layer) o["empty_layer"] = true;
  return o;
}

// Compact; strings that are not UTF-8 (only possible in a model built in code) are replaced.
std::string dump(const OJson& o) { return o.dump(-1, ' ', false, OJson::error_handler_t::replace); }

}  // namespace

std::string to_json(const Index& v) {
  OJson o = OJson::object();
  o["schemaVersion"] = v.schema_version;
  put_nonempty(o, "mediaType", v.media_type);
  o["manifests"] = write(v.manifests);
  put_nonempty(o, "annotations", v.annotations);
  return dump(o);
}

std::string to_json(const Manifest& v) {
  OJson o = OJson::object();
  o["schemaVersion"] = v.schema_version;
  put_nonempty(o, "mediaType", v.media_type);
  o["config"] = write(v.config);
  o["layers"] = write(v.layers);
  put_nonempty(o, "annotations", v.annotations);
  return dump(o);
}

std::string to_json(const ImageConfig& v) {
  OJson o = OJson::object();
  put_nonempty(o, "created", v.created);
  put_nonempty(o, "author", v.author);
  o["architecture"] = v.architecture;
  o["os"] = v.os;
  put_nonempty(o, "os.version", v.os_version);
  put_nonempty(o, "variant", v.variant);
  o["config"] = write(v.config);
  OJson rootfs = OJson::object();
  rootfs["type"] = "layers";
  OJson ids = OJson::array();
  for (const auto& d : v.diff_ids) ids.push_back(d.to_string());
  rootfs["diff_ids"] = std::move(ids);
  o["rootfs"] = std::move(rootfs);
  if (!v.history.empty()) {
    OJson h = OJson::array();
    for (const auto& e : v.history) h.push_back(write(e));
    o["history"] = std::move(h);
  }
  put_nonempty(o, "comment", v.comment);
  put_nonempty(o, "docker_version", v.docker_version);
  return dump(o);
}

}  // namespace berth::oci
