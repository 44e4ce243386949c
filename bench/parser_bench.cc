// Parser benchmarks: a generated 10,000-line Dockerfile through the syntax layer
// (Parse), the typed layer (ParseDockerfile) and the AST dump, plus word
// expansion. Target: < 20 ms for the 10,000-line file.
//   ninja -C build parser_bench && ./build/bench/parser_bench
#include <benchmark/benchmark.h>

#include <string>

#include "parser/instructions.h"
#include "parser/parser.h"
#include "parser/shell_word.h"

namespace {

// Exactly `lines` lines of realistic instructions: continuations, comments,
// JSON forms, flags, ENV pairs, heredocs, several stages.
std::string MakeDockerfile(int lines) {
  std::string s = "# syntax=docker/dockerfile:1\nARG BASE=debian:12\n";
  int n = 2;
  int stage = 0;
  auto add = [&](const std::string& text, int count) {
    s += text;
    n += count;
  };
  while (n < lines) {
    int left = lines - n;
    if (left >= 40 && n % 400 < 40) {
      add("FROM ${BASE} AS stage" + std::to_string(stage++) + "\n", 1);
      add("# install the build dependencies\n", 1);
      add("RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\\n"
          "    apt-get update && apt-get install -y \\\n"
          "      build-essential \\\n"
          "      curl git \\\n"
          "    && rm -rf /var/lib/apt/lists/*\n",
          5);
      add("ENV PATH=/opt/bin:$PATH LANG=C.UTF-8 GOFLAGS=\"-mod=vendor -trimpath\"\n", 1);
      add("COPY --from=stage0 --chown=1000:1000 --link src/ /src/\n", 1);
      add("RUN <<EOF\nset -e\ncd /src && make -j4\nEOF\n", 4);
      add("WORKDIR /src\n", 1);
      add("LABEL org.opencontainers.image.title=\"bench\" version=1\n", 1);
      add("HEALTHCHECK --interval=30s --timeout=3s CMD [\"curl\", \"-f\", \"http://localhost/\"]\n",
          1);
      add("\n", 1);
      continue;
    }
    switch (n % 6) {
      case 0:
        add("RUN echo \"line " + std::to_string(n) + "\" >> /log && true\n", 1);
        break;
      case 1:
        add("COPY [\"a b\", \"c\", \"/dst/\"]\n", 1);
        break;
      case 2:
        add("ENV K" + std::to_string(n) + "=v" + std::to_string(n) + "\n", 1);
        break;
      case 3:
        add("CMD [\"/bin/app\", \"--flag\", \"value\"]\n", 1);
        break;
      case 4:
        add("EXPOSE 80/tcp 443\n", 1);
        break;
      default:
        add("USER 1000:1000\n", 1);
        break;
    }
  }
  return s;
}

const std::string& TenThousandLines() {
  static const std::string text = MakeDockerfile(10000);
  return text;
}

void BM_Parse10kLines(benchmark::State& state) {
  const std::string& text = TenThousandLines();
  for (auto _ : state) {
    auto ast = bld::parser::Parse(text);
    if (!ast.ok()) state.SkipWithError(ast.error().message().c_str());
    benchmark::DoNotOptimize(ast);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * text.size());
}
BENCHMARK(BM_Parse10kLines)->Unit(benchmark::kMillisecond);

void BM_ParseDockerfile10kLines(benchmark::State& state) {
  const std::string& text = TenThousandLines();
  for (auto _ : state) {
    auto df = bld::parser::ParseDockerfile(text);
    if (!df.ok()) state.SkipWithError(df.error().message().c_str());
    benchmark::DoNotOptimize(df);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * text.size());
}
BENCHMARK(BM_ParseDockerfile10kLines)->Unit(benchmark::kMillisecond);

void BM_Dump10kLines(benchmark::State& state) {
  auto ast = bld::parser::Parse(TenThousandLines());
  for (auto _ : state) {
    std::string d = bld::parser::Dump(*ast);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_Dump10kLines)->Unit(benchmark::kMillisecond);

void BM_ExpandWord(benchmark::State& state) {
  bld::parser::EnvMap env = {{"HOME", "/root"}, {"PATH", "/usr/bin:/bin"}, {"V", "1.2.3"}};
  for (auto _ : state) {
    auto r = bld::parser::ExpandWord("\"$HOME/bin:${PATH}\" app-${V:-0}.tar.gz", env);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ExpandWord);

}  // namespace

BENCHMARK_MAIN();
