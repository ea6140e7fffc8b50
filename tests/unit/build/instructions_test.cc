// Typed instruction decoders and stage splitting.
#include "build/instructions.h"

#include <gtest/gtest.h>

#include <map>

namespace berth::build {
namespace {

EnvLookup vars(std::map<std::string, std::string, std::less<>> m) {
  return [m = std::move(m)](std::string_view n) -> std::optional<std::string> {
    auto it = m.find(n);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

Instruction one(std::string_view text) {
  auto df = parse_dockerfile(std::string("FROM x\n") + std::string(text));
  EXPECT_TRUE(df) << (df ? "" : df.error().what());
  return df ? df->instructions.back() : Instruction{};
}

const std::vector<std::string> kSh = {"/bin/sh", "-c"};

TEST(Instructions, SplitStagesWithMetaArgs) {
  auto df = parse_dockerfile(
      "ARG BASE=alpine\nARG TAG\nFROM ${BASE}:${TAG:-latest} AS Build\nRUN a\n"
      "FROM --platform=$BUILDPLATFORM build\nCOPY --from=build /a /b\n");
  ASSERT_TRUE(df);
  std::vector<ArgDecl> metas;
  auto stages = split_stages(*df, {{"TAG", "3.19"}, {"BUILDPLATFORM", "linux/amd64"}}, &metas);
  ASSERT_TRUE(stages) << stages.error().what();
  ASSERT_EQ(stages->size(), 2u);
  EXPECT_EQ((*stages)[0].base, "alpine:3.19");
  EXPECT_EQ((*stages)[0].name, "build");
  EXPECT_EQ((*stages)[0].raw.size(), 1u);
  EXPECT_EQ((*stages)[1].base, "build");
  EXPECT_EQ((*stages)[1].platform, "linux/amd64");
  EXPECT_EQ((*stages)[1].index, 1);
  ASSERT_EQ(metas.size(), 2u);
  EXPECT_EQ(metas[0].value, "alpine");
  EXPECT_EQ(metas[1].value, "3.19");
  EXPECT_FALSE(metas[1].default_value);

  stages = split_stages(*df, {}, nullptr);
  ASSERT_TRUE(stages);
  EXPECT_EQ((*stages)[0].base, "alpine:latest");
}

TEST(Instructions, StageErrors) {
  struct Case {
    const char* text;
    const char* err;
  } cases[] = {
      {"RUN a\nFROM x\n", "Dockerfile:1:1: RUN: no build stage in current context"},
      {"FROM x AS 1bad\n", "invalid name for build stage"},
      {"FROM x y\n", "FROM requires either one or three arguments"},
      {"ARG E\nFROM ${E}\n", "should not be blank"},
      {"FROM x AS a\nFROM y AS a\n", "duplicate stage name"},
      {"FROM --bogus=1 x\n", "unknown flag: --bogus"},
  };
  for (const auto& c : cases) {
    auto df = parse_dockerfile(c.text);
    ASSERT_TRUE(df) << c.text;
    auto r = split_stages(*df, {}, nullptr);
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().message().find(c.err), std::string::npos) << r.error().message();
  }
}

TEST(Instructions, EnvAndLabel) {
  auto lookup = vars({{"A", "1"}, {"HOME", "/root"}});
  auto env = decode_env(one("ENV x=$A y=\"a b\" z='$A' w=${HOME}/bin"), lookup, '\\');
  ASSERT_TRUE(env) << env.error().what();
  ASSERT_EQ(env->pairs.size(), 4u);
  EXPECT_EQ(env->pairs[0].value, "1");
  EXPECT_EQ(env->pairs[1].value, "a b");
  EXPECT_EQ(env->pairs[2].value, "$A");
  EXPECT_EQ(env->pairs[3].value, "/root/bin");
  auto legacy = decode_env(one("ENV PATH /usr/bin:$HOME \"quoted\""), lookup, '\\');
  ASSERT_TRUE(legacy);
  ASSERT_EQ(legacy->pairs.size(), 1u);
  EXPECT_EQ(legacy->pairs[0].key, "PATH");
  EXPECT_EQ(legacy->pairs[0].value, "/usr/bin:/root quoted");
  auto label = decode_label(one("LABEL \"com.example.v\"=\"1.0\" b=c"), lookup, '\\');
  ASSERT_TRUE(label);
  EXPECT_EQ(label->pairs[0].key, "com.example.v");
  EXPECT_EQ(label->pairs[0].value, "1.0");
  auto bad = decode_env(one("ENV x=${A"), lookup, '\\');
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("Dockerfile:2:1: ENV: "), std::string::npos);
  EXPECT_NE(bad.error().message().find("missing '}'"), std::string::npos);
}

TEST(Instructions, Arg) {
  auto r = decode_arg(one("ARG A B=${X:-d} C=\"x y\""), vars({}), '\\');
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_FALSE((*r)[0].default_value);
  EXPECT_EQ((*r)[1].default_value, "d");
  EXPECT_EQ((*r)[2].name, "C");
  EXPECT_EQ((*r)[2].default_value, "x y");
}

TEST(Instructions, Expose) {
  auto r = decode_expose(one("EXPOSE 80 $P/udp 8000-8002 443/TCP"), vars({{"P", "53"}}), '\\');
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r, (std::vector<std::string>{"53/udp", "80/tcp", "443/tcp", "8000/tcp", "8001/tcp", "8002/tcp"}));
  EXPECT_FALSE(decode_expose(one("EXPOSE 80/xyz"), vars({}), '\\'));
  EXPECT_FALSE(decode_expose(one("EXPOSE abc"), vars({}), '\\'));
  EXPECT_FALSE(decode_expose(one("EXPOSE 70000"), vars({}), '\\'));
}

TEST(Instructions, CopyAndAdd) {
  auto lookup = vars({{"D", "/app"}, {"U", "1000"}});
  auto r = decode_copy(one("COPY --from=build --chown=$U:$U --chmod=755 --link a b $D/"), lookup, '\\');
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->sources, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->dest, "/app/");
  EXPECT_EQ(r->from, "build");
  EXPECT_EQ(r->chown, "1000:1000");
  EXPECT_EQ(r->chmod, "755");
  EXPECT_TRUE(r->link);
  auto json = decode_copy(one("COPY [\"a b\", \"$D\"]"), lookup, '\\');
  ASSERT_TRUE(json);
  EXPECT_EQ(json->sources, (std::vector<std::string>{"a b"}));
  EXPECT_EQ(json->dest, "/app");
  auto here = decode_copy(one("COPY <<A <<'B' /dst/\n\tx $D\nA\ny $D\nB\n"), lookup, '\\');
  ASSERT_TRUE(here) << here.error().what();
  ASSERT_EQ(here->inline_sources.size(), 2u);
  EXPECT_EQ(here->inline_sources[0].data, "\tx /app\n");
  EXPECT_EQ(here->inline_sources[1].data, "y $D\n");
  auto add = decode_copy(one("ADD --checksum=sha256:abc --keep-git-dir=true https://x/y /z"), lookup, '\\');
  ASSERT_TRUE(add);
  EXPECT_EQ(add->checksum, "sha256:abc");
  EXPECT_TRUE(add->keep_git_dir);

  struct Case {
    const char* text;
    const char* err;
  } errs[] = {
      {"COPY onlyone", "requires at least two arguments"},
      {"COPY --exclude=*.md a b", "--exclude is not supported"},
      {"COPY --checksum=x a b", "unknown flag: --checksum"},
      {"COPY --link --link a b", "duplicate flag specified: --link"},
      {"COPY --link=maybe a b", "expecting boolean value"},
      {"COPY --from a b", "missing a value on flag: --from"},
      {"COPY a <<EOF\nx\nEOF", "cannot accept a heredoc as a destination"},
  };
  for (const auto& c : errs) {
    auto e = decode_copy(one(c.text), lookup, '\\');
    ASSERT_FALSE(e) << c.text;
    EXPECT_NE(e.error().message().find(c.err), std::string::npos) << e.error().message();
  }
}

TEST(Instructions, RunMountsAndNetwork) {
  auto r = decode_run(one("RUN --mount=type=cache,target=/root/.cache,id=$ID,sharing=locked,mode=0755,uid=1 "
                          "--mount=type=secret,id=tok,required=true,env=TOKEN "
                          "--mount=type=bind,source=src,target=/s,from=build,rw --network=none make"),
                      vars({{"ID", "pip"}}), '\\', kSh);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->cmd, (std::vector<std::string>{"/bin/sh", "-c", "make"}));
  EXPECT_EQ(r->network, RunNetwork::None);
  ASSERT_EQ(r->mounts.size(), 3u);
  EXPECT_EQ(r->mounts[0].type, RunMount::Type::Cache);
  EXPECT_EQ(r->mounts[0].id, "pip");
  EXPECT_EQ(r->mounts[0].sharing, "locked");
  EXPECT_EQ(r->mounts[0].mode, 0755u);
  EXPECT_FALSE(r->mounts[0].read_only);
  EXPECT_EQ(r->mounts[1].type, RunMount::Type::Secret);
  EXPECT_TRUE(r->mounts[1].required);
  EXPECT_EQ(r->mounts[1].env, "TOKEN");
  EXPECT_TRUE(r->mounts[1].read_only);
  EXPECT_EQ(r->mounts[2].from, "build");
  EXPECT_FALSE(r->mounts[2].read_only);

  const char* bad[] = {
      "RUN --mount=type=nope,target=/x a",   "RUN --mount=type=bind,target=/x,mode=0700 a",
      "RUN --mount=type=cache,target=/x,required a", "RUN --mount=type=secret a",
      "RUN --mount=type=bind,source=a,target=/x,sharing=locked a", "RUN --network=bridge a",
      "RUN --mount=target=/x,bogus=1 a",     "RUN --security=insecure a",
      "RUN --mount=type=cache,target=/x,uid=-1 a", "RUN --mount=type=tmpfs,target=/t,size=lots a",
  };
  for (const char* t : bad) {
    auto e = decode_run(one(t), vars({}), '\\', kSh);
    ASSERT_FALSE(e) << t;
    EXPECT_EQ(e.error().message().rfind("Dockerfile:2:1: RUN: ", 0), 0u) << e.error().message();
  }
  auto tmpfs = parse_run_mount("type=tmpfs,target=/t,size=64m", vars({}), '\\');
  ASSERT_TRUE(tmpfs);
  EXPECT_EQ(tmpfs->size, 64 << 20);
}

TEST(Instructions, RunForms) {
  auto json = decode_run(one("RUN [\"echo\", \"$HOME\"]"), vars({}), '\\', kSh);
  ASSERT_TRUE(json);
  EXPECT_FALSE(json->shell_form);
  EXPECT_EQ(json->cmd, (std::vector<std::string>{"echo", "$HOME"}));
  auto script = decode_run(one("RUN <<-EOF\n\techo hi\nEOF"), vars({}), '\\', {"/bin/bash", "-c"});
  ASSERT_TRUE(script);
  EXPECT_EQ(script->cmd, (std::vector<std::string>{"/bin/bash", "-c", "echo hi\n"}));
  auto inline_doc = decode_run(one("RUN cat <<EOF > /f\nx\nEOF"), vars({}), '\\', kSh);
  ASSERT_TRUE(inline_doc);
  EXPECT_EQ(inline_doc->cmd.back(), "cat <<EOF > /f\nx\nEOF");
  ASSERT_EQ(inline_doc->files.size(), 1u);
}

TEST(Instructions, CommandsAndShell) {
  EXPECT_EQ(*decode_command(one("CMD echo hi"), kSh), (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(*decode_command(one("ENTRYPOINT [\"/init\"]"), kSh), (std::vector<std::string>{"/init"}));
  EXPECT_EQ(*decode_shell(one("SHELL [\"pwsh\", \"-c\"]")), (std::vector<std::string>{"pwsh", "-c"}));
  auto bad = decode_shell(one("SHELL pwsh -c"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("SHELL requires the arguments to be in JSON form"), std::string::npos);
}

TEST(Instructions, Healthcheck) {
  auto hc = decode_healthcheck(one("HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=1.5s "
                                   "--start-interval=2s --retries=3 CMD curl -f http://x/"));
  ASSERT_TRUE(hc) << hc.error().what();
  EXPECT_EQ(hc->test, (std::vector<std::string>{"CMD-SHELL", "curl -f http://x/"}));
  EXPECT_EQ(hc->interval_ns, 90'000'000'000);
  EXPECT_EQ(hc->timeout_ns, 500'000'000);
  EXPECT_EQ(hc->start_period_ns, 1'500'000'000);
  EXPECT_EQ(hc->retries, 3);
  auto json = decode_healthcheck(one("HEALTHCHECK CMD [\"/bin/check\", \"-q\"]"));
  ASSERT_TRUE(json);
  EXPECT_EQ(json->test, (std::vector<std::string>{"CMD", "/bin/check", "-q"}));
  EXPECT_EQ(decode_healthcheck(one("HEALTHCHECK NONE"))->test, (std::vector<std::string>{"NONE"}));
  EXPECT_FALSE(decode_healthcheck(one("HEALTHCHECK NONE x")));
  EXPECT_FALSE(decode_healthcheck(one("HEALTHCHECK CMD")));
  EXPECT_FALSE(decode_healthcheck(one("HEALTHCHECK --interval=1us CMD x")));
  EXPECT_FALSE(decode_healthcheck(one("HEALTHCHECK --retries=-1 CMD x")));
  EXPECT_FALSE(decode_healthcheck(one("HEALTHCHECK --interval=5 CMD x")));
  EXPECT_FALSE(decode_healthcheck(one("HEALTHCHECK RUN x")));
}

TEST(Instructions, SingleWordsVolumeOnbuild) {
  auto l = vars({{"U", "app"}, {"D", "/srv"}});
  EXPECT_EQ(*decode_user(one("USER $U:$U"), l, '\\'), "app:app");
  EXPECT_EQ(*decode_workdir(one("WORKDIR ${D}/data dir"), l, '\\'), "/srv/data dir");
  EXPECT_EQ(*decode_stopsignal(one("STOPSIGNAL SIGQUIT"), l, '\\'), "SIGQUIT");
  EXPECT_EQ(*decode_maintainer(one("MAINTAINER Me <me@x>")), "Me <me@x>");
  EXPECT_EQ(*decode_volume(one("VOLUME $D /b"), l, '\\'), (std::vector<std::string>{"/srv", "/b"}));
  EXPECT_EQ(*decode_volume(one("VOLUME [\"/a b\"]"), l, '\\'), (std::vector<std::string>{"/a b"}));
  EXPECT_FALSE(decode_volume(one("VOLUME [\" \"]"), l, '\\'));
  EXPECT_EQ(*decode_onbuild(one("ONBUILD RUN make")), "RUN make");
  EXPECT_EQ(*decode_onbuild(one("ONBUILD COPY <<EOF /x\nhi\nEOF")), "COPY <<EOF /x\nhi\nEOF");
  EXPECT_FALSE(decode_user(one("USER"), l, '\\'));
}

TEST(Instructions, GoDurations) {
  struct Case {
    const char* in;
    int64_t ns;
  } ok[] = {{"0", 0}, {"1s", 1'000'000'000}, {"1.5h", 5'400'000'000'000}, {"2h45m", 9'900'000'000'000},
            {"300ms", 300'000'000}, {"-1.5s", -1'500'000'000}, {"1us", 1000}, {"1\xC2\xB5s", 1000}, {".5s", 500'000'000}};
  for (const auto& c : ok) {
    auto d = parse_go_duration(c.in);
    ASSERT_TRUE(d) << c.in;
    EXPECT_EQ(*d, c.ns) << c.in;
  }
  for (const char* bad : {"", "5", "s", "1x", "1.s.", "99999999999999999999h", "3000000h"}) EXPECT_FALSE(parse_go_duration(bad)) << bad;
}

}  // namespace
}  // namespace berth::build
