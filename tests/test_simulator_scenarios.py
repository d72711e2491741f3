"""`outcomes simulate`: scenarios as distributions reproducible from the seed, and the incentive test."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from outcomes.contract import read_contract
from outcomes.contract.schema import GlidePhase
from outcomes.errors import OutcomesError
from outcomes.simulator.basis import measure_basis
from outcomes.simulator.model import apply, state_of
from outcomes.simulator.monte_carlo import draws, simulate
from outcomes.simulator.scenario import Changes, Scenario, read_scenario
from outcomes.workspace import find_workspace
from simulator_data import EXAMPLES, generated_workspace, run

CONTRACTS = ("fte", "per-contact", "per-resolution", "hybrid-3", "chatbot", "fte-staffed")


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    ws_path = generated_workspace(tmp_path_factory.mktemp("sim"))
    ws = find_workspace(ws_path)
    try:
        yield (
            ws_path,
            [
                measure_basis(
                    ws.ledger(),
                    ws.facts(),
                    read_contract(EXAMPLES / f"{n}.yaml"),
                    "2026-06",
                    source=f"{n}.yaml",
                )
                for n in CONTRACTS
            ],
        )
    finally:
        ws.close()


def _by_name(result):
    return {c["name"]: c for c in result["contracts"]}


def test_draws_are_reproducible_from_the_seed_and_differ_with_it():
    a, b = draws(Scenario(seed=3, runs=50)), draws(Scenario(seed=3, runs=50))
    assert a == b
    assert draws(Scenario(seed=4, runs=50)) != a


def test_distributions_are_p10_p50_p90_and_the_same_seed_gives_the_same_result(bases):
    _, bs = bases
    sc = read_scenario(EXAMPLES / "scenarios" / "chatbot-30.yaml").model_copy(update={"runs": 60})
    first, again = simulate(bs, sc), simulate(bs, sc)
    assert first == again
    for c in first["contracts"]:
        q = c["buyer_cost"]
        assert D(q["p10"]) <= D(q["p50"]) <= D(q["p90"])
        assert D(q["p10"]) < D(q["p90"])  # volume and handle time vary: a spread, not one number


def test_a_scenario_with_no_change_and_no_noise_prices_the_measured_total(bases):
    # the model's starting state, priced, is the period as measured: the same totals compare gives
    _, bs = bases
    sc = Scenario(runs=10, uncertainty={"volume_cv": "0", "aht_cv": "0", "fcr_sd": "0"})
    for b, c in zip(bs, simulate(bs, sc)["contracts"], strict=True):
        assert c["provider_revenue"]["p50"] == format(b.total, "f"), c["name"]


def test_fte_and_per_contact_deals_are_misaligned_per_resolution_is_not(bases):
    _, bs = bases
    result = _by_name(simulate(bs, Scenario(runs=10)))
    assert result["fte"]["incentive"]["misaligned"]
    assert result["fte-staffed"]["incentive"]["misaligned"]  # seats staffed from the data (Erlang C)
    assert result["per-contact"]["incentive"]["misaligned"]
    assert not result["per-resolution"]["incentive"]["misaligned"]
    assert result["per-resolution"]["incentive"]["alignment"] == "aligned"
    assert D(result["per-resolution"]["incentive"]["fcr_down"]["provider_revenue"]) < 0


def test_automation_moves_work_to_the_bot_and_the_contacts_left_get_longer(bases):
    _, bs = bases
    base = state_of(bs[0], float(bs[0].fcr))
    after = apply(base, Changes.model_validate({"automation": {"deflect": "0.30", "simple_share": "0.5"}}))
    assert after.contacts("agent") == pytest.approx(
        base.contacts("agent") * (1 - 0.15) * (2 - (base.fcr - 0.02)) / (2 - base.fcr)
    )
    assert after.contacts("bot") > base.contacts("bot")
    aht = lambda s: s.agent_seconds() / s.contacts("agent")  # noqa: E731
    assert aht(after) > aht(base)


def test_the_chatbot_scenario_fires_the_contracts_own_review_trigger_and_grows_the_productivity_credit(bases):
    _, bs = bases
    sc = read_scenario(EXAMPLES / "scenarios" / "chatbot-30.yaml").model_copy(update={"runs": 30})
    chatbot = _by_name(simulate(bs, sc))["chatbot"]
    assert D(chatbot["review_triggers"]["containment_rate"]) > 0
    assert (
        D(chatbot["incentive"]["automation_up"]["buyer_cost"]) < 0
    )  # the buyer captures part of the dividend


def test_a_bad_scenario_file_names_its_line_and_key(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text('seed: 1\nchanges:\n  automation: {deflect: "1.5"}\n  volume_grwth: "0.1"\n')
    with pytest.raises(OutcomesError) as exc:
        read_scenario(path)
    text = str(exc.value)
    assert f"{path}:3: changes.automation.deflect" in text and f"{path}:4: changes.volume_grwth" in text


def test_the_command_prints_json_and_a_chart(bases, tmp_path):
    ws, _ = bases
    chart = tmp_path / "d.svg"
    out = run(
        "simulate",
        str(EXAMPLES / "fte.yaml"),
        str(EXAMPLES / "per-resolution.yaml"),
        "--period",
        "2026-06",
        "--scenario",
        str(EXAMPLES / "scenarios" / "chatbot-30.yaml"),
        "--runs",
        "20",
        "--json",
        "--chart",
        str(chart),
        "-w",
        str(ws),
    )
    data = json.loads(out)
    assert data["runs"] == 20 and data["seed"] == 7
    assert [c["name"] for c in data["contracts"]] == ["fte", "per-resolution"]
    assert chart.read_text().startswith("<svg")


NO_NOISE = {"volume_cv": "0", "aht_cv": "0", "fcr_sd": "0"}


def test_a_price_review_scales_every_price(bases):
    _, bs = bases
    fte = bs[0]
    sc = Scenario(runs=10, uncertainty=NO_NOISE, changes={"price_review": {"factor": "0.9"}})
    [c] = simulate([fte], sc)["contracts"]
    assert D(c["provider_revenue"]["p50"]) == fte.total * D("0.9")  # 11 seats at 4,500


def test_a_glide_phase_change_prices_under_the_later_phase(bases):
    from dataclasses import replace

    _, bs = bases
    hybrid = bs[3]
    glided = hybrid.contract.model_copy(
        update={
            "glide_path": [
                GlidePhase.model_validate({"from": "2026-06-01"}),
                GlidePhase.model_validate({"from": "2027-01-01", "base_fee": "1", "outcome_fees": "0.5"}),
            ]
        }
    )
    b = replace(hybrid, contract=glided)
    sc = Scenario(runs=10, uncertainty=NO_NOISE, changes={"glide_from": "2027-03-15"})
    [c] = simulate([b], sc)["contracts"]
    assert D(c["provider_revenue"]["p50"]) == D("10000.00") + D("1.50") * b.verified_resolutions
    outside = Scenario(runs=10, changes={"glide_from": "2030-01-01"})
    with pytest.raises(OutcomesError, match="outside the term"):
        simulate([b], outside)


def test_a_channel_shift_moves_agent_contacts_at_the_new_channels_handle_time(bases):
    _, bs = bases
    base = state_of(bs[0], float(bs[0].fcr))
    moved = apply(
        base, Changes.model_validate({"channel_shift": {"from": "voice", "to": "chat", "share": "1"}})
    )
    voice = sum(v[0] for (_, h, c), v in moved.work.items() if h == "agent" and c == "voice")
    assert voice == pytest.approx(0)
    assert moved.contacts("agent") == pytest.approx(base.contacts("agent"))
    chat_aht = {
        wf: v[1] / v[0] for (wf, h, c), v in base.work.items() if h == "agent" and c == "chat" and v[0]
    }
    for (wf, h, c), v in moved.work.items():
        if h == "agent" and c == "chat" and wf in chat_aht:
            assert v[1] / v[0] == pytest.approx(chat_aht[wf])
