// Loading CUDA libraries at run time (cuBLAS, cuDNN, NCCL): the first of several sonames
// that opens, and entry points resolved by name, with errors that say what is missing.
#pragma once

#include <dlfcn.h>

#include <initializer_list>
#include <string>

#include "absl/strings/str_cat.h"

namespace ty {

// The first of `names` that dlopen() opens, or null with every dlerror() in `error`.
inline void* open_first_library(std::initializer_list<const char*> names, std::string* error) {
  std::string tried;
  for (const char* name : names) {
    if (void* lib = dlopen(name, RTLD_NOW | RTLD_LOCAL)) return lib;
    absl::StrAppend(&tried, tried.empty() ? "" : "; ", dlerror());
  }
  *error = tried;
  return nullptr;
}

// Resolves `name` into `out`; on failure sets `error` ("<library> has no <name> (<hint>)").
template <class F>
bool resolve_symbol(void* lib, const char* name, F& out, std::string& error, const char* library, const char* hint) {
  out = reinterpret_cast<F>(dlsym(lib, name));
  if (out == nullptr) error = absl::StrCat(library, " has no ", name, " (", hint, ")");
  return out != nullptr;
}

}  // namespace ty
