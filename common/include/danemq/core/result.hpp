#pragma once
// Expected failures as values: a bad signature, NXDOMAIN, a malformed payload
// or a bad setting is a `failure` carried by a `result<T>`, never an exception.

#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace danemq {

/// A typed error (an `errc` of some module, as a std::error_code) plus a
/// one-line detail naming what was wrong. Never carries key material.
struct failure {
  std::error_code code;
  std::string detail;

  /// "<code message>: <detail>", or the code's message alone when there is no detail.
  [[nodiscard]] std::string message() const {
    if (detail.empty()) return code.message();
    return code.message() + ": " + detail;
  }
};

/// Builds a failure from any error-code enum registered with std::is_error_code_enum.
template <class E>
[[nodiscard]] failure fail(E code, std::string detail = {}) {
  return failure{make_error_code(code), std::move(detail)};
}
[[nodiscard]] inline failure fail(std::error_code code, std::string detail = {}) {
  return failure{code, std::move(detail)};
}

/// Thrown by result::value() when there is no value: a broken invariant of
/// the caller, who should have tested the result first.
class bad_result_access : public std::logic_error {
 public:
  explicit bad_result_access(const failure& f) : std::logic_error("result has no value: " + f.message()) {}
};

/// Either a T or a failure.
template <class T>
class [[nodiscard]] result {
 public:
  // NOLINTNEXTLINE(google-explicit-constructor): a value converts to its result
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  // NOLINTNEXTLINE(google-explicit-constructor): a failure converts to any result
  result(failure error) : state_(std::in_place_index<1>, std::move(error)) {}

  [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  [[nodiscard]] T& value() & {
    check();
    return std::get<0>(state_);
  }
  [[nodiscard]] const T& value() const& {
    check();
    return std::get<0>(state_);
  }
  [[nodiscard]] T&& value() && {
    check();
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The failure; only meaningful when !has_value().
  [[nodiscard]] const failure& error() const {
    if (has_value()) throw std::logic_error("result has a value, not an error");
    return std::get<1>(state_);
  }

 private:
  void check() const {
    if (!has_value()) throw bad_result_access(std::get<1>(state_));
  }
  std::variant<T, failure> state_;
};

/// Success or a failure, with nothing to carry on success.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  // NOLINTNEXTLINE(google-explicit-constructor): a failure converts to any result
  result(failure error) : error_(std::move(error)), ok_(false) {}

  [[nodiscard]] bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  void value() const {
    if (!ok_) throw bad_result_access(error_);
  }
  [[nodiscard]] const failure& error() const {
    if (ok_) throw std::logic_error("result has a value, not an error");
    return error_;
  }

 private:
  failure error_{};
  bool ok_ = true;
};

/// The successful result<void>.
[[nodiscard]] inline result<void> ok() {
  return {};
}

}  // namespace danemq
