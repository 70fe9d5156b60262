"""Command line: validate a config and explain routing decisions without calling any model.

python -m llm_router_middleware check router.toml [--no-env]
python -m llm_router_middleware explain router.toml "Compare these two designs" --tier pro
python -m llm_router_middleware train outcomes.jsonl --out difficulty.npz
python -m llm_router_middleware calibrate my_prompts.jsonl --strong-share 0.3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from .config import load_config
from .config.collect import ConfigErrors
from .context import RequestContext
from .errors import ConfigError, RouterError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llm_router_middleware", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a config file and summarise it")
    check.add_argument("config")
    check.add_argument(
        "--no-env", action="store_true", help="do not require the api_key_env variables to be set"
    )
    explain = commands.add_parser("explain", help="show the plan for a prompt (no model is called)")
    explain.add_argument("config")
    explain.add_argument("prompt")
    explain.add_argument("--tier", default=None)
    explain.add_argument("--user", default=None, help="user id (experiment arm, per-user budget)")
    explain.add_argument("--max-tokens", type=int, default=None)
    explain.add_argument("--json", action="store_true", help="print the plan as JSON")
    explain.add_argument(
        "--no-env", action="store_true", help="do not require the api_key_env variables to be set"
    )
    _learned_commands(commands)
    args = parser.parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        if args.command == "check":
            return _check(args.config, require_env=not args.no_env)
        if args.command in ("train", "calibrate"):
            from .learned.cli import run

            return run(args)
        return _explain(args)
    except ConfigErrors as errors:
        for error in errors.errors:
            print(f"{getattr(args, 'config', args.command)}: {error}", file=sys.stderr)
        print(f"{len(errors.errors)} config errors", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"{getattr(args, 'config', args.command)}: {error}", file=sys.stderr)
        print("1 config error", file=sys.stderr)
        return 2
    except RouterError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return 1


def _learned_commands(commands: Any) -> None:
    try:
        from .learned.cli import add_commands
    except ImportError:  # the learned commands need the semantic extra (numpy, onnxruntime)
        return
    add_commands(commands)


def _check(path: str, *, require_env: bool = True) -> int:
    config = load_config(path, require_env=require_env)
    print(f"{path}: valid")
    for spec in config.models.values():
        print(
            f"  model {spec.name}: {spec.model}, quality {spec.quality}, window "
            f"{spec.context_window}, ${spec.input_cost_per_token * 1e6:g}/"
            f"${spec.output_cost_per_token * 1e6:g} per 1M tokens, timeout {spec.timeout_s:g}s"
        )
    routing = config.routing
    print(
        f"  strategy {routing.strategy}, fallbacks {', '.join(routing.fallbacks)}, "
        f"default tier {routing.default_tier}"
    )
    for tier in config.tiers.values():
        allowed = ", ".join(tier.models) or "every model"
        print(
            f"  tier {tier.name}: {allowed}"
            + (f", strategy {tier.strategy}" if tier.strategy else "")
        )
    return 0


def _explain(args: argparse.Namespace) -> int:
    from .router import Router

    router = Router(load_config(args.config, require_env=not args.no_env))
    context = RequestContext(user_id=args.user, tier=args.tier)
    messages = [{"role": "user", "content": args.prompt}]
    plan = router.plan(messages, context, expected_output_tokens=args.max_tokens)
    if args.json:
        print(
            json.dumps(
                {
                    "strategy": plan.strategy,
                    "selected": plan.selected,
                    "order": list(plan.order),
                    "reason": plan.reason,
                    "tier": plan.tier,
                    "prompt_tokens": plan.prompt_tokens,
                    "estimates_usd": dict(plan.estimates_usd),
                    "downgraded": plan.downgraded,
                    "experiment": plan.experiment,
                    "arm": plan.arm,
                    "rejected": [
                        {"model": r.model, "filter": r.code, "reason": r.reason}
                        for r in plan.rejected
                    ],
                    "attributes": dict(plan.attributes),
                },
                indent=2,
            )
        )
        return 0
    print(f"strategy  {plan.strategy} (tier {plan.tier}, {plan.prompt_tokens} prompt tokens)")
    print(f"selected  {plan.selected}")
    print(f"order     {' -> '.join(plan.order)}")
    print(f"reason    {plan.reason}")
    for name in plan.order:
        print(f"  {name:<16} estimated ${plan.estimates_usd.get(name, 0.0):.6f}")
    for rejection in plan.rejected:
        print(f"  rejected {rejection.model} ({rejection.code}): {rejection.reason}")
    if plan.arm is not None:
        print(f"experiment {plan.experiment}: arm {plan.arm}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
