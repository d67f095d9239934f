#pragma once
/// A fresh folder under the system's temp dir for one test, removed with
/// everything in it when the object goes. Header-only: the core's and the
/// plugins' unit tests include it as well as the integration tests.
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace eventnode::test_support {

class TempDir {
 public:
  /// `prefix` names the folder (eventnode-<prefix>-XXXXXX) so a leftover says whose it is.
  explicit TempDir(std::string_view prefix) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / ("eventnode-" + std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = std::filesystem::path(pattern).lexically_normal();
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace eventnode::test_support
