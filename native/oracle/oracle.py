"""CPython 3.11 as the oracle for weir-native.

    python3 oracle.py compare OUT_ROOT LISTFILE MANIFESTS

LISTFILE names the inputs (one path a line, in order); OUT_ROOT/<index>/ holds what
the library wrote for the input at that index; MANIFESTS holds one manifest (JSON) a
line. For every file this compares, against CPython run here:

* tokens.jsonl with tokenize.tokenize over the file's bytes (files it tokenizes);
* outline.json with an outline built from ast.parse, qualnames taken from the code
  objects compile() makes (co_qualname), decorators by ast.get_source_segment,
  docstrings by ast.get_docstring (files it parses);
* stripped.py: ast.parse(stripped) must dump equal to the original's AST with
  docstrings removed (an emptied function or class body gets `pass`).

Prints the counts and the first mismatches; exits 1 unless every count is 100%.

    python3 oracle.py stdlib
    python3 oracle.py mutants SEED COUNT DIR

`stdlib` lists the standard library's .py files. `mutants` writes COUNT inputs into
DIR and lists them: about half are small stdlib files with a few random edits
(quotes, string prefixes, brackets, backslashes, tabs, form feeds, lone and paired
carriage returns, non-ASCII, NUL, cuts), the rest lines of strings with every prefix
and quote, escapes, comments and line ends. The same SEED gives the same files.
"""
import ast
import io
import json
import os
import sys
import tokenize


def cpython_tokens(data):
    out = []
    for t in tokenize.tokenize(io.BytesIO(data).readline):
        out.append({"type": tokenize.tok_name[t.type], "string": t.string,
                    "start": list(t.start), "end": list(t.end)})
    return out


def decoded_text(data):
    enc, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(enc)
    return text[1:] if text.startswith("\ufeff") else text


def code_qualnames(code):
    """(name, first line) -> [co_qualname, ...] in compilation (source) order."""
    found = {}

    def walk(c):
        for k in c.co_consts:
            if hasattr(k, "co_qualname"):
                found.setdefault((k.co_name, k.co_firstlineno), []).append(k.co_qualname)
                walk(k)
    walk(code)
    return found


# Statement lists in source order (ast field order puts Try.orelse before handlers).
BODIES = ("body", "handlers", "orelse", "finalbody", "cases")


def expected_outline(tree, text, qualnames):
    imports, defs = [], []
    used = {}

    def qualname(node, parents):
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        key = (node.name, first)
        options = qualnames.get(key, [])
        i = used.get(key, 0)
        used[key] = i + 1
        if i < len(options):
            return options[i]
        if not parents:
            return node.name
        parent, is_func = parents[-1]
        return parent + (".<locals>." if is_func else ".") + node.name

    def visit(stmts, parents):
        for node in stmts:
            if isinstance(node, ast.Import):
                for a in node.names:
                    imports.append({"kind": "import", "module": a.name, "name": a.name,
                                    "asname": a.asname, "level": 0, "line": node.lineno})
            elif isinstance(node, ast.ImportFrom):
                for a in node.names:
                    imports.append({"kind": "from", "module": node.module, "name": a.name,
                                    "asname": a.asname, "level": node.level,
                                    "line": node.lineno})
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                kind = {ast.FunctionDef: "function", ast.AsyncFunctionDef: "async_function",
                        ast.ClassDef: "class"}[type(node)]
                q = qualname(node, parents)
                defs.append({"kind": kind, "name": node.name, "qualname": q,
                             "line": node.lineno, "end_line": node.end_lineno,
                             "decorators": [ast.get_source_segment(text, d)
                                            for d in node.decorator_list],
                             "docstring": ast.get_docstring(node)})
                visit(node.body, parents + [(q, kind != "class")])
                continue
            for field in BODIES:
                for child in getattr(node, field, None) or []:
                    if isinstance(child, (ast.ExceptHandler, ast.match_case)):
                        visit(child.body, parents)
                    elif isinstance(child, ast.stmt):
                        visit([child], parents)
    visit(tree.body, [])
    return {"module_docstring": ast.get_docstring(tree), "imports": imports,
            "definitions": defs}


def without_docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            b = node.body
            if (b and isinstance(b[0], ast.Expr) and isinstance(b[0].value, ast.Constant)
                    and isinstance(b[0].value.value, str)):
                del b[0]
                if not b and not isinstance(node, ast.Module):
                    b.append(ast.Pass())
    return tree


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"at {i}: ours {x!r} cpython {y!r}"
    return f"lengths ours {len(a)} cpython {len(b)}"


KEYS = ("files", "tok_cpython", "tok_equal", "tok_both_refuse", "tok_refuse_mismatch",
        "ast_cpython", "outline_equal", "strip_equal", "ours_failed_cpython_parses",
        "cpython_rejects_ours_succeeds")


def check_one(job):
    """Compares one file; returns (counts, problems)."""
    import warnings
    warnings.simplefilter("ignore")  # the stdlib's own SyntaxWarnings are not ours
    i, path, out_root, m = job
    c = dict.fromkeys(KEYS, 0)
    problems = []
    c["files"] += 1
    data = open(path, "rb").read()
    d = os.path.join(out_root, str(i))
    tok_status = {p["name"]: p["status"] for p in m["passes"]}
    try:
        want = cpython_tokens(data)
    except Exception:
        want = None
    if want is None:
        if tok_status.get("tokenize") == "ok":
            c["tok_refuse_mismatch"] += 1
            problems.append(f"{path}: tokenize refuses, we produced tokens")
        else:
            c["tok_both_refuse"] += 1
    else:
        c["tok_cpython"] += 1
        try:
            got = [json.loads(l) for l in open(os.path.join(d, "tokens.jsonl"), encoding="utf-8")]
        except OSError:
            got = None
        if got == want:
            c["tok_equal"] += 1
        else:
            problems.append(f"{path}: tokens differ "
                            + (first_diff(got, want) if got is not None else "(no tokens.jsonl)"))
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        tree = None
    if tree is None:
        if m["status"] == "success":
            c["cpython_rejects_ours_succeeds"] += 1
        return c, problems
    c["ast_cpython"] += 1
    # Where tokenize refuses what compiles, only the tokenize pass may fail.
    errors = [d for d in m["diagnostics"] if d["severity"] == "error"]
    tokenize_only = want is None and all(d["source"] == "tokenize" for d in errors)
    if m["status"] != "success" and not tokenize_only:
        c["ours_failed_cpython_parses"] += 1
        problems.append(f"{path}: CPython parses, ours failed: {m['diagnostics'][:1]}")
        return c, problems
    text = decoded_text(data)
    try:
        qualnames = code_qualnames(compile(tree, path, "exec"))
    except SyntaxError:
        qualnames = {}
    want_outline = expected_outline(tree, text, qualnames)
    try:
        got_outline = json.load(open(os.path.join(d, "outline.json"), encoding="utf-8"))
    except OSError:
        got_outline = None
    if got_outline == want_outline:
        c["outline_equal"] += 1
    else:
        detail = "(no outline.json)"
        if got_outline is not None:
            for key in ("module_docstring", "imports", "definitions"):
                if got_outline.get(key) != want_outline[key]:
                    g, w = got_outline.get(key), want_outline[key]
                    detail = f"{key}: " + (first_diff(g, w) if isinstance(w, list) and isinstance(g, list) else f"ours {g!r} cpython {w!r}")
                    break
        problems.append(f"{path}: outline differs {detail}"[:600])
    try:
        stripped = open(os.path.join(d, "stripped.py"), "rb").read()
        ok = ast.dump(ast.parse(stripped)) == ast.dump(without_docstrings(ast.parse(data)))
    except (OSError, SyntaxError, ValueError) as e:
        ok = False
        problems.append(f"{path}: stripped.py does not parse: {e}")
    if ok:
        c["strip_equal"] += 1
    else:
        problems.append(f"{path}: stripped AST differs")
    return c, problems


def compare(out_root, listfile, manifests_file):
    import multiprocessing
    files = [l for l in open(listfile, encoding="utf-8").read().split("\n") if l]
    manifests = [json.loads(l) for l in open(manifests_file, encoding="utf-8") if l.strip()]
    jobs = [(i, p, out_root, manifests[i]) for i, p in enumerate(files)]
    c = dict.fromkeys(KEYS, 0)
    problems = []
    with multiprocessing.Pool(os.cpu_count() or 1) as pool:
        for counts, probs in pool.imap(check_one, jobs, chunksize=8):
            for k, v in counts.items():
                c[k] += v
            problems.extend(probs)
    for p in problems[:40]:
        print("MISMATCH", p)
    print(json.dumps(c))
    print(f"tokenize: {c['tok_equal']}/{c['tok_cpython']} identical; "
          f"outline: {c['outline_equal']}/{c['ast_cpython']} equal; "
          f"strip: {c['strip_equal']}/{c['ast_cpython']} equal; "
          f"files: {c['files']}")
    perfect = (c["tok_equal"] == c["tok_cpython"] and c["outline_equal"] == c["ast_cpython"]
               and c["strip_equal"] == c["ast_cpython"] and c["tok_refuse_mismatch"] == 0)
    return 0 if perfect else 1


def stdlib_paths():
    import sysconfig
    root = sysconfig.get_paths()["stdlib"]
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "site-packages")
        paths.extend(os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(".py"))
    return sorted(paths)


# What mutants() inserts into real files, and builds string lines from.
EDITS = ["'", '"', "'''", '"""', "rb'", 'f"', "u'", "ur'", 'Rb"', "(", ")", "[", "]", "{",
         "}", "\\", "\\\n", "\t", "\f", "\r", "\r\n", "\n", "#", " # c\n", "é", "\u00a0",
         "0x", "1_", "1e", "j", "\n    ", "\ndef f():\n", ":", "@", "\x00"]
PREFIXES = ["", "", "", "r", "b", "rb", "Rb", "bR", "f", "u", "ur", "x", "fr", "br", "F", "U"]
QUOTES = ["'", '"', "'''", '"""']
BODY = ["a", " ", "\\\\", "\\'", '\\"', "\r", "\t", "#", "\\\n", "\\\r\n", "é", "'", '"', "\n",
        "xyz", "\\", "\f", "\\n", "1"]
CODE = ["x = ", "f(", "print(", "", "  ", "return ", "y=1;", "0", "1 ", "a.b", "# c ",
        "if x:\n    ", "(\n", "[", "def f():\n    ", "class C:\n    "]
TAILS = ["", ")", " # t", ", 2)", " + x", "]", "'", " \\"]
ENDS = ["\n", "\n", "\r\n", "\r", ""]


def mutant(rng, sources):
    if rng.random() < 0.5:
        text = rng.choice(sources)
        for _ in range(rng.randint(1, 4)):
            at = rng.randint(0, len(text))
            if rng.random() < 0.1:
                text = text[:at]  # a cut
            else:
                text = text[:at] + rng.choice(EDITS) + text[at:]
        return text.encode("utf-8")
    lines = []
    for _ in range(rng.randint(1, 6)):
        quote = rng.choice(QUOTES)
        body = "".join(rng.choice(BODY) for _ in range(rng.randint(0, 6)))
        close = quote if rng.random() < 0.85 else ""
        lines.append(rng.choice(CODE) + rng.choice(PREFIXES) + quote + body + close +
                     rng.choice(TAILS) + rng.choice(ENDS))
    return "".join(lines).encode("utf-8")


def mutants(seed, count, out_dir):
    import random
    rng = random.Random(seed)
    small = [p for p in stdlib_paths() if os.path.getsize(p) < 6000]
    sources = []
    for p in rng.sample(small, min(200, len(small))):
        try:
            sources.append(open(p, encoding="utf-8").read())
        except UnicodeDecodeError:
            pass
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for i in range(count):
        path = os.path.join(out_dir, f"m{i:05d}.py")
        with open(path, "wb") as f:
            f.write(mutant(rng, sources))
        paths.append(path)
    print("\n".join(paths))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3], sys.argv[4]))
    if len(sys.argv) == 2 and sys.argv[1] == "stdlib":
        print("\n".join(stdlib_paths()))
        return
    if len(sys.argv) == 5 and sys.argv[1] == "mutants":
        mutants(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
        return
    sys.exit(__doc__)


main()
