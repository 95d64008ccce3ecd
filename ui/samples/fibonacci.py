"""Fibonacci numbers, iteratively and recursively."""


def fib_iter(n):
    """The n-th Fibonacci number, in a loop."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b  # advance the pair
    return a


def fib_rec(n):
    # The textbook definition: exponential, but short.
    return n if n < 2 else fib_rec(n - 1) + fib_rec(n - 2)


if __name__ == "__main__":
    print([fib_iter(i) for i in range(10)])
    print(fib_rec(15))
