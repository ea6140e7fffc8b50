// The Dockerfile syntax tree: directives, continuations, comments, JSON/shell forms, heredocs,
// positions and errors (cases modelled on BuildKit's parser testfiles).
#include "build/dockerfile.h"

#include <gtest/gtest.h>

namespace berth::build {
namespace {

Dockerfile parse_ok(std::string_view text) {
  auto r = parse_dockerfile(text);
  EXPECT_TRUE(r) << (r ? "" : r.error().what());
  return r ? *r : Dockerfile{};
}

std::string parse_err(std::string_view text) {
  auto r = parse_dockerfile(text);
  EXPECT_FALSE(r) << text;
  return r ? "" : r.error().message();
}

TEST(DockerfileParser, BasicInstructionsAndPositions) {
  auto df = parse_ok("FROM alpine:3.19 AS build\n\n  run echo hi\nCMD [\"sh\", \"-c\", \"x\"]\n");
  ASSERT_EQ(df.instructions.size(), 3u);
  const auto& from = df.instructions[0];
  EXPECT_EQ(from.keyword, "FROM");
  EXPECT_EQ(from.args, (std::vector<std::string>{"alpine:3.19", "AS", "build"}));
  EXPECT_EQ(from.start.line, 1);
  EXPECT_EQ(from.start.column, 1);
  const auto& run = df.instructions[1];
  EXPECT_EQ(run.keyword, "RUN");
  EXPECT_EQ(run.original, "run");
  EXPECT_EQ(run.text, "echo hi");
  EXPECT_EQ(run.start.line, 3);
  EXPECT_EQ(run.start.column, 3);
  EXPECT_EQ(run.args_pos.column, 7);
  EXPECT_FALSE(run.json_form);
  EXPECT_TRUE(df.instructions[2].json_form);
  EXPECT_EQ(df.instructions[2].args, (std::vector<std::string>{"sh", "-c", "x"}));
}

TEST(DockerfileParser, Directives) {
  auto df = parse_ok("# syntax=docker/dockerfile:1\n# escape=`\n# check=skip=all\nFROM x\n");
  ASSERT_EQ(df.directives.size(), 3u);
  EXPECT_EQ(df.directives[0].name, "syntax");
  EXPECT_EQ(df.directives[0].value, "docker/dockerfile:1");
  EXPECT_EQ(df.directives[2].value, "skip=all");
  EXPECT_EQ(df.escape, '`');
  EXPECT_TRUE(df.instructions[0].comments.empty());
  // Not at the top: a comment.
  df = parse_ok("# hello\n# escape=`\nFROM x\n");
  EXPECT_TRUE(df.directives.empty());
  EXPECT_EQ(df.escape, '\\');
  EXPECT_EQ(df.instructions[0].comments, (std::vector<std::string>{"hello", "escape=`"}));
  // Unknown directive ends the directives.
  df = parse_ok("# foo=bar\n# escape=`\nFROM x\n");
  EXPECT_EQ(df.escape, '\\');
  // A blank line ends them too.
  df = parse_ok("\n# escape=`\nFROM x\n");
  EXPECT_EQ(df.escape, '\\');
  EXPECT_NE(parse_err("# escape=x\nFROM x\n").find("Dockerfile:1:1: invalid escape token"), std::string::npos);
  EXPECT_NE(parse_err("# escape=`\n# escape=`\nFROM x\n").find("only one escape parser directive"), std::string::npos);
}

TEST(DockerfileParser, ContinuationsWithCommentsAndEmptyLines) {
  auto df = parse_ok(
      "FROM x\n"
      "RUN apt-get update \\\n"
      "# a comment inside\n"
      "\n"
      "    && apt-get install -y curl \\\n"
      "  # another\n"
      "    && echo done\n"
      "USER me\n");
  ASSERT_EQ(df.instructions.size(), 3u);
  const auto& run = df.instructions[1];
  EXPECT_EQ(run.text, "apt-get update     && apt-get install -y curl     && echo done");
  EXPECT_EQ(run.start.line, 2);
  EXPECT_EQ(run.end.line, 7);
  EXPECT_EQ(df.instructions[2].start.line, 8);
}

TEST(DockerfileParser, EscapeBacktick) {
  auto df = parse_ok("# escape=`\nFROM windows\nRUN dir c:\\ `\n  /s\nCOPY a\\b c:\\\n");
  ASSERT_EQ(df.instructions.size(), 3u);
  EXPECT_EQ(df.instructions[1].text, "dir c:\\   /s");
  EXPECT_EQ(df.instructions[2].args, (std::vector<std::string>{"a\\b", "c:\\"}));
}

TEST(DockerfileParser, DoubleEscapeIsNotContinuation) {
  auto df = parse_ok("FROM x\nRUN echo \\\\\nUSER me\n");
  ASSERT_EQ(df.instructions.size(), 3u);
  EXPECT_EQ(df.instructions[1].text, "echo \\\\");
}

TEST(DockerfileParser, CrlfAndBom) {
  auto df = parse_ok("\xEF\xBB\xBF# escape=`\r\nFROM x\r\nRUN a `\r\n b\r\n");
  EXPECT_EQ(df.escape, '`');
  ASSERT_EQ(df.instructions.size(), 2u);
  EXPECT_EQ(df.instructions[1].text, "a  b");
}

TEST(DockerfileParser, CommentsAttachToNextInstruction) {
  auto df = parse_ok("FROM x\n# first\n\n# second\nRUN a\n#\n# only\nRUN b\n");
  EXPECT_EQ(df.instructions[1].comments, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(df.instructions[2].comments, (std::vector<std::string>{"only"}));
}

TEST(DockerfileParser, JsonFallbackAndErrors) {
  auto df = parse_ok("FROM x\nCMD ['a', 'b']\nENTRYPOINT [\"a\" \"b\"]\nCOPY [\"a b\", \"/c\"]\n");
  EXPECT_FALSE(df.instructions[1].json_form);
  EXPECT_EQ(df.instructions[1].args, (std::vector<std::string>{"['a', 'b']"}));
  EXPECT_FALSE(df.instructions[2].json_form);
  EXPECT_TRUE(df.instructions[3].json_form);
  EXPECT_EQ(df.instructions[3].args, (std::vector<std::string>{"a b", "/c"}));
  EXPECT_NE(parse_err("FROM x\nCMD [\"a\", 1]\n").find("arrays must be comprised of strings only"), std::string::npos);
}

TEST(DockerfileParser, Flags) {
  auto df = parse_ok("FROM --platform=$BUILDPLATFORM x\nCOPY --from=build --link --chown=\"a b\" src /dst\n");
  const auto& copy = df.instructions[1];
  ASSERT_EQ(copy.flags.size(), 3u);
  EXPECT_EQ(copy.flags[0].name, "from");
  EXPECT_EQ(copy.flags[0].value, "build");
  EXPECT_EQ(copy.flags[0].pos.column, 6);
  EXPECT_EQ(copy.flags[1].name, "link");
  EXPECT_FALSE(copy.flags[1].has_value);
  EXPECT_EQ(copy.flags[2].value, "a b");
  EXPECT_EQ(copy.args, (std::vector<std::string>{"src", "/dst"}));
  EXPECT_EQ(df.instructions[0].flags[0].value, "$BUILDPLATFORM");
}

TEST(DockerfileParser, EnvAndLabelForms) {
  auto df = parse_ok("FROM x\nENV a=1 b=\"x y\"\nENV legacy value with spaces\nLABEL \"k\"=v\n");
  EXPECT_EQ(df.instructions[1].args, (std::vector<std::string>{"a=1", "b=\"x y\""}));
  EXPECT_EQ(df.instructions[2].args, (std::vector<std::string>{"legacy", "value with spaces"}));
  EXPECT_NE(parse_err("FROM x\nENV onlyname\n").find("ENV must have two arguments"), std::string::npos);
  EXPECT_NE(parse_err("FROM x\nENV a=1 b\n").find("can't find = in \"b\""), std::string::npos);
}

TEST(DockerfileParser, Heredocs) {
  auto df = parse_ok(
      "FROM x\n"
      "RUN <<EOF\n"
      "echo $HOME\n"
      "EOF\n"
      "RUN <<-\"A\" 3<<'B' cat\n"
      "\tquoted $X\n"
      "\tA\n"
      "b body\n"
      "B\n"
      "COPY <<EOF /dest\n"
      "content\n"
      "EOF\n"
      "USER me\n");
  ASSERT_EQ(df.instructions.size(), 5u);
  const auto& r1 = df.instructions[1];
  ASSERT_EQ(r1.heredocs.size(), 1u);
  EXPECT_EQ(r1.heredocs[0].name, "EOF");
  EXPECT_EQ(r1.heredocs[0].content, "echo $HOME\n");
  EXPECT_TRUE(r1.heredocs[0].expand);
  EXPECT_EQ(r1.heredocs[0].pos.line, 2);
  EXPECT_EQ(r1.heredocs[0].pos.column, 5);
  const auto& r2 = df.instructions[2];
  ASSERT_EQ(r2.heredocs.size(), 2u);
  EXPECT_EQ(r2.heredocs[0].name, "A");
  EXPECT_TRUE(r2.heredocs[0].strip_tabs);
  EXPECT_FALSE(r2.heredocs[0].expand);
  EXPECT_EQ(heredoc_body(r2.heredocs[0]), "quoted $X\n");
  EXPECT_EQ(r2.heredocs[1].name, "B");
  EXPECT_EQ(r2.heredocs[1].fd, 3);
  EXPECT_EQ(r2.heredocs[1].content, "b body\n");
  EXPECT_EQ(r2.last_line, 9);
  const auto& copy = df.instructions[3];
  ASSERT_EQ(copy.heredocs.size(), 1u);
  EXPECT_EQ(copy.args, (std::vector<std::string>{"<<EOF", "/dest"}));
  EXPECT_EQ(df.instructions[4].start.line, 13);
  // JSON form never holds heredocs; CMD never does.
  df = parse_ok("FROM x\nRUN [\"cat\", \"<<EOF\"]\nCMD cat <<EOF\n");
  EXPECT_TRUE(df.instructions[1].heredocs.empty());
  EXPECT_EQ(df.instructions.size(), 3u);
  EXPECT_NE(parse_err("FROM x\nRUN <<EOF\nno end\n").find("Dockerfile:2:1: unterminated heredoc EOF"),
            std::string::npos);
}

TEST(DockerfileParser, Onbuild) {
  auto df = parse_ok("FROM x\nONBUILD RUN --mount=type=cache,target=/c make\nonbuild copy <<EOF /x\nhi\nEOF\n");
  ASSERT_EQ(df.instructions[1].onbuild.size(), 1u);
  EXPECT_EQ(df.instructions[1].onbuild[0].keyword, "RUN");
  EXPECT_EQ(df.instructions[1].onbuild[0].flags[0].name, "mount");
  EXPECT_EQ(df.instructions[1].onbuild[0].start.column, 9);
  EXPECT_EQ(df.instructions[1].onbuild[0].end.line, 2);
  EXPECT_EQ(df.instructions[2].heredocs.size(), 1u);
  EXPECT_EQ(df.instructions[2].onbuild[0].heredocs.size(), 1u);
  EXPECT_NE(parse_err("FROM x\nONBUILD ONBUILD RUN a\n").find("Chaining ONBUILD"), std::string::npos);
  EXPECT_NE(parse_err("FROM x\nONBUILD FROM y\n").find("FROM isn't allowed as an ONBUILD trigger"), std::string::npos);
  EXPECT_NE(parse_err("FROM x\nONBUILD MAINTAINER y\n").find("MAINTAINER isn't allowed"), std::string::npos);
}

TEST(DockerfileParser, Errors) {
  EXPECT_EQ(parse_err("FROM x\n  RUNN echo\n"), "Dockerfile:2:3: unknown instruction: RUNN (did you mean RUN?)");
  EXPECT_EQ(parse_err("FROM\n"), "Dockerfile:1:1: FROM requires at least one argument");
  EXPECT_NE(parse_err("# just a comment\n\n").find("file with no instructions"), std::string::npos);
  auto r = parse_dockerfile("FROM x\nFOO\n", "app.Dockerfile");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(r.error().message().rfind("app.Dockerfile:2:1:", 0), 0u);
}

TEST(DockerfileParser, AllKeywordsCaseInsensitive) {
  auto df = parse_ok(
      "from x\nrun a\ncmd b\nlabel a=b\nmaintainer me\nexpose 80\nenv a=b\nadd a b\ncopy a b\n"
      "entrypoint c\nvolume /v\nuser u\nworkdir /w\narg A\nonbuild run x\nstopsignal SIGTERM\n"
      "healthcheck --interval=5s CMD true\nshell [\"sh\", \"-c\"]\n");
  std::vector<std::string> kw;
  for (const auto& i : df.instructions) kw.push_back(i.keyword);
  EXPECT_EQ(kw, (std::vector<std::string>{"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY",
                                          "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL",
                                          "HEALTHCHECK", "SHELL"}));
  EXPECT_EQ(df.instructions[16].args, (std::vector<std::string>{"CMD", "true"}));
  EXPECT_EQ(df.instructions[16].flags[0].value, "5s");
}

}  // namespace
}  // namespace berth::build
