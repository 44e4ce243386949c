// COPY and ADD: files from the build context, another stage or image, heredocs,
// URLs (ADD) and local tar archives (ADD, extracted) written into the mounted
// snapshot with Docker's destination rules.
#include "builder/copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/file.h"
#include "base/userns.h"
#include "builder/fs.h"
#include "builder/stage.h"
#include "runner/user.h"
#include "snapshot/apply.h"

namespace bld::builder {

Result<mode_t> ApplyChmod(mode_t mode, bool is_dir, std::string_view spec) {
  auto bad = [&]() {
    return InvalidArgumentError("--chmod=" + std::string(spec) + ": invalid mode");
  };
  if (spec.empty()) return bad();
  if (std::all_of(spec.begin(), spec.end(), [](char c) { return c >= '0' && c <= '7'; })) {
    if (spec.size() > 4) return bad();
    mode_t v = static_cast<mode_t>(std::stoul(std::string(spec), nullptr, 8));
    return (mode & S_IFMT) | v;
  }
  mode_t perm = mode & 07777;
  size_t i = 0;
  while (i <= spec.size()) {
    size_t j = spec.find(',', i);
    if (j == std::string_view::npos) j = spec.size();
    std::string_view clause = spec.substr(i, j - i);
    i = j + 1;
    size_t k = 0;
    mode_t who = 0;
    for (; k < clause.size() && std::string_view("ugoa").find(clause[k]) != std::string_view::npos;
         ++k) {
      switch (clause[k]) {
        case 'u':
          who |= 04700;
          break;
        case 'g':
          who |= 02070;
          break;
        case 'o':
          who |= 01007;
          break;
        case 'a':
          who |= 07777;
          break;
      }
    }
    if (who == 0) who = 07777;
    if (k >= clause.size()) return bad();
    while (k < clause.size()) {
      char op = clause[k++];
      if (op != '+' && op != '-' && op != '=') return bad();
      mode_t bits = 0;
      for (; k < clause.size() && clause[k] != '+' && clause[k] != '-' && clause[k] != '='; ++k) {
        switch (clause[k]) {
          case 'r':
            bits |= 0444;
            break;
          case 'w':
            bits |= 0222;
            break;
          case 'x':
            bits |= 0111;
            break;
          case 'X':
            if (is_dir || (perm & 0111) != 0) bits |= 0111;
            break;
          case 's':
            bits |= 06000;
            break;
          case 't':
            bits |= 01000;
            break;
          default:
            return bad();
        }
      }
      bits &= who;
      if (op == '+') perm |= bits;
      if (op == '-') perm &= ~bits;
      if (op == '=') perm = (perm & ~(who & 07777)) | bits;
    }
    if (j == spec.size()) break;
  }
  return (mode & S_IFMT) | perm;
}

std::string UrlFileName(std::string_view url) {
  std::string_view u = url;
  size_t q = u.find_first_of("?#");
  if (q != std::string_view::npos) u = u.substr(0, q);
  size_t scheme = u.find("://");
  if (scheme != std::string_view::npos) u = u.substr(scheme + 3);
  size_t slash = u.find('/');
  if (slash == std::string_view::npos) return "";
  u = u.substr(slash);
  while (!u.empty() && u.back() == '/') u.remove_suffix(1);
  size_t last = u.rfind('/');
  return std::string(last == std::string_view::npos ? u : u.substr(last + 1));
}

namespace {

bool IsUrl(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://"); }
bool IsGit(std::string_view s) {
  return s.starts_with("git@") || s.starts_with("git://") || s.ends_with(".git") ||
         s.find(".git#") != std::string_view::npos;
}

size_t CurlWrite(char* data, size_t size, size_t n, void* user) {
  auto* fd = static_cast<int*>(user);
  return WriteAll(*fd, std::string_view(data, size * n)).ok() ? size * n : 0;
}

Status Download(const std::string& url, const std::string& path) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  int raw = fd.get();
  CURL* c = curl_easy_init();
  if (c == nullptr) return InternalError("curl_easy_init");
  char err[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, CurlWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &raw);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "bld/0.1");
  CURLcode rc = curl_easy_perform(c);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK) {
    return UnavailableError("ADD " + url + ": " + (err[0] ? err : curl_easy_strerror(rc)));
  }
  return Ok();
}

// True if the file is a tar archive (possibly compressed) that ADD extracts.
bool IsArchive(const std::string& path) {
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  bool ok = false;
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) == ARCHIVE_OK) {
    archive_entry* e;
    ok = archive_read_next_header(a, &e) == ARCHIVE_OK;
  }
  archive_read_free(a);
  return ok;
}

// One source of the copy, as the key and the writer see it.
struct Source {
  const SourceTree* tree = nullptr;  // null for inline data / downloaded files
  std::string rel;                   // the match, relative to the tree root
  std::string name;                  // base name at the destination
  std::string host_file;             // downloaded URL / inline data file
  bool extract = false;              // ADD: a local archive
  mode_t file_mode = 0644;           // for host_file
};

struct Owner {
  bool set = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct Writer {
  const std::string& rootfs;
  Owner owner;
  bool keep_owner = false;  // --from without --chown keeps the source owners
  std::string chmod;
  std::shared_ptr<parser::IgnoreMatcher> exclude;

  Result<mode_t> Mode(const struct stat& st) const {
    if (chmod.empty()) return st.st_mode;
    return ApplyChmod(st.st_mode, S_ISDIR(st.st_mode), chmod);
  }
  uid_t Uid(const struct stat& st) const {
    return owner.set ? owner.uid : keep_owner ? st.st_uid : 0;
  }
  gid_t Gid(const struct stat& st) const {
    return owner.set ? owner.gid : keep_owner ? st.st_gid : 0;
  }

  // Writes one entry (not recursing) from `src` with metadata `st` at the
  // container path `dest`.
  Status Entry(const std::string& src, const struct stat& st, const std::string& dest) const {
    BLD_ASSIGN_OR_RETURN(std::string host, ResolveInRoot(rootfs, dest, false));
    BLD_ASSIGN_OR_RETURN(mode_t mode, Mode(st));
    struct stat cur;
    bool exists = lstat(host.c_str(), &cur) == 0;
    if (S_ISDIR(st.st_mode)) {
      if (exists && !S_ISDIR(cur.st_mode)) {
        if (unlink(host.c_str()) != 0) return ErrnoError("replace " + dest);
        exists = false;
      }
      if (!exists && mkdir(host.c_str(), 0700) != 0) return ErrnoError("mkdir " + dest);
    } else {
      if (exists && S_ISDIR(cur.st_mode)) {
        return FailedPreconditionError("cannot copy to " + dest + ": it is a directory");
      }
      if (exists && unlink(host.c_str()) != 0) return ErrnoError("replace " + dest);
      if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t n = readlink(src.c_str(), buf, sizeof(buf));
        if (n < 0) return ErrnoError("readlink " + src);
        if (symlink(std::string(buf, static_cast<size_t>(n)).c_str(), host.c_str()) != 0) {
          return ErrnoError("symlink " + dest);
        }
      } else if (S_ISREG(st.st_mode)) {
        BLD_ASSIGN_OR_RETURN(UniqueFd in, OpenFile(src, O_RDONLY | O_NOFOLLOW));
        BLD_ASSIGN_OR_RETURN(UniqueFd out,
                             OpenFile(host, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600));
        off_t left = st.st_size;
        while (left > 0) {
          ssize_t n = copy_file_range(in.get(), nullptr, out.get(), nullptr,
                                      static_cast<size_t>(std::min<off_t>(left, 1 << 30)), 0);
          if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
            n = sendfile(out.get(), in.get(), nullptr, static_cast<size_t>(left));
          }
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) return ErrnoError("copy " + src + " to " + dest);
          if (n == 0) break;
          left -= n;
        }
      } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        if (mknod(host.c_str(), st.st_mode, st.st_rdev) != 0) return ErrnoError("mknod " + dest);
      } else {
        return InvalidArgumentError("cannot copy " + src + ": unsupported file type");
      }
    }
    // Rootless: an id bld's user namespace does not map stays the caller's (squashed), as in
    // layer apply (base/userns.h).
    uid_t owner = UidMapped(Uid(st)) ? Uid(st) : static_cast<uid_t>(-1);
    gid_t group = GidMapped(Gid(st)) ? Gid(st) : static_cast<gid_t>(-1);
    if (lchown(host.c_str(), owner, group) != 0) return ErrnoError("chown " + dest);
    if (!S_ISLNK(st.st_mode) && ::chmod(host.c_str(), mode & 07777) != 0) {
      return ErrnoError("chmod " + dest);
    }
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    times[0] = st.st_mtim;
    (void)utimensat(AT_FDCWD, host.c_str(), times, AT_SYMLINK_NOFOLLOW);
    return Ok();
  }

  // Copies `rel` of `tree` (recursively) to the container path `dest`.
  Status Tree(const SourceTree& tree, const std::string& rel, const std::string& dest) const {
    std::vector<std::pair<std::string, struct stat>> dirs;
    Status st = tree.Walk(rel, [&](const std::string& p, const struct stat& s) -> Status {
      std::string sub = p.size() > rel.size() ? p.substr(rel.empty() ? 0 : rel.size() + 1) : "";
      if (exclude && !sub.empty() && exclude->Excluded(sub)) return Ok();
      std::string d = sub.empty() ? dest : CleanAbs(dest + "/" + sub);
      if (sub.empty() && S_ISDIR(s.st_mode)) {
        // The destination directory itself: created if missing, left as it is otherwise.
        BLD_ASSIGN_OR_RETURN(std::string host, ResolveInRoot(rootfs, d));
        struct stat cur;
        if (lstat(host.c_str(), &cur) == 0 && S_ISDIR(cur.st_mode)) return Ok();
      }
      // Parents of entries re-included below an excluded directory.
      BLD_TRY(MkdirAllInRoot(rootfs, Dirname(d), 0, 0));
      BLD_TRY(Entry(tree.HostPath(p), s, d));
      if (S_ISDIR(s.st_mode)) dirs.push_back({d, s});
      return Ok();
    });
    if (!st.ok()) return st;
    // Directory times after their contents.
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      auto host = ResolveInRoot(rootfs, it->first, false);
      if (!host.ok()) continue;
      struct timespec times[2] = {it->second.st_mtim, it->second.st_mtim};
      (void)utimensat(AT_FDCWD, host->c_str(), times, AT_SYMLINK_NOFOLLOW);
    }
    return Ok();
  }
};

}  // namespace

Status LowerCopy(StageRun& run, const parser::Instruction& ins, const parser::CopyInstruction& c) {
  Session& s = *run.session;
  const auto& cfg = *run.state.config.config;
  const char* what = c.add ? "ADD" : "COPY";
  auto expand = [&](const std::string& w) -> Result<std::string> {
    auto r = run.vars->Expand(w);
    if (!r.ok()) return run.At(ins, r.error().message());
    return r;
  };
  if (c.keep_git_dir) return run.At(ins, "ADD --keep-git-dir is not supported by bld");

  // Where the sources come from: the context, or (--from) a stage or image whose
  // files are matched when the step runs; its key is the source's key.
  const SourceTree* tree = &s.context().tree();
  std::string from_key;
  std::optional<SourceRef> from_ref;
  if (!c.from.empty()) {
    BLD_ASSIGN_OR_RETURN(SourceRef ref, run.SourceOf(ins, c.from, -1));
    BLD_ASSIGN_OR_RETURN(oci::Digest k,
                         run.SourceKey(ins, ref, std::string(what) + " --from=" + c.from));
    from_key = k.str();
    from_ref = ref;
  }

  BLD_ASSIGN_OR_RETURN(std::string dest_raw, expand(c.dest));
  BLD_ASSIGN_OR_RETURN(std::string chown, expand(c.chown));
  BLD_ASSIGN_OR_RETURN(std::string chmod, expand(c.chmod));
  BLD_ASSIGN_OR_RETURN(std::string checksum, expand(c.checksum));
  if (!chmod.empty()) {
    auto m = ApplyChmod(0644, false, chmod);
    if (!m.ok()) return run.At(ins, m.error().message());
  }
  std::shared_ptr<parser::IgnoreMatcher> exclude;
  if (!c.exclude.empty()) {
    std::vector<std::string> pats;
    for (const auto& e : c.exclude) {
      BLD_ASSIGN_OR_RETURN(std::string p, expand(e));
      pats.push_back(p);
    }
    auto m = parser::IgnoreMatcher::Compile(pats);
    if (!m.ok()) return run.At(ins, "--exclude: " + m.error().message());
    exclude = std::make_shared<parser::IgnoreMatcher>(std::move(*m));
  }
  const bool dest_is_dir_syntax =
      dest_raw.ends_with("/") || dest_raw.ends_with("/.") || dest_raw == ".";
  std::string dest = dest_raw;
  if (dest.empty() || dest[0] != '/') {
    dest = (cfg.working_dir.empty() ? std::string("/") : cfg.working_dir) + "/" + dest;
  }
  dest = CleanAbs(dest);

  LayerStep step;
  step.name = run.StepName(ins);
  step.key = CacheKey(c.add ? "bld.add.v1" : "bld.copy.v1");
  step.key.Add("dest", dest + (dest_is_dir_syntax ? "/" : ""));
  step.key.Add("chown", chown);
  step.key.Add("chmod", chmod);
  step.key.Add("parents", c.parents ? "1" : "0");
  step.key.Add("exclude", [&] {
    std::string e;
    for (const auto& x : c.exclude) e += x + "\n";
    return e;
  }());
  if (!from_key.empty()) step.key.Add("from", from_key);
  step.independent = c.link;
  if (from_ref && from_ref->stage >= 0) step.reads_stages.push_back(from_ref->stage);

  // Sources, their content and metadata into the key.
  BLD_ASSIGN_OR_RETURN(TempDir scratch_dir, TempDir::Create("", "bld-copy-"));
  auto scratch_owner = std::make_shared<TempDir>(std::move(scratch_dir));
  const TempDir& scratch = *scratch_owner;
  std::vector<Source> sources;
  std::vector<std::string> from_sources;  // --from: matched when the step runs
  int downloads = 0;
  std::string created_by_sources;
  // A local source (context or --from tree): its matches, and their paths, types,
  // modes after --chmod, owners, contents and link targets into `key`.
  const std::string at_prefix = run.file_name + ":" + std::to_string(ins.start_line) + ": ";
  auto collect = [at_prefix, what, add = c.add, from_other = !c.from.empty(), exclude, chmod,
                  chown, session = &s](const SourceTree* tree, const std::string& src, CacheKey* key,
                     std::vector<Source>* out) -> Status {
    auto matches = tree->Match(src);
    if (!matches.ok()) return InvalidArgumentError(at_prefix + std::string(what) + " " + matches.error().message());
    for (const auto& rel : *matches) {
      Source so;
      so.tree = tree;
      so.rel = rel;
      so.name = rel.empty() ? "" : Basename(rel);
      auto st = tree->Lstat(rel);
      if (!st.ok()) return InvalidArgumentError(at_prefix + st.error().message());
      if (add && !from_other && S_ISREG(st->st_mode) && IsArchive(tree->HostPath(rel))) {
        so.extract = true;
      }
      // Every entry below the source: path, type, mode after --chmod, owner, content, link.
      Status w = tree->Walk(rel, [&](const std::string& p, const struct stat& e) -> Status {
        std::string sub = p.size() > rel.size() ? p.substr(rel.empty() ? 0 : rel.size() + 1) : "";
        if (exclude && !sub.empty() && exclude->Excluded(sub)) return Ok();
        mode_t mode = e.st_mode;
        if (!chmod.empty()) {
          BLD_ASSIGN_OR_RETURN(mode, ApplyChmod(mode, S_ISDIR(e.st_mode), chmod));
        }
        std::string v = std::to_string(mode);
        if (from_other && chown.empty()) {
          v += " " + std::to_string(e.st_uid) + ":" + std::to_string(e.st_gid);
        }
        if (S_ISREG(e.st_mode)) {
          BLD_ASSIGN_OR_RETURN(std::string d, session->context().hasher().Digest(tree->HostPath(p), e));
          v += " " + d;
        } else if (S_ISLNK(e.st_mode)) {
          char buf[4096];
          ssize_t n = readlink(tree->HostPath(p).c_str(), buf, sizeof(buf));
          if (n > 0) v += " -> " + std::string(buf, static_cast<size_t>(n));
        }
        if (so.extract) v += " extract";
        key->Add("file:" + (p.empty() ? "." : p), v);
        return Ok();
      });
      if (!w.ok()) return InvalidArgumentError(at_prefix + w.error().message());
      out->push_back(so);
    }
    return Ok();
  };
  for (const auto& raw : c.sources) {
    BLD_ASSIGN_OR_RETURN(std::string src, expand(raw));
    created_by_sources += " " + src;
    if (c.add && c.from.empty() && IsUrl(src)) {
      Source so;
      so.host_file = JoinPath(scratch.path(), "url" + std::to_string(downloads++));
      Status d = Download(src, so.host_file);
      if (!d.ok()) return d.error().Wrap(run.file_name + ":" + std::to_string(ins.start_line));
      so.name = UrlFileName(src);
      if (so.name.empty()) {
        return run.At(ins, "ADD " + src +
                               ": cannot tell a file name from the URL; give a "
                               "destination file name");
      }
      so.file_mode = 0600;
      BLD_ASSIGN_OR_RETURN(std::string content, ReadFile(so.host_file));
      oci::Digest got = oci::Digest::Of(content);
      if (!checksum.empty() && got.str() != checksum) {
        return run.At(
            ins, "ADD " + src + ": checksum mismatch: expected " + checksum + ", got " + got.str());
      }
      step.key.Add("url:" + src, got.str());
      sources.push_back(so);
      continue;
    }
    if (c.add && IsGit(src)) return run.At(ins, "ADD of a git repository is not supported by bld");
    if (IsUrl(src)) return run.At(ins, "COPY cannot fetch URLs (" + src + "); use ADD");
    if (!checksum.empty()) return run.At(ins, "ADD --checksum is only valid for URL sources");
    if (from_ref) {
      step.key.Add("source:" + src, "");
      from_sources.push_back(src);
      continue;
    }
    BLD_TRY(collect(tree, src, &step.key, &sources));
  }
  for (const auto& inl : c.inline_sources) {
    Source so;
    so.host_file = JoinPath(scratch.path(), "heredoc" + std::to_string(downloads++));
    std::string data = inl.data;
    if (inl.expand) {
      auto e = run.vars->ExpandHeredoc(data);
      if (!e.ok()) return run.At(ins, "<<" + inl.path + ": " + e.error().message());
      data = *e;
    }
    BLD_TRY(WriteFileAtomic(so.host_file, data, 0644));
    so.name = inl.path;
    so.file_mode = 0644;
    step.key.Add("heredoc:" + inl.path, data);
    created_by_sources += " <<" + inl.path;
    sources.push_back(so);
  }
  if (sources.empty() && from_sources.empty()) {
    return run.At(ins, std::string(what) + " has no source");
  }
  const bool many = sources.size() > 1 || c.sources.size() + c.inline_sources.size() > 1;
  if (many && !dest_is_dir_syntax) {
    return run.At(ins, std::string("When using ") + what +
                           " with more than one source file, the destination must be a "
                           "directory and end with a /");
  }
  step.created_by = std::string(what) + created_by_sources + " " + dest_raw;

  const std::string user_for_chown = chown;
  const bool from_other = !c.from.empty();
  const bool parents = c.parents;
  step.apply = [sources_planned = sources, dest, dest_is_dir_syntax, many_planned = many,
                user_for_chown, chmod, exclude, from_other, parents, scratch_owner, collect,
                from_ref, from_sources, at_prefix, what,
                session = &s](const ExecContext& exec, const std::string& rootfs, int) -> Status {
    // --from: the source tree as built, matched now.
    std::vector<Source> sources = sources_planned;
    bool many = many_planned;
    std::optional<RootfsView> view;
    std::optional<SourceTree> view_tree;
    if (from_ref) {
      ImageState src_state;
      if (from_ref->stage >= 0) {
        src_state = exec.Built(from_ref->stage);
      } else {
        BLD_ASSIGN_OR_RETURN(src_state, session->ImageFromStore(from_ref->image));
      }
      auto v = session->View(src_state);
      if (!v.ok()) return v.error().Wrap(std::string(what) + " --from");
      view = std::move(*v);
      view_tree.emplace(view->path(), nullptr);
      CacheKey unused("bld.unused");
      for (const auto& src : from_sources) BLD_TRY(collect(&*view_tree, src, &unused, &sources));
      many = many || sources.size() > 1;
      if (many && !dest_is_dir_syntax) {
        return InvalidArgumentError(at_prefix + "When using " + what +
                                    " with more than one source file, the destination must be "
                                    "a directory and end with a /");
      }
    }
    Writer w{rootfs};
    w.chmod = chmod;
    w.exclude = exclude;
    w.keep_owner = from_other;
    if (!user_for_chown.empty()) {
      std::string spec = user_for_chown;
      bool numeric_user =
          !spec.empty() &&
          spec.substr(0, spec.find(':')).find_first_not_of("0123456789") == std::string::npos;
      auto u = runner::ResolveUser(spec, ReadFileInRoot(rootfs, "/etc/passwd"),
                                   ReadFileInRoot(rootfs, "/etc/group"));
      if (!u.ok()) return u.error().Wrap("--chown=" + spec);
      w.owner.set = true;
      w.owner.uid = u->uid;
      w.owner.gid = u->gid;
      if (numeric_user && spec.find(':') == std::string::npos) w.owner.gid = u->uid;
    }
    BLD_ASSIGN_OR_RETURN(std::string dest_host, ResolveInRoot(rootfs, dest));
    struct stat dst;
    bool dest_dir =
        dest_is_dir_syntax || many || (lstat(dest_host.c_str(), &dst) == 0 && S_ISDIR(dst.st_mode));
    for (const auto& so : sources) {
      if (!so.host_file.empty()) {
        std::string target = dest_dir ? CleanAbs(dest + "/" + so.name) : dest;
        BLD_TRY(MkdirAllInRoot(rootfs, Dirname(target), 0, 0));
        struct stat st;
        if (lstat(so.host_file.c_str(), &st) != 0) return ErrnoError("lstat " + so.host_file);
        st.st_mode = S_IFREG | so.file_mode;
        BLD_TRY(w.Entry(so.host_file, st, target));
        continue;
      }
      BLD_ASSIGN_OR_RETURN(struct stat st, so.tree->Lstat(so.rel));
      std::string base = parents ? so.rel : so.name;
      if (so.extract) {
        std::string d = parents ? CleanAbs(dest + "/" + Dirname(so.rel)) : dest;
        BLD_ASSIGN_OR_RETURN(std::string host, MkdirAllInRoot(rootfs, d, 0, 0));
        BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(so.tree->HostPath(so.rel), O_RDONLY));
        snapshot::ApplyOptions ao;
        ao.whiteouts = snapshot::WhiteoutStyle::kDelete;
        auto r = snapshot::ApplyFd(fd.get(), host, ao);
        if (!r.ok()) return r.error().Wrap("ADD " + so.rel + ": extract");
        continue;
      }
      std::string target;
      if (S_ISDIR(st.st_mode)) {
        target = parents && !so.rel.empty() ? CleanAbs(dest + "/" + so.rel) : dest;
      } else {
        target = dest_dir || parents ? CleanAbs(dest + "/" + base) : dest;
      }
      BLD_TRY(MkdirAllInRoot(rootfs, Dirname(target), 0, 0));
      BLD_TRY(w.Tree(*so.tree, so.rel, target));
    }
    return Ok();
  };
  return PlanLayerStep(run, ins, std::move(step));
}

}  // namespace bld::builder
