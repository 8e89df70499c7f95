"""`vui sweep CONFIG`: train many models at once as Ray Tune trials (T.sweep).

CONFIG is a JSON file; every key but "builders" is optional:

    {"builders": ["model_0", "model_1", {"rnn_type": "GRU", "rnn_units": 100}],
     "corpus": "data/embedded", "train_index": null, "valid_index": null,
     "features": "spectrogram", "cache_dir": null, "epochs": 20, "batch_size": 20,
     "optimizer": "sgd", "lr": null, "loss_limit": null, "cpus_per_trial": 1,
     "gpus_per_trial": null, "results": null, "asha": false, "address": null,
     "max_failures": 0, "retrain": false}

Builders are models.presets names or RNNModel config dicts (RNNModel.to_config()); a
train_index and valid_index pair replaces the corpus folder's indexes. Options on the command
line win over the file's. The exit status is 1 if a trial failed.
"""
import argparse
import dataclasses
import json
import sys
from pathlib import Path

from vui.argtypes import positive_float, positive_int
from vui.cli.common import DEFAULT_CORPUS, FEATURE_CHOICES, OPTIMIZERS, optimizer_factory


@dataclasses.dataclass
class SweepConfig:
    """The sweep a CONFIG file describes."""
    builders: list
    corpus: str = str(DEFAULT_CORPUS)
    train_index: str = None        # instead of the corpus folder's indexes
    valid_index: str = None
    features: object = "spectrogram"
    cache_dir: str = None
    epochs: int = 20
    batch_size: int = 20
    optimizer: object = "sgd"      # "sgd" (the seed's), "adam", or a keras serialize dict
    lr: float = None
    loss_limit: object = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = None
    results: str = None
    asha: bool = False
    address: str = None
    max_failures: int = 0
    retrain: bool = False

    @classmethod
    def read(cls, path):
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except ValueError as err:
            raise ValueError(f"{path}: not JSON ({err})") from None
        if not isinstance(data, dict) or "builders" not in data:
            raise ValueError(f"{path}: expected a JSON object with a \"builders\" list")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown keys {unknown}; expected some of {sorted(known)}")
        return cls(**data)

    def gen_spec(self):
        corpus = None if self.train_index and self.valid_index else self.corpus
        return dict(features=self.features, corpus=corpus, train_index=self.train_index,
                    valid_index=self.valid_index, cache_dir=self.cache_dir)

    def optimizer_spec(self):
        """T.sweep's optimizer: None (the seed's SGD), a factory, or a serialize dict."""
        if isinstance(self.optimizer, dict):
            return self.optimizer
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer {self.optimizer!r}: expected one of {OPTIMIZERS} or "
                             "a keras.optimizers.serialize dict")
        return optimizer_factory(self.optimizer, self.lr)


def build_parser():
    parser = argparse.ArgumentParser(prog="vui sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="the sweep's JSON file")
    parser.add_argument("--address", default=None,
                        help="a Ray cluster to run on ('auto' or host:port of its head)")
    parser.add_argument("--asha", action="store_true", default=None,
                        help="stop trials whose validation loss trails (Ray Tune's ASHA)")
    parser.add_argument("--cpus-per-trial", type=positive_float, default=None)
    parser.add_argument("--gpus-per-trial", type=float, default=None,
                        help="a fraction shares a GPU (default: 1 where there are GPUs)")
    parser.add_argument("--epochs", type=positive_int, default=None)
    parser.add_argument("--results", default=None,
                        help="results folder (default results/, or $VUI_RESULTS_DIR)")
    parser.add_argument("--max-failures", type=int, default=None,
                        help="Tune's retries of a trial whose worker died (default 0)")
    parser.add_argument("--retrain", action="store_true", default=None)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    config = SweepConfig.read(args.config)
    overrides = {k: v for k, v in vars(args).items() if k != "config" and v is not None}
    config = dataclasses.replace(config, **overrides)
    if isinstance(config.features, str) and config.features not in FEATURE_CHOICES:
        raise ValueError(f"features {config.features!r}: expected one of {sorted(FEATURE_CHOICES)}")
    import pandas as pd
    import train_utils as T
    names, table = T.sweep(
        config.builders, config.gen_spec(), epochs=config.epochs,
        minibatch_size=config.batch_size, optimizer=config.optimizer_spec(),
        loss_limit=config.loss_limit, results_dir=config.results,
        cpus_per_trial=config.cpus_per_trial, gpus_per_trial=config.gpus_per_trial,
        address=config.address, asha=config.asha, max_failures=config.max_failures,
        retrain=config.retrain)
    with pd.option_context("display.max_colwidth", 70):
        print(table.to_string())
    failed = table["sweep"].str.startswith("failed").sum()
    if failed:
        print(f"error: {failed} of {len(names)} trials failed; run the sweep again to resume "
              "them", file=sys.stderr)
    return 1 if failed else 0
