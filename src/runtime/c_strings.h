// A NULL-terminated char* array built before clone (argv, envp) for use after it.
#pragma once

#include <string>
#include <vector>

namespace berth::runtime {

class CStringArray {
 public:
  CStringArray() { ptrs_.push_back(nullptr); }
  explicit CStringArray(std::vector<std::string> strings) { assign(std::move(strings)); }
  CStringArray(const CStringArray& other) { assign(other.strings_); }
  CStringArray& operator=(const CStringArray& other) {
    if (this != &other) assign(other.strings_);
    return *this;
  }
  CStringArray(CStringArray&&) = default;
  CStringArray& operator=(CStringArray&&) = default;

  void assign(std::vector<std::string> strings) {
    strings_ = std::move(strings);
    ptrs_.clear();
    for (auto& s : strings_) ptrs_.push_back(s.data());
    ptrs_.push_back(nullptr);
  }
  char* const* get() const { return ptrs_.data(); }
  const std::vector<std::string>& strings() const { return strings_; }
  bool empty() const { return strings_.empty(); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> ptrs_;
};

}  // namespace berth::runtime
