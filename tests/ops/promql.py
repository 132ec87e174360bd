"""What the suite reads out of ops/: the rules' expressions and the metric names they use."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

OPS = Path(__file__).resolve().parents[2] / "ops"
# a gpurent metric in an expression: not part of a recording rule's name (level:metric:operation)
_METRIC = re.compile(r"(?<![:\w])gpurent_[a-z0-9_]+(?![:\w])")


def rules(path: Path = OPS / "alerts.yml") -> list[dict]:
    return [rule for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def metric_names(path: Path = OPS / "alerts.yml") -> set[str]:
    """Every gpurent metric (sample name: ``_total``, ``_bucket`` included) the rules read."""
    return {name for rule in rules(path) for name in _METRIC.findall(rule["expr"])}


def exposed(text: str) -> set[str]:
    """The sample names a ``/metrics`` text can carry, parsed by prometheus_client's parser; a
    labelled family with no series yet counts with the names its type gives its samples."""
    from prometheus_client.parser import text_string_to_metric_families

    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
                "summary": ("_sum", "_count", "_created"), "gauge": ("",), "untyped": ("",), "info": ("_info",)}
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names |= {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names


GRAFANA = OPS / "grafana"
# what Grafana puts in a query before Prometheus sees it: its range variables become a duration,
# a dashboard's own variables (only ever inside a regex matcher: `instance=~"$instance"`) match all
_GRAFANA_RANGES = re.compile(r"\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}")
_GRAFANA_VARIABLE = re.compile(r"\$\{\w+\}|\$\w+")
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*\w+\s*\)\s*$", re.S)


def dashboards() -> dict[str, dict]:
    """ops/grafana/dashboards/*.json by file name, each parsed."""
    import json

    return {path.name: json.loads(path.read_text()) for path in sorted((GRAFANA / "dashboards").glob("*.json"))}


def panels(board: dict) -> list[dict]:
    """A dashboard's panels, those inside a row included."""
    return [p for top in board["panels"] for p in (top, *top.get("panels", []))]


def as_promql(query: str) -> str:
    """A panel's query as Prometheus receives it from Grafana (its variables substituted)."""
    return _GRAFANA_VARIABLE.sub(".*", _GRAFANA_RANGES.sub("5m", query))


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target's ``expr`` and every template variable's
    ``label_values(SELECTOR, label)`` selector in every dashboard."""
    out = []
    for name, board in dashboards().items():
        for panel in panels(board):
            for target in panel.get("targets", []):
                out.append((f"{name} panel {panel['id']} ({panel['title']}) {target['refId']}", as_promql(target["expr"])))
        for variable in board.get("templating", {}).get("list", []):
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            inner = _LABEL_VALUES.match(query)
            assert inner, f"{name} variable {variable['name']}: not label_values(SELECTOR, label): {query!r}"
            out.append((f"{name} variable {variable['name']}", as_promql(inner.group(1))))
    return out


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
             "group_right", "inf", "nan"}


def series_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: every identifier that is not a function
    (followed by ``(``), a keyword, a label (inside ``{}`` or a grouping) or a duration."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = _GROUPING.sub("", text)
    return {m.group(1) for m in _IDENTIFIER.finditer(text) if not m.group(2)} - _KEYWORDS
