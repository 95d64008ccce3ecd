"""A small inventory with classes, comprehensions and a report."""
from dataclasses import dataclass


@dataclass
class Item:
    """One line of stock."""

    name: str
    price: float
    quantity: int = 0

    def value(self):
        return self.price * self.quantity


class Inventory:
    """Items by name."""

    def __init__(self):
        self.items = {}

    def add(self, item):
        self.items[item.name] = item

    def total(self):
        # Sum of every line's value.
        return sum(item.value() for item in self.items.values())

    def report(self):
        lines = [f"{i.name:<10}{i.quantity:>5}{i.value():>10.2f}" for i in self.items.values()]
        return "\n".join(lines + [f"{'total':<15}{self.total():>10.2f}"])


if __name__ == "__main__":
    stock = Inventory()
    stock.add(Item("bolts", 0.25, 400))
    stock.add(Item("nuts", 0.1, 650))
    print(stock.report())
