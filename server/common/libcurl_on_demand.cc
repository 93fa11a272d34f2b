// libcurl, loaded on first use.
//
// evbusd speaks HTTP to webhooks, OAuth token endpoints and SMTP servers
// through libcurl, but a daemon that has none of those targets never needs
// it. Debian's libcurl brings ~25 more shared libraries (gnutls, nettle,
// gmp, krb5, ldap, sasl, rtmp, ssh2, ...), several with constructors that
// run at start-up: linked normally they cost ~4.4 MB of resident memory and
// start-up time in every evbusd, used or not.
//
// This file defines the part of libcurl's C API that evbus calls. Each
// definition loads libcurl.so.4 once (dlopen, then curl_global_init) and
// forwards to the real function. The definitions are compiled with hidden
// visibility (see CMakeLists.txt), so they never appear in a dynamic symbol
// table: libcurl's calls to its own functions still reach libcurl, and a
// binary that also links libcurl directly (evbus-bench) is unaffected.
//
// If the library cannot be loaded, every call fails the way libcurl reports
// failure (CURLE_FAILED_INIT, null handles), the reason is logged once, and
// the caller's usual error path names it ("curl_easy_init failed").

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <mutex>

#include "server/common/logging.h"

namespace {

struct Api {
  decltype(&curl_global_init) global_init = nullptr;
  decltype(&curl_easy_init) easy_init = nullptr;
  decltype(&curl_easy_setopt) easy_setopt = nullptr;
  decltype(&curl_easy_perform) easy_perform = nullptr;
  decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&curl_easy_strerror) easy_strerror = nullptr;
  decltype(&curl_easy_escape) easy_escape = nullptr;
  decltype(&curl_free) free = nullptr;
  decltype(&curl_slist_append) slist_append = nullptr;
  decltype(&curl_slist_free_all) slist_free_all = nullptr;
  decltype(&curl_multi_init) multi_init = nullptr;
  decltype(&curl_multi_add_handle) multi_add_handle = nullptr;
  decltype(&curl_multi_remove_handle) multi_remove_handle = nullptr;
  decltype(&curl_multi_perform) multi_perform = nullptr;
  decltype(&curl_multi_cleanup) multi_cleanup = nullptr;
  decltype(&curl_multi_info_read) multi_info_read = nullptr;
  decltype(&curl_multi_setopt) multi_setopt = nullptr;
  decltype(&curl_multi_poll) multi_poll = nullptr;
  decltype(&curl_multi_wakeup) multi_wakeup = nullptr;
};

template <typename F>
bool Resolve(void* library, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(library, name));
  if (*out != nullptr) return true;
  EVBUS_LOG(ERROR) << "libcurl.so.4 has no " << name
                   << "; webhooks, OAuth and email are unavailable";
  return false;
}

// The loaded library, or null if it cannot be loaded (logged once).
const Api* Curl() {
  static const Api* api = []() -> const Api* {
    void* library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      const char* error = dlerror();
      EVBUS_LOG(ERROR) << "cannot load libcurl.so.4 ("
                       << (error != nullptr ? error : "unknown error")
                       << "); webhooks, OAuth and email are unavailable";
      return nullptr;
    }
    static Api loaded;
    Api& a = loaded;
    const bool ok =
        Resolve(library, "curl_global_init", &a.global_init) &&
        Resolve(library, "curl_easy_init", &a.easy_init) &&
        Resolve(library, "curl_easy_setopt", &a.easy_setopt) &&
        Resolve(library, "curl_easy_perform", &a.easy_perform) &&
        Resolve(library, "curl_easy_cleanup", &a.easy_cleanup) &&
        Resolve(library, "curl_easy_getinfo", &a.easy_getinfo) &&
        Resolve(library, "curl_easy_strerror", &a.easy_strerror) &&
        Resolve(library, "curl_easy_escape", &a.easy_escape) &&
        Resolve(library, "curl_free", &a.free) &&
        Resolve(library, "curl_slist_append", &a.slist_append) &&
        Resolve(library, "curl_slist_free_all", &a.slist_free_all) &&
        Resolve(library, "curl_multi_init", &a.multi_init) &&
        Resolve(library, "curl_multi_add_handle", &a.multi_add_handle) &&
        Resolve(library, "curl_multi_remove_handle", &a.multi_remove_handle) &&
        Resolve(library, "curl_multi_perform", &a.multi_perform) &&
        Resolve(library, "curl_multi_cleanup", &a.multi_cleanup) &&
        Resolve(library, "curl_multi_info_read", &a.multi_info_read) &&
        Resolve(library, "curl_multi_setopt", &a.multi_setopt) &&
        Resolve(library, "curl_multi_poll", &a.multi_poll) &&
        Resolve(library, "curl_multi_wakeup", &a.multi_wakeup);
    if (!ok) return nullptr;
    const CURLcode init = a.global_init(CURL_GLOBAL_DEFAULT);
    if (init != CURLE_OK) {
      EVBUS_LOG(ERROR) << "curl_global_init failed: " << a.easy_strerror(init);
      return nullptr;
    }
    return &loaded;
  }();
  return api;
}

// The argument after `option` in curl_easy_setopt / curl_multi_setopt, read
// with the type libcurl itself reads it with: options are numbered by the
// type of their argument (CURLOPTTYPE_*, the same bases for both).
enum class ArgType { kLong, kPointer, kFunction, kOffT };

ArgType OptionArgType(int option) {
  if (option < CURLOPTTYPE_OBJECTPOINT) return ArgType::kLong;
  if (option < CURLOPTTYPE_FUNCTIONPOINT) return ArgType::kPointer;
  if (option < CURLOPTTYPE_OFF_T) return ArgType::kFunction;
  if (option < CURLOPTTYPE_BLOB) return ArgType::kOffT;
  return ArgType::kPointer;  // blobs: a struct curl_blob*
}

using AnyFunction = void (*)();

template <typename Handle, typename Option, typename Result>
Result ForwardSetopt(Result (*setopt)(Handle*, Option, ...), Handle* handle,
                     Option option, va_list args) {
  switch (OptionArgType(static_cast<int>(option))) {
    case ArgType::kLong:
      return setopt(handle, option, va_arg(args, long));
    case ArgType::kFunction:
      return setopt(handle, option, va_arg(args, AnyFunction));
    case ArgType::kOffT:
      return setopt(handle, option, va_arg(args, curl_off_t));
    case ArgType::kPointer:
      break;
  }
  return setopt(handle, option, va_arg(args, void*));
}

}  // namespace

extern "C" {

CURLcode curl_global_init(long /*flags*/) {
  return Curl() != nullptr ? CURLE_OK : CURLE_FAILED_INIT;
}

CURL* curl_easy_init(void) {
  const Api* api = Curl();
  return api != nullptr ? api->easy_init() : nullptr;
}

CURLcode curl_easy_setopt(CURL* curl, CURLoption option, ...) {
  const Api* api = Curl();
  if (api == nullptr) return CURLE_FAILED_INIT;
  va_list args;
  va_start(args, option);
  const CURLcode result = ForwardSetopt(api->easy_setopt, curl, option, args);
  va_end(args);
  return result;
}

CURLcode curl_easy_perform(CURL* curl) {
  const Api* api = Curl();
  return api != nullptr ? api->easy_perform(curl) : CURLE_FAILED_INIT;
}

void curl_easy_cleanup(CURL* curl) {
  const Api* api = Curl();
  if (api != nullptr) api->easy_cleanup(curl);
}

CURLcode curl_easy_getinfo(CURL* curl, CURLINFO info, ...) {
  const Api* api = Curl();
  if (api == nullptr) return CURLE_FAILED_INIT;
  va_list args;
  va_start(args, info);
  void* out = va_arg(args, void*);  // every CURLINFO takes a pointer
  va_end(args);
  return api->easy_getinfo(curl, info, out);
}

const char* curl_easy_strerror(CURLcode code) {
  const Api* api = Curl();
  return api != nullptr ? api->easy_strerror(code)
                        : "libcurl.so.4 could not be loaded";
}

char* curl_easy_escape(CURL* curl, const char* string, int length) {
  const Api* api = Curl();
  return api != nullptr ? api->easy_escape(curl, string, length) : nullptr;
}

void curl_free(void* p) {
  const Api* api = Curl();
  if (api != nullptr) api->free(p);
}

struct curl_slist* curl_slist_append(struct curl_slist* list,
                                     const char* string) {
  const Api* api = Curl();
  return api != nullptr ? api->slist_append(list, string) : nullptr;
}

void curl_slist_free_all(struct curl_slist* list) {
  const Api* api = Curl();
  if (api != nullptr) api->slist_free_all(list);
}

CURLM* curl_multi_init(void) {
  const Api* api = Curl();
  return api != nullptr ? api->multi_init() : nullptr;
}

CURLMcode curl_multi_add_handle(CURLM* multi, CURL* easy) {
  const Api* api = Curl();
  return api != nullptr ? api->multi_add_handle(multi, easy)
                        : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_remove_handle(CURLM* multi, CURL* easy) {
  const Api* api = Curl();
  return api != nullptr ? api->multi_remove_handle(multi, easy)
                        : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_perform(CURLM* multi, int* running) {
  const Api* api = Curl();
  return api != nullptr ? api->multi_perform(multi, running)
                        : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_cleanup(CURLM* multi) {
  const Api* api = Curl();
  return api != nullptr ? api->multi_cleanup(multi) : CURLM_INTERNAL_ERROR;
}

CURLMsg* curl_multi_info_read(CURLM* multi, int* queued) {
  const Api* api = Curl();
  return api != nullptr ? api->multi_info_read(multi, queued) : nullptr;
}

CURLMcode curl_multi_setopt(CURLM* multi, CURLMoption option, ...) {
  const Api* api = Curl();
  if (api == nullptr) return CURLM_INTERNAL_ERROR;
  va_list args;
  va_start(args, option);
  const CURLMcode result =
      ForwardSetopt(api->multi_setopt, multi, option, args);
  va_end(args);
  return result;
}

CURLMcode curl_multi_poll(CURLM* multi, struct curl_waitfd extra_fds[],
                          unsigned int extra_nfds, int timeout_ms, int* ret) {
  const Api* api = Curl();
  return api != nullptr
             ? api->multi_poll(multi, extra_fds, extra_nfds, timeout_ms, ret)
             : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_wakeup(CURLM* multi) {
  const Api* api = Curl();
  return api != nullptr ? api->multi_wakeup(multi) : CURLM_INTERNAL_ERROR;
}

}  // extern "C"
