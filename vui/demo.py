"""The demo: the whole pipeline on the embedded corpus, within the time budget of a 2-core CPU.

corpus (generated once, reused) -> MFCC features (cached), each speaker's shifted by his mean
frame -> the demo preset (CNN + 4 x BiGRU, stride 3) trained with CTC under a time budget ->
validation CER/WER and a few transcripts -> the comparison plot -> the model becomes the
default of `vui transcribe`.
"""
import time
from pathlib import Path

DEMO_TRAIN_MINUTES = 14.0     # training budget; corpus generation and evaluation come on top
# The demo's promise: done within DEMO_TOTAL_MINUTES, corpus generation included. Where making
# the corpus and its features took so long that DEMO_TRAIN_MINUTES would break it (a slow or
# busy machine), training gets what is left after keeping DEMO_REPORT_MINUTES for evaluation,
# transcripts and the plot, with room to spare (docs/experiments/demo.md, "2026-12-02, later:
# twice the sentences, a third BiGRU").
DEMO_TOTAL_MINUTES = 20.0
DEMO_REPORT_MINUTES = 1.0
DEMO_MIN_TRAIN_MINUTES = 2.0
# The learning rate follows the clock (vui.train.schedule): Adam at DEMO_LEARNING_RATE decaying on a
# cosine to DEMO_LR_FLOOR of it when the budget ends, however many epochs that is on the
# machine at hand. DEMO_MAX_EPOCHS only caps a very fast machine (a GPU).
DEMO_MAX_EPOCHS = 200
DEMO_BATCH = 48
DEMO_LEARNING_RATE = 2e-3
DEMO_LR_FLOOR = 0.05
DEMO_CLIPNORM = 5.0
DEMO_PREDICTIONS = 5
# vui.augment.presets preset. "none": SpecAugment's masks slowed learning on 9,000 utterances
# (docs/experiments/demo.md, "2026-12-02: MFCC, stride 3, the clock schedule"), and where a
# faster machine overfit 9,000, twice the sentences were the cure, not masks (demo.md,
# "2026-12-02, later: twice the sentences, a third BiGRU"). "warp" (vocal-tract warps of the
# cached features) makes a voice family never heard far easier but costs in-family CER within
# the same budget (docs/experiments/holdout.md, "2026-12-02, night: vocal-tract warps on the
# cached features"), and the demo's target is in family.
DEMO_AUGMENT = "none"
# vui.features.speaker_norm: train (and test) on features shifted by each speaker's pooled mean
# frame, which at this budget hears a voice family never trained on better at no in-family
# cost (docs/experiments/holdout.md, "2026-12-05, afternoon: training with the shift").
# `vui transcribe` has no speaker labels and shifts each file by its own mean (less of the
# gain, same section) unless --one-speaker pools the files.
DEMO_SPEAKER_NORM = "speaker"
# Feature choices of the benchmarks: their names for vui.features.presets' (results tables say
# "spec"). The demo takes MFCC (python_speech_features, 26 coefficients from 26 mel filters)
# rather than the 161-bin spectrogram: a lower validation loss at equal epochs and shorter
# epochs (the first convolution reads 26 values a frame instead of 161);
# docs/experiments/demo.md, "2026-12-02: MFCC, stride 3, the clock schedule".
FEATURE_CHOICES = {"spec": "spectrogram", "mfcc13": "mfcc13", "mfcc26": "mfcc26",
                   "mfcc26-cmn": "mfcc26-cmn"}
DEMO_FEATURES = "mfcc26"


def training_minutes(elapsed_minutes, requested=None):
    """The training budget: `requested` when the caller gave one; otherwise DEMO_TRAIN_MINUTES,
    shortened so that the demo still ends within DEMO_TOTAL_MINUTES of its start after
    `elapsed_minutes` spent on the corpus and features (never below DEMO_MIN_TRAIN_MINUTES)."""
    if requested is not None:
        return float(requested)
    left = DEMO_TOTAL_MINUTES - DEMO_REPORT_MINUTES - float(elapsed_minutes)
    return max(DEMO_MIN_TRAIN_MINUTES, min(DEMO_TRAIN_MINUTES, left))


def demo_optimizer(learning_rate=DEMO_LEARNING_RATE):
    """Adam with a float learning rate, which the time schedule sets before every batch: trains
    much faster than the seed's SGD in minutes (docs/experiments/demo.md)."""
    import keras
    return keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=DEMO_CLIPNORM)


def demo_generator(corpus_root, features=DEMO_FEATURES, **kwargs):
    """A feature generator (FEATURE_CHOICES[features]) over a corpus's train and validation
    indexes, in the demo's batch size."""
    import data_generator as DG
    if features not in FEATURE_CHOICES:
        raise ValueError(f"features={features!r}: expected one of {sorted(FEATURE_CHOICES)}")
    return DG.AudioGeneratorCached.for_corpus(FEATURE_CHOICES[features], corpus_root,
                                              **{"minibatch_size": DEMO_BATCH, **kwargs})


def train(gen, builder, minutes=DEMO_TRAIN_MINUTES, epochs=DEMO_MAX_EPOCHS, batch=DEMO_BATCH,
          learning_rate=DEMO_LEARNING_RATE, **train_options):
    """The demo's recipe, shared with the benchmarks: Adam with a cosine decay over the time
    budget of `minutes` (vui.train.schedule.CosineOverTime), jittered duration buckets (batches of
    like lengths: far less padding than random batches, docs/experiments/demo.md, "2026-11-25:
    spectrogram, step schedule"), and a stop at the end of the epoch
    after which another would overrun the budget. `batch` and the peak `learning_rate` are
    there for the benchmarks; `train_options` go to train_model (results_dir, augment, ...)."""
    import train_utils as T
    from vui.train.schedule import CosineOverTime
    return T.train_model(gen, builder, epochs=epochs, minibatch_size=batch,
                         optimizer=lambda: demo_optimizer(learning_rate), sort_by_duration=True,
                         time_limit=60 * minutes,
                         time_schedule=CosineOverTime(learning_rate, DEMO_LR_FLOOR),
                         verbose=2, **train_options)


def _export_onnx(model_path):
    """The model as ONNX beside it, so `vui transcribe` starts on the fastest runtime (no
    TensorFlow import); the demo's model stays usable through Keras if the export fails."""
    from vui.export.writers import export
    from vui.infer.recognizer import Recognizer
    from vui.infer.runtimes import default_export_dir
    out = default_export_dir(model_path, "onnx")
    try:
        export(Recognizer.load(model_path), out, "onnx")
    except (ValueError, OSError, RuntimeError) as err:
        print(f"[demo] ONNX export failed ({err}); `vui transcribe` will use Keras")
        return
    print(f"[demo] exported to {out}: `vui transcribe` uses it by default")


def run(minutes=None, corpus_root=None, fresh=False):
    start = time.perf_counter()
    from vui.data import tts_corpus
    corpus_root = Path(corpus_root or tts_corpus.EMBEDDED_ROOT)
    print(f"[demo] 1/5 embedded corpus under {corpus_root} (reused when already there)")
    tts_corpus.build_embedded_corpus(corpus_root, **tts_corpus.saved_settings(corpus_root))

    import models as M
    import train_utils as T
    from vui import results as R

    from vui.features.cache import default_cache_dir
    print(f"[demo] 2/5 MFCC features (cached under {default_cache_dir()})")
    gen = demo_generator(corpus_root, speaker_norm=DEMO_SPEAKER_NORM)
    elapsed = (time.perf_counter() - start) / 60
    budget = training_minutes(elapsed, minutes)
    if minutes is None and budget < DEMO_TRAIN_MINUTES:
        print(f"[demo] corpus and features took {elapsed:.1f} minutes: training gets "
              f"{budget:.1f} instead of {DEMO_TRAIN_MINUTES:g} to finish within "
              f"{DEMO_TOTAL_MINUTES:g}")

    from vui.augment.presets import training_augmenter
    builder = M.presets.demo()
    augment = training_augmenter(gen, preset=DEMO_AUGMENT)
    print(f"[demo] 3/5 training '{T.model_name(gen, builder, augment)}' for up to "
          f"{budget:.1f} minutes")
    name = train(gen, builder, minutes=budget, retrain=fresh, augment=augment)

    model = T.load_model(R.run_paths(name)[1])
    print("[demo] 4/5 validation (speaker variants and sentences never trained on)")
    result = T.evaluate(model, gen, "validation")
    print(f"[demo] validation CER {result.cer:.2%}  WER {result.wer:.2%} "
          f"({result.utterances} utterances, greedy decoding)")
    for i in range(min(DEMO_PREDICTIONS, len(gen.valid_audio_paths))):
        T.get_predictions(gen, model, "validation", i, print_line=True, omit_true=False)

    print("[demo] 5/5 comparison plot and table")
    T.plot_comparison(model_names=[name], show=False)
    print(T.comparison_table(model_names=[name]).to_string())
    model_path = R.run_paths(name)[1]
    R.set_default_model(model_path)
    print(f"[demo] model: {model_path} (now the default of `vui transcribe`)")
    _export_onnx(model_path)
    print(f"[demo] plot: {R.RESULTS_DIR / 'comparison.png'}")
    print(f"[demo] done in {(time.perf_counter() - start) / 60:.1f} minutes")
    return 0
