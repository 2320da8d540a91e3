// Runtime errors and warnings: ctq::error, the replaceable handlers (errors in -fno-exceptions
// builds, warnings always), and a heap-free message builder.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string_view>
#include <type_traits>

#include "../config.hpp"

namespace ctq {

/// Raised for bad input found at run time: NaN where none is allowed, a scale that is not a
/// positive finite number, a per-channel parameter count that differs from the channel count,
/// an axis out of range, a shape mismatch. The message names the operation and the fix.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Called with the message of every error when exceptions are off. It must not return; if it
/// does, ctq calls std::abort().
using error_handler = void (*)(const char* message);

namespace detail {
inline void default_error_handler(const char*) { std::abort(); }
inline error_handler& current_error_handler() {
  static error_handler handler = &default_error_handler;
  return handler;
}
}  // namespace detail

/// Replaces the handler used when exceptions are off; returns the previous one.
inline error_handler set_error_handler(error_handler handler) {
  error_handler previous = detail::current_error_handler();
  detail::current_error_handler() = handler ? handler : &detail::default_error_handler;
  return previous;
}

/// Called with the text of every warning (PyTorch's warnings.warn), e.g. calculate_qparams before
/// any observation. The default writes the text and a newline to stderr.
using warning_handler = void (*)(const char* message);

namespace detail {
inline void default_warning_handler(const char* message) {
  std::fputs(message, stderr);
  std::fputc('\n', stderr);
}
inline warning_handler& current_warning_handler() {
  static warning_handler handler = &default_warning_handler;
  return handler;
}
}  // namespace detail

/// Replaces the warning handler (nullptr restores the default); returns the previous one.
inline warning_handler set_warning_handler(warning_handler handler) {
  warning_handler previous = detail::current_warning_handler();
  detail::current_warning_handler() = handler ? handler : &detail::default_warning_handler;
  return previous;
}

/// Reports a warning through the current handler.
inline void warn(const char* message) { detail::current_warning_handler()(message); }

namespace detail {

// A fixed-capacity message: appends text and numbers with std::to_chars, truncating silently.
class message {
 public:
  message& operator<<(std::string_view text) {
    for (char c : text) put(c);
    return *this;
  }
  message& operator<<(const char* text) { return *this << std::string_view(text); }
  template <class T>
  requires std::is_arithmetic_v<T> message& operator<<(T value) {
    if constexpr (std::is_same_v<T, bool>) {
      return *this << (value ? "true" : "false");
    } else {
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
      if (ec == std::errc()) *this << std::string_view(buf, static_cast<std::size_t>(end - buf));
      return *this;
    }
  }
  const char* c_str() const { return buf_; }

 private:
  void put(char c) {
    if (len_ + 1 < sizeof buf_) {
      buf_[len_++] = c;
      buf_[len_] = '\0';
    }
  }
  char buf_[512] = {};
  std::size_t len_ = 0;
};

}  // namespace detail

/// Raises `message`: throws ctq::error, or calls the handler when exceptions are off.
[[noreturn]] inline void raise(const char* message) {
#if CTQ_EXCEPTIONS
  throw error(message);
#else
  detail::current_error_handler()(message);
  std::abort();
#endif
}
[[noreturn]] inline void raise(const detail::message& message) { raise(message.c_str()); }

}  // namespace ctq
