#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/fs.h"
#include "base/scope_guard.h"
#include "engine/log_file.h"
#include "engine/log_reader.h"
#include "engine/log_writer.h"

namespace berth::engine {
namespace {

using namespace std::chrono_literals;
namespace chr = std::chrono;

LogTime T(std::string_view s) {
  auto t = parse_time_rfc3339(s);
  EXPECT_TRUE(t.has_value()) << s;
  return t.value_or(LogTime{});
}

const LogTime kT0 = T("2026-11-26T05:21:54.123456789Z");

std::string read_or_empty(const std::string& path) {
  auto r = read_file(path);
  return r ? *r : std::string();
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::vector<LogEntry> decode_file(const std::string& path) {
  std::vector<LogEntry> out;
  for (const std::string& line : split_lines(read_or_empty(path))) {
    auto e = decode_log_entry(line);
    EXPECT_TRUE(e.has_value()) << line;
    if (e) out.push_back(std::move(*e));
  }
  return out;
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-log-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/c-json.log";
  }
  void TearDown() override { (void)remove_all(dir_); }

  LogWriter open_writer(int64_t max_size = 0, int max_files = 1) {
    auto w = LogWriter::open(path_, max_size, max_files);
    EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().what());
    return std::move(*w);
  }

  struct Line {
    LogStream stream;
    std::string text;
    LogTime time;
  };
  std::vector<Line> read_all(LogReadOptions options, LogReadStats* stats = nullptr) {
    std::vector<Line> lines;
    auto r = LogReader::read(path_, options, [&](LogStream s, std::string_view text, LogTime t) {
      lines.push_back({s, std::string(text), t});
    });
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().what());
    if (r && stats) *stats = *r;
    return lines;
  }

  // Every entry of <path>.N ... <path>, oldest first, straight from the files.
  std::vector<LogEntry> all_entries() {
    std::vector<LogEntry> out;
    for (int i = 50; i >= 1; --i) {
      for (auto& e : decode_file(path_ + "." + std::to_string(i))) out.push_back(std::move(e));
    }
    for (auto& e : decode_file(path_)) out.push_back(std::move(e));
    return out;
  }

  std::string dir_;
  std::string path_;
};

// ---- format ----

TEST(LogFormat, EncodesExactlyLikeDockerd) {
  EXPECT_EQ(encode_log_entry(LogStream::Stdout, "hello\n", kT0),
            "{\"log\":\"hello\\n\",\"stream\":\"stdout\","
            "\"time\":\"2026-11-26T05:21:54.123456789Z\"}\n");
  EXPECT_EQ(encode_log_entry(LogStream::Stderr, "x", kT0 - 123456789ns),
            "{\"log\":\"x\",\"stream\":\"stderr\",\"time\":\"2026-11-26T05:21:54Z\"}\n");
  EXPECT_EQ(encode_log_entry(LogStream::Stdout, "", kT0),
            "{\"stream\":\"stdout\",\"time\":\"2026-11-26T05:21:54.123456789Z\"}\n");
}

TEST(LogFormat, TimesLikeGo) {
  EXPECT_EQ(format_time_rfc3339nano(kT0 - 56789ns), "2026-11-26T05:21:54.1234Z");
  EXPECT_EQ(format_time_rfc3339nano(kT0 - 123456789ns), "2026-11-26T05:21:54Z");
  EXPECT_EQ(format_time_fixed(kT0 - 123456789ns), "2026-11-26T05:21:54.000000000Z");
  EXPECT_EQ(format_time_fixed(kT0), "2026-11-26T05:21:54.123456789Z");
  EXPECT_EQ(format_time_rfc3339nano(LogTime{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(T("2026-11-26T06:21:54.123456789+01:00"), kT0);
  EXPECT_EQ(T("2026-11-26T05:21:54.1234567891Z"), kT0);
  EXPECT_EQ(T("2026-11-26T00:21:54.123456789-05:00"), kT0);
  EXPECT_FALSE(parse_time_rfc3339("2026-11-26T05:21:54"));   // zone required
  EXPECT_FALSE(parse_time_rfc3339("2026-02-30T05:21:54Z"));  // no such day
  EXPECT_FALSE(parse_time_rfc3339("2026-11-26T25:21:54Z"));
  EXPECT_FALSE(parse_time_rfc3339("2026-11-26T05:21:54Zjunk"));
}

TEST(LogFormat, EscapesControlAndHtmlCharactersLikeGo) {
  std::string out;
  append_json_string(out, "a\"b\\c\n\r\t\x01\x1f\x7f<>&");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\r\\u0009\\u0001\\u001f\x7f\\u003c\\u003e\\u0026\"");
  out.clear();
  append_json_string(out, std::string("nul\0end", 7));
  EXPECT_EQ(out, "\"nul\\u0000end\"");
  out.clear();
  append_json_string(out, "line\xE2\x80\xA8sep\xE2\x80\xA9");
  EXPECT_EQ(out, "\"line\\u2028sep\\u2029\"");
}

TEST(LogFormat, InvalidUtf8BecomesReplacementPerByte) {
  auto esc = [](std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
  };
  EXPECT_EQ(esc("\xff"), "\"\\ufffd\"");
  EXPECT_EQ(esc("a\xC0\x80z"), "\"a\\ufffd\\ufffdz\"");           // overlong NUL
  EXPECT_EQ(esc("\xED\xA0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");    // surrogate
  EXPECT_EQ(esc("\xE2\x82"), "\"\\ufffd\\ufffd\"");               // cut short
  EXPECT_EQ(esc("\xF4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // > U+10FFFF
  EXPECT_EQ(esc("\xF0\x80\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // overlong
  // Valid multibyte text passes through untouched.
  EXPECT_EQ(esc("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBD"),
            "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBD\"");
}

TEST(LogFormat, DecodesWhatItEncodes) {
  std::string text = "tab\there \"quoted\" <html> & \xC3\xA9 \x01\r\n";
  std::string line = encode_log_entry(LogStream::Stderr, text, kT0);
  line.pop_back();
  auto e = decode_log_entry(line);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->log, text);
  EXPECT_EQ(e->stream, LogStream::Stderr);
  EXPECT_EQ(e->time, kT0);
  // Invalid bytes come back as U+FFFD.
  line = encode_log_entry(LogStream::Stdout, "a\xFF" "b", kT0);
  line.pop_back();
  e = decode_log_entry(line);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->log, "a\xEF\xBF\xBD" "b");
  // Docker's attrs and unknown fields are tolerated, field order does not matter.
  e = decode_log_entry(
      R"({"time":"2026-11-26T05:21:54.123456789Z","attrs":{"k":"v"},"x":[1,2],"log":"hi\n","stream":"stdout"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->log, "hi\n");
  e = decode_log_entry(R"({"log":null,"stream":"stdout","time":"2026-11-26T05:21:54Z"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->log, "");
}

TEST(LogFormat, GarbageLinesAreRejectedNotFatal) {
  const std::vector<std::string> garbage = {
      "",
      " ",
      "{",
      "}",
      "null",
      "[]",
      "\"log\"",
      "{}",
      R"({"log":"x","stream":"stdout"})",
      R"({"log":"x","stream":"stdin","time":"2026-11-26T05:21:54Z"})",
      R"({"log":"x","stream":"stdout","time":"yesterday"})",
      R"({"log":1,"stream":"stdout","time":"2026-11-26T05:21:54Z"})",
      R"({"log":{"a":1},"stream":"stdout","time":"2026-11-26T05:21:54Z"})",
      R"({"log":["x"],"stream":"stdout","time":"2026-11-26T05:21:54Z"})",
      R"({"log":"x","stream":"stdout","time":"2026-11-26T05:21:54Z"} trailing)",
      R"({"log":"x","stream":"stdout","time":"2026-11-26T05:21:54Z"}{})",
      R"({"log":"\ud800","stream":"stdout","time":"2026-11-26T05:21:54Z"})",
      R"({"log":"x","stream":"stdout","time":"2026-11-26T05:21:54Z","a":{"b":{"c":{}}}})",
      "{\"log\":\"\xff\",\"stream\":\"stdout\",\"time\":\"2026-11-26T05:21:54Z\"}",
      std::string(1 << 20, '['),
      "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}",
      std::string("\0\0\0", 3),
  };
  for (const std::string& g : garbage) {
    EXPECT_FALSE(decode_log_entry(g)) << g.substr(0, 80);
  }
  // Random bytes and random mutations of a valid line never crash the parser.
  std::mt19937 rng(42);
  std::string valid = encode_log_entry(LogStream::Stdout, "hello world\n", kT0);
  valid.pop_back();
  for (int i = 0; i < 20000; ++i) {
    std::string s = valid;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[at] = static_cast<char>(rng()); break;
        case 1: s.erase(at, 1 + rng() % 5); break;
        default: s.insert(at, 1, static_cast<char>(rng())); break;
      }
      if (s.empty()) s = "{";
    }
    (void)decode_log_entry(s);
  }
}

// ---- --since / --until / --tail values ----

TEST(LogTimeValues, GoDurations) {
  EXPECT_EQ(parse_go_duration("300ms"), chr::nanoseconds(300ms));
  EXPECT_EQ(parse_go_duration("-1.5h"), chr::nanoseconds(-90min));
  EXPECT_EQ(parse_go_duration("2h45m"), chr::nanoseconds(165min));
  EXPECT_EQ(parse_go_duration("1\xC2\xB5s"), chr::nanoseconds(1us));
  EXPECT_EQ(parse_go_duration("1.000000001s"), chr::nanoseconds(1000000001));
  EXPECT_EQ(parse_go_duration(".5s"), chr::nanoseconds(500ms));
  EXPECT_EQ(parse_go_duration("0"), chr::nanoseconds(0));
  for (std::string_view bad : {"", "1", ".s", "1hh", "h", "1.2.3s", "+", "9999999999h", "1 s"}) {
    EXPECT_FALSE(parse_go_duration(bad)) << bad;
  }
}

TEST(LogTimeValues, SinceAndUntilForms) {
  LogTime now = kT0;
  auto parse = [&](std::string_view v) { return parse_log_time(v, now, "--since"); };
  EXPECT_EQ(*parse("10m"), now - 10min);
  EXPECT_EQ(*parse("-5s"), now + 5s);
  EXPECT_EQ(*parse("2026-11-26T05:21:54.123456789Z"), kT0);
  EXPECT_EQ(*parse("2026-11-26T07:21:54.123456789+02:00"), kT0);
  EXPECT_EQ(*parse("2026-11-26Z"), T("2026-11-26T00:00:00Z"));
  EXPECT_EQ(*parse("2026-11-26T05Z"), T("2026-11-26T05:00:00Z"));
  EXPECT_EQ(*parse("2026-11-26T05:21Z"), T("2026-11-26T05:21:00Z"));
  EXPECT_EQ(*parse("1700000000"), LogTime(1700000000s));
  EXPECT_EQ(*parse("1700000000.5"), LogTime(1700000000s + 500ms));
  EXPECT_EQ(*parse("0"), LogTime{});
  // Without a zone the local zone applies, with its offset of now (as Docker does).
  time_t secs = chr::system_clock::to_time_t(chr::time_point_cast<chr::system_clock::duration>(now));
  struct tm tm {};
  localtime_r(&secs, &tm);
  EXPECT_EQ(*parse("2026-11-26T05:21:54"), T("2026-11-26T05:21:54Z") - chr::seconds(tm.tm_gmtoff));
  EXPECT_EQ(*parse("2026-11-26"), T("2026-11-26T00:00:00Z") - chr::seconds(tm.tm_gmtoff));
  for (std::string_view bad : {"yesterday", "2026-13-01", "10x", "2026-11-26T05:21:54+0100",
                               "-1700000000", "1.2.3"}) {
    auto r = parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().what().find("--since"), std::string::npos);
  }
}

TEST(LogTimeValues, Tail) {
  EXPECT_EQ(parse_log_tail("all"), std::nullopt);
  EXPECT_EQ(parse_log_tail(""), std::nullopt);
  EXPECT_EQ(parse_log_tail("-1"), std::nullopt);
  EXPECT_EQ(parse_log_tail("0"), 0u);
  EXPECT_EQ(parse_log_tail("25"), 25u);
}

// ---- writer: lines ----

TEST_F(LogTest, SplitsLinesLikeDockersCopier) {
  {
    LogWriter w = open_writer();
    ASSERT_TRUE(w.write(LogStream::Stdout, "one\ntw", kT0));
    ASSERT_TRUE(w.write(LogStream::Stderr, "err\r\n\n", kT0 + 1s));
    ASSERT_TRUE(w.write(LogStream::Stdout, "o\nthree", kT0 + 2s));
    ASSERT_TRUE(w.flush(kT0 + 3s));
  }
  auto e = decode_file(path_);
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e[0].log, "one\n");
  EXPECT_EQ(e[0].time, kT0);
  EXPECT_EQ(e[1].log, "err\r\n");  // CR stays part of the line
  EXPECT_EQ(e[1].stream, LogStream::Stderr);
  EXPECT_EQ(e[2].log, "\n");
  EXPECT_EQ(e[3].log, "two\n");  // stamped when the line was completed
  EXPECT_EQ(e[3].time, kT0 + 2s);
  EXPECT_EQ(e[4].log, "three");  // flushed at exit: a partial entry without "\n"
  EXPECT_EQ(e[4].time, kT0 + 3s);
  EXPECT_NE(read_or_empty(path_).find(R"("log":"err\r\n")"), std::string::npos);
}

TEST_F(LogTest, LongLinesArePartialEntriesOf16KiB) {
  {
    LogWriter w = open_writer();
    ASSERT_TRUE(w.write(LogStream::Stdout, std::string(16383, 'a') + "\n", kT0));  // fits
    // 40000 bytes in small writes: two 16 KiB partials and the rest, all stamped when the
    // first partial was written (the write that filled 16 KiB).
    std::string big(40000, 'b');
    for (size_t i = 0; i < big.size(); i += 1000) {
      ASSERT_TRUE(w.write(LogStream::Stdout, big.substr(i, 1000), kT0 + chr::seconds(1 + i)));
    }
    ASSERT_TRUE(w.write(LogStream::Stdout, "\n", kT0 + 100s));
    ASSERT_TRUE(w.write(LogStream::Stdout, std::string(16384, 'c') + "\n", kT0 + 200s));
    ASSERT_TRUE(w.write(LogStream::Stdout, "after\n", kT0 + 300s));
  }
  auto e = decode_file(path_);
  ASSERT_EQ(e.size(), 7u);
  EXPECT_EQ(e[0].log, std::string(16383, 'a') + "\n");
  EXPECT_EQ(e[1].log, std::string(16384, 'b'));
  EXPECT_EQ(e[2].log, std::string(16384, 'b'));
  EXPECT_EQ(e[3].log, std::string(40000 - 2 * 16384, 'b') + "\n");
  EXPECT_EQ(e[1].time, kT0 + 16001s);
  EXPECT_EQ(e[2].time, kT0 + 16001s);
  EXPECT_EQ(e[3].time, kT0 + 16001s);
  EXPECT_EQ(e[4].log, std::string(16384, 'c'));  // exactly full: the "\n" comes alone
  EXPECT_EQ(e[5].log, "\n");
  EXPECT_EQ(e[5].time, kT0 + 200s);
  EXPECT_EQ(e[6].log, "after\n");
  EXPECT_EQ(e[6].time, kT0 + 300s);
}

TEST_F(LogTest, FileModeAppendAndFragmentRepair) {
  mode_t old = ::umask(077);
  {
    LogWriter w = open_writer();
    ASSERT_TRUE(w.write(LogStream::Stdout, "first\n", kT0));
  }
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  // A writer that died mid-line left a fragment; the next one appends after a newline.
  ASSERT_TRUE(write_file(path_, read_or_empty(path_) + "{\"log\":\"cut", 0640));
  {
    LogWriter w = open_writer();
    ASSERT_TRUE(w.write(LogStream::Stdout, "second\n", kT0 + 1s));
  }
  LogReadStats stats;
  auto lines = read_all({}, &stats);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "first\n");
  EXPECT_EQ(lines[1].text, "second\n");
  EXPECT_EQ(stats.corrupt, 1u);
}

TEST_F(LogTest, OpenRefusesBadMaxFile) {
  auto w = LogWriter::open(path_, 100, 0);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), ErrorCode::InvalidArgument);
  auto missing = LogWriter::open(dir_ + "/no/such/dir/x.log");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().what().find("no/such/dir"), std::string::npos);
}

// ---- writer: rotation ----

// Every entry "lineNN\n" at kT0 encodes to the same length.
int64_t entry_size() {
  return static_cast<int64_t>(encode_log_entry(LogStream::Stdout, "line00\n", kT0).size());
}

TEST_F(LogTest, RotatesAtExactlyTheLimitAndKeepsMaxFiles) {
  const int64_t max = 10 * entry_size();
  {
    LogWriter w = open_writer(max, 3);
    for (int i = 0; i < 35; ++i) {
      ASSERT_TRUE(w.write(LogStream::Stdout, fmt::format("line{:02d}\n", i), kT0));
    }
  }
  auto size_of = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? st.st_size : -1;
  };
  EXPECT_EQ(size_of(path_ + ".2"), max);  // full to the byte, not one entry more
  EXPECT_EQ(size_of(path_ + ".1"), max);
  EXPECT_EQ(size_of(path_), 5 * entry_size());
  EXPECT_FALSE(path_exists(path_ + ".3"));
  auto e = all_entries();
  ASSERT_EQ(e.size(), 25u);  // lines 0-9 went with the oldest file
  for (int i = 0; i < 25; ++i) EXPECT_EQ(e[i].log, fmt::format("line{:02d}\n", i + 10));
}

TEST_F(LogTest, ManySmallWritesLoseNothingAcrossRotations) {
  const int64_t max = 8192;
  std::mt19937 rng(7);
  std::string all;
  for (int i = 0; i < 2000; ++i) all += fmt::format("message {} {}\n", i, std::string(rng() % 50, 'x'));
  {
    LogWriter w = open_writer(max, 50);
    for (size_t pos = 0; pos < all.size();) {
      size_t n = std::min<size_t>(1 + rng() % 97, all.size() - pos);
      ASSERT_TRUE(w.write(LogStream::Stdout, std::string_view(all).substr(pos, n), kT0));
      EXPECT_LE(w.size(), max);
      pos += n;
    }
  }
  for (int i = 1; i <= 49; ++i) {
    std::string p = path_ + "." + std::to_string(i);
    if (!path_exists(p)) continue;
    auto content = read_or_empty(p);
    EXPECT_LE(static_cast<int64_t>(content.size()), max);
    // Rotation happens only when the next entry would not fit.
    EXPECT_GT(static_cast<int64_t>(content.size()) + 200, max) << p;
  }
  auto e = all_entries();
  ASSERT_EQ(e.size(), 2000u);
  std::string joined;
  for (auto& x : e) joined += x.log;
  EXPECT_EQ(joined, all);
  // The reader sees the same.
  auto lines = read_all({});
  ASSERT_EQ(lines.size(), 2000u);
  EXPECT_EQ(lines.back().text, e.back().log);
}

TEST_F(LogTest, SingleFileIsTruncatedAndHugeEntryGetsItsOwnFile) {
  const int64_t max = 3 * entry_size();
  {
    LogWriter w = open_writer(max, 1);
    for (int i = 0; i < 7; ++i) ASSERT_TRUE(w.write(LogStream::Stdout, fmt::format("line{:02d}\n", i), kT0));
  }
  EXPECT_FALSE(path_exists(path_ + ".1"));
  auto e = decode_file(path_);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].log, "line06\n");
  ASSERT_TRUE(remove_all(path_));
  {
    LogWriter w = open_writer(100, 3);
    ASSERT_TRUE(w.write(LogStream::Stdout, "small\n", kT0));
    ASSERT_TRUE(w.write(LogStream::Stdout, std::string(500, 'z') + "\n", kT0));
    ASSERT_TRUE(w.write(LogStream::Stdout, "next\n", kT0));
  }
  EXPECT_EQ(decode_file(path_ + ".2")[0].log, "small\n");
  EXPECT_EQ(decode_file(path_ + ".1")[0].log, std::string(500, 'z') + "\n");
  EXPECT_EQ(decode_file(path_)[0].log, "next\n");
}

// ---- reader ----

// 30 entries, one a second from kT0, 10 a file over <path>.2, <path>.1, <path>.
void write_thirty(LogWriter& w) {
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(w.write(i % 2 ? LogStream::Stderr : LogStream::Stdout,
                        fmt::format("line{:02d}\n", i), kT0 + chr::seconds(i)));
  }
}

std::vector<std::string> texts(const auto& lines) {
  std::vector<std::string> out;
  for (auto& l : lines) out.push_back(l.text);
  return out;
}

std::vector<std::string> expected(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(fmt::format("line{:02d}\n", i));
  return out;
}

TEST_F(LogTest, ReadsRotatedFilesOldestFirstWithSinceUntilTail) {
  {
    LogWriter w = open_writer(10 * entry_size(), 5);
    write_thirty(w);
  }
  ASSERT_TRUE(path_exists(path_ + ".2"));
  ASSERT_FALSE(path_exists(path_ + ".3"));
  LogReadOptions o;
  auto all = read_all(o);
  EXPECT_EQ(texts(all), expected(0, 30));
  EXPECT_EQ(all[1].stream, LogStream::Stderr);
  EXPECT_EQ(all[1].time, kT0 + 1s);

  o.tail = "5";
  EXPECT_EQ(texts(read_all(o)), expected(25, 30));
  o.tail = "15";  // across files
  EXPECT_EQ(texts(read_all(o)), expected(15, 30));
  o.tail = "25";
  EXPECT_EQ(texts(read_all(o)), expected(5, 30));
  o.tail = "10";  // exactly the live file
  EXPECT_EQ(texts(read_all(o)), expected(20, 30));
  o.tail = "0";
  EXPECT_TRUE(read_all(o).empty());
  o.tail = "1000";
  EXPECT_EQ(texts(read_all(o)), expected(0, 30));

  o = {};
  o.since = format_time_rfc3339nano(kT0 + 12s);
  EXPECT_EQ(texts(read_all(o)), expected(12, 30));
  o.until = format_time_rfc3339nano(kT0 + 21s);
  EXPECT_EQ(texts(read_all(o)), expected(12, 22));
  o.since = fmt::format("{}", chr::duration_cast<chr::seconds>((kT0 + 25s).time_since_epoch()).count());
  o.until = "";
  EXPECT_EQ(texts(read_all(o)), expected(25, 30));  // whole seconds: just before line25
  o = {};
  o.now = kT0 + 30s;
  o.since = "5s";
  EXPECT_EQ(texts(read_all(o)), expected(25, 30));
  // tail first, then since (Docker's order).
  o = {};
  o.tail = "8";
  o.since = format_time_rfc3339nano(kT0 + 25s);
  EXPECT_EQ(texts(read_all(o)), expected(25, 30));
  o = {};
  o.tail = "2";
  o.timestamps = true;
  auto stamped = read_all(o);
  ASSERT_EQ(stamped.size(), 2u);
  EXPECT_EQ(stamped[0].text, "2026-11-26T05:22:22.123456789Z line28\n");

  o = {};
  o.since = "not a time";
  bool called = false;
  auto r = LogReader::read(path_, o, [&](LogStream, std::string_view, LogTime) { called = true; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  EXPECT_FALSE(called);
}

TEST_F(LogTest, ReaderSkipsCorruptLinesAndTailCountsValidOnes) {
  {
    LogWriter w = open_writer(10 * entry_size(), 5);
    write_thirty(w);
  }
  // Garbage into the middle file and the live one, including an oversized line.
  std::string rotated = read_or_empty(path_ + ".1");
  ASSERT_TRUE(write_file(path_ + ".1", "garbage\n\n{\"log\":1}\n" + rotated + std::string(3 << 20, 'q') + "\n"));
  ASSERT_TRUE(write_file(path_, read_or_empty(path_) + "\xff\xfe\n" + "[[[[\n"));
  LogReadStats stats;
  auto lines = read_all({}, &stats);
  EXPECT_EQ(texts(lines), expected(0, 30));
  EXPECT_EQ(stats.corrupt, 6u);
  EXPECT_EQ(stats.lines, 30u);
  LogReadOptions o;
  o.tail = "12";
  lines = read_all(o, &stats);
  EXPECT_EQ(texts(lines), expected(18, 30));
  o.tail = "3";
  EXPECT_EQ(texts(read_all(o)), expected(27, 30));
}

TEST_F(LogTest, ReaderWithoutAnyLogFile) {
  LogReadStats stats;
  EXPECT_TRUE(read_all({}, &stats).empty());
  EXPECT_EQ(stats.lines, 0u);
  auto r = LogReader::read(dir_ + "/missing/x-json.log", {}, [](LogStream, std::string_view, LogTime) {});
  EXPECT_FALSE(r);
}

TEST_F(LogTest, PathConvention) {
  EXPECT_EQ(container_log_path("/var/lib/berth", "abc"), "/var/lib/berth/containers/abc/abc-json.log");
  EXPECT_EQ(container_log_path("/r/", "abc"), "/r/containers/abc/abc-json.log");
}

// ---- follow ----

TEST_F(LogTest, FollowSeesLinesFromAnotherThreadAcrossRotationsThenStops) {
  constexpr int kLines = 600;
  {
    LogWriter w = open_writer(2048, 1000);
    ASSERT_TRUE(w.write(LogStream::Stdout, "before\n", kT0));
  }
  std::atomic<bool> finished{false};
  std::thread writer([&] {
    auto done = defer([&] { finished = true; });
    auto w = LogWriter::open(path_, 2048, 1000);
    ASSERT_TRUE(w);
    for (int i = 0; i < kLines; ++i) {
      ASSERT_TRUE(w->write(LogStream::Stdout, fmt::format("msg {}\n", i), kT0 + chr::seconds(i)));
      if (i % 50 == 0) std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(w->write(LogStream::Stderr, "no newline at exit", kT0));
    ASSERT_TRUE(w->flush(kT0));
  });
  LogReadOptions o;
  o.follow = true;
  o.poll_interval = 20ms;
  o.stop = [&] { return finished.load(); };
  LogReadStats stats;
  auto lines = read_all(o, &stats);
  writer.join();
  ASSERT_EQ(lines.size(), kLines + 2u);
  EXPECT_EQ(lines[0].text, "before\n");
  for (int i = 0; i < kLines; ++i) ASSERT_EQ(lines[i + 1].text, fmt::format("msg {}\n", i));
  EXPECT_EQ(lines.back().text, "no newline at exit");
  EXPECT_EQ(stats.corrupt, 0u);
  EXPECT_TRUE(path_exists(path_ + ".5"));  // it did rotate
}

TEST_F(LogTest, FollowWaitsForTheFileAndTailZeroShowsOnlyNewLines) {
  std::atomic<bool> finished{false};
  std::thread writer([&] {
    auto done = defer([&] { finished = true; });
    std::this_thread::sleep_for(100ms);
    auto w = LogWriter::open(path_, 1024, 3);
    ASSERT_TRUE(w);
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(w->write(LogStream::Stdout, fmt::format("m{}\n", i), kT0));
      std::this_thread::sleep_for(1ms);
    }
  });
  LogReadOptions o;
  o.follow = true;
  o.tail = "0";
  o.poll_interval = 20ms;
  o.stop = [&] { return finished.load(); };
  auto lines = read_all(o);
  writer.join();
  // With three small files a slow reader may lose the oldest lines, never order or duplicates.
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().text, "m99\n");
  for (size_t i = 1; i < lines.size(); ++i) {
    int a = std::stoi(lines[i - 1].text.substr(1)), b = std::stoi(lines[i].text.substr(1));
    EXPECT_LT(a, b);
  }
}

TEST_F(LogTest, FollowStopsAtUntil) {
  {
    LogWriter w = open_writer();
    write_thirty(w);
  }
  LogReadOptions o;
  o.follow = true;
  o.until = format_time_rfc3339nano(kT0 + 3s);
  auto lines = read_all(o);  // returns without stop(): line 4 is after --until
  EXPECT_EQ(texts(lines), expected(0, 4));
  o.until = "2000-01-01T00:00:00Z";  // already in the past: no waiting either
  o.since = format_time_rfc3339nano(kT0 + 100s);
  EXPECT_TRUE(read_all(o).empty());
}

TEST_F(LogTest, ConcurrentWriterProcessAndFollowingReader) {
  constexpr int kLines = 3000;
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto w = LogWriter::open(path_, 8192, 1000);
    if (!w) ::_exit(2);
    for (int i = 0; i < kLines; ++i) {
      LogStream s = i % 3 ? LogStream::Stdout : LogStream::Stderr;
      if (!w->write(s, fmt::format("proc {}\n", i), kT0 + chr::milliseconds(i))) ::_exit(3);
      if (i % 300 == 0) ::usleep(2000);
    }
    if (!w->flush(kT0)) ::_exit(4);
    ::_exit(0);
  }
  int status = -1;
  bool exited = false;
  LogReadOptions o;
  o.follow = true;
  o.poll_interval = 10ms;
  o.stop = [&] {
    if (!exited && ::waitpid(child, &status, WNOHANG) == child) exited = true;
    return exited;
  };
  LogReadStats stats;
  auto lines = read_all(o, &stats);
  if (!exited) ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kLines));
  for (int i = 0; i < kLines; ++i) {
    ASSERT_EQ(lines[i].text, fmt::format("proc {}\n", i));
    ASSERT_EQ(lines[i].stream, i % 3 ? LogStream::Stdout : LogStream::Stderr);
  }
  EXPECT_EQ(stats.corrupt, 0u);
}

TEST_F(LogTest, FollowUnderFastRotationNeverRepeatsOrReorders) {
  // Tiny files and few of them: a reader that falls behind loses the oldest lines (as with
  // Docker), but never sees one twice or out of order, and always sees the last.
  constexpr int kLines = 4000;
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto w = LogWriter::open(path_, 600, 4);
    if (!w) ::_exit(2);
    for (int i = 0; i < kLines; ++i) {
      if (!w->write(LogStream::Stdout, fmt::format("{}\n", i), kT0)) ::_exit(3);
    }
    ::_exit(0);
  }
  bool exited = false;
  int status = -1;
  LogReadOptions o;
  o.follow = true;
  o.poll_interval = 5ms;
  o.stop = [&] {
    if (!exited && ::waitpid(child, &status, WNOHANG) == child) exited = true;
    return exited;
  };
  LogReadStats stats;
  auto lines = read_all(o, &stats);
  if (!exited) ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_FALSE(lines.empty());
  for (size_t i = 1; i < lines.size(); ++i) {
    ASSERT_LT(std::stoi(lines[i - 1].text), std::stoi(lines[i].text)) << "at " << i;
  }
  EXPECT_EQ(lines.back().text, fmt::format("{}\n", kLines - 1));
  EXPECT_EQ(stats.corrupt, 0u);
}

}  // namespace
}  // namespace berth::engine
