"""The CPython half of tokenize_bench.cpp: CPU time of tokenize.tokenize over the files
listed in LISTFILE (every token from ENCODING to ENDMARKER, in memory), best of N.

    python3 tokenize_cpython.py LISTFILE [REPEATS]

Prints the same fields as the C++ driver: bytes, tokens, cpu_s and MB/s (of CPU time).
A file tokenize refuses counts the tokens it yielded before refusing, as the C++ side
counts what it emitted.
"""
import io
import sys
import time
import tokenize


def count(data):
    n = 0
    try:
        for _ in tokenize.tokenize(io.BytesIO(data).readline):
            n += 1
    except (SyntaxError, tokenize.TokenError):
        pass
    return n


def main():
    files = [line for line in open(sys.argv[1]).read().split("\n") if line]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    datas = [open(f, "rb").read() for f in files]
    best, tokens = float("inf"), 0
    for _ in range(repeats):
        t = time.process_time()
        tokens = sum(count(d) for d in datas)
        best = min(best, time.process_time() - t)
    total = sum(len(d) for d in datas)
    print(f"bytes {total} tokens {tokens} cpu_s {best:.4f} MB/s {total / best / 1e6:.2f}")


if __name__ == "__main__":
    main()
