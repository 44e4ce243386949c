// libFuzzer target: arbitrary bytes through every layer of the parser.
// Build with clang and -DBLD_FUZZ=ON; run: ./parser_fuzzer corpus/ seeds/
// The first byte picks extra work so that one target covers the word
// expander (with several option sets) and .dockerignore patterns too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "parser/dockerignore.h"
#include "parser/instructions.h"
#include "parser/parser.h"
#include "parser/shell_word.h"
#include "parser/variables.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto ast = bld::parser::Parse(text);
  if (ast.ok()) {
    std::string dump = bld::parser::Dump(*ast);
    (void)dump;
    auto df = bld::parser::ParseInstructions(*ast);
    if (df.ok()) {
      std::string json = bld::parser::DockerfileToJson(*df);
      (void)json;
      for (const auto& stage : df->stages) {
        for (const auto& ins : stage.instructions) {
          if (const auto* run = std::get_if<bld::parser::RunInstruction>(&ins.value)) {
            for (const std::string& spec : run->mount_specs) (void)bld::parser::ParseMount(spec);
          }
        }
      }
      auto meta = bld::parser::ResolveMetaArgs(df->meta_args, {});
      (void)meta;
    }
  }

  bld::parser::EnvMap env = {{"A", "a b"}, {"EMPTY", ""}, {"P", "/usr/local/bin"}};
  bld::parser::ShellWordOptions opts;
  opts.escape_token = (size > 0 && (data[0] & 1)) ? '`' : '\\';
  opts.raw_quotes = size > 0 && (data[0] & 2);
  opts.raw_escapes = size > 0 && (data[0] & 4);
  opts.skip_unset_env = size > 0 && (data[0] & 8);
  opts.skip_process_quotes = size > 0 && (data[0] & 16);
  auto words = bld::parser::ProcessShellWord(text, env, opts);
  (void)words;

  auto ignore = bld::parser::IgnoreMatcher::FromFile(text);
  if (ignore.ok()) {
    (void)ignore->Excluded("src/main.go");
    (void)ignore->Excluded("a/b/c/d.txt");
  }
  return 0;
}
