// Test support: CHECK_CTQ_ERROR(expr, text) checks that expr raises ctq::error mentioning text.
#pragma once

#include <doctest/doctest.h>

#include <ctq/core/error.hpp>
#include <string>

#define CHECK_CTQ_ERROR(expr, text)                                                   \
  do {                                                                                \
    try {                                                                             \
      (void)(expr);                                                                   \
      FAIL_CHECK("no ctq::error from " #expr);                                        \
    } catch (const ctq::error& e) {                                                   \
      CHECK_MESSAGE(std::string(e.what()).find(text) != std::string::npos, e.what()); \
    }                                                                                 \
  } while (0)
