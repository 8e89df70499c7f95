"""Leave-one-family-out: does the model understand a voice family it never heard?

For each held-out speaker family, an embedded corpus is built with that family only in its
holdout partition (vui.data.tts_corpus, families espeak, kal, ked, slt, awb, rms). The demo's model
(M.presets.demo(), trained by vui.demo.train: Adam + cosine, jittered duration buckets) is
trained on the rest for a fixed time budget, once per augmentation condition (default: none,
SpecAugment alone, and the precomputed waveform "default" preset), and evaluated with greedy
decoding on the in-family validation partition and on the held-out family ("s/epoch" leaves
out the first epoch, which pays for tracing). One markdown table comes out (printed and written
to --out, between the markers of docs/experiments/holdout.md when the file has them).

Default families, and why: `slt` is the only female recorded speaker (flite slt and festival's
HTS voice), so it tests a new speaker of another sex against recorded male voices and espeak
variants; `espeak` is formant synthesis, unlike every recorded-voice engine, so it tests a new
synthesis method with 45% of the usual training voices gone. `kal` would say less: `ked` (another
festival diphone male) stays in training and sounds close to it.

Resumable: corpora, features and variants are reused; each (family, features, condition)
trains under <results-root>/<family>-<features>-<condition>/ (train_model resumes an
interrupted run and reloads a
finished one) and its row is kept in row.json there. A finished run is reused whatever the
new options say: give another --results-root to measure another budget or corpus size.

Real run (2 x (corpus 3-5 min + variants ~3.5 min + 3 x (budget + ~1 min)), ~60 min at 6 min):
  .venv/bin/python benchmarks/bench_holdout.py --families slt espeak --minutes 6
Run-to-run spread (the same corpus, training seeded apart; one results root per seed):
  .venv/bin/python benchmarks/bench_holdout.py --families rms --conditions none --minutes 14 \
      --train-seed 1 --results-root results/holdout-rms14-seed1 --out /tmp/seed1.md
A second learning-rate cycle on finished runs (each row starts from the same row's model there):
  .venv/bin/python benchmarks/bench_holdout.py --families slt --conditions voices+warp \
      --features spec --n-variants 2 --minutes 115 --learning-rate 1e-3 \
      --init-from results/holdout-spec100 --results-root results/holdout-spec-warm
Augmentation's epoch-time overhead only (demo model, first N training utterances, ~2 min):
  .venv/bin/python benchmarks/bench_holdout.py --overhead 200
Tiny end-to-end check (~1.5 min):
  .venv/bin/python benchmarks/bench_holdout.py --minutes 0.3 --epochs 2 --n-train 30 \
      --n-valid 8 --n-test 4 --n-holdout 8 --n-variants 2 --data-root /tmp/holdout-tiny/data \
      --results-root /tmp/holdout-tiny/results --out /tmp/holdout-tiny/holdout.md
"""
import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from vui import atomic  # noqa: E402  (after the sys.path line)
from vui.features.speaker_norm import PER_CHOICES as NORM_CHOICES  # noqa: E402
from vui.data.tts_corpus import EMBEDDED_ROOT  # noqa: E402

DEFAULT_FAMILIES = ("slt", "espeak")
DEFAULT_CONDITIONS = ("none", "specaugment", "default")
DEFAULT_MINUTES = 6.0
ROW_FILE = "row.json"
TABLE_START, TABLE_END = "<!-- holdout-table:start -->", "<!-- holdout-table:end -->"
COLUMNS = ("family", "features", "augmentation", "valid CER", "valid WER",
           "held-out CER (95% interval)", "held-out WER", "valid CER, warp search",
           "held-out CER, warp search", "held-out WER, warp search", "epochs", "train s",
           "s/epoch", "variants s")
WARP_KEYS = ("valid_cer_warp", "valid_wer_warp", "heldout_cer_warp", "heldout_wer_warp")


@dataclass
class HoldoutConfig:
    families: tuple = DEFAULT_FAMILIES
    conditions: tuple = DEFAULT_CONDITIONS
    minutes: float = DEFAULT_MINUTES
    epochs: int | None = None          # cap; None: as many as fit the budget (vui.demo.train)
    n_variants: int = 4
    workers: int = 2
    data_root: str = "data"
    results_root: str = "results/holdout"
    out: str = "docs/experiments/holdout.md"
    corpus: dict = field(default_factory=dict)   # CorpusConfig overrides (sizes)
    seed: int = 0
    features: tuple = ("mfcc26",)      # vui.demo.FEATURE_CHOICES keys (the demo's: mfcc26)
    init_from: str | None = None       # a results root whose finished models each run starts from
    learning_rate: float | None = None  # the cosine's peak; None: the demo's
    train_seed: int | None = None      # weights, batch order, variants; None: `seed` (corpus)
    speaker_norm: str | None = None    # train (and test) on per-speaker-shifted features

    @property
    def training_seed(self):
        return self.seed if self.train_seed is None else self.train_seed


def build_corpus(family, cfg):
    """The corpus without `family` in train/valid/test; returns its root (reused if built)."""
    from vui.data import tts_corpus
    root = os.path.join(cfg.data_root, f"holdout-{family}")
    print(f"[holdout] corpus without '{family}' under {root}")
    tts_corpus.build_embedded_corpus(root, holdout_families=[family], seed=cfg.seed,
                                     workers=cfg.workers, **cfg.corpus)
    return root


def load_generator(root, features):
    """Train and validation from the corpus; the held-out family as the "test" partition."""
    from vui.demo import demo_generator
    return demo_generator(root, features, test_index=os.path.join(root, "holdout_corpus.json"))


def run_condition(gen, family, features, condition, cfg):
    """Train (or reload) one model and evaluate it; returns the table row as a dict."""
    import models as M
    import train_utils as T
    from vui import results as R
    from vui.augment.presets import training_augmenter
    from vui import demo

    results_dir = os.path.join(cfg.results_root, f"{family}-{features}-{condition}")
    builder = M.presets.demo()
    start = time.perf_counter()  # variants already on disk: only a check of each file
    augment = training_augmenter(gen, preset=condition, n_variants=cfg.n_variants,
                                 workers=cfg.workers, seed=cfg.training_seed)
    variants_s = time.perf_counter() - start if augment is not None else 0.0
    model_path = R.run_paths(T.model_name(gen, builder, augment), results_dir)[1]
    row_path = os.path.join(results_dir, ROW_FILE)
    cached = _cached_row(row_path, model_path)
    if cached and all(k in cached for k in WARP_KEYS):
        print(f"[holdout] {family}/{condition}: reusing {row_path}")
        return cached
    if cached:
        print(f"[holdout] {family}/{condition}: adding the warp search to {row_path}")
        return _save_row(row_path, _with_warp_search(cached, T.load_model(str(model_path)), gen))
    epochs = cfg.epochs or demo.DEMO_MAX_EPOCHS
    initial = _initial_weights(cfg, results_dir, model_path)
    print(f"[holdout] {family}/{condition}: training {cfg.minutes:g} min "
          f"(at most {epochs} epochs)" + (f", starting from {initial}" if initial else ""))
    demo.train(gen, builder, minutes=cfg.minutes, epochs=epochs, results_dir=results_dir,
               augment=augment, seed=cfg.training_seed, initial_weights=initial,
               learning_rate=cfg.learning_rate or demo.DEMO_LEARNING_RATE)
    model = T.load_model(str(model_path))
    record = model.vui_record
    held = T.evaluate(model, gen, "test", verbose=0)
    valid = (record["cer"], record["wer"]) if record.get("cer") is not None else \
        _cer_wer(T.evaluate(model, gen, "validation", verbose=0))
    times = list(record["epoch_times"])
    row = {"family": family, "features": features, "augmentation": condition,
           "valid_cer": valid[0], "valid_wer": valid[1],
           "heldout_cer": held.cer, "heldout_wer": held.wer,
           "heldout_cer_interval": held.interval("char"),
           "epochs": len(times), "train_s": sum(times),
           "s_per_epoch": R.run_epoch_seconds(record),
           "variants_s": variants_s,
           "train_utterances": len(gen.train_audio_paths),
           "valid_utterances": len(gen.valid_audio_paths), "heldout_utterances": held.utterances,
           "examples": list(zip(held.references[:3], held.hypotheses[:3])),
           "model_mtime_ns": os.stat(model_path).st_mtime_ns, "config": _config_dict(cfg)}
    return _save_row(row_path, _with_warp_search(row, model, gen))


def _initial_weights(cfg, results_dir, model_path):
    """With --init-from: the finished model of the same family, features and condition under
    that results root (a warm restart of it); None without."""
    if cfg.init_from is None:
        return None
    source = os.path.join(cfg.init_from, os.path.basename(results_dir),
                          os.path.basename(model_path))
    if not os.path.exists(source):
        raise FileNotFoundError(f"--init-from {cfg.init_from}: no finished model {source} to "
                                "start from (train it first with that --results-root)")
    return source


def _with_warp_search(row, model, gen):
    """The row plus CER/WER when each speaker is decoded at the feature warp its output is
    most confident under (vui.research.warp_search, per speaker, the default factors)."""
    import train_utils as T
    from vui.research.strategies import WarpSearch, chosen_warps
    valid = T.evaluate(model, gen, "validation", verbose=0, strategy=WarpSearch())
    held = T.evaluate(model, gen, "test", verbose=0, strategy=WarpSearch())
    return dict(row, valid_cer_warp=valid.cer, valid_wer_warp=valid.wer,
                heldout_cer_warp=held.cer, heldout_wer_warp=held.wer,
                heldout_alphas_warp=_counts(chosen_warps(held)))


def _counts(values):
    from collections import Counter
    return {f"{k:g}": n for k, n in sorted(Counter(values).items())}


def _save_row(row_path, row):
    atomic.write_text(row_path, json.dumps(row, indent=1))
    return row


def _cer_wer(evaluation):
    return evaluation.cer, evaluation.wer


def _cached_row(row_path, model_path):
    """The saved row when it belongs to the model now on disk (else None: evaluate again)."""
    if not (os.path.isfile(row_path) and os.path.isfile(model_path)):
        return None
    with open(row_path, encoding="utf-8") as f:
        row = json.load(f)
    return row if row.get("model_mtime_ns") == os.stat(model_path).st_mtime_ns else None


def _config_dict(cfg):
    d = asdict(cfg)
    d["families"], d["conditions"] = list(cfg.families), list(cfg.conditions)
    return d


def markdown_table(rows):
    def pct(x):
        return f"{100 * x:.1f}%"
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        cells = (r["family"], r.get("features", "spec"), r["augmentation"],
                 pct(r["valid_cer"]), pct(r["valid_wer"]), pct(r["heldout_cer"]) + _span(r),
                 pct(r["heldout_wer"]), *(pct(r[k]) if k in r else "-" for k in
                                           ("valid_cer_warp", "heldout_cer_warp", "heldout_wer_warp")),
                 str(r["epochs"]), f"{r['train_s']:.0f}",
                 f"{r['s_per_epoch']:.1f}", f"{r['variants_s']:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _span(row):
    """The held-out CER's 95% speaker-bootstrap interval, where the row has one."""
    low_high = row.get("heldout_cer_interval")
    return f" ({100 * low_high[0]:.1f}-{100 * low_high[1]:.1f})" if low_high else ""


def overhead_lines(rows):
    """Augmented s/epoch over plain s/epoch per family and features (same run, same corpus)."""
    def key(r):
        return r["family"], r.get("features", "spec")
    by = {(*key(r), r["augmentation"]): r for r in rows}
    out = []
    for group in dict.fromkeys(key(r) for r in rows):
        base = by.get((*group, "none"))
        for (*grp, cond), r in by.items():
            if tuple(grp) == group and cond != "none" and base and base["s_per_epoch"] > 0:
                ratio = r["s_per_epoch"] / base["s_per_epoch"]
                out.append(f"{'/'.join(group)}: '{cond}' epochs take {ratio:.2f}x the plain "
                           f"ones ({r['s_per_epoch']:.1f} s vs {base['s_per_epoch']:.1f} s)")
    return out


def write_table(path, table, cfg):
    """Put the table between the markers of `path` (the rest of the file is kept), or write a
    new file holding only the table."""
    shift = f", trained and tested with the {cfg.speaker_norm} shift" if cfg.speaker_norm else ""
    stamp = (f"Measured {time.strftime('%Y-%m-%d %H:%M')} with `benchmarks/bench_holdout.py "
             f"--families {' '.join(cfg.families)} --minutes {cfg.minutes:g} "
             f"--features {' '.join(cfg.features)}` (learning rate on a cosine over the budget"
             f"{f', at most {cfg.epochs} epochs' if cfg.epochs else ''}, "
             f"{cfg.n_variants} variants, greedy decoding"
             f"{', corpus ' + json.dumps(cfg.corpus) if cfg.corpus else ''}{shift}).")
    block = f"{TABLE_START}\n{stamp}\n\n{table}\n{TABLE_END}"
    text = ""
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
    if TABLE_START in text and TABLE_END in text:
        head, rest = text.split(TABLE_START, 1)
        text = head + block + rest.split(TABLE_END, 1)[1]
    else:
        text = f"# Leave-one-family-out results\n\n{block}\n"
    atomic.write_text(path, text)


def run(cfg):
    from vui.augment.presets import preset_config
    from vui.features.speaker_norm import as_config
    for condition in cfg.conditions:
        preset_config(condition)          # a clear error naming a bad one, before any training
    rows = []
    for family in cfg.families:
        root = build_corpus(family, cfg)
        for features in cfg.features:
            gen = load_generator(root, features)
            gen.speaker_norm = as_config(cfg.speaker_norm)
            for condition in cfg.conditions:
                rows.append(run_condition(gen, family, features, condition, cfg))
                print(markdown_table(rows[-1:]))
    table = markdown_table(rows)
    print("\n" + table)
    for line in overhead_lines(rows):
        print(line)
    write_table(cfg.out, table, cfg)
    print(f"[holdout] table written to {cfg.out}")
    return rows


def measure_overhead(corpus_root, n_utterances, rounds=2, n_variants=4, workers=2):
    """Epoch time of the demo model on the first `n_utterances` of a corpus's training index,
    per augmentation route, against no augmentation (one model, conditions interleaved, after
    one warm-up epoch each so that TensorFlow's retracing for new lengths is not counted)."""
    import tempfile

    import numpy as np

    import data_generator as DG
    import models as M
    from vui.augment.augmenter import AugmentConfig, Augmenter
    from vui.augment.presets import training_augmenter
    from vui.model.ctc import CTCLoss
    from vui.demo import DEMO_BATCH, demo_optimizer

    index = os.path.join(corpus_root, "train_corpus.json")
    with open(index, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()][:n_utterances]
    subset = os.path.join(tempfile.mkdtemp(prefix="vui-overhead-"), "train_corpus.json")
    base = os.path.dirname(os.path.abspath(index))
    with open(subset, "w", encoding="utf-8") as f:
        for line in lines:  # keys made absolute: the subset index lives elsewhere
            entry = json.loads(line)
            entry["key"] = os.path.join(base, entry["key"])
            f.write(json.dumps(entry) + "\n")
    gen = DG.AudioGeneratorCached(minibatch_size=DEMO_BATCH)
    gen.load_train_data(subset)
    start = time.perf_counter()
    precomputed = training_augmenter(gen, "default", n_variants=n_variants, workers=workers)
    print(f"[overhead] {len(gen.train_audio_paths)} utterances, "
          f"{sum(gen.train_durations):.0f} audio s; {n_variants} variants each in "
          f"{time.perf_counter() - start:.1f} s")
    conditions = {"none": None, "default, precomputed": precomputed,
                  "light, on the fly": Augmenter(AugmentConfig.light()),
                  "default, on the fly": Augmenter(AugmentConfig.default())}
    model = M.presets.demo().build(gen.input_dim)
    model.compile(optimizer=demo_optimizer(), loss=CTCLoss())
    datasets = {c: gen.dataset("train", output_length=model.output_length, augment=a)
                for c, a in conditions.items()}
    fit_s = {c: [] for c in conditions}
    data_s = {c: [] for c in conditions}
    for r in range(rounds + 1):
        for c, ds in datasets.items():
            t0 = time.perf_counter()
            for b in range(len(ds)):
                ds[b]
            t1 = time.perf_counter()
            model.fit(ds, epochs=1, verbose=0)
            if r:  # round 0 warms up (tracing for each new padded length)
                data_s[c].append(t1 - t0)
                fit_s[c].append(time.perf_counter() - t1)
    base_fit = float(np.median(fit_s["none"]))
    for c in conditions:
        fit, data = float(np.median(fit_s[c])), float(np.median(data_s[c]))
        print(f"[overhead] {c:22s} epoch {fit:6.2f} s ({fit / base_fit:.2f}x none); "
              f"batches alone {data:5.2f} s ({data / base_fit:.1%} of a plain epoch)")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--families", nargs="+", default=list(DEFAULT_FAMILIES))
    p.add_argument("--conditions", nargs="+", default=list(DEFAULT_CONDITIONS),
                   help="augmentation presets: none, specaugment, light, default, voices, warp, "
                        "or one of them + '+warp' (voices+warp)")
    p.add_argument("--minutes", type=float, default=DEFAULT_MINUTES,
                   help="training budget per model (default %(default)s)")
    p.add_argument("--epochs", type=int, default=None,
                   help="at most this many epochs (default: as many as fit the budget)")
    from vui.demo import DEMO_FEATURES, FEATURE_CHOICES
    p.add_argument("--features", nargs="+", default=[DEMO_FEATURES],
                   choices=sorted(FEATURE_CHOICES),
                   help="feature kinds to compare (default: the demo's, %(default)s)")
    p.add_argument("--n-variants", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--data-root", default="data")
    p.add_argument("--results-root", default="results/holdout")
    p.add_argument("--out", default="docs/experiments/holdout.md")
    p.add_argument("--seed", type=int, default=0,
                   help="the corpus's seed (sentences, voices); also training's by default")
    p.add_argument("--train-seed", type=int, default=None,
                   help="training's own seed (initial weights, batch order, augmentation "
                        "variants) on the same corpus: run-to-run spread; give each its own "
                        "--results-root")
    p.add_argument("--init-from", default=None, metavar="RESULTS_ROOT",
                   help="start each model from the finished one of the same family, features "
                        "and condition under this results root (a second learning-rate cycle)")
    p.add_argument("--speaker-norm", default=None, choices=NORM_CHOICES,
                   help="train on features shifted by each speaker's mean frame (matched "
                        "per-speaker CMN, vui.features.speaker_norm); evaluation shifts alike; with "
                        "--conditions none or specaugment only")
    p.add_argument("--learning-rate", type=float, default=None,
                   help="peak of the cosine learning rate (default: the demo's)")
    p.add_argument("--overhead", type=int, metavar="N", default=None,
                   help="only measure augmentation's epoch-time overhead on the first N "
                        "training utterances of --overhead-corpus, then stop")
    p.add_argument("--overhead-corpus", default=str(EMBEDDED_ROOT))
    for size in ("n_train", "n_valid", "n_test", "n_holdout"):
        p.add_argument("--" + size.replace("_", "-"), type=int, default=None,
                       help="corpus size override (default: the embedded corpus's)")
    p.add_argument("--high-pitch-share", type=float, default=None,
                   help="corpus option (vui corpus embedded --help); give it its own "
                        "--data-root and --results-root")
    a = p.parse_args(argv)
    corpus = {k: getattr(a, k) for k in ("n_train", "n_valid", "n_test", "n_holdout",
                                         "high_pitch_share") if getattr(a, k) is not None}
    if a.minutes <= 0:
        p.error(f"--minutes must be > 0, got {a.minutes}")
    if a.learning_rate is not None and not a.learning_rate > 0:
        p.error(f"--learning-rate must be > 0, got {a.learning_rate}")
    if a.init_from is not None and os.path.abspath(a.init_from) == os.path.abspath(a.results_root):
        p.error(f"--init-from {a.init_from} is --results-root too: give the new run its own")
    if a.overhead is not None:
        return a
    return HoldoutConfig(tuple(a.families), tuple(a.conditions), a.minutes, a.epochs,
                         a.n_variants, a.workers, a.data_root, a.results_root, a.out, corpus,
                         a.seed, tuple(a.features), a.init_from, a.learning_rate,
                         a.train_seed, a.speaker_norm)


def main(argv=None):
    try:
        cfg = parse_args(argv)
        if isinstance(cfg, argparse.Namespace):
            measure_overhead(cfg.overhead_corpus, cfg.overhead, n_variants=cfg.n_variants,
                             workers=cfg.workers)
        else:
            run(cfg)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
