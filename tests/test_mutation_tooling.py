"""`make mutation` measures code mutmut would otherwise skip: the rewrite it runs on must not change behaviour."""

from __future__ import annotations

import sys
import types
from decimal import ROUND_DOWN, localcontext
from decimal import Decimal as D
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from mutation import GROUPS, modules, undecorate  # noqa: E402


def test_decorators_are_applied_after_the_definition_in_the_same_order():
    source = "@a\n@b(1)\ndef f(x):\n    return x\n\n\nclass C:\n    @property\n    def p(self):\n        return 1\n"
    assert undecorate(source) == (
        "def f(x):\n    return x\nf = a(b(1)(f))\n\n\nclass C:\n    @property\n    def p(self):\n        return 1\n"
    )


def test_the_rewritten_tiers_price_as_the_original_in_any_decimal_context():
    text = (ROOT / "src" / "outcomes" / "pricing" / "tiers.py").read_text()
    rewritten = undecorate(text)
    assert "@in_context" not in rewritten and "graduated = in_context(graduated)" in rewritten
    module = types.ModuleType("tiers_rewritten")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    try:
        exec(compile(rewritten, "tiers_rewritten.py", "exec"), module.__dict__)  # noqa: S102
    finally:
        del sys.modules[module.__name__]
    namespace = module.__dict__
    prices = [{"up_to": 3, "unit": D("0.3333333333333333333333333333333")}, {"unit": D("1.5")}]
    with localcontext() as ctx:
        ctx.prec, ctx.rounding = 3, ROUND_DOWN
        from outcomes.pricing.tiers import graduated

        mine, theirs = namespace["graduated"](7, prices), graduated(7, prices)
        assert (mine.amount, mine.breakdown, mine.reached) == (
            theirs.amount,
            theirs.breakdown,
            theirs.reached,
        )
        assert namespace["graduated"](7, prices).amount == D("6.9999999999999999999999999999999")


def test_every_mutated_module_belongs_to_one_group():
    names = modules()
    assert "outcomes.metrics.outcomes" in names and "outcomes.pricing.credits" in names
    for group in GROUPS.values():
        for test in group["tests"]:
            assert (ROOT / test).exists(), test
