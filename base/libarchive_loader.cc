// libarchive, loaded on first use.
//
// The shared libarchive pulls in libxml2 and ICU (for the xar format), nettle, libacl, liblzma,
// liblz4 and libbz2; mapping and relocating them cost every bld process ~2 ms of start-up, though
// most commands never read or write an archive. (Linking libarchive.a does not help: its format
// table references the xar writer and so libxml2.) bld therefore does not link libarchive: this
// file defines each libarchive function bld calls and forwards it to the real library, dlopen'ed
// the first time any is called. archive.h declares every one of them, so the compiler checks each
// signature here against the library's. A function called elsewhere without a forwarder here
// fails to link: add it below, in the same form.
//
// If libarchive cannot be loaded, bld stops with exit 125 and a message naming the library, as
// the dynamic loader would have done at start-up had it been linked.

#include <dlfcn.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <archive.h>
#include <archive_entry.h>

namespace {

constexpr const char* kSoname = "libarchive.so.13";

[[noreturn]] void Fail(const char* what, const char* detail) {
  std::fprintf(stderr, "bld: cannot load %s (install libarchive13): %s%s\n", kSoname, what,
               detail != nullptr ? detail : "");
  std::fflush(stderr);
  std::_Exit(125);
}

void* Library() {
  static void* lib = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    lib = dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) Fail("", dlerror());
  });
  return lib;
}

void* Symbol(const char* name) {
  void* f = dlsym(Library(), name);
  if (f == nullptr) Fail("no symbol ", name);
  return f;
}

}  // namespace

extern "C" {

// Variadic, printf-style: formatted here and handed on as one string.
void archive_set_error(struct archive* a, int error_number, const char* fmt, ...) {
  using F = decltype(&::archive_set_error);
  static const F f = reinterpret_cast<F>(Symbol("archive_set_error"));
  char message[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  f(a, error_number, "%s", message);
}

struct archive_entry* archive_entry_clear(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_clear);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_clear"));
  return f(a0);
}

struct archive_entry* archive_entry_clone(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_clone);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_clone"));
  return f(a0);
}

void archive_entry_copy_hardlink(struct archive_entry* a0, const char* a1) {
  using F = decltype(&::archive_entry_copy_hardlink);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_copy_hardlink"));
  f(a0, a1);
}

void archive_entry_copy_pathname(struct archive_entry* a0, const char* a1) {
  using F = decltype(&::archive_entry_copy_pathname);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_copy_pathname"));
  f(a0, a1);
}

void archive_entry_copy_symlink(struct archive_entry* a0, const char* a1) {
  using F = decltype(&::archive_entry_copy_symlink);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_copy_symlink"));
  f(a0, a1);
}

__LA_MODE_T archive_entry_filetype(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_filetype);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_filetype"));
  return f(a0);
}

void archive_entry_free(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_free);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_free"));
  f(a0);
}

la_int64_t archive_entry_gid(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_gid);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_gid"));
  return f(a0);
}

const char* archive_entry_gname(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_gname);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_gname"));
  return f(a0);
}

const char* archive_entry_hardlink(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_hardlink);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_hardlink"));
  return f(a0);
}

const char* archive_entry_hardlink_utf8(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_hardlink_utf8);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_hardlink_utf8"));
  return f(a0);
}

__LA_MODE_T archive_entry_mode(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_mode);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_mode"));
  return f(a0);
}

time_t archive_entry_mtime(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_mtime);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_mtime"));
  return f(a0);
}

int archive_entry_mtime_is_set(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_mtime_is_set);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_mtime_is_set"));
  return f(a0);
}

long archive_entry_mtime_nsec(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_mtime_nsec);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_mtime_nsec"));
  return f(a0);
}

struct archive_entry* archive_entry_new(void) {
  using F = decltype(&::archive_entry_new);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_new"));
  return f();
}

unsigned int archive_entry_nlink(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_nlink);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_nlink"));
  return f(a0);
}

const char* archive_entry_pathname(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_pathname);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_pathname"));
  return f(a0);
}

const char* archive_entry_pathname_utf8(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_pathname_utf8);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_pathname_utf8"));
  return f(a0);
}

__LA_MODE_T archive_entry_perm(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_perm);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_perm"));
  return f(a0);
}

dev_t archive_entry_rdev(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_rdev);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_rdev"));
  return f(a0);
}

dev_t archive_entry_rdevmajor(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_rdevmajor);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_rdevmajor"));
  return f(a0);
}

dev_t archive_entry_rdevminor(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_rdevminor);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_rdevminor"));
  return f(a0);
}

void archive_entry_set_atime(struct archive_entry* a0, time_t a1, long a2) {
  using F = decltype(&::archive_entry_set_atime);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_atime"));
  f(a0, a1, a2);
}

void archive_entry_set_ctime(struct archive_entry* a0, time_t a1, long a2) {
  using F = decltype(&::archive_entry_set_ctime);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_ctime"));
  f(a0, a1, a2);
}

void archive_entry_set_filetype(struct archive_entry* a0, unsigned int a1) {
  using F = decltype(&::archive_entry_set_filetype);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_filetype"));
  f(a0, a1);
}

void archive_entry_set_gid(struct archive_entry* a0, la_int64_t a1) {
  using F = decltype(&::archive_entry_set_gid);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_gid"));
  f(a0, a1);
}

void archive_entry_set_gname(struct archive_entry* a0, const char* a1) {
  using F = decltype(&::archive_entry_set_gname);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_gname"));
  f(a0, a1);
}

void archive_entry_set_hardlink(struct archive_entry* a0, const char* a1) {
  using F = decltype(&::archive_entry_set_hardlink);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_hardlink"));
  f(a0, a1);
}

void archive_entry_set_link(struct archive_entry* a0, const char* a1) {
  using F = decltype(&::archive_entry_set_link);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_link"));
  f(a0, a1);
}

void archive_entry_set_mode(struct archive_entry* a0, __LA_MODE_T a1) {
  using F = decltype(&::archive_entry_set_mode);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_mode"));
  f(a0, a1);
}

void archive_entry_set_mtime(struct archive_entry* a0, time_t a1, long a2) {
  using F = decltype(&::archive_entry_set_mtime);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_mtime"));
  f(a0, a1, a2);
}

void archive_entry_set_pathname(struct archive_entry* a0, const char* a1) {
  using F = decltype(&::archive_entry_set_pathname);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_pathname"));
  f(a0, a1);
}

void archive_entry_set_perm(struct archive_entry* a0, __LA_MODE_T a1) {
  using F = decltype(&::archive_entry_set_perm);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_perm"));
  f(a0, a1);
}

void archive_entry_set_rdev(struct archive_entry* a0, dev_t a1) {
  using F = decltype(&::archive_entry_set_rdev);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_rdev"));
  f(a0, a1);
}

void archive_entry_set_rdevmajor(struct archive_entry* a0, dev_t a1) {
  using F = decltype(&::archive_entry_set_rdevmajor);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_rdevmajor"));
  f(a0, a1);
}

void archive_entry_set_rdevminor(struct archive_entry* a0, dev_t a1) {
  using F = decltype(&::archive_entry_set_rdevminor);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_rdevminor"));
  f(a0, a1);
}

void archive_entry_set_size(struct archive_entry* a0, la_int64_t a1) {
  using F = decltype(&::archive_entry_set_size);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_size"));
  f(a0, a1);
}

void archive_entry_set_symlink(struct archive_entry* a0, const char* a1) {
  using F = decltype(&::archive_entry_set_symlink);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_symlink"));
  f(a0, a1);
}

void archive_entry_set_symlink_type(struct archive_entry* a0, int a1) {
  using F = decltype(&::archive_entry_set_symlink_type);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_symlink_type"));
  f(a0, a1);
}

void archive_entry_set_uid(struct archive_entry* a0, la_int64_t a1) {
  using F = decltype(&::archive_entry_set_uid);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_uid"));
  f(a0, a1);
}

void archive_entry_set_uname(struct archive_entry* a0, const char* a1) {
  using F = decltype(&::archive_entry_set_uname);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_set_uname"));
  f(a0, a1);
}

la_int64_t archive_entry_size(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_size);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_size"));
  return f(a0);
}

int archive_entry_size_is_set(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_size_is_set);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_size_is_set"));
  return f(a0);
}

const char* archive_entry_symlink(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_symlink);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_symlink"));
  return f(a0);
}

const char* archive_entry_symlink_utf8(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_symlink_utf8);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_symlink_utf8"));
  return f(a0);
}

la_int64_t archive_entry_uid(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_uid);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_uid"));
  return f(a0);
}

const char* archive_entry_uname(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_uname);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_uname"));
  return f(a0);
}

void archive_entry_unset_atime(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_unset_atime);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_unset_atime"));
  f(a0);
}

void archive_entry_unset_birthtime(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_unset_birthtime);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_unset_birthtime"));
  f(a0);
}

void archive_entry_unset_ctime(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_unset_ctime);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_unset_ctime"));
  f(a0);
}

void archive_entry_xattr_add_entry(struct archive_entry* a0, const char* a1, const void* a2, size_t a3) {
  using F = decltype(&::archive_entry_xattr_add_entry);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_xattr_add_entry"));
  f(a0, a1, a2, a3);
}

int archive_entry_xattr_next(struct archive_entry* a0, const char ** a1, const void ** a2, size_t* a3) {
  using F = decltype(&::archive_entry_xattr_next);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_xattr_next"));
  return f(a0, a1, a2, a3);
}

int archive_entry_xattr_reset(struct archive_entry* a0) {
  using F = decltype(&::archive_entry_xattr_reset);
  static const F f = reinterpret_cast<F>(Symbol("archive_entry_xattr_reset"));
  return f(a0);
}

int archive_errno(struct archive* a0) {
  using F = decltype(&::archive_errno);
  static const F f = reinterpret_cast<F>(Symbol("archive_errno"));
  return f(a0);
}

const char* archive_error_string(struct archive* a0) {
  using F = decltype(&::archive_error_string);
  static const F f = reinterpret_cast<F>(Symbol("archive_error_string"));
  return f(a0);
}

int archive_filter_code(struct archive* a0, int a1) {
  using F = decltype(&::archive_filter_code);
  static const F f = reinterpret_cast<F>(Symbol("archive_filter_code"));
  return f(a0, a1);
}

const char* archive_filter_name(struct archive* a0, int a1) {
  using F = decltype(&::archive_filter_name);
  static const F f = reinterpret_cast<F>(Symbol("archive_filter_name"));
  return f(a0, a1);
}

int archive_format(struct archive* a0) {
  using F = decltype(&::archive_format);
  static const F f = reinterpret_cast<F>(Symbol("archive_format"));
  return f(a0);
}

la_ssize_t archive_read_data(struct archive* a0, void* a1, size_t a2) {
  using F = decltype(&::archive_read_data);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_data"));
  return f(a0, a1, a2);
}

int archive_read_data_block(struct archive* a0, const void **a1, size_t *a2, la_int64_t *a3) {
  using F = decltype(&::archive_read_data_block);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_data_block"));
  return f(a0, a1, a2, a3);
}

int archive_read_data_skip(struct archive* a0) {
  using F = decltype(&::archive_read_data_skip);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_data_skip"));
  return f(a0);
}

int archive_read_free(struct archive* a0) {
  using F = decltype(&::archive_read_free);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_free"));
  return f(a0);
}

struct archive* archive_read_new(void) {
  using F = decltype(&::archive_read_new);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_new"));
  return f();
}

int archive_read_next_header(struct archive* a0, struct archive_entry ** a1) {
  using F = decltype(&::archive_read_next_header);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_next_header"));
  return f(a0, a1);
}

int archive_read_open(struct archive* a0, void *a1, archive_open_callback* a2, archive_read_callback* a3, archive_close_callback* a4) {
  using F = decltype(&::archive_read_open);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_open"));
  return f(a0, a1, a2, a3, a4);
}

int archive_read_open_fd(struct archive* a0, int a1, size_t a2) {
  using F = decltype(&::archive_read_open_fd);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_open_fd"));
  return f(a0, a1, a2);
}

int archive_read_open_filename(struct archive* a0, const char *a1, size_t a2) {
  using F = decltype(&::archive_read_open_filename);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_open_filename"));
  return f(a0, a1, a2);
}

int archive_read_open_memory(struct archive* a0, const void* a1, size_t a2) {
  using F = decltype(&::archive_read_open_memory);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_open_memory"));
  return f(a0, a1, a2);
}

int archive_read_support_compression_all(struct archive* a0) {
  using F = decltype(&::archive_read_support_compression_all);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_support_compression_all"));
  return f(a0);
}

int archive_read_support_filter_all(struct archive* a0) {
  using F = decltype(&::archive_read_support_filter_all);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_support_filter_all"));
  return f(a0);
}

int archive_read_support_filter_bzip2(struct archive* a0) {
  using F = decltype(&::archive_read_support_filter_bzip2);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_support_filter_bzip2"));
  return f(a0);
}

int archive_read_support_filter_gzip(struct archive* a0) {
  using F = decltype(&::archive_read_support_filter_gzip);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_support_filter_gzip"));
  return f(a0);
}

int archive_read_support_filter_lzma(struct archive* a0) {
  using F = decltype(&::archive_read_support_filter_lzma);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_support_filter_lzma"));
  return f(a0);
}

int archive_read_support_filter_xz(struct archive* a0) {
  using F = decltype(&::archive_read_support_filter_xz);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_support_filter_xz"));
  return f(a0);
}

int archive_read_support_filter_zstd(struct archive* a0) {
  using F = decltype(&::archive_read_support_filter_zstd);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_support_filter_zstd"));
  return f(a0);
}

int archive_read_support_format_all(struct archive* a0) {
  using F = decltype(&::archive_read_support_format_all);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_support_format_all"));
  return f(a0);
}

int archive_read_support_format_empty(struct archive* a0) {
  using F = decltype(&::archive_read_support_format_empty);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_support_format_empty"));
  return f(a0);
}

int archive_read_support_format_gnutar(struct archive* a0) {
  using F = decltype(&::archive_read_support_format_gnutar);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_support_format_gnutar"));
  return f(a0);
}

int archive_read_support_format_raw(struct archive* a0) {
  using F = decltype(&::archive_read_support_format_raw);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_support_format_raw"));
  return f(a0);
}

int archive_read_support_format_tar(struct archive* a0) {
  using F = decltype(&::archive_read_support_format_tar);
  static const F f = reinterpret_cast<F>(Symbol("archive_read_support_format_tar"));
  return f(a0);
}

int archive_write_add_filter_bzip2(struct archive* a0) {
  using F = decltype(&::archive_write_add_filter_bzip2);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_add_filter_bzip2"));
  return f(a0);
}

int archive_write_add_filter_gzip(struct archive* a0) {
  using F = decltype(&::archive_write_add_filter_gzip);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_add_filter_gzip"));
  return f(a0);
}

int archive_write_add_filter_none(struct archive* a0) {
  using F = decltype(&::archive_write_add_filter_none);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_add_filter_none"));
  return f(a0);
}

int archive_write_add_filter_xz(struct archive* a0) {
  using F = decltype(&::archive_write_add_filter_xz);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_add_filter_xz"));
  return f(a0);
}

int archive_write_add_filter_zstd(struct archive* a0) {
  using F = decltype(&::archive_write_add_filter_zstd);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_add_filter_zstd"));
  return f(a0);
}

int archive_write_close(struct archive* a0) {
  using F = decltype(&::archive_write_close);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_close"));
  return f(a0);
}

la_ssize_t archive_write_data(struct archive* a0, const void* a1, size_t a2) {
  using F = decltype(&::archive_write_data);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_data"));
  return f(a0, a1, a2);
}

int archive_write_finish_entry(struct archive* a0) {
  using F = decltype(&::archive_write_finish_entry);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_finish_entry"));
  return f(a0);
}

int archive_write_free(struct archive* a0) {
  using F = decltype(&::archive_write_free);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_free"));
  return f(a0);
}

int archive_write_header(struct archive* a0, struct archive_entry* a1) {
  using F = decltype(&::archive_write_header);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_header"));
  return f(a0, a1);
}

struct archive* archive_write_new(void) {
  using F = decltype(&::archive_write_new);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_new"));
  return f();
}

int archive_write_open(struct archive* a0, void* a1, archive_open_callback* a2, archive_write_callback* a3, archive_close_callback* a4) {
  using F = decltype(&::archive_write_open);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_open"));
  return f(a0, a1, a2, a3, a4);
}

int archive_write_open_fd(struct archive* a0, int a1) {
  using F = decltype(&::archive_write_open_fd);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_open_fd"));
  return f(a0, a1);
}

int archive_write_set_bytes_in_last_block(struct archive* a0, int a1) {
  using F = decltype(&::archive_write_set_bytes_in_last_block);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_set_bytes_in_last_block"));
  return f(a0, a1);
}

int archive_write_set_bytes_per_block(struct archive* a0, int a1) {
  using F = decltype(&::archive_write_set_bytes_per_block);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_set_bytes_per_block"));
  return f(a0, a1);
}

int archive_write_set_format_option(struct archive* a0, const char *a1, const char *a2, const char *a3) {
  using F = decltype(&::archive_write_set_format_option);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_set_format_option"));
  return f(a0, a1, a2, a3);
}

int archive_write_set_format_pax_restricted(struct archive* a0) {
  using F = decltype(&::archive_write_set_format_pax_restricted);
  static const F f = reinterpret_cast<F>(Symbol("archive_write_set_format_pax_restricted"));
  return f(a0);
}

}  // extern "C"
