// The coordinator API's errors: `{"error": "..."}` with the HTTP status of the failure's
// class — 400 a bad request, 404 nothing there, 409 a state that forbids it, 413 past a
// bound, 500 the coordinator's own failure (its store).
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"

namespace ty::coordinator {

inline void http_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}}.dump() + "\n", "application/json");
}

inline void http_error(httplib::Response& res, const absl::Status& st) {
  const int status = st.code() == absl::StatusCode::kInvalidArgument      ? 400
                     : st.code() == absl::StatusCode::kNotFound           ? 404
                     : st.code() == absl::StatusCode::kFailedPrecondition ? 409
                     : st.code() == absl::StatusCode::kResourceExhausted  ? 413
                                                                          : 500;
  http_error(res, status, std::string(st.message()));
}

}  // namespace ty::coordinator
