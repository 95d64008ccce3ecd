"""The CPython side of the native benchmark: MB/s of tokenize.tokenize, of the same
writing what the `tokenize` pass writes (each token as a tokens.jsonl line, to a file
and into a SHA-256), of ast.parse and (when installed) tree-sitter-python over the
files listed in LISTFILE, best of N.

    python3 bench.py LISTFILE [REPEATS]

Prints one JSON object: {"bytes", "tokenize_mbs", "tokenize_jsonl_mbs",
"ast_parse_mbs", "tree_sitter_mbs"}.
"""
import ast
import hashlib
import io
import json
import os
import sys
import tempfile
import time
import tokenize
import warnings


def best(fn, datas, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for d in datas:
            fn(d)
        times.append(time.perf_counter() - t)
    return min(times)


def tok(d):
    try:
        for _ in tokenize.tokenize(io.BytesIO(d).readline):
            pass
    except Exception:
        pass


JSONL = os.path.join(tempfile.gettempdir(), f"weir-bench-{os.getpid()}.jsonl")


def tok_jsonl(d):
    digest = hashlib.sha256()
    with open(JSONL, "w", encoding="utf-8") as out:
        try:
            for t in tokenize.tokenize(io.BytesIO(d).readline):
                line = json.dumps({"type": tokenize.tok_name[t.type], "string": t.string,
                                   "start": list(t.start), "end": list(t.end)}) + "\n"
                out.write(line)
                digest.update(line.encode())
        except Exception:
            pass
    digest.hexdigest()


def parse(d):
    try:
        ast.parse(d)
    except (SyntaxError, ValueError):
        pass


def main():
    warnings.simplefilter("ignore")
    files = [l for l in open(sys.argv[1]).read().split("\n") if l]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    datas = [open(f, "rb").read() for f in files]
    total = sum(len(d) for d in datas)
    mb = total / 1e6
    out = {"bytes": total, "files": len(datas)}
    out["tokenize_mbs"] = mb / best(tok, datas, repeats)
    out["tokenize_jsonl_mbs"] = mb / best(tok_jsonl, datas, repeats)
    os.remove(JSONL)
    out["ast_parse_mbs"] = mb / best(parse, datas, repeats)
    try:
        import tree_sitter
        import tree_sitter_python
        parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_python.language()))
        out["tree_sitter_mbs"] = mb / best(parser.parse, datas, repeats)
        out["tree_sitter_version"] = getattr(tree_sitter, "__version__", "?")
    except ImportError:
        out["tree_sitter_mbs"] = None
    print(json.dumps(out))


main()
