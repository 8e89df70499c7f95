"""The demo: the whole pipeline on the embedded corpus, within the time budget of a 2-core CPU.

corpus (generated once, reused) -> spectrogram features (cached) -> the demo preset (CNN + 2 x
BiGRU, stride 3) trained with CTC under a time budget -> validation CER/WER and a few
transcripts -> the comparison plot -> the model becomes the default of `vui transcribe`.
"""
import time
from pathlib import Path

DEMO_TRAIN_MINUTES = 14.0     # training budget; corpus generation and evaluation come on top
# Training throughput of the demo model (stride 3) on 2 quiet cores in duration buckets of 48,
# validation included: 32-34 s per epoch of the 9,000-utterance corpus (20,040 audio s), i.e.
# ~600 audio s/s; 540 leaves room for the first epoch, which also computes the features. The
# cosine schedule spans the epochs that fit the budget at this speed; the time limit is only a
# guard for a slower machine.
DEMO_AUDIO_SECONDS_PER_SECOND = 540.0
DEMO_BATCH = 48
DEMO_LEARNING_RATE = 2e-3
DEMO_PREDICTIONS = 5
DEMO_AUGMENT = "specaugment"  # vui.augment preset: masks on cached features, ~free per epoch


def demo_optimizer(steps_per_epoch, epochs):
    """Adam with a cosine decay over the run: trains much faster than the seed's SGD in minutes.

    (Measured for the demo preset on the embedded corpus: see README "Demo".)
    """
    import keras
    schedule = keras.optimizers.schedules.CosineDecay(
        DEMO_LEARNING_RATE, decay_steps=max(1, steps_per_epoch * epochs), alpha=0.05)
    return keras.optimizers.Adam(learning_rate=schedule, clipnorm=5.0)


def budget_epochs(gen, minutes):
    """Epochs of `gen`'s training partition that fit `minutes` at the demo's throughput."""
    audio_seconds = float(sum(gen.train_durations))
    return max(1, int(60 * minutes * DEMO_AUDIO_SECONDS_PER_SECOND // max(audio_seconds, 1.0)))


def train(gen, builder, minutes=DEMO_TRAIN_MINUTES, epochs=None, **train_options):
    """The demo's recipe, shared with the benchmarks: Adam + cosine over `epochs` (default: as
    many as fit the budget), jittered duration buckets (batches of like lengths: ~2x less
    padding than random batches), and a time guard of `minutes`. `train_options` go to
    train_model (results_dir, augment, ...)."""
    import train_utils as T
    epochs = budget_epochs(gen, minutes) if epochs is None else epochs
    steps = -(-len(gen.train_audio_paths) // DEMO_BATCH)
    return T.train_model(gen, builder, epochs=epochs, minibatch_size=DEMO_BATCH,
                         optimizer=lambda: demo_optimizer(steps, epochs), sort_by_duration=True,
                         time_limit=60 * minutes, verbose=2, **train_options)


def run(minutes=None, corpus_root="data/embedded", fresh=False):
    start = time.perf_counter()
    minutes = DEMO_TRAIN_MINUTES if minutes is None else minutes
    corpus_root = Path(corpus_root)

    from vui import tts_corpus
    print(f"[demo] 1/5 embedded corpus under {corpus_root} (reused when already there)")
    tts_corpus.build_embedded_corpus(corpus_root, **tts_corpus.saved_settings(corpus_root))

    import data_generator as DG
    import models as M
    import train_utils as T
    from vui import results as R

    print("[demo] 2/5 spectrogram features (cached under .cache/features)")
    gen = DG.AudioGeneratorCached(spectrogram=True, minibatch_size=DEMO_BATCH)
    gen.load_train_data(str(corpus_root / "train_corpus.json"))
    gen.load_validation_data(str(corpus_root / "valid_corpus.json"))

    from vui.augment import training_augmenter
    builder = M.presets.demo()
    augment = training_augmenter(gen, preset=DEMO_AUGMENT)
    print(f"[demo] 3/5 training '{T.model_name(gen, builder, augment)}' for up to "
          f"{minutes:.0f} minutes")
    name = train(gen, builder, minutes=minutes, retrain=fresh, augment=augment)

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
    print(f"[demo] plot: {R.RESULTS_DIR / 'comparison.png'}")
    print(f"[demo] done in {(time.perf_counter() - start) / 60:.1f} minutes")
    return 0
