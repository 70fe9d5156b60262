"""Build a semantic-routing evaluation file (JSONL) from Banking77.

    python benchmarks/banking77_convert.py [--data DIR] [--out FILE] [--seed N]

10 routes, each a group of related Banking77 intents, with 5 example utterances per route drawn
from train.csv ("examples" split). Intents outside every route are out of scope (route null):
20 of them from train.csv join the "examples" split as calibration negatives (they never become
route examples), and a sample from test.csv joins the "test" split beside every in-scope test
line. Deterministic for a given seed.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _convert import Line, main, read_csv

ROOT = Path(__file__).resolve().parent
DEFAULT_DATA = ROOT.parent.parent / "shared" / "data" / "banking77"
DEFAULT_OUT = ROOT / "data" / "banking77_routes.jsonl"

ROUTES: dict[str, tuple[str, ...]] = {
    "card_arrival": ("card_arrival", "card_delivery_estimate"),
    "lost_or_stolen": ("lost_or_stolen_card", "lost_or_stolen_phone", "compromised_card"),
    "pin": ("pin_blocked", "change_pin"),
    "top_up_problem": ("top_up_failed", "top_up_reverted", "pending_top_up"),
    "exchange_rate": ("exchange_rate", "exchange_via_app", "exchange_charge"),
    "cash_withdrawal_problem": (
        "declined_cash_withdrawal",
        "pending_cash_withdrawal",
        "wrong_amount_of_cash_received",
    ),
    "transfer_problem": (
        "transfer_not_received_by_recipient",
        "failed_transfer",
        "pending_transfer",
    ),
    "identity_verification": (
        "verify_my_identity",
        "why_verify_identity",
        "unable_to_verify_identity",
    ),
    "refund": ("request_refund", "Refund_not_showing_up"),
    "virtual_card": (
        "getting_virtual_card",
        "virtual_card_not_working",
        "get_disposable_virtual_card",
    ),
}
EXAMPLES_PER_ROUTE = 5
OOS_EXAMPLES = 20
OOS_TEST = 800


def convert(data: Path, seed: int) -> list[Line]:
    rng = random.Random(seed)
    route_of = {intent: route for route, intents in ROUTES.items() for intent in intents}
    train, test = read_csv(data / "train.csv"), read_csv(data / "test.csv")
    known = {c for _, c in train}
    missing = sorted(set(route_of) - known)
    if missing:
        raise SystemExit(f"intents not in Banking77: {missing}")
    lines: list[Line] = []
    for route, intents in ROUTES.items():
        # round-robin over the route's intents so each is represented
        pools = {i: [t for t, c in train if c == i] for i in intents}
        for pool in pools.values():
            rng.shuffle(pool)
        picked: list[str] = []
        while len(picked) < EXAMPLES_PER_ROUTE:
            intent = intents[len(picked) % len(intents)]
            picked.append(pools[intent].pop())
        lines += [{"route": route, "text": t, "split": "examples"} for t in picked]
    oos_train = [t for t, c in train if c not in route_of]
    lines += [
        {"route": None, "text": t, "split": "examples"} for t in rng.sample(oos_train, OOS_EXAMPLES)
    ]
    lines += [{"route": route_of[c], "text": t, "split": "test"} for t, c in test if c in route_of]
    oos_test = [t for t, c in test if c not in route_of]
    lines += [{"route": None, "text": t, "split": "test"} for t in rng.sample(oos_test, OOS_TEST)]
    return lines


if __name__ == "__main__":
    main(__doc__, convert, data=DEFAULT_DATA, out=DEFAULT_OUT, seed=77)
