"""``csbot train-sentiment`` (= ``python -m analytics.textmodel.train_all``): retrain the shipped
sentiment and complaint models from ../shared/datasets (train splits only) and write them with
their provenance. Kept apart from ``train`` so that ``complaint_train`` can build on ``train``'s
helpers without an import circle."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import corpora
from .complaint_train import ComplaintTrainConfig, train_complaints
from .train import DEFAULT_OUT, TrainConfig, train_sentiment, write_model

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="csbot train-sentiment", description="retrain the shipped sentiment and complaint models")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT.parent,
                        help="folder for sentiment_model.npz / complaint_model.npz (default: the package data)")
    parser.add_argument("--version", default=time.strftime("%Y.%m.%d"), help="model version string")
    parser.add_argument("--only", choices=("sentiment", "complaints"), help="train just one of the two models")
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not corpora.datasets_available():
        log.error("训练数据不存在: %s（设置 CSBOT_DATASETS 指向 shared/datasets）", corpora.datasets_dir())
        return 2
    try:
        import sklearn  # noqa: F401
    except ImportError:
        log.error("训练需要 scikit-learn: pip install 'csbot[train]'")
        return 2
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "sentiment"):
        out = args.out_dir / "sentiment_model.npz"
        model = train_sentiment(TrainConfig(seed=args.seed))
        prov = write_model(model, out, args.version)
        log.info("wrote %s (%d features, %.1f MB) and %s", out, len(model.vocab), out.stat().st_size / 1e6, prov)
    if args.only in (None, "complaints"):
        out = args.out_dir / "complaint_model.npz"
        model = train_complaints(ComplaintTrainConfig(seed=args.seed))
        prov = write_model(model, out, args.version)
        log.info("wrote %s (%d features, %.1f MB) and %s", out, len(model.vocab), out.stat().st_size / 1e6, prov)
    return 0


if __name__ == "__main__":
    sys.exit(main())
