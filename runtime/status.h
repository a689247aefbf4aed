// Error propagation helpers over absl::Status / absl::StatusOr.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TY_CONCAT_INNER(a, b) a##b
#define TY_CONCAT(a, b) TY_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` yields a non-OK status.
#define TY_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status ty_status_ = (expr);      \
    if (!ty_status_.ok()) return ty_status_; \
  } while (0)

// `TY_ASSIGN_OR_RETURN(auto x, MakeX());` unwraps a StatusOr or returns its error.
#define TY_ASSIGN_OR_RETURN(lhs, expr) TY_ASSIGN_OR_RETURN_IMPL(TY_CONCAT(ty_statusor_, __LINE__), lhs, expr)
#define TY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
