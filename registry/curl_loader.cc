// libcurl, loaded on first use.
//
// Linking libcurl makes the dynamic loader map and relocate some 25 libraries (GnuTLS, Kerberos,
// LDAP, libssh2, ...) and run their constructors in every bld process, though only the commands
// that talk HTTP need any of them: that was most of `bld version`'s start-up. bld therefore does
// not link libcurl; it defines the few curl entry points it calls (the set registry/transport.cc
// and ADD's URL fetch use) and forwards each to the real library, dlopen'ed the first time one is
// called. A function added to the callers without a line here fails to link, which is the
// reminder to add it.
//
// If libcurl cannot be loaded, curl_global_init and curl_easy_init fail (CURLE_FAILED_INIT,
// nullptr) and CurlLoadError() says why, so the caller's error names the missing library.

#include "registry/curl_loader.h"

#include <dlfcn.h>

#include <cstdarg>
#include <mutex>
#include <string>

#include <curl/curl.h>

namespace bld::registry {
namespace {

// The soname Debian's libcurl4-openssl-dev links against.
constexpr const char* kSoname = "libcurl.so.4";

struct Api {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  void (*easy_cleanup)(CURL*);
  void (*easy_reset)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

struct Loaded {
  Api api{};
  bool ok = false;
  std::string error;
};

template <typename F>
bool Bind(void* lib, const char* name, F& out, std::string& error) {
  out = reinterpret_cast<F>(dlsym(lib, name));
  if (out == nullptr && error.empty()) error = std::string(kSoname) + ": no symbol " + name;
  return out != nullptr;
}

const Loaded& Load() {
  static Loaded loaded;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* why = dlerror();
      loaded.error = std::string("cannot load ") + kSoname + " (install libcurl4): " +
                     (why != nullptr ? why : "unknown error");
      return;
    }
    Api& a = loaded.api;
    std::string& e = loaded.error;
    bool ok = Bind(lib, "curl_global_init", a.global_init, e);
    ok &= Bind(lib, "curl_easy_init", a.easy_init, e);
    ok &= Bind(lib, "curl_easy_setopt", a.easy_setopt, e);
    ok &= Bind(lib, "curl_easy_perform", a.easy_perform, e);
    ok &= Bind(lib, "curl_easy_cleanup", a.easy_cleanup, e);
    ok &= Bind(lib, "curl_easy_reset", a.easy_reset, e);
    ok &= Bind(lib, "curl_easy_getinfo", a.easy_getinfo, e);
    ok &= Bind(lib, "curl_easy_strerror", a.easy_strerror, e);
    ok &= Bind(lib, "curl_slist_append", a.slist_append, e);
    ok &= Bind(lib, "curl_slist_free_all", a.slist_free_all, e);
    loaded.ok = ok;
  });
  return loaded;
}

const Api* ApiOrNull() {
  const Loaded& l = Load();
  return l.ok ? &l.api : nullptr;
}

// curl_easy_setopt and curl_easy_getinfo are variadic with exactly one argument after the option:
// a long, a curl_off_t, a data pointer or a function pointer (never a floating-point value). On
// the 64-bit ABIs bld supports all of these are one 64-bit integer-class argument, passed the same
// way, so it is forwarded as a pointer-sized value unchanged.
static_assert(sizeof(long) == sizeof(void*) && sizeof(curl_off_t) == sizeof(void*),
              "curl varargs forwarding needs long, curl_off_t and pointers of one size");

}  // namespace

std::string CurlLoadError() {
  const Loaded& l = Load();
  return l.ok ? std::string() : l.error;
}

}  // namespace bld::registry

extern "C" {

CURLcode curl_global_init(long flags) {
  const bld::registry::Api* a = bld::registry::ApiOrNull();
  return a != nullptr ? a->global_init(flags) : CURLE_FAILED_INIT;
}

CURL* curl_easy_init() {
  const bld::registry::Api* a = bld::registry::ApiOrNull();
  return a != nullptr ? a->easy_init() : nullptr;
}

// The functions below take a CURL* or a list made by the ones above, so the library is loaded.
CURLcode curl_easy_setopt(CURL* curl, CURLoption option, ...) {
  va_list ap;
  va_start(ap, option);
  void* value = va_arg(ap, void*);
  va_end(ap);
  return bld::registry::ApiOrNull()->easy_setopt(curl, option, value);
}

CURLcode curl_easy_getinfo(CURL* curl, CURLINFO info, ...) {
  va_list ap;
  va_start(ap, info);
  void* out = va_arg(ap, void*);
  va_end(ap);
  return bld::registry::ApiOrNull()->easy_getinfo(curl, info, out);
}

CURLcode curl_easy_perform(CURL* curl) { return bld::registry::ApiOrNull()->easy_perform(curl); }
void curl_easy_cleanup(CURL* curl) { bld::registry::ApiOrNull()->easy_cleanup(curl); }
void curl_easy_reset(CURL* curl) { bld::registry::ApiOrNull()->easy_reset(curl); }

const char* curl_easy_strerror(CURLcode code) {
  const bld::registry::Api* a = bld::registry::ApiOrNull();
  return a != nullptr ? a->easy_strerror(code) : "libcurl not loaded";
}

curl_slist* curl_slist_append(curl_slist* list, const char* s) {
  const bld::registry::Api* a = bld::registry::ApiOrNull();
  return a != nullptr ? a->slist_append(list, s) : nullptr;
}

void curl_slist_free_all(curl_slist* list) {
  if (list == nullptr) return;
  bld::registry::ApiOrNull()->slist_free_all(list);
}

}  // extern "C"
