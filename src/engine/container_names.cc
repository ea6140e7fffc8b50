#include "engine/container_names.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace berth::engine {
namespace {

// Adjectives and surnames of scientists and hackers, Docker-style.
constexpr std::array kAdjectives = {
    "admiring",  "adoring",   "affectionate", "agitated",      "amazing",     "angry",
    "awesome",   "beautiful", "blissful",     "bold",          "boring",      "brave",
    "busy",      "charming",  "clever",       "compassionate", "competent",   "confident",
    "cool",      "cranky",    "crazy",        "dazzling",      "determined",  "distracted",
    "dreamy",    "eager",     "ecstatic",     "elastic",       "elated",      "elegant",
    "eloquent",  "epic",      "exciting",     "fervent",       "festive",     "flamboyant",
    "focused",   "friendly",  "frosty",       "funny",         "gallant",     "gifted",
    "goofy",     "gracious",  "great",        "happy",         "hardcore",    "heuristic",
    "hopeful",   "hungry",    "infallible",   "inspiring",     "intelligent", "interesting",
    "jolly",     "jovial",    "keen",         "kind",          "laughing",    "loving",
    "lucid",     "magical",   "modest",       "musing",        "mystifying",  "nervous",
    "nice",      "nifty",     "nostalgic",    "objective",     "optimistic",  "peaceful",
    "pedantic",  "pensive",   "practical",    "priceless",     "quirky",      "quizzical",
    "recursing", "relaxed",   "reverent",     "romantic",      "serene",      "sharp",
    "silly",     "sleepy",    "stoic",        "strange",       "suspicious",  "sweet",
    "tender",    "thirsty",   "trusting",     "unruffled",     "upbeat",      "vibrant",
    "vigilant",  "vigorous",  "wizardly",     "wonderful",     "xenodochial", "youthful",
    "zealous",   "zen",
};

constexpr std::array kSurnames = {
    "agnesi",      "albattani",    "allen",         "almeida",    "antonelli",    "archimedes",
    "ardinghelli", "aryabhata",    "austin",        "babbage",    "banach",       "bardeen",
    "bartik",      "bassi",        "beaver",        "bell",       "benz",         "bhabha",
    "bhaskara",    "black",        "blackburn",     "blackwell",  "bohr",         "booth",
    "borg",        "bose",         "bouman",        "boyd",       "brahmagupta",  "brattain",
    "brown",       "buck",         "burnell",       "cannon",     "carson",       "cartwright",
    "carver",      "cerf",         "chandrasekhar", "chaplygin",  "chatelet",     "chatterjee",
    "chaum",       "chebyshev",    "clarke",        "cohen",      "colden",       "cori",
    "cray",        "curie",        "curran",        "darwin",     "davinci",      "dewdney",
    "dhawan",      "diffie",       "dijkstra",      "dirac",      "driscoll",     "dubinsky",
    "easley",      "edison",       "einstein",      "elbakyan",   "elgamal",      "elion",
    "ellis",       "engelbart",    "euclid",        "euler",      "faraday",      "feistel",
    "fermat",      "fermi",        "feynman",       "franklin",   "gagarin",      "galileo",
    "galois",      "ganguly",      "gauss",         "germain",    "goldberg",     "goldstine",
    "goldwasser",  "golick",       "goodall",       "gould",      "greider",      "grothendieck",
    "haibt",       "hamilton",     "haslett",       "hawking",    "heisenberg",   "hellman",
    "hermann",     "herschel",     "hertz",         "heyrovsky",  "hodgkin",      "hofstadter",
    "hoover",      "hopper",       "hugle",         "hypatia",    "ishizaka",     "jackson",
    "jang",        "jemison",      "jennings",      "jepsen",     "johnson",      "joliot",
    "jones",       "kalam",        "kapitsa",       "kare",       "keldysh",      "keller",
    "kepler",      "khayyam",      "khorana",       "kilby",      "kirch",        "knuth",
    "kowalevski",  "lalande",      "lamarr",        "lamport",    "leakey",       "leavitt",
    "lederberg",   "lehmann",      "lewin",         "lichterman", "liskov",       "lovelace",
    "lumiere",     "mahavira",     "margulis",      "matsumoto",  "maxwell",      "mayer",
    "mccarthy",    "mcclintock",   "mclaren",       "mclean",     "mcnulty",      "meitner",
    "mendel",      "mendeleev",    "merkle",        "mestorf",    "mirzakhani",   "montalcini",
    "moore",       "morse",        "moser",         "murdock",    "napier",       "nash",
    "neumann",     "newton",       "nightingale",   "nobel",      "noether",      "northcutt",
    "noyce",       "panini",       "pare",          "pascal",     "pasteur",      "payne",
    "perlman",     "pike",         "poincare",      "poitras",    "ptolemy",      "raman",
    "ramanujan",   "rhodes",       "ride",          "ritchie",    "robinson",     "roentgen",
    "rubin",       "saha",         "sammet",        "sanderson",  "shamir",       "shannon",
    "shaw",        "shirley",      "shockley",      "sinoussi",   "snyder",       "solomon",
    "spence",      "stallman",     "stonebraker",   "sutherland", "swanson",      "swartz",
    "swirles",     "taussig",      "tesla",         "tharp",      "thompson",     "torvalds",
    "turing",      "varahamihira", "vaughan",       "villani",    "visvesvaraya", "volhard",
    "wescoff",     "wilbur",       "wiles",         "williams",   "williamson",   "wilson",
    "wing",        "wozniak",      "wright",        "wu",         "yalow",        "yonath",
};

// Fills buf from getrandom(2); /dev/urandom when the syscall is missing. Randomness is not
// optional for IDs, so a machine with neither aborts instead of handing out fixed IDs.
void fill_random(unsigned char* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = ::getrandom(buf + got, len - got, 0);
    if (r > 0) {
      got += static_cast<size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    break;
  }
  if (got == len) return;
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  while (fd >= 0 && got < len) {
    ssize_t r = ::read(fd, buf + got, len - got);
    if (r > 0)
      got += static_cast<size_t>(r);
    else if (r < 0 && errno == EINTR)
      continue;
    else
      break;
  }
  if (fd >= 0) ::close(fd);
  if (got != len) {
    std::fputs("berth: no source of randomness (getrandom, /dev/urandom)\n", stderr);
    std::abort();
  }
}

// A uniform number in [0, n) (rejection sampling, no modulo bias).
size_t random_below(size_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t v;
  do fill_random(reinterpret_cast<unsigned char*>(&v), sizeof(v));
  while (v >= limit);
  return static_cast<size_t>(v % n);
}

bool name_char(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return !first && (c == '_' || c == '.' || c == '-');
}

}  // namespace

std::string generate_container_name(int retry) {
  std::string name;
  do {
    name = std::string(kAdjectives[random_below(kAdjectives.size())]) + "_" +
           kSurnames[random_below(kSurnames.size())];
  } while (name == "boring_wozniak");  // Steve Wozniak is not boring
  if (retry > 0) name += static_cast<char>('0' + random_below(10));
  return name;
}

Result<std::string> validate_container_name(std::string_view name) {
  std::string_view bare = name;
  if (!bare.empty() && bare.front() == '/') bare.remove_prefix(1);
  bool ok = bare.size() >= 2;
  for (size_t i = 0; ok && i < bare.size(); ++i) ok = name_char(bare[i], i == 0);
  if (!ok)
    return Fail(ErrorCode::InvalidArgument,
                "Invalid container name ({}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
  return std::string(bare);
}

std::string new_container_id() {
  static constexpr char kHex[] = "0123456789abcdef";
  for (;;) {
    unsigned char raw[32];
    fill_random(raw, sizeof(raw));
    std::string id;
    id.reserve(64);
    for (unsigned char b : raw) {
      id += kHex[b >> 4];
      id += kHex[b & 0xf];
    }
    bool all_digits = true;
    for (size_t i = 0; i < 12 && all_digits; ++i) all_digits = id[i] >= '0' && id[i] <= '9';
    if (!all_digits) return id;
  }
}

}  // namespace berth::engine
