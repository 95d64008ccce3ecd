#include "pipeline.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include <unistd.h>

#include "passes.hpp"
#include "sha256.hpp"

namespace weir {
namespace {

using Clock = std::chrono::steady_clock;

struct IoError {
  std::string message;
};

struct Cancelled {};

struct PassInfo {
  uint32_t bit;
  const char *name;
  const char *artifact;
};
const PassInfo kPasses[] = {
    {WEIR_PASS_TOKENIZE, "tokenize", "tokens.jsonl"},
    {WEIR_PASS_OUTLINE, "outline", "outline.json"},
    {WEIR_PASS_METRICS, "metrics", "metrics.json"},
    {WEIR_PASS_STRIP, "strip", "stripped.py"},
    {WEIR_PASS_CALLGRAPH, "callgraph", "callgraph.dot"},
};

std::string temp_name(const std::string &dir, const char *artifact) {
  static std::atomic<unsigned long> counter{0}; // only makes temporary names unique
  return dir + "/." + artifact + ".tmp-" + std::to_string(getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

// A file being written under a temporary name; removed unless committed.
class FileSink : public Sink {
public:
  FileSink(std::string dir, const char *artifact)
      : final_(dir + "/" + artifact), temp_(temp_name(dir, artifact)) {
    f_ = fopen(temp_.c_str(), "wb");
    if (!f_) throw IoError{"cannot create " + temp_ + ": " + strerror(errno)};
  }
  ~FileSink() override {
    if (f_) fclose(f_);
    if (!committed_) remove(temp_.c_str());
  }
  // Hashes what it writes while it is in cache: the digest never re-reads the file.
  void write(const char *p, size_t n) override {
    if (n == 0) return;
    if (fwrite(p, 1, n, f_) != n) throw IoError{"cannot write " + temp_ + ": " + strerror(errno)};
    sha_.update(p, n);
    size_ += n;
  }
  // Closes the file; the rename happens in commit().
  using Sink::write;
  void close() {
    if (fclose(f_) != 0) {
      f_ = nullptr;
      throw IoError{"cannot write " + temp_ + ": " + strerror(errno)};
    }
    f_ = nullptr;
    digest_ = sha_.hex();
  }
  void commit() {
    if (rename(temp_.c_str(), final_.c_str()) != 0)
      throw IoError{"cannot rename " + temp_ + " to " + final_ + ": " + strerror(errno)};
    committed_ = true;
  }
  uint64_t size() const { return size_; }
  const std::string &digest() const { return digest_; }

private:
  std::string final_, temp_;
  FILE *f_ = nullptr;
  Sha256 sha_;
  uint64_t size_ = 0;
  std::string digest_;
  bool committed_ = false;
};

struct Diagnostic {
  std::string severity, source, message;
  long line, col;
};

struct PassRun {
  const PassInfo *info;
  std::string status; // ok | failed | skipped
  long long time_us = 0;
  std::unique_ptr<FileSink> sink;
};

long long micros(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - since).count();
}

void json_settings(std::string &j, const weir_settings &s) {
  j += "{\"passes\":[";
  bool first = true;
  for (const PassInfo &p : kPasses)
    if (s.passes & p.bit) {
      if (!first) j += ",";
      j += std::string("\"") + p.name + "\"";
      first = false;
    }
  j += "],\"strip_docstrings\":";
  j += s.strip_docstrings ? "true" : "false";
  j += ",\"strip_comments\":";
  j += s.strip_comments ? "true" : "false";
  j += ",\"max_input_bytes\":" + std::to_string(s.max_input_bytes) +
       ",\"max_depth\":" + std::to_string(s.max_depth) +
       ",\"max_wall_ms\":" + std::to_string(s.max_wall_ms) + "}";
}

class Pipeline {
public:
  explicit Pipeline(const Request &r) : req_(r), start_(Clock::now()) {
    deadline_ = start_ + std::chrono::milliseconds(r.settings.max_wall_ms);
  }

  Response run() {
    try {
      return run_inner();
    } catch (const Cancelled &) {
      return Response{WEIR_CANCELLED, "the compile was cancelled"};
    } catch (const IoError &e) {
      return Response{WEIR_IO, e.message};
    }
  }

private:
  const Request &req_;
  Clock::time_point start_, deadline_;
  bool timed_out_ = false;
  std::vector<Diagnostic> diags_;
  std::vector<PassRun> runs_;
  std::string encoding_;
  long long frontend_us_ = 0;

  bool interrupted() {
    if (req_.cancel && __atomic_load_n(req_.cancel, __ATOMIC_RELAXED)) throw Cancelled{};
    if (Clock::now() > deadline_) timed_out_ = true;
    return timed_out_;
  }

  void error(const std::string &source, const std::string &m, long line, long col) {
    diags_.push_back(Diagnostic{"error", source, m, line, col});
  }

  // Enables the passes that consume tokens; stripped.py is written as it goes, so its
  // file is opened now. Returns the strip pass's run, if selected.
  PassRun *enable_token_passes(TokenPasses &passes) {
    PassRun *strip = nullptr;
    for (PassRun &r : runs_) {
      if (r.info->bit == WEIR_PASS_METRICS) passes.enable_metrics();
      if (r.info->bit == WEIR_PASS_CALLGRAPH) passes.enable_callgraph();
      if (r.info->bit == WEIR_PASS_STRIP) {
        strip = &r;
        r.sink = std::make_unique<FileSink>(req_.out_dir, r.info->artifact);
        passes.enable_strip(req_.settings.strip_docstrings, req_.settings.strip_comments,
                            *r.sink);
      }
    }
    return strip;
  }

  // Tokenizes and parses in one stream: the parser pulls tokens, the passes consume
  // them behind it. After a structural error the rest is only tokenized.
  static void front_end(std::string_view text, const TokenizeLimits &limits,
                        TokenizeResult &toks, Structure &structure, TokenPasses &passes) {
    TokenStream stream(text, limits, toks);
    TokenWindow window(stream);
    window.consumer = &passes;
    parse_structure(text, window, structure);
    window.finish(!structure.error.present());
  }

  // Writes one pass's artifact from what the stream left; false when interrupted. A
  // pass that consumed tokens during the parse counts that time too (its own clock).
  bool run_pass(PassRun &r, Structure &structure, TokenPasses &passes) {
    Clock::time_point p0 = Clock::now();
    const long long *streamed = nullptr;
    if (!r.sink) r.sink = std::make_unique<FileSink>(req_.out_dir, r.info->artifact);
    switch (r.info->bit) {
    case WEIR_PASS_OUTLINE: write_outline(structure, *r.sink); break;
    case WEIR_PASS_METRICS:
      passes.write_metrics(*r.sink);
      streamed = &passes.metrics_us;
      break;
    case WEIR_PASS_STRIP:
      passes.finish_strip();
      streamed = &passes.strip_us;
      break;
    case WEIR_PASS_CALLGRAPH:
      passes.write_callgraph(*r.sink);
      streamed = &passes.callgraph_us;
      break;
    }
    Clock::time_point c0 = Clock::now();
    r.sink->close();
    r.status = "ok";
    r.time_us = streamed ? *streamed + micros(c0) : micros(p0);
    return !interrupted();
  }

  Response run_inner() {
    std::string input_sha;
    {
      Sha256 h;
      h.update(req_.source, req_.source_len);
      input_sha = h.hex();
    }
    for (const PassInfo &p : kPasses)
      if (req_.settings.passes & p.bit) runs_.push_back(PassRun{&p, "skipped", 0, nullptr});
    if (req_.source_len > req_.settings.max_input_bytes) {
      error("limits",
            "the input is " + std::to_string(req_.source_len) + " bytes; the limit is " +
                std::to_string(req_.settings.max_input_bytes),
            0, 0);
      return finish(input_sha);
    }
    Clock::time_point t0 = Clock::now();
    std::string_view bytes(reinterpret_cast<const char *>(req_.source), req_.source_len);
    Decoded decoded;
    DecodeError derr;
    bool ok = decode_source(bytes, decoded, derr);
    encoding_ = ok ? decoded.encoding : "";
    const void *nul = memchr(bytes.data(), 0, bytes.size());
    if (nul) {
      size_t at = size_t(static_cast<const char *>(nul) - bytes.data());
      long line = 1;
      size_t ls = 0;
      for (size_t i = 0; i < at; i++)
        if (bytes[i] == '\n') line++, ls = i + 1;
      error("compile", "source code cannot contain null bytes", line, long(at - ls) + 1);
    }
    if (!ok) {
      if (!nul) error("compile", derr.message, derr.line, derr.col);
      for (PassRun &r : runs_) r.status = r.info->bit == WEIR_PASS_TOKENIZE ? "failed" : "skipped";
      frontend_us_ = micros(t0);
      return finish(input_sha);
    }
    // tokens.jsonl is written as the tokenizer yields, when tokenize.py would tokenize.
    PassRun *tokens_run = nullptr;
    std::unique_ptr<TokenWriter> writer;
    for (PassRun &r : runs_)
      if (r.info->bit == WEIR_PASS_TOKENIZE && decoded.tokenize_error.empty()) {
        tokens_run = &r;
        r.sink = std::make_unique<FileSink>(req_.out_dir, r.info->artifact);
        writer = std::make_unique<TokenWriter>(decoded.text, decoded.encoding, *r.sink,
                                               [this] { return interrupted(); });
      }
    // The front end reads the text as the compiler does (compiler_text). Where that
    // differs from what tokenize.py reads, tokens.jsonl and the tokenize error come
    // from a run of their own over the text as it is, and the passes read the
    // compiler's text without the '\n' it may add at the end.
    Decoded compiler_view;
    bool differs = compiler_text(decoded.text, compiler_view.owned);
    std::string_view front_text = differs ? compiler_view.owned : decoded.text;
    if (differs) {
      compiler_view.encoding = decoded.encoding;
      compiler_view.text = front_text.substr(0, decoded.text.size());
    }
    Structure structure;
    TokenPasses passes(differs ? compiler_view : decoded, structure,
                       [this] { return interrupted(); });
    PassRun *strip_run = enable_token_passes(passes);
    TokenizeResult toks, as_is;
    TokenizeLimits limits;
    limits.max_depth = req_.settings.max_depth;
    limits.interrupted = [this] { return interrupted(); };
    limits.observer = writer.get();
    if (differs) {
      TokenStream stream(decoded.text, limits, as_is);
      while (stream.step()) {
      }
      if (timed_out_) return timeout(input_sha);
      limits.observer = nullptr;
    }
    limits.compiler_indents = true;
    const TokenizeResult &tokenized = differs ? as_is : toks;
    try {
      front_end(front_text, limits, toks, structure, passes);
    } catch (const Interrupted &) {
      return timeout(input_sha);
    }
    if (timed_out_) return timeout(input_sha);
    // On a parse error CPython tokenizes the rest of the source, and a tokenizer error
    // there is the one it reports; but an unexpected indent stops it at once.
    const SyntaxIssue &lexed = toks.syntax_error, &parse = structure.error;
    bool indent_first = parse.present() && parse.message == "unexpected indent" &&
                        std::make_pair(parse.line, parse.col) < std::make_pair(lexed.line, lexed.col);
    if (!nul && lexed.present() && indent_first)
      error("compile", parse.message, parse.line, parse.col);
    else if (!nul && lexed.present())
      error("compile", lexed.message, lexed.line, lexed.col);
    bool tokens_ok = !tokenized.tokenize_error.present() && decoded.tokenize_error.empty();
    if (!decoded.tokenize_error.empty())
      error("tokenize", decoded.tokenize_error, 1, 1);
    else if (tokenized.tokenize_error.present())
      error("tokenize", tokenized.tokenize_error.message, tokenized.tokenize_error.line,
            tokenized.tokenize_error.col + 1);
    long long writing_us = 0;
    if (tokens_run && tokens_ok) {
      writer->finish(); // its own time is in writer->micros()
      Clock::time_point w0 = Clock::now();
      tokens_run->sink->close();
      tokens_run->status = "ok";
      tokens_run->time_us = writer->micros() + micros(w0);
      writing_us = tokens_run->time_us;
    } else if (tokens_run) {
      tokens_run->sink.reset(); // removes the partial file
    }
    writer.reset();
    // The parse ran alongside the tokenizer; it counts when the front end's own stream
    // was complete and only tokenize.py's view, if anything, failed.
    bool parsed = false;
    bool compiled = !toks.tokenize_error.present() &&
                    std::all_of(diags_.begin(), diags_.end(),
                                [](const Diagnostic &d) { return d.source == "tokenize"; });
    if (compiled) {
      if (structure.error.present())
        error("compile", structure.error.message, structure.error.line, structure.error.col);
      else
        parsed = true;
    }
    long long streamed_us = passes.metrics_us + passes.callgraph_us + passes.strip_us;
    frontend_us_ = std::max(0LL, micros(t0) - writing_us - streamed_us);
    if (interrupted()) return timeout(input_sha);
    if (!parsed && strip_run) strip_run->sink.reset(); // removes what it wrote
    for (PassRun &r : runs_) {
      bool is_tokenize = r.info->bit == WEIR_PASS_TOKENIZE;
      if (is_tokenize) {
        if (!tokens_ok) r.status = "failed";
        continue;
      }
      if (!parsed) {
        r.status = "skipped";
        continue;
      }
      if (!run_pass(r, structure, passes)) return timeout(input_sha);
    }
    return finish(input_sha);
  }

  Response timeout(const std::string &sha) {
    for (PassRun &r : runs_) {
      r.sink.reset(); // removes what was written
      if (r.status == "ok") r.status = "failed";
    }
    diags_.push_back(Diagnostic{"error", "limits",
                                "the wall-time limit of " +
                                    std::to_string(req_.settings.max_wall_ms) + " ms was exceeded",
                                0, 0});
    return finish(sha);
  }

  Response finish(const std::string &input_sha) {
    // Artifacts of passes that did not complete now must not linger from an earlier run.
    for (const PassInfo &p : kPasses) {
      bool produced = false;
      for (const PassRun &r : runs_) produced |= r.info == &p && r.sink;
      if (!produced) remove((req_.out_dir + "/" + p.artifact).c_str());
    }
    for (PassRun &r : runs_)
      if (r.sink) r.sink->commit();
    bool failed = false;
    for (const Diagnostic &d : diags_) failed |= d.severity == "error";
    std::string j = "{\"status\":";
    j += failed ? "\"failed\"" : "\"success\"";
    j += ",\"input\":{\"name\":";
    json_string(j, req_.name);
    j += ",\"size\":" + std::to_string(req_.source_len) + ",\"sha256\":\"" + input_sha +
         "\",\"encoding\":";
    if (encoding_.empty())
      j += "null";
    else
      json_string(j, encoding_);
    j += "},\"settings\":";
    json_settings(j, req_.settings);
    j += ",\"artifacts\":[";
    bool first = true;
    for (const PassRun &r : runs_) {
      if (!r.sink) continue;
      if (!first) j += ",";
      first = false;
      j += std::string("{\"path\":\"") + r.info->artifact + "\",\"pass\":\"" + r.info->name +
           "\",\"size\":" + std::to_string(r.sink->size()) + ",\"sha256\":\"" +
           r.sink->digest() + "\"}";
    }
    j += "],\"passes\":[";
    for (size_t i = 0; i < runs_.size(); i++) {
      if (i) j += ",";
      j += std::string("{\"name\":\"") + runs_[i].info->name + "\",\"status\":\"" +
           runs_[i].status + "\",\"time_us\":" + std::to_string(runs_[i].time_us) + "}";
    }
    j += "],\"frontend_us\":" + std::to_string(frontend_us_) + ",\"diagnostics\":[";
    for (size_t i = 0; i < diags_.size(); i++) {
      const Diagnostic &d = diags_[i];
      if (i) j += ",";
      j += "{\"severity\":\"" + d.severity + "\",\"source\":\"" + d.source +
           "\",\"line\":" + std::to_string(d.line) + ",\"col\":" + std::to_string(d.col) +
           ",\"message\":";
      json_string(j, d.message);
      j += "}";
    }
    j += "],\"time_us\":" + std::to_string(micros(start_)) + "}";
    FileSink manifest(req_.out_dir, "manifest.json");
    manifest.write(j + "\n");
    manifest.close();
    manifest.commit();
    return Response{WEIR_OK, j};
  }
};

} // namespace

Response run_pipeline(const Request &req) {
  Pipeline p(req);
  return p.run();
}

} // namespace weir
