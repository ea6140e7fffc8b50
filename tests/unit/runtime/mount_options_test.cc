#include "runtime/mount_options.h"

#include <gtest/gtest.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

namespace berth::runtime {
namespace {

struct FlagCase {
  const char* option;
  unsigned long flags;
  unsigned long clear;
};

class MountFlagOptionTest : public testing::TestWithParam<FlagCase> {};

TEST_P(MountFlagOptionTest, SetsOrClearsItsFlag) {
  const FlagCase& c = GetParam();
  auto r = parse_mount_options({c.option}, "tmpfs");
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_EQ(r->flags, c.flags) << c.option;
  EXPECT_EQ(r->clear_flags, c.clear) << c.option;
  EXPECT_EQ(r->data, "") << c.option;
}

INSTANTIATE_TEST_SUITE_P(
    AllFlags, MountFlagOptionTest,
    testing::Values(FlagCase{"ro", MS_RDONLY, 0}, FlagCase{"rw", 0, MS_RDONLY},
                    FlagCase{"nosuid", MS_NOSUID, 0}, FlagCase{"suid", 0, MS_NOSUID},
                    FlagCase{"nodev", MS_NODEV, 0}, FlagCase{"dev", 0, MS_NODEV},
                    FlagCase{"noexec", MS_NOEXEC, 0}, FlagCase{"exec", 0, MS_NOEXEC},
                    FlagCase{"sync", MS_SYNCHRONOUS, 0}, FlagCase{"async", 0, MS_SYNCHRONOUS},
                    FlagCase{"dirsync", MS_DIRSYNC, 0}, FlagCase{"mand", MS_MANDLOCK, 0},
                    FlagCase{"nomand", 0, MS_MANDLOCK}, FlagCase{"noatime", MS_NOATIME, 0},
                    FlagCase{"atime", 0, MS_NOATIME}, FlagCase{"nodiratime", MS_NODIRATIME, 0},
                    FlagCase{"diratime", 0, MS_NODIRATIME}, FlagCase{"relatime", MS_RELATIME, 0},
                    FlagCase{"norelatime", 0, MS_RELATIME},
                    FlagCase{"strictatime", MS_STRICTATIME, 0},
                    FlagCase{"nostrictatime", 0, MS_STRICTATIME},
                    FlagCase{"lazytime", MS_LAZYTIME, 0}, FlagCase{"nolazytime", 0, MS_LAZYTIME},
                    FlagCase{"nosymfollow", MS_NOSYMFOLLOW, 0},
                    FlagCase{"symfollow", 0, MS_NOSYMFOLLOW}));

struct PropagationCase {
  const char* name;
  unsigned long flags;
};

class PropagationOptionTest : public testing::TestWithParam<PropagationCase> {};

TEST_P(PropagationOptionTest, ParsesAsOptionAndAsRootfsPropagation) {
  const PropagationCase& c = GetParam();
  auto r = parse_mount_options({"rbind", c.name}, "bind");
  ASSERT_TRUE(r.has_value()) << r.error().what();
  ASSERT_EQ(r->propagations.size(), 1u);
  EXPECT_EQ(r->propagations[0], c.flags);
  auto p = parse_propagation(c.name);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, c.flags);
}

INSTANTIATE_TEST_SUITE_P(All, PropagationOptionTest,
                         testing::Values(PropagationCase{"private", MS_PRIVATE},
                                         PropagationCase{"rprivate", MS_PRIVATE | MS_REC},
                                         PropagationCase{"shared", MS_SHARED},
                                         PropagationCase{"rshared", MS_SHARED | MS_REC},
                                         PropagationCase{"slave", MS_SLAVE},
                                         PropagationCase{"rslave", MS_SLAVE | MS_REC},
                                         PropagationCase{"unbindable", MS_UNBINDABLE},
                                         PropagationCase{"runbindable", MS_UNBINDABLE | MS_REC}));

struct AttrCase {
  const char* option;
  uint64_t set;
  uint64_t clr;
};

class RecursiveAttrOptionTest : public testing::TestWithParam<AttrCase> {};

TEST_P(RecursiveAttrOptionTest, BecomesMountSetattrChange) {
  const AttrCase& c = GetParam();
  auto r = parse_mount_options({"rbind", c.option}, "bind");
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_EQ(r->recursive_attrs.attr_set, c.set) << c.option;
  EXPECT_EQ(r->recursive_attrs.attr_clr, c.clr) << c.option;
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_BIND | MS_REC)) << c.option;
}

INSTANTIATE_TEST_SUITE_P(
    All, RecursiveAttrOptionTest,
    testing::Values(AttrCase{"rro", MOUNT_ATTR_RDONLY, 0}, AttrCase{"rrw", 0, MOUNT_ATTR_RDONLY},
                    AttrCase{"rnosuid", MOUNT_ATTR_NOSUID, 0},
                    AttrCase{"rsuid", 0, MOUNT_ATTR_NOSUID},
                    AttrCase{"rnodev", MOUNT_ATTR_NODEV, 0}, AttrCase{"rdev", 0, MOUNT_ATTR_NODEV},
                    AttrCase{"rnoexec", MOUNT_ATTR_NOEXEC, 0},
                    AttrCase{"rexec", 0, MOUNT_ATTR_NOEXEC},
                    AttrCase{"rnodiratime", MOUNT_ATTR_NODIRATIME, 0},
                    AttrCase{"rdiratime", 0, MOUNT_ATTR_NODIRATIME},
                    AttrCase{"rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0},
                    AttrCase{"rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW},
                    AttrCase{"rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
                    AttrCase{"ratime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
                    AttrCase{"rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
                    AttrCase{"rnorelatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
                    AttrCase{"rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
                    AttrCase{"rnostrictatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME}));

TEST(MountOptionsTest, RuncDefaultDevTmpfs) {
  auto r = parse_mount_options({"nosuid", "strictatime", "mode=755", "size=65536k"}, "tmpfs");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
  EXPECT_EQ(r->data, "mode=755,size=65536k");
  EXPECT_FALSE(r->is_bind());
}

TEST(MountOptionsTest, LaterOptionWins) {
  auto r = parse_mount_options({"ro", "nosuid", "rw", "suid", "nosuid"}, "tmpfs");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_NOSUID));
  EXPECT_EQ(r->clear_flags, static_cast<unsigned long>(MS_RDONLY));
}

TEST(MountOptionsTest, BindAndRbind) {
  auto bind = parse_mount_options({"bind"}, "none");
  ASSERT_TRUE(bind.has_value());
  EXPECT_TRUE(bind->is_bind());
  EXPECT_FALSE(bind->is_recursive_bind());
  auto rbind = parse_mount_options({"rbind", "ro"}, "");
  ASSERT_TRUE(rbind.has_value());
  EXPECT_TRUE(rbind->is_recursive_bind());
  EXPECT_EQ(rbind->bind_remount_flags(), static_cast<unsigned long>(MS_RDONLY));
  // type "bind" alone is a (non-recursive) bind, as in runc.
  auto typed = parse_mount_options({}, "bind");
  ASSERT_TRUE(typed.has_value());
  EXPECT_TRUE(typed->is_bind());
  EXPECT_FALSE(typed->is_recursive_bind());
}

TEST(MountOptionsTest, BindRemountFlagsOnlyPerMountFlags) {
  auto r = parse_mount_options({"rbind", "nosuid", "noexec", "sync", "noatime"}, "bind");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->bind_remount_flags(),
            static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NOATIME));
}

TEST(MountOptionsTest, RemountIsDroppedOnBindsAndRefusedElsewhere) {
  auto bind = parse_mount_options({"bind", "remount", "ro"}, "bind");
  ASSERT_TRUE(bind.has_value());
  EXPECT_EQ(bind->flags, static_cast<unsigned long>(MS_BIND | MS_RDONLY));
  auto fs = parse_mount_options({"remount"}, "tmpfs");
  ASSERT_FALSE(fs.has_value());
  EXPECT_NE(fs.error().message().find("remount"), std::string::npos);
}

TEST(MountOptionsTest, TypoOfPropagationIsAnError) {
  auto r = parse_mount_options({"rbind", "rshard"}, "bind");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("unknown propagation \"rshard\""), std::string::npos)
      << r.error().what();
  EXPECT_NE(r.error().message().find("rshared"), std::string::npos);
  // Also on a filesystem mount, where unknown options would otherwise be data.
  EXPECT_FALSE(parse_mount_options({"rslav"}, "tmpfs").has_value());
}

TEST(MountOptionsTest, UnknownOptionOnBindIsAnError) {
  auto r = parse_mount_options({"rbind", "mode=755"}, "bind");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("unknown option \"mode=755\""), std::string::npos);
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
}

TEST(MountOptionsTest, FilesystemDataKeepsOrder) {
  auto r = parse_mount_options({"nosuid", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
                               "devpts");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_NOSUID));
}

TEST(MountOptionsTest, DefaultsAndUserspaceOptionsAreIgnored) {
  auto r = parse_mount_options({"defaults", "x-systemd.automount", ""}, "ext4");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->flags, 0u);
  EXPECT_EQ(r->data, "");
}

TEST(MountOptionsTest, TmpcopyupOnlyOnTmpfs) {
  auto ok = parse_mount_options({"tmpcopyup", "mode=1777"}, "tmpfs");
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->tmpcopyup);
  EXPECT_EQ(ok->data, "mode=1777");
  auto bad = parse_mount_options({"tmpcopyup"}, "proc");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("tmpcopyup"), std::string::npos);
}

TEST(MountOptionsTest, IdmapOnlyOnBinds) {
  auto ok = parse_mount_options({"rbind", "ridmap"}, "bind");
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->idmap);
  EXPECT_TRUE(ok->idmap_recursive);
  auto plain = parse_mount_options({"bind", "idmap"}, "bind");
  ASSERT_TRUE(plain.has_value());
  EXPECT_TRUE(plain->idmap);
  EXPECT_FALSE(plain->idmap_recursive);
  auto bad = parse_mount_options({"idmap"}, "tmpfs");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("only supported on bind mounts"), std::string::npos);
}

TEST(MountOptionsTest, UnknownRootfsPropagation) {
  auto r = parse_propagation("sharde");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("unknown propagation \"sharde\""), std::string::npos);
}

TEST(MountOptionsTest, StatfsFlagsMapToMountFlags) {
  EXPECT_EQ(mount_flags_from_statfs(ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC),
            static_cast<unsigned long>(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
  EXPECT_EQ(mount_flags_from_statfs(ST_NOATIME | ST_NODIRATIME | ST_RELATIME),
            static_cast<unsigned long>(MS_NOATIME | MS_NODIRATIME | MS_RELATIME));
  EXPECT_EQ(mount_flags_from_statfs(0x2000), static_cast<unsigned long>(MS_NOSYMFOLLOW));
  // Superblock-only bits (ST_SYNCHRONOUS, ST_MANDLOCK) are not kept by a bind remount.
  EXPECT_EQ(mount_flags_from_statfs(ST_SYNCHRONOUS | ST_MANDLOCK), 0u);
}

}  // namespace
}  // namespace berth::runtime
