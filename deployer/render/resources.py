"""Resources and cost as the renderers print them: what the plan's deployments hold (per region
and per model, before -> after, at min and max replicas, the peak while applying, the quota it
needs) and what they cost a month, with the one-line cost summary a pull-request comment opens
with; and their JSON form (written and read back with the plan).

It reads only the Plan's `resources` and `cost` (deployer.core.plan), so it depends on no
backend; every number was computed before (deployer.metering). A price not found stays unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from deployer.core.plan import Amount, Cost, Extent, Footprint, Monthly, Plan, QuotaRoom, Usage
from deployer.render.values import one_line

TITLE = "Resources and cost"
MODEL_LIMIT = 30
"""Models listed per plan (those that change first); the rest are counted."""
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
ARROW = "->"


# ---- words -----------------------------------------------------------------------------------


def number(value: float) -> str:
    """`8`, `7.5`, `1,024`."""
    rounded = round(float(value), 2)
    return f"{rounded:,.0f}" if rounded == int(rounded) else f"{rounded:,.2f}".rstrip("0")


def amount_text(amount: Amount) -> str:
    """`8 vCPUs, 30 GiB, 1 x NVIDIA_TESLA_T4`; `nothing` when empty; `no upper bound` when only
    autoscaling without a maximum counts."""
    parts = []
    if amount.vcpus or amount.memory_gib:
        parts = [f"{number(amount.vcpus)} vCPUs", f"{number(amount.memory_gib)} GiB"]
    parts += [f"{n} x {kind}" for kind, n in sorted(amount.gpus.items()) if n]
    text = ", ".join(parts)
    if amount.unbounded:
        text = f"{text} (no upper bound)" if text else "no upper bound"
    text = text or "nothing"
    if amount.unknown:
        text += f" (+ unknown machine types: {', '.join(amount.unknown)})"
    return text


def change_text(before: Amount, after: Amount) -> str:
    """`A -> B`, or `A (unchanged)`."""
    if before == after:
        return f"{amount_text(after)} (unchanged)"
    return f"{amount_text(before)} {ARROW} {amount_text(after)}"


def money(amount: float, currency: str, sign: bool = False) -> str:
    """`$1,234.56`, `+$12.00`, `-€3.50`, `CHF 7.00`."""
    prefix = "+" if sign and amount > 0 else "-" if amount < 0 else ""
    symbol = SYMBOLS.get(currency)
    figure = f"{abs(amount):,.2f}"
    return f"{prefix}{symbol}{figure}" if symbol else f"{prefix}{currency} {figure}"


def monthly_text(value: float | None, currency: str) -> str:
    return "unknown" if value is None else f"{money(value, currency)}/mo"


def cost_change(monthly: Monthly, currency: str) -> str:
    """`$277.40/mo -> $708.10/mo`, unknown where a price is missing."""
    before = monthly_text(monthly.before, currency)
    after = monthly_text(monthly.after, currency)
    return f"{after} (unchanged)" if before == after else f"{before} {ARROW} {after}"


def cost_line(cost: Cost, total: Monthly | None = None, quote: Callable[[str], str] = str) -> str:
    """`serving cost: $A/mo -> $B/mo (+$C)`, then the autoscaling ceiling and what has no
    price: the first line of a pull-request comment, true on its own. `quote` renders the one
    piece of it that comes from outside (what has no price)."""
    found = total or cost.total
    currency = cost.currency
    more = f" and {len(cost.unknown) - 1} more" if len(cost.unknown) > 1 else ""
    twin = " (the local twin's prices)" if cost.twin else ""
    if cost.unknown and not (found.priced_before or found.priced_after):
        return f"serving cost: unknown ({quote(cost.unknown[0])}{more}){twin}"
    text = (
        f"serving cost: {money(found.priced_before, currency)}/mo {ARROW} "
        f"{money(found.priced_after, currency)}/mo ({money(found.delta, currency, sign=True)})"
    )
    if found.after_max is not None and found.after_max != found.after:
        text += f", up to {money(found.after_max, currency)}/mo at max replicas"
    elif found.after is not None and found.after_max is None:
        text += ", no upper bound at max replicas"
    if cost.unknown:
        text += f"; priced part only, unknown: {quote(cost.unknown[0])}{more}"
    elif found.after is None or found.before is None:
        text += "; priced part only"
    return text + twin


def quota_text(room: QuotaRoom) -> str:
    """`custom_model_serving_cpus: 24 asked, 1,000 free (limit 1,024)`."""
    head = f"{room.metric}: {number(room.asked)} asked"
    if not room.known:
        return f"{head}, limit not reported"
    if room.limit is None:
        return f"{head}, unlimited"
    free = number(room.free or 0)
    text = f"{head}, {free} free (limit {number(room.limit)})"
    if room.used_by_others:
        text += f", {number(room.used_by_others)} used by others"
    return text + ("" if room.ok else " -- OVER QUOTA")


def _changed(footprint: Footprint, monthly: Monthly | None) -> bool:
    moved = footprint.before != footprint.after or footprint.peak.at_max != footprint.after.at_max
    return moved or (monthly is not None and monthly.before != monthly.after)


def models_in(plan: Plan, region: str) -> list[tuple[str, Footprint, Monthly | None]]:
    """The models of `region` (`REGION/MODEL` keys), those that change first."""
    usage = plan.resources or Usage()
    costs = plan.cost.models if plan.cost is not None else {}
    found = [
        (name.partition("/")[2], each, costs.get(name))
        for name, each in sorted(usage.models.items())
        if name.partition("/")[0] == region
    ]
    return sorted(found, key=lambda m: not _changed(m[1], m[2]))


def region_cost(plan: Plan, region: str) -> Monthly | None:
    """The sum of a region's model costs (None when not priced)."""
    if plan.cost is None:
        return None
    parts = [m for name, m in plan.cost.models.items() if name.partition("/")[0] == region]
    return sum_monthly(parts)


def sum_monthly(parts: Iterable[Monthly]) -> Monthly:
    total = Monthly()
    for part in parts:
        total = Monthly(
            _add(total.before, part.before),
            _add(total.after, part.after),
            _add(total.before_max, part.before_max),
            _add(total.after_max, part.after_max),
            round(total.priced_before + part.priced_before, 2),
            round(total.priced_after + part.priced_after, 2),
        )
    return total


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a + b, 2)


def environments_total(plans: Sequence[Plan]) -> Cost | None:
    """The cost over several plans (one per environment): None when none is priced or they
    are priced in different currencies."""
    priced = [p.cost for p in plans if p.cost is not None]
    if not priced or len({c.currency for c in priced}) > 1:
        return None
    unknown = tuple(u for c in priced for u in c.unknown)
    return Cost(
        priced[0].currency,
        "; ".join(dict.fromkeys(c.source for c in priced)),
        total=sum_monthly(c.total for c in priced),
        unknown=unknown,
        twin=any(c.twin for c in priced),
    )


def environments_line(plans: Sequence[Plan], line: Callable[[Cost], str] = cost_line) -> str:
    """`serving cost: ... (over N environments)` for several plans, each cost said by `line`
    (the text's or the Markdown's); "" when none is priced."""
    total = environments_total(plans)
    if total is None:
        return ""
    priced = sum(1 for p in plans if p.cost is not None)
    return f"{line(total)} (over {priced} environments)"


# ---- text ------------------------------------------------------------------------------------


def text_lines(plan: Plan) -> list[str]:
    """The text plan's section (empty when the plan counted nothing)."""
    usage, cost = plan.resources, plan.cost
    if usage is None and cost is None:
        return []
    usage = usage or Usage()
    out = [f"{TITLE}:"]
    for region, each in sorted(usage.regions.items()):
        low = change_text(each.before.at_min, each.after.at_min)
        high = change_text(each.before.at_max, each.after.at_max)
        out += [f"  {region}, at min replicas: {low}", f"  {region}, at max replicas: {high}"]
        if each.peak.at_max not in (each.after.at_max, each.before.at_max):
            out.append(
                f"  {region}, peak while applying: {amount_text(each.peak.at_max)} "
                "(at max replicas)"
            )
        if each.quota:
            out.append(f"  {region}, quota: " + "; ".join(quota_text(q) for q in each.quota))
        models = models_in(plan, region)
        shown = [m for m in models if _changed(m[1], m[2])][:MODEL_LIMIT]
        for name, footprint, monthly in shown:
            text = f"    {name}: {change_text(footprint.before.at_min, footprint.after.at_min)}"
            text += " at min replicas"
            if monthly is not None and cost is not None:
                text += f"; {cost_change(monthly, cost.currency)}"
            out.append(text)
        if len(models) > len(shown):
            rest = len(models) - len(shown)
            out.append(f"    ({rest} other model{'s' if rest != 1 else ''} unchanged)")
    if cost is not None:
        out.append(f"  {one_line(cost_line(cost))}")
        dated = f" (as of {cost.as_of})" if cost.as_of and cost.as_of not in cost.source else ""
        out.append(f"  prices: {one_line(cost.source + dated)}")
        out += [f"  unknown price: {one_line(u)}" for u in cost.unknown[:MODEL_LIMIT]]
    out += [f"  note: {one_line(n)}" for n in usage.notes]
    return out


# ---- JSON ------------------------------------------------------------------------------------

Json = dict[str, Any]


def amount_json(amount: Amount) -> Json:
    doc: Json = {
        "vcpus": amount.vcpus,
        "memory_gib": amount.memory_gib,
        "gpus": dict(sorted(amount.gpus.items())),
    }
    if amount.unbounded:
        doc["unbounded"] = True
    if amount.unknown:
        doc["unknown_machine_types"] = list(amount.unknown)
    return doc


def _extent_json(extent: Extent) -> Json:
    return {"min": amount_json(extent.at_min), "max": amount_json(extent.at_max)}


def footprint_json(each: Footprint, quota: bool = True) -> Json:
    doc: Json = {
        "before": _extent_json(each.before),
        "after": _extent_json(each.after),
        "peak": _extent_json(each.peak),
    }
    if quota:
        doc["quota"] = {
            q.metric: {
                "limit": q.limit,
                "free": q.free,
                "asked": q.asked,
                "used_by_others": q.used_by_others,
                "held": q.held,
                "known": q.known,
                "ok": q.ok,
            }
            for q in each.quota
        }
    return doc


def _monthly_json(monthly: Monthly) -> Json:
    return {
        "monthly_before": monthly.before,
        "monthly_after": monthly.after,
        "monthly_before_max": monthly.before_max,
        "monthly_after_max": monthly.after_max,
        "monthly_before_priced": monthly.priced_before,
        "monthly_after_priced": monthly.priced_after,
    }


def usage_json(usage: Usage) -> Json:
    """`resources` (per region, with `quota`), `resources_by_model`, `resources_notes`."""
    doc: Json = {
        "resources": {r: footprint_json(f) for r, f in sorted(usage.regions.items())},
        "resources_by_model": {
            m: footprint_json(f, quota=False) for m, f in sorted(usage.models.items())
        },
    }
    if usage.notes:
        doc["resources_notes"] = list(usage.notes)
    return doc


def cost_json(cost: Cost) -> Json:
    doc: Json = {
        "currency": cost.currency,
        **_monthly_json(cost.total),
        "unknown": list(cost.unknown),
        "source": cost.source,
        "as_of": cost.as_of,
        "models": {m: _monthly_json(c) for m, c in sorted(cost.models.items())},
    }
    if cost.twin:
        doc["twin_prices"] = True
    return doc


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return value


def _opt_num(value: Any) -> float | None:
    return None if value is None else _num(value)


def _map(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {value!r}")
    return value


def _amount(doc: Any) -> Amount:
    doc = _map(doc)
    gpus = {_str(k): int(_num(v)) for k, v in _map(doc.get("gpus", {})).items()}
    return Amount(
        _num(doc["vcpus"]),
        _num(doc["memory_gib"]),
        gpus,
        bool(doc.get("unbounded", False)),
        tuple(_str(u) for u in doc.get("unknown_machine_types", [])),
    )


def _extent(doc: Any) -> Extent:
    doc = _map(doc)
    return Extent(_amount(doc["min"]), _amount(doc["max"]))


def _quota(metric: str, doc: Any) -> QuotaRoom:
    doc = _map(doc)
    limit = doc.get("limit")
    return QuotaRoom(
        metric=_str(metric),
        asked=_num(doc["asked"]),
        limit=None if limit is None else int(_num(limit)),
        free=_opt_num(doc.get("free")),
        used_by_others=_num(doc.get("used_by_others", 0)),
        held=_num(doc.get("held", 0)),
        known=bool(doc.get("known", True)),
        ok=bool(doc.get("ok", True)),
    )


def _footprint(doc: Any) -> Footprint:
    doc = _map(doc)
    return Footprint(
        _extent(doc["before"]),
        _extent(doc["after"]),
        _extent(doc["peak"]),
        tuple(_quota(m, q) for m, q in _map(doc.get("quota", {})).items()),
    )


def usage_from_json(doc: Mapping[str, Any]) -> Usage | None:
    """The `resources` keys of a plan document (None when it has none); TypeError, KeyError
    or ValueError for a malformed one."""
    if doc.get("resources") is None:
        return None
    return Usage(
        {_str(r): _footprint(f) for r, f in _map(doc["resources"]).items()},
        {_str(m): _footprint(f) for m, f in _map(doc.get("resources_by_model", {})).items()},
        tuple(_str(n) for n in doc.get("resources_notes", [])),
    )


def _monthly(doc: Any) -> Monthly:
    doc = _map(doc)
    return Monthly(
        _opt_num(doc.get("monthly_before")),
        _opt_num(doc.get("monthly_after")),
        _opt_num(doc.get("monthly_before_max")),
        _opt_num(doc.get("monthly_after_max")),
        _num(doc.get("monthly_before_priced", 0)),
        _num(doc.get("monthly_after_priced", 0)),
    )


def cost_from_json(doc: Mapping[str, Any]) -> Cost | None:
    """The `cost` object of a plan document (None when absent or null)."""
    found = doc.get("cost")
    if found is None:
        return None
    found = _map(found)
    return Cost(
        currency=_str(found["currency"]),
        source=_str(found.get("source", "")),
        as_of=_str(found.get("as_of", "")),
        total=_monthly(found),
        models={_str(m): _monthly(c) for m, c in _map(found.get("models", {})).items()},
        unknown=tuple(_str(u) for u in found.get("unknown", [])),
        twin=bool(found.get("twin_prices", False)),
    )
