"""This script does not compile: line 6 misses its closing bracket."""


def greet(name):
    message = "hello, " + name
    print(message
    return message


greet("world")
