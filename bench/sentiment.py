"""Sentiment benchmark: accuracy of portal.comments.sentiment on the labelled comments in
tests/data/sentiment_gov.tsv, and its throughput beside a trivial baseline (`len(text)`)
measured in the same run:

    python bench/sentiment.py [--data tests/data/sentiment_gov.tsv] [--rounds 20] [--errors]

Prints `name: value` lines: accuracy overall, precision / recall per label, a confusion
matrix (rows are the true label, columns the predicted one), the first-call load time
(jieba's dictionary), comments per second, and that figure over the baseline's.
`--errors` also lists the misclassified comments. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

LABELS = ("negative", "neutral", "positive")


def line(name: str, value, unit: str = "") -> None:
    print(f"{name}: {value}{unit}", flush=True)


def read(path: Path) -> list[tuple[str, str]]:
    rows = []
    for number, raw in enumerate(path.read_text("utf-8").splitlines()):
        if number == 0 or not raw.strip():
            continue  # the `label<TAB>text` header
        label, text = raw.split("\t", 1)
        rows.append((label, text))
    return rows


def per_second(function, texts: list[str], rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            function(text)
    return rounds * len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO / "tests" / "data" / "sentiment_gov.tsv")
    parser.add_argument("--rounds", type=int, default=20, help="passes over the data for throughput")
    parser.add_argument("--errors", action="store_true", help="list the misclassified comments")
    args = parser.parse_args()

    started = time.perf_counter()
    from portal.comments.sentiment import analyze

    analyze("加载")
    line("first_call_ms", f"{(time.perf_counter() - started) * 1000:.0f}")

    rows = read(args.data)
    results = [(truth, analyze(text), text) for truth, text in rows]
    confusion = {truth: dict.fromkeys(LABELS, 0) for truth in LABELS}
    for truth, result, _ in results:
        confusion[truth][result.label] += 1
    correct = sum(confusion[label][label] for label in LABELS)
    line("comments", len(rows))
    line("accuracy", f"{correct / len(rows):.3f}")
    for label in LABELS:
        predicted = sum(confusion[truth][label] for truth in LABELS)
        actual = sum(confusion[label].values())
        line(f"{label}_precision", f"{confusion[label][label] / predicted if predicted else 0:.3f}")
        line(f"{label}_recall", f"{confusion[label][label] / actual if actual else 0:.3f}")
        line(f"{label}_count", actual)
    print("confusion (rows: true, columns: predicted)")
    print(f"{'':>10}" + "".join(f"{label:>10}" for label in LABELS))
    for truth in LABELS:
        print(f"{truth:>10}" + "".join(f"{confusion[truth][label]:>10}" for label in LABELS))

    texts = [text for _, text in rows]
    baseline = per_second(len, texts, args.rounds * 50)
    analyzer = per_second(analyze, texts, args.rounds)
    line("baseline_len_per_s", f"{baseline:.0f}")
    line("analyze_per_s", f"{analyzer:.0f}")
    line("analyze_vs_baseline", f"{analyzer / baseline:.5f}x")
    line("analyze_us_per_comment", f"{1e6 / analyzer:.0f}")

    if args.errors:
        print("misclassified (true -> predicted  score  hits  text)")
        for truth, result, text in results:
            if truth != result.label:
                print(f"{truth} -> {result.label}  {result.score:+.2f}  {','.join(result.hits)}  {text}")


if __name__ == "__main__":
    main()
