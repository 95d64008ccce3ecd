"""Counts words read from standard input."""
import sys
from collections import Counter


def count(text):
    return Counter(word.lower().strip(".,;:!?") for word in text.split())


def main():
    counts = count(sys.stdin.read() or "the quick brown fox jumps over the lazy dog the end")
    for word, n in counts.most_common(5):
        print(f"{n:4} {word}")


main()
