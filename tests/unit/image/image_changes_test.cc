#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "image/archive.h"

namespace berth::image {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

oci::ContainerConfig apply_ok(const std::vector<std::string>& changes,
                              oci::ContainerConfig config = {}) {
  auto r = apply_changes(config, changes);
  EXPECT_TRUE(r.has_value()) << r.error().what();
  return config;
}

std::string apply_err(const std::vector<std::string>& changes) {
  oci::ContainerConfig config;
  auto r = apply_changes(config, changes);
  if (r.has_value()) {
    ADD_FAILURE() << "changes were accepted";
    return "";
  }
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  return r.error().what();
}

TEST(ImageChanges, CmdJsonAndShellForm) {
  EXPECT_THAT(apply_ok({R"(CMD ["nginx", "-g", "daemon off;"])"}).cmd,
              ElementsAre("nginx", "-g", "daemon off;"));
  EXPECT_THAT(apply_ok({"CMD echo hi there"}).cmd, ElementsAre("/bin/sh", "-c", "echo hi there"));
  // Not valid JSON: the shell form, as Docker does.
  EXPECT_THAT(apply_ok({"CMD [oops"}).cmd, ElementsAre("/bin/sh", "-c", "[oops"));
  EXPECT_THAT(apply_ok({"cmd [\"a\"]"}).cmd, ElementsAre("a"));
}

TEST(ImageChanges, EntrypointResetsInheritedCmdOnly) {
  oci::ContainerConfig base;
  base.cmd = {"old"};
  auto c = apply_ok({R"(ENTRYPOINT ["/init"])"}, base);
  EXPECT_THAT(c.entrypoint, ElementsAre("/init"));
  EXPECT_TRUE(c.cmd.empty());
  c = apply_ok({"CMD [\"x\"]", "ENTRYPOINT /run.sh"}, base);
  EXPECT_THAT(c.entrypoint, ElementsAre("/bin/sh", "-c", "/run.sh"));
  EXPECT_THAT(c.cmd, ElementsAre("x"));
  EXPECT_TRUE(apply_ok({"ENTRYPOINT []"}).entrypoint.empty());
}

TEST(ImageChanges, ShellChangesShellForm) {
  auto c = apply_ok({R"(SHELL ["/bin/bash", "-euc"])", "CMD ls"});
  EXPECT_THAT(c.shell, ElementsAre("/bin/bash", "-euc"));
  EXPECT_THAT(c.cmd, ElementsAre("/bin/bash", "-euc", "ls"));
  EXPECT_THAT(apply_err({"SHELL /bin/bash"}), HasSubstr("SHELL requires the arguments in JSON form"));
  EXPECT_THAT(apply_err({"SHELL []"}), HasSubstr("at least one"));
}

TEST(ImageChanges, EnvPairsQuotingAndLegacyForm) {
  oci::ContainerConfig base;
  base.env = {"PATH=/bin", "A=old"};
  auto c = apply_ok({R"(ENV A=1 B="two words" C='single $x' D=a\ b)", "ENV LEGACY some value",
                     "ENV PATH=/usr/bin:/bin"},
                    base);
  EXPECT_THAT(c.env, ElementsAre("PATH=/usr/bin:/bin", "A=1", "B=two words", "C=single $x",
                                 "D=a b", "LEGACY=some value"));
  EXPECT_THAT(apply_ok({"ENV E="}).env, ElementsAre("E="));
  EXPECT_THAT(apply_ok({R"(ENV Q "quoted value")"}).env, ElementsAre("Q=quoted value"));
  EXPECT_THAT(apply_err({"ENV A=1 B"}), HasSubstr(R"(ENV "B": expected KEY=value)"));
  EXPECT_THAT(apply_err({"ENV =x"}), HasSubstr("ENV names can not be blank"));
  EXPECT_THAT(apply_err({"ENV ONLYKEY"}), HasSubstr("needs a value"));
  EXPECT_THAT(apply_err({R"(ENV A="open)"}),
              HasSubstr(R"(invalid change "ENV A=\"open": unterminated double quote)"));
}

TEST(ImageChanges, ExposeNormalisesPorts) {
  oci::ContainerConfig base;
  base.exposed_ports = {"80/tcp"};
  auto c = apply_ok({"EXPOSE 80 443/TCP 53/udp 8000-8002/sctp"}, base);
  EXPECT_THAT(c.exposed_ports, ElementsAre("443/tcp", "53/udp", "80/tcp", "8000/sctp",
                                           "8001/sctp", "8002/sctp"));
  EXPECT_THAT(apply_err({"EXPOSE 70000"}), HasSubstr("out of range"));
  EXPECT_THAT(apply_err({"EXPOSE http"}), HasSubstr(R"(invalid port "http")"));
  EXPECT_THAT(apply_err({"EXPOSE 80/icmp"}), HasSubstr("invalid protocol"));
  EXPECT_THAT(apply_err({"EXPOSE 90-80"}), HasSubstr("invalid port range"));
  EXPECT_THAT(apply_err({"EXPOSE 8080:80"}), HasSubstr("not valid in EXPOSE"));
}

TEST(ImageChanges, Labels) {
  auto c = apply_ok({R"(LABEL a=1 "b c"=2 version="1.0 beta")", "LABEL old style"});
  EXPECT_THAT(c.labels, UnorderedElementsAre(Pair("a", "1"), Pair("b c", "2"),
                                             Pair("version", "1.0 beta"), Pair("old", "style")));
  EXPECT_THAT(apply_err({"LABEL =v"}), HasSubstr("LABEL names can not be blank"));
}

TEST(ImageChanges, OnBuild) {
  auto c = apply_ok({"ONBUILD run make", "ONBUILD COPY . /src"});
  EXPECT_THAT(c.on_build, ElementsAre("RUN make", "COPY . /src"));
  EXPECT_THAT(apply_err({"ONBUILD ONBUILD RUN x"}), HasSubstr("isn't allowed"));
  EXPECT_THAT(apply_err({"ONBUILD FROM x"}),
              HasSubstr("FROM isn't allowed as an ONBUILD trigger"));
}

TEST(ImageChanges, StopSignal) {
  EXPECT_EQ(apply_ok({"STOPSIGNAL SIGQUIT"}).stop_signal, "SIGQUIT");
  EXPECT_EQ(apply_ok({"STOPSIGNAL term"}).stop_signal, "term");
  EXPECT_EQ(apply_ok({"STOPSIGNAL 9"}).stop_signal, "9");
  EXPECT_EQ(apply_ok({"STOPSIGNAL SIGRTMIN+3"}).stop_signal, "SIGRTMIN+3");
  EXPECT_THAT(apply_err({"STOPSIGNAL SIGNOPE"}),
              HasSubstr(R"(invalid change "STOPSIGNAL SIGNOPE": invalid signal "SIGNOPE")"));
  EXPECT_THAT(apply_err({"STOPSIGNAL 99"}), HasSubstr("invalid signal"));
  EXPECT_THAT(apply_err({"STOPSIGNAL TERM KILL"}), HasSubstr("exactly one argument"));
}

TEST(ImageChanges, User) {
  EXPECT_EQ(apply_ok({"USER nobody:nogroup"}).user, "nobody:nogroup");
  EXPECT_EQ(apply_ok({"USER 1000"}).user, "1000");
  EXPECT_THAT(apply_err({"USER a b"}), HasSubstr("USER requires exactly one argument"));
}

TEST(ImageChanges, VolumeJsonAndWords) {
  oci::ContainerConfig base;
  base.volumes = {"/data"};
  auto c = apply_ok({R"(VOLUME ["/var/log", "/data"])", "VOLUME /a /b"}, base);
  EXPECT_THAT(c.volumes, ElementsAre("/a", "/b", "/data", "/var/log"));
  EXPECT_THAT(apply_err({R"(VOLUME [""])"}), HasSubstr("can not be empty"));
}

TEST(ImageChanges, WorkdirJoinsRelativePaths) {
  EXPECT_EQ(apply_ok({"WORKDIR /app"}).working_dir, "/app");
  EXPECT_EQ(apply_ok({"WORKDIR /app", "WORKDIR src/../lib"}).working_dir, "/app/lib");
  EXPECT_EQ(apply_ok({"WORKDIR rel"}).working_dir, "/rel");
  EXPECT_EQ(apply_ok({"WORKDIR \"/with space\""}).working_dir, "/with space");
}

TEST(ImageChanges, RejectsUnknownEmptyAndArgumentlessChanges) {
  EXPECT_EQ(apply_err({"FROM x"}),
            R"(invalid change "FROM x": FROM is not a valid change instruction (allowed: CMD, )"
            R"(ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR))");
  EXPECT_THAT(apply_err({"run make"}), HasSubstr("RUN is not a valid change instruction"));
  EXPECT_THAT(apply_err({"  "}), HasSubstr("empty instruction"));
  EXPECT_THAT(apply_err({"CMD"}), HasSubstr(R"(invalid change "CMD": CMD requires at least one argument)"));
  EXPECT_THAT(apply_err({"WORKDIR   "}), HasSubstr("WORKDIR requires at least one argument"));
}

TEST(ImageChanges, StopsAtFirstBadChangeKeepingEarlierOnes) {
  oci::ContainerConfig config;
  auto r = apply_changes(config, {"USER app", "EXPOSE nope", "WORKDIR /x"});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().what(), HasSubstr(R"(invalid change "EXPOSE nope")"));
  EXPECT_EQ(config.user, "app");
  EXPECT_EQ(config.working_dir, "");
}

}  // namespace
}  // namespace berth::image
