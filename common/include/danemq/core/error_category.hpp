#pragma once
// Registers a module's `enum class errc` as a std::error_code category with
// one table of messages, so each module declares its errors in one place.

#include <string>
#include <system_error>

namespace danemq {

/// A std::error_category whose messages come from a function mapping the
/// enum's values to text. `name` names the module ("dane", "jose", ...).
template <class Enum>
class enum_error_category final : public std::error_category {
 public:
  using describe_fn = const char* (*)(Enum);
  constexpr enum_error_category(const char* name, describe_fn describe) : name_(name), describe_(describe) {}
  [[nodiscard]] const char* name() const noexcept override { return name_; }
  [[nodiscard]] std::string message(int value) const override {
    const char* text = describe_(static_cast<Enum>(value));
    return text != nullptr ? text : "unknown error";
  }

 private:
  const char* name_;
  describe_fn describe_;
};

}  // namespace danemq
