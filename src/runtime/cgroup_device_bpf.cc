#include "runtime/cgroup_device_bpf.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "base/strings.h"
#include "runtime/cgroup_manager.h"

namespace berth::runtime {
namespace {

// Registers of the program: r1 holds the context on entry and is reused as a scratch register
// once the fields are loaded.
constexpr uint8_t kCtx = 1, kScratch = 1, kType = 2, kAccess = 3, kMajor = 4, kMinor = 5;
constexpr uint32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
// dst = *(u32*)(src + off)
bpf_insn load_u32(uint8_t dst, uint8_t src, int16_t off) {
  return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}
// w_dst <op>= imm (32-bit ALU, upper half zeroed)
bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) {
  return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn mov64_reg(uint8_t dst, uint8_t src) {
  return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn mov64_imm(uint8_t dst, int32_t imm) {
  return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
// if (u32)w_dst != (u32)imm goto pc + 1 + off
bpf_insn jne32_imm(uint8_t dst, uint32_t imm, int16_t off) {
  return insn(BPF_JMP32 | BPF_JNE | BPF_K, dst, 0, off, static_cast<int32_t>(imm));
}
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

uint32_t access_bits(std::string_view access) {
  if (access.empty()) return kAllAccess;
  uint32_t bits = 0;
  for (char c : access) {
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
  }
  return bits;
}

bool is_reset(const oci::DeviceRule& rule) {
  return (rule.type.empty() || rule.type == "a") && !rule.major && !rule.minor &&
         access_bits(rule.access) == kAllAccess;
}

// One rule: a run of "does not match: skip to the next block" tests, then the verdict.
std::vector<bpf_insn> rule_block(const oci::DeviceRule& rule) {
  std::vector<bpf_insn> block;
  // Jumps are patched once the block length is known; off holds a marker until then.
  constexpr int16_t kToNext = -1;
  // Fields are compared through the scratch register (copy, xor, test for zero): the verifier
  // then never learns a field's value on the path that goes on to the next rule, so those
  // paths stay equal and it prunes them, and a list of hundreds of rules verifies in linear
  // time instead of exploring one path per rule through every later rule.
  auto differs = [&](uint8_t field, uint32_t value) {
    block.push_back(mov64_reg(kScratch, field));
    block.push_back(alu32_imm(BPF_XOR, kScratch, static_cast<int32_t>(value)));
    block.push_back(jne32_imm(kScratch, 0, kToNext));
  };
  if (rule.type == "c" || rule.type == "b") {
    differs(kType, rule.type == "c" ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
  }
  uint32_t access = access_bits(rule.access);
  if (access != kAllAccess) {
    // Matches when the request asks for nothing beyond the rule's access.
    block.push_back(mov64_reg(kScratch, kAccess));
    block.push_back(alu32_imm(BPF_AND, kScratch, static_cast<int32_t>(~access)));
    block.push_back(jne32_imm(kScratch, 0, kToNext));
  }
  if (rule.major) differs(kMajor, static_cast<uint32_t>(*rule.major));
  if (rule.minor) differs(kMinor, static_cast<uint32_t>(*rule.minor));
  block.push_back(mov64_imm(0, rule.allow ? 1 : 0));
  block.push_back(exit_insn());
  for (size_t i = 0; i < block.size(); ++i) {
    if (block[i].code == (BPF_JMP32 | BPF_JNE | BPF_K) && block[i].off == kToNext) {
      block[i].off = static_cast<int16_t>(block.size() - i - 1);
    }
  }
  return block;
}

long bpf(int cmd, bpf_attr* attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

}  // namespace

Result<std::vector<bpf_insn>> compile_device_filter(const std::vector<oci::DeviceRule>& rules) {
  bool default_allow = false;
  size_t first = 0;
  for (size_t i = 0; i < rules.size(); ++i) {
    TRY(cgroup::validate_device_rule(rules[i], i));
    for (auto* id : {&rules[i].major, &rules[i].minor}) {
      if (*id && **id > UINT32_MAX) {
        return Fail(ErrorCode::InvalidArgument,
                    "linux.resources.devices[{}]: device number {} does not fit 32 bits", i, **id);
      }
    }
    if (is_reset(rules[i])) {
      default_allow = rules[i].allow;
      first = i + 1;
    }
  }
  std::vector<bpf_insn> prog = {
      load_u32(kType, kCtx, offsetof(bpf_cgroup_dev_ctx, access_type)),
      alu32_imm(BPF_AND, kType, 0xffff),
      load_u32(kAccess, kCtx, offsetof(bpf_cgroup_dev_ctx, access_type)),
      alu32_imm(BPF_RSH, kAccess, 16),
      load_u32(kMajor, kCtx, offsetof(bpf_cgroup_dev_ctx, major)),
      load_u32(kMinor, kCtx, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  // Last matching rule wins: test the rules from the last one back.
  for (size_t i = rules.size(); i > first; --i) {
    auto block = rule_block(rules[i - 1]);
    prog.insert(prog.end(), block.begin(), block.end());
  }
  prog.push_back(mov64_imm(0, default_allow ? 1 : 0));
  prog.push_back(exit_insn());
  return prog;
}

Result<UniqueFd> load_device_filter(const std::vector<bpf_insn>& program) {
  static const char kLicense[] = "Apache-2.0";
  std::string log(64 * 1024, '\0');
  bpf_attr attr{};
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uintptr_t>(program.data());
  attr.insn_cnt = static_cast<uint32_t>(program.size());
  attr.license = reinterpret_cast<uintptr_t>(kLicense);
  attr.log_buf = reinterpret_cast<uintptr_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  long fd = bpf(BPF_PROG_LOAD, &attr);
  if (fd < 0 && errno == ENOSPC) {
    // The log did not fit; load again without one so the errno is the verifier's verdict.
    attr.log_buf = 0;
    attr.log_size = 0;
    attr.log_level = 0;
    fd = bpf(BPF_PROG_LOAD, &attr);
  }
  if (fd < 0) {
    int err = errno;
    // The log traces every instruction; its last lines hold the verdict.
    auto lines = split(trim(std::string_view(log.c_str())), '\n');
    if (lines.size() > 3) lines.erase(lines.begin(), lines.end() - 3);
    std::string verifier = join(lines, "; ");
    if (verifier.empty()) {
      return FailErrno(err, "load cgroup device filter ({} instructions)", program.size());
    }
    return FailErrno(err, "load cgroup device filter ({} instructions), verifier says \"{}\"",
                     program.size(), verifier);
  }
  return UniqueFd(static_cast<int>(fd));
}

Result<void> replace_device_filter(int cgroup_fd, int prog_fd, const std::string& cgroup_dir) {
  std::vector<uint32_t> old_ids(64);
  bpf_attr query{};
  query.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  query.query.attach_type = BPF_CGROUP_DEVICE;
  query.query.prog_ids = reinterpret_cast<uintptr_t>(old_ids.data());
  query.query.prog_cnt = static_cast<uint32_t>(old_ids.size());
  long rc = bpf(BPF_PROG_QUERY, &query);
  if (rc < 0 && errno == ENOSPC) {  // more than we made room for: prog_cnt says how many
    old_ids.resize(query.query.prog_cnt);
    query.query.prog_ids = reinterpret_cast<uintptr_t>(old_ids.data());
    rc = bpf(BPF_PROG_QUERY, &query);
  }
  if (rc < 0) return FailErrno(errno, "query device filters attached to {}", cgroup_dir);
  old_ids.resize(query.query.prog_cnt);

  bpf_attr attach{};
  attach.target_fd = static_cast<uint32_t>(cgroup_fd);
  attach.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &attach) < 0) {
    return FailErrno(errno, "attach device filter to {}", cgroup_dir);
  }

  for (uint32_t id : old_ids) {
    bpf_attr get{};
    get.prog_id = id;
    long old_fd = bpf(BPF_PROG_GET_FD_BY_ID, &get);
    if (old_fd < 0) {
      if (errno == ENOENT) continue;  // released meanwhile
      return FailErrno(errno, "open old device filter {} of {}", id, cgroup_dir);
    }
    UniqueFd old(static_cast<int>(old_fd));
    bpf_attr detach{};
    detach.target_fd = static_cast<uint32_t>(cgroup_fd);
    detach.attach_bpf_fd = static_cast<uint32_t>(old.get());
    detach.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, &detach) < 0 && errno != ENOENT) {
      return FailErrno(errno, "detach old device filter {} from {}", id, cgroup_dir);
    }
  }
  return {};
}

}  // namespace berth::runtime
