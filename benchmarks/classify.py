"""Classification speed and memory: p50/p99 latency, messages/s, load time, RSS.

Run with `make bench`. A realistic mix: half are citizens' messages as written in the labelled
sets (the dev set and the blind sets: typos, the wrong layout, translit, slang, long stories,
small talk, off-domain questions), half are the knowledge base's own texts varied by typos,
the wrong keyboard layout, transliteration, case, emoji and truncation. One core.
Targets (issue 12): p50 <= 3 ms, p99 <= 25 ms, >= 500 messages/s, load <= 2 s, RSS <= 250 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dialog.normalize import _JCUKEN, _QWERTY  # noqa: E402

TO_LAYOUT = str.maketrans(_JCUKEN, _QWERTY)
TO_LATIN = str.maketrans("абвгдезиклмнопрстуфхцы", "abvgdeziklmnoprstufhcy")
EMOJI = ["🙏", "😡", "🤔", "📱", "✅", "😢"]


def swap_letters(text: str, rng: random.Random) -> str:
    i = rng.randrange(max(len(text) - 1, 1))
    return text[:i] + text[i + 1 : i + 2] + text[i : i + 1] + text[i + 2 :]


VARIATIONS = [
    swap_letters,
    lambda text, rng: text.lower().translate(TO_LAYOUT),
    lambda text, rng: text.lower().translate(TO_LATIN),
    lambda text, rng: text.upper(),
    lambda text, rng: f"{text} {rng.choice(EMOJI)}",
    lambda text, rng: " ".join(text.split()[: max(2, len(text.split()) // 2)]),
    lambda text, rng: "Здравствуйте! " + text + " Заранее спасибо.",
    lambda text, rng: text,
]


def vary(text: str, rng: random.Random) -> str:
    """A typo, the wrong layout, Latin letters, shouting, an emoji, a cut or politeness."""
    return str(rng.choice(VARIATIONS)(text, rng))


def corpus(size: int, seed: int) -> list[str]:
    from dialog.knowledge import load_knowledge  # noqa: PLC0415 - after the timer starts

    knowledge = load_knowledge()
    base = [p for t in knowledge.topics.values() for p in t.paraphrases] + list(knowledge.negatives)
    written = []
    for path in [
        ROOT.parent / "shared" / "eval" / "dev.jsonl",
        *sorted((ROOT / "tests" / "data" / "blind").glob("*.jsonl")),
    ]:
        if path.exists():
            written += [
                json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line
            ]
    rng = random.Random(seed)
    return [rng.choice(written) if written and i % 2 else vary(rng.choice(base), rng) for i in range(size)]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    started = time.perf_counter()
    from dialog.classifier import build_classifier  # noqa: PLC0415 - load time includes imports

    classifier = build_classifier()
    load_s = time.perf_counter() - started
    messages = corpus(args.messages, args.seed)
    unique = len(set(messages))

    latencies = []
    run_started = time.perf_counter()
    for i, text in enumerate(messages, 1):
        t0 = time.perf_counter_ns()
        classifier.classify(text)
        latencies.append((time.perf_counter_ns() - t0) / 1e6)
        if i % 1000 == 0:
            print(f"  {i}/{len(messages)} classified", file=sys.stderr)
    elapsed = time.perf_counter() - run_started
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    rate = len(messages) / elapsed
    rss = rss_mb()
    print(f"messages            {len(messages)} ({unique} distinct)")
    print(f"model load          {load_s:.3f} s      (target <= 2 s)")
    print(f"latency p50         {p50:.3f} ms   (target <= 3 ms)")
    print(f"latency p99         {p99:.3f} ms   (target <= 25 ms)")
    print(f"latency max         {latencies[-1]:.3f} ms")
    print(f"throughput          {rate:,.0f} messages/s  (target >= 500)")
    print(f"peak RSS            {rss:.1f} MB     (target <= 250 MB)")
    ok = load_s <= 2 and p50 <= 3 and p99 <= 25 and rate >= 500 and rss <= 250
    print("targets             " + ("met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
