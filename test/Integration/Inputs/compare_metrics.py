"""Compare the training figures of two adagp-train metrics files exactly.

    compare_metrics.py A.jsonl B.jsonl

Per-step losses (each step once, in order) and each epoch's train loss,
test loss and test accuracy must be equal; timings may differ. Exit status
1 and the first difference otherwise.
"""
import json
import sys

FIELDS = ("train_loss", "test_loss", "test_accuracy", "steps")


def figures(path):
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    steps = [(r["step"], r["loss"]) for r in records if "step" in r]
    epochs = [(r["epoch"],) + tuple(r.get(k) for k in FIELDS)
              for r in records if "train_loss" in r]
    return steps, epochs


def main():
    a_steps, a_epochs = figures(sys.argv[1])
    b_steps, b_epochs = figures(sys.argv[2])
    for name, a, b in (("step", a_steps, b_steps), ("epoch", a_epochs, b_epochs)):
        if [s[0] for s in b] != list(range(1, len(b) + 1)):
            print(f"{sys.argv[2]}: {name} records are not 1, 2, ... once each")
            return 1
        if a != b:
            first = next((x, y) for x, y in zip(a + [None], b + [None]) if x != y)
            print(f"{name} records differ: {first[0]} vs {first[1]}")
            return 1
    print(f"{len(a_steps)} step and {len(a_epochs)} epoch records equal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
