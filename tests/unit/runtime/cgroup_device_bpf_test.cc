// The cgroup-v2 device filter: the generated program is run through a small interpreter of the
// opcodes the compiler emits (so the rule logic is tested without the kernel), checked against
// a reference model of the rule semantics, then loaded into the kernel's verifier and, where
// the host has a cgroup2 hierarchy, enforced on a real process.
#include "runtime/cgroup_device_bpf.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "base/scope_guard.h"
#include "runtime/cgroup_manager.h"

namespace berth::runtime {
namespace {

using ::testing::HasSubstr;

// Executes prog on ctx. Fails on an opcode the compiler does not emit, a jump out of the
// program, a read of a register never written, or a context read outside its three fields.
Result<uint64_t> interpret(const std::vector<bpf_insn>& prog, const bpf_cgroup_dev_ctx& ctx) {
  uint64_t reg[11] = {};
  bool set[11] = {}, is_ctx[11] = {};
  set[1] = is_ctx[1] = true;
  size_t pc = 0;
  for (int steps = 0; steps < 100000; ++steps) {
    if (pc >= prog.size()) return Fail(ErrorCode::Internal, "pc {} runs off the program", pc);
    const bpf_insn& i = prog[pc];
    uint8_t dst = i.dst_reg, src = i.src_reg;
    if (dst > 9 || src > 10) return Fail(ErrorCode::Internal, "bad register at {}", pc);
    auto scalar = [&](uint8_t r) -> Result<uint64_t> {
      if (!set[r] || is_ctx[r]) return Fail(ErrorCode::Internal, "r{} not a scalar at {}", r, pc);
      return reg[r];
    };
    ++pc;
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W: {
        if (!is_ctx[src] || (i.off != 0 && i.off != 4 && i.off != 8)) {
          return Fail(ErrorCode::Internal, "bad context load at {}", pc - 1);
        }
        uint32_t fields[3] = {ctx.access_type, ctx.major, ctx.minor};
        reg[dst] = fields[i.off / 4];
        set[dst] = true;
        is_ctx[dst] = false;
        break;
      }
      case BPF_ALU | BPF_AND | BPF_K:
        reg[dst] = static_cast<uint32_t>(TRY(scalar(dst)) & static_cast<uint32_t>(i.imm));
        break;
      case BPF_ALU | BPF_XOR | BPF_K:
        reg[dst] = static_cast<uint32_t>(TRY(scalar(dst)) ^ static_cast<uint32_t>(i.imm));
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        if (i.imm < 0 || i.imm > 31) return Fail(ErrorCode::Internal, "bad shift at {}", pc - 1);
        reg[dst] = static_cast<uint32_t>(TRY(scalar(dst))) >> i.imm;
        break;
      case BPF_ALU64 | BPF_MOV | BPF_X:
        reg[dst] = TRY(scalar(src));
        set[dst] = true;
        is_ctx[dst] = false;
        break;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        reg[dst] = static_cast<uint64_t>(static_cast<int64_t>(i.imm));
        set[dst] = true;
        is_ctx[dst] = false;
        break;
      case BPF_JMP32 | BPF_JNE | BPF_K:
        if (static_cast<uint32_t>(TRY(scalar(dst))) != static_cast<uint32_t>(i.imm)) {
          if (i.off < 0) return Fail(ErrorCode::Internal, "backward jump at {}", pc - 1);
          pc += i.off;
        }
        break;
      case BPF_JMP | BPF_EXIT:
        return TRY(scalar(0));
      default:
        return Fail(ErrorCode::Internal, "unexpected opcode {:#x} at {}", i.code, pc - 1);
    }
  }
  return Fail(ErrorCode::Internal, "no exit");
}

uint32_t access_of(std::string_view access) {
  uint32_t bits = 0;
  for (char c : access) {
    bits |= c == 'r' ? BPF_DEVCG_ACC_READ : c == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
  }
  return bits;
}

// Whether prog allows `access` to device type (c or b) major:minor.
bool allows(const std::vector<bpf_insn>& prog, char type, std::string_view access, uint32_t major,
            uint32_t minor) {
  bpf_cgroup_dev_ctx ctx{};
  uint32_t t = type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
  ctx.access_type = (access_of(access) << 16) | t;
  ctx.major = major;
  ctx.minor = minor;
  auto r = interpret(prog, ctx);
  EXPECT_TRUE(r.has_value()) << r.error().what();
  EXPECT_TRUE(!r || *r == 0 || *r == 1) << *r;
  return r && *r == 1;
}

std::vector<bpf_insn> compile(const std::vector<oci::DeviceRule>& rules) {
  auto prog = compile_device_filter(rules);
  EXPECT_TRUE(prog.has_value()) << prog.error().what();
  return prog ? *prog : std::vector<bpf_insn>{};
}

oci::DeviceRule rule(bool allow, std::string type, std::optional<int64_t> major,
                     std::optional<int64_t> minor, std::string access) {
  return oci::DeviceRule{allow, std::move(type), major, minor, std::move(access)};
}

// Docker's default device list.
std::vector<oci::DeviceRule> docker_defaults() {
  return {rule(false, "a", {}, {}, "rwm"), rule(true, "c", {}, {}, "m"),
          rule(true, "b", {}, {}, "m"),    rule(true, "c", 1, 3, "rwm"),
          rule(true, "c", 1, 5, "rwm"),    rule(true, "c", 1, 7, "rwm"),
          rule(true, "c", 1, 8, "rwm"),    rule(true, "c", 1, 9, "rwm"),
          rule(true, "c", 5, 0, "rwm"),    rule(true, "c", 5, 1, "rwm"),
          rule(true, "c", 5, 2, "rwm"),    rule(true, "c", 136, {}, "rwm"),
          rule(false, "c", 10, 200, "rwm")};
}

TEST(CgroupDeviceFilter, DockerDefaults) {
  auto prog = compile(docker_defaults());
  EXPECT_TRUE(allows(prog, 'c', "rw", 1, 3));    // /dev/null
  EXPECT_TRUE(allows(prog, 'c', "r", 1, 9));     // /dev/urandom
  EXPECT_TRUE(allows(prog, 'c', "rw", 136, 4));  // a pty
  EXPECT_TRUE(allows(prog, 'c', "m", 8, 0));     // mknod of any char device
  EXPECT_TRUE(allows(prog, 'b', "m", 8, 0));
  EXPECT_FALSE(allows(prog, 'b', "r", 8, 0));      // reading a disk
  EXPECT_FALSE(allows(prog, 'c', "rw", 10, 200));  // tun
  EXPECT_FALSE(allows(prog, 'c', "r", 1, 1));      // /dev/mem
  EXPECT_FALSE(allows(prog, 'c', "rm", 4, 0));     // m alone is allowed, r is not
}

TEST(CgroupDeviceFilter, NoRulesDeniesEverything) {
  auto prog = compile({});
  EXPECT_FALSE(allows(prog, 'c', "r", 1, 3));
  EXPECT_FALSE(allows(prog, 'b', "m", 8, 0));
}

TEST(CgroupDeviceFilter, LastMatchingRuleWins) {
  auto deny_last = compile(
      {rule(true, "a", {}, {}, "rwm"), rule(true, "c", 1, 3, "rw"), rule(false, "c", 1, 3, "w")});
  EXPECT_FALSE(allows(deny_last, 'c', "w", 1, 3));
  EXPECT_TRUE(allows(deny_last, 'c', "r", 1, 3));
  EXPECT_TRUE(allows(deny_last, 'c', "w", 1, 5));  // default allow
  auto allow_last = compile(
      {rule(true, "a", {}, {}, "rwm"), rule(false, "c", 1, 3, "w"), rule(true, "c", 1, 3, "rw")});
  EXPECT_TRUE(allows(allow_last, 'c', "w", 1, 3));
}

TEST(CgroupDeviceFilter, WildcardRulesResetEverythingBefore) {
  auto deny = compile({rule(true, "c", 1, 3, "rwm"), rule(false, "a", {}, {}, "rwm")});
  EXPECT_FALSE(allows(deny, 'c', "r", 1, 3));
  auto allow = compile({rule(false, "a", {}, {}, "rwm"), rule(false, "c", 1, 3, "rwm"),
                        rule(true, "a", {}, {}, "")});
  EXPECT_TRUE(allows(allow, 'c', "r", 1, 3));
  EXPECT_TRUE(allows(allow, 'b', "rwm", 259, 1));
}

TEST(CgroupDeviceFilter, AccessMustBeASubsetOfTheRule) {
  auto prog = compile({rule(false, "a", {}, {}, "rwm"), rule(true, "c", 1, 3, "r")});
  EXPECT_TRUE(allows(prog, 'c', "r", 1, 3));
  EXPECT_FALSE(allows(prog, 'c', "rw", 1, 3));
  EXPECT_FALSE(allows(prog, 'c', "m", 1, 3));
  EXPECT_FALSE(allows(prog, 'b', "r", 1, 3));  // the type is checked
}

TEST(CgroupDeviceFilter, TypeAWithNumbersMatchesBothTypes) {
  auto prog = compile({rule(false, "a", {}, {}, "rwm"), rule(true, "a", 7, {}, "rwm"),
                       rule(true, "", 9, 0xfffff, "rw")});
  EXPECT_TRUE(allows(prog, 'c', "r", 7, 0));
  EXPECT_TRUE(allows(prog, 'b', "rwm", 7, 12));
  EXPECT_FALSE(allows(prog, 'c', "r", 8, 0));
  EXPECT_TRUE(allows(prog, 'b', "w", 9, 0xfffff));
  EXPECT_FALSE(allows(prog, 'b', "w", 9, 0xffffe));
}

TEST(CgroupDeviceFilter, LargeNumbersCompareAll32Bits) {
  auto prog =
      compile({rule(false, "a", {}, {}, "rwm"), rule(true, "c", 0xfffffffe, 0x80000000, "r")});
  EXPECT_TRUE(allows(prog, 'c', "r", 0xfffffffe, 0x80000000));
  EXPECT_FALSE(allows(prog, 'c', "r", 0xfffffffe, 0));
  auto too_big = compile_device_filter({rule(true, "c", int64_t{1} << 32, 0, "r")});
  ASSERT_FALSE(too_big.has_value());
  EXPECT_THAT(too_big.error().what(), HasSubstr("linux.resources.devices[0]"));
}

TEST(CgroupDeviceFilter, InvalidRulesAreRefusedWithTheirIndex) {
  for (auto bad :
       {rule(true, "u", {}, {}, "r"), rule(true, "c", -1, 0, "r"), rule(true, "c", 1, 3, "rx")}) {
    auto prog = compile_device_filter({rule(false, "a", {}, {}, "rwm"), bad});
    ASSERT_FALSE(prog.has_value());
    EXPECT_EQ(prog.error().code(), ErrorCode::InvalidArgument);
    EXPECT_THAT(prog.error().what(), HasSubstr("linux.resources.devices[1]"));
  }
}

// The semantics written the other way round: walk forward and let every matching rule after
// the last reset overwrite the decision.
bool reference(const std::vector<oci::DeviceRule>& rules, char type, uint32_t access,
               uint32_t major, uint32_t minor) {
  bool decision = false;
  for (auto& r : rules) {
    uint32_t bits = r.access.empty() ? 7 : access_of(r.access);
    bool any_type = r.type.empty() || r.type == "a";
    if (any_type && !r.major && !r.minor && bits == 7) {
      decision = r.allow;
      continue;
    }
    bool match = (any_type || r.type[0] == type) && (!r.major || *r.major == major) &&
                 (!r.minor || *r.minor == minor) && (access & ~bits) == 0;
    if (match) decision = r.allow;
  }
  return decision;
}

TEST(CgroupDeviceFilter, AgreesWithTheReferenceModelOnRandomRuleLists) {
  std::mt19937 rng(20240607);
  const std::vector<std::string> types = {"a", "b", "c", ""};
  const std::vector<std::string> accesses = {"r", "w", "m", "rw", "rm", "wm", "rwm", ""};
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  for (int round = 0; round < 300; ++round) {
    std::vector<oci::DeviceRule> rules;
    size_t count = pick(8);
    for (size_t i = 0; i < count; ++i) {
      std::optional<int64_t> major, minor;
      if (pick(3)) major = static_cast<int64_t>(1 + pick(2));
      if (pick(3)) minor = static_cast<int64_t>(3 + pick(2));
      rules.push_back(rule(pick(2) == 1, types[pick(types.size())], major, minor,
                           accesses[pick(accesses.size())]));
    }
    auto prog = compile(rules);
    for (char type : {'b', 'c'}) {
      for (uint32_t access = 1; access <= 7; ++access) {
        for (uint32_t major : {1u, 2u, 9u}) {
          for (uint32_t minor : {3u, 4u, 0u}) {
            bpf_cgroup_dev_ctx ctx{};
            ctx.access_type =
                (access << 16) | (type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
            ctx.major = major;
            ctx.minor = minor;
            auto got = interpret(prog, ctx);
            ASSERT_TRUE(got.has_value()) << got.error().what();
            ASSERT_EQ(*got == 1, reference(rules, type, access, major, minor))
                << "round " << round << " request " << type << " " << major << ":" << minor
                << " access " << access;
          }
        }
      }
    }
  }
}

// ---- the kernel ----

Result<UniqueFd> load_or_skip_reason(const std::vector<bpf_insn>& prog, std::string* skip) {
  auto fd = load_device_filter(prog);
  if (!fd && (fd.error().sys_errno() == EPERM || fd.error().sys_errno() == ENOSYS)) {
    *skip = "bpf(BPF_PROG_LOAD) is not permitted here: " + fd.error().what();
  }
  return fd;
}

TEST(CgroupDeviceFilterKernel, VerifierAcceptsThePrograms) {
  if (::geteuid() != 0) GTEST_SKIP() << "loading BPF programs needs root (CAP_BPF)";
  std::vector<std::vector<oci::DeviceRule>> lists = {
      docker_defaults(),
      {},
      {rule(true, "a", {}, {}, "rwm")},
      {rule(false, "a", {}, {}, "rwm"), rule(true, "c", 0xfffffffe, 0x80000000, "r")}};
  std::vector<oci::DeviceRule> many = {rule(false, "a", {}, {}, "rwm")};
  for (int i = 0; i < 500; ++i) many.push_back(rule(i % 2 == 0, "c", i, i, "rw"));
  lists.push_back(many);
  for (auto& rules : lists) {
    std::string skip;
    auto fd = load_or_skip_reason(compile(rules), &skip);
    if (!skip.empty()) GTEST_SKIP() << skip;
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_GE(fd->get(), 0);
  }
}

// The cgroup2 mount of this host, or empty on a v1-only host.
std::string cgroup2_mount() {
  auto layout = detect_cgroup_layout("/sys/fs/cgroup");
  if (!layout || *layout == CgroupLayout::V1) return "";
  return *layout == CgroupLayout::V2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
}

// Runs a child in cgroup dir that opens /dev/null and /dev/zero; bit 0 of the result: /dev/null
// opened, bit 1: /dev/zero refused with EPERM.
int probe_devices_in(const std::string& dir) {
  int go[2];
  if (::pipe(go) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    char c;
    ::close(go[1]);
    if (::read(go[0], &c, 1) != 1) ::_exit(100);
    int result = 0;
    int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd >= 0) result |= 1;
    int zero_fd = ::open("/dev/zero", O_RDONLY);
    if (zero_fd < 0 && errno == EPERM) result |= 2;
    ::_exit(result);
  }
  ::close(go[0]);
  KernelCgroupFs fs;
  auto joined = fs.write(dir + "/cgroup.procs", std::to_string(pid));
  EXPECT_TRUE(joined.has_value()) << joined.error().what();
  (void)!::write(go[1], "x", 1);
  ::close(go[1]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CgroupDeviceFilterKernel, FilterIsEnforcedAndReplaced) {
  if (::geteuid() != 0) GTEST_SKIP() << "creating cgroups needs root";
  std::string mount = cgroup2_mount();
  if (mount.empty()) GTEST_SKIP() << "this host has no cgroup2 hierarchy";
  std::string dir = fmt::format("{}/berth-devtest-{}", mount, ::getpid());
  KernelCgroupFs fs;
  ASSERT_TRUE(fs.make_dir(dir).has_value());
  auto cleanup = defer([&] { (void)cgroup::remove_tree(fs, dir); });

  auto deny_zero = compile({rule(false, "a", {}, {}, "rwm"), rule(true, "c", 1, 3, "rw")});
  auto set = fs.set_device_program(dir, deny_zero);
  if (!set && (set.error().sys_errno() == EPERM || set.error().sys_errno() == EINVAL)) {
    GTEST_SKIP() << "cannot attach a device filter here: " << set.error().what();
  }
  ASSERT_TRUE(set.has_value()) << set.error().what();
  EXPECT_EQ(probe_devices_in(dir), 3);  // /dev/null opens, /dev/zero is refused

  // Replacing: were the old filter still attached, /dev/zero would stay refused.
  ASSERT_TRUE(fs.set_device_program(dir, compile({rule(true, "a", {}, {}, "rwm")})).has_value());
  EXPECT_EQ(probe_devices_in(dir), 1);
}

}  // namespace
}  // namespace berth::runtime
