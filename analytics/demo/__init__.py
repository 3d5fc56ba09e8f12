"""Deterministic demo data: 90 days (by default) of a multi-channel clothing and home shop's customer service,
with seasonality, a promotion day and a recent complaint spike. See docs/demo.md."""

from analytics.demo.load import DemoSummary, generate_demo, generate_records

__all__ = ["DemoSummary", "generate_demo", "generate_records"]
