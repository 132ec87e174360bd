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
