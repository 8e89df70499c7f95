"""Training, comparison and evaluation: the researcher's loop of the seed notebook.

`train_model(audio_gen, builder)` trains with CTC and leaves under results/ a pickle (history,
configuration, normalisation statistics, timings, CER/WER) and a `.keras` model, named after the
run; re-running the same call resumes an interrupted run, continues a complete one when given
more epochs, and otherwise does nothing.
`plot_comparison` / `comparison_table` compare runs; `get_predictions` / `evaluate` decode.
"""
import numbers
import warnings
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

import models
from vui import results as R
from vui.train import distribute, guards, trained
from vui.train import precision as precision_
from vui.train.precision import dtype_policy  # noqa: F401 (public: T.dtype_policy)
from vui.train.trained import model_info
from vui.model.ctc import CTCLoss
from vui.train.history import DatasetEpochSync, HistoryRecorder
from vui.train.schedule import TimeBudgetSchedule, TimeLimit, TrainingClock
from vui.infer.evaluation import Evaluation, evaluate, get_predictions  # noqa: F401 (public API)
from vui.infer.inference import normalized_features, predict_probabilities
from vui.train.comparison import comparison_table, plot_comparison  # noqa: F401
from vui.train.optimizers import (SEED_CLIPNORM, SEED_LEARNING_RATE,  # noqa: F401 (public)
                                  SEED_MOMENTUM, check_optimizer, fresh_optimizer, seed_optimizer)

DEFAULT_EPOCHS = 20
DEFAULT_MINIBATCH = 20
BACKUP_METADATA = "training_metadata.json"   # Keras' BackupAndRestore: the epoch reached


def model_name(audio_gen, model_builder, augment=None, precision=None):
    """The seed's naming: feature prefix ("Spec", "MFCC", "Raw") + the builder's description,
    + "Aug(<name>)" when trained with augmentation, "MP(bf16)" / "MP(fp16)" in mixed precision
    and "SpkNorm(<per>)" with the generator's speaker_norm (so none ever shares files with the
    plain run)."""
    name = f"{audio_gen.feature_config.short_name} {model_builder.describe()}"
    if augment is not None:
        name += f" Aug({getattr(augment, 'name', None) or type(augment).__name__})"
    if precision in precision_.PRECISION_TAGS:
        name += f" {precision_.PRECISION_TAGS[precision]}"
    speaker_norm = getattr(audio_gen, "speaker_norm", None)
    if speaker_norm is not None:
        strength = "" if speaker_norm.strength == 1 else f" {speaker_norm.strength:g}"
        name += f" SpkNorm({speaker_norm.per}{strength})"
    return name


def train_model(audio_gen, model_builder, epochs=DEFAULT_EPOCHS, minibatch_size=DEFAULT_MINIBATCH,
                optimizer=None, loss_limit=None, sort_by_duration=False, verbose=1,
                results_dir=None, retrain=False, time_limit=None, augment=None, seed=0,
                evaluate_after=True, callbacks=(), time_schedule=None, initial_weights=None,
                precision=None, distribution=None):
    """Train `model_builder` on `audio_gen`'s training partition; returns the model's name.

    The files are `results/<name>.pickle` and `.keras`. A completed run of the same name is
    loaded, not retrained, unless `epochs` is more than it asked for: then it continues from
    its last epoch (its history grows); `retrain=True` starts over.

    `optimizer`: a Keras optimizer, a zero-argument factory or a name ("adam"); default the
    seed's SGD, a fresh one per model. `loss_limit`: stop when the training loss exceeds it (a number, or "auto": 100x
    the first batch's) or turns NaN, keeping the weights of the last good epoch. `time_limit`:
    seconds of training (a resumed run's earlier epochs count); training stops at the end of the
    epoch after which another would overrun it. `time_schedule`: a function of the fraction of
    `time_limit` spent (e.g. `vui.train.schedule.CosineOverTime`) that sets the learning rate before
    every batch, so the decay ends with the budget on any machine. `retrain`: ignore
    finished results of the same name and train again from scratch. `callbacks`: extra Keras
    callbacks, run after the ones that save the history and the backup. `initial_weights`: a
    trained `.keras` model of the same architecture and features to start from instead of a
    random initialisation (a warm restart: a second learning-rate cycle on a finished run);
    give the new run its own `results_dir`, since its name is the same.
    `precision`: None or "float32", "mixed_bfloat16" or "mixed_float16" (Keras mixed
    precision: float32 weights, low-precision arithmetic; the softmax and the CTC loss in
    float32, loss scaling for float16, whose small gradients would underflow). The model is
    saved as float32 layers with the trained weights, so it loads and transcribes in float32;
    its record keeps the precision it was trained in.
    `distribution`: "data_parallel" trains one model on every device JAX sees, all processes
    together (vui.train.distribute; KERAS_BACKEND=jax): the variables are replicated and each
    global batch of `minibatch_size` (a multiple of the devices) is split across them; only
    process 0 writes the run's files.
    """
    _check_arguments(epochs, minibatch_size, time_schedule, time_limit)
    _check_builder(model_builder)
    check_optimizer(optimizer)
    guards.check_loss_limit(loss_limit)
    precision_.check_precision(precision)
    plan = distribute.prepare(distribution, minibatch_size, time_limit)   # before the model
    name = model_name(audio_gen, model_builder, augment, precision)
    results_dir = distribute.results_dir_for(plan, results_dir, name)    # process 0's or a scratch copy
    pickle_path, model_path, backup_dir = R.run_paths(name, results_dir)
    finished = None if retrain else _finished_record(pickle_path, model_path)
    if finished and epochs <= finished.get("epochs_requested", epochs):
        print(f"'{name}' is already trained ({pickle_path}); not trained again. Pass "
              "retrain=True (vui train --retrain) to start over, or more epochs to continue it.")
        _warn_if_another_setup(name, finished, audio_gen, optimizer, minibatch_size, time_schedule)
        return name
    done = len(finished["loss"]) if finished else 0
    guards.check_writable(pickle_path.parent)
    with guards.RunLock(backup_dir, name):
        if retrain:
            _clear_backup(backup_dir)
        keras.utils.set_random_seed(seed)
        model = precision_.build(model_builder, audio_gen.input_dim, precision)
        if initial_weights is not None:
            _load_initial_weights(model, initial_weights, audio_gen)
        if verbose:
            model.summary()
        opt = fresh_optimizer(optimizer)
        setup = _training_setup(audio_gen, opt, minibatch_size, time_schedule)
        _check_resumable(name, pickle_path, backup_dir, finished if done else None, setup, epochs)
        guards.check_space(pickle_path.parent, model.count_params())
        model.compile(optimizer=precision_.loss_scaled(opt, precision), loss=CTCLoss(),
                      jit_compile=keras.backend.backend() == "jax")
        _build_optimizer(model)
        if done:
            _continue_from(model, model_path, done)
        train_data = _dataset(audio_gen, "train", model, minibatch_size, sort_by_duration, augment, True)
        valid_data = _dataset(audio_gen, "validation", model, minibatch_size, sort_by_duration, None, False)
        train_data, valid_data = (distribute.split_batches(d, plan) for d in (train_data, valid_data))

        record = _new_record(name, audio_gen, model_builder, model, epochs, minibatch_size, seed,
                             setup, initial_weights, precision)
        run_callbacks, stoppers, loss_guard = _run_callbacks(
            record, pickle_path, backup_dir, train_data, loss_limit, time_limit, time_schedule)
        _fit(model, train_data, valid_data, epochs, verbose, backup_dir,
             [*run_callbacks, *callbacks])
        distribute.release(plan)          # saving and evaluating run in this process alone
        record["stopped"] = next((s.reason for s in stoppers if s.reason), None)
        record["diverged"] = loss_guard.reason is not None
        model = precision_.float32_model(model, model_builder, audio_gen.input_dim, precision)
        R.save_model_atomically(model, model_path)
        _finish(model, record, pickle_path, audio_gen, evaluate_after, verbose)
    return name


def sweep(*args, **kwargs):
    """Train many builders at once, each `train_model` call a Ray Tune trial (vui.sweep).

    `T.sweep(builders_or_configs, gen_spec, epochs=..., minibatch_size=..., optimizer=...,
    cpus_per_trial=1, gpus_per_trial=None, address=None, asha=False, ...)`: builders are
    RNNModels, preset names or config dicts; `gen_spec` a vui.sweep.spec.GenSpec or its fields
    as a dict (features, corpus or index files, cache folder), since a generator cannot be
    sent to another process. Every trial writes results/ as train_model does, so
    plot_comparison and comparison_table read a sweep's runs, and running the sweep again
    loads the finished runs and resumes those that died. Returns (names, table).
    The runner takes train_model as an argument: vui.sweep never imports this module.
    """
    from vui.sweep.runner import run_sweep
    return run_sweep(train_model, *args, **kwargs)


def _finish(model, record, pickle_path, audio_gen, evaluate_after, verbose):
    """Evaluate the saved model on validation (if asked) and mark its record completed."""
    trained.attach_record(model, record, pickle_path)
    if evaluate_after:
        result = evaluate(model, audio_gen, "validation", verbose=verbose)
        record.update(cer=result.cer, wer=result.wer)
        print(f"{record['name']}: validation CER {result.cer:.2%}  WER {result.wer:.2%}")
    record["completed"] = True
    R.save_record(pickle_path, record)


def _check_builder(builder):
    """A builder, not its name, its class or a built Keras model (each fails far from here
    otherwise)."""
    is_builder = hasattr(builder, "build") and hasattr(builder, "describe")
    if isinstance(builder, type) or not is_builder:
        hint = (f"; for the preset, pass M.presets.{builder}()" if isinstance(builder, str)
                and hasattr(models.presets, builder) else "")
        if isinstance(builder, type):
            hint = f"; the class: make one, {builder.__name__}(...)"
        raise TypeError(f"model_builder must be a builder such as M.RNNModel(...) or "
                        f"M.presets.demo(), got {builder!r}{hint}")


def _check_arguments(epochs, minibatch_size, time_schedule, time_limit):
    """Refuse impossible settings before any work (an untrained model saved as a finished run,
    a batch of nothing)."""
    for what, value in (("epochs", epochs), ("minibatch_size", minibatch_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{what} must be a whole number >= 1, got {value!r}")
    if time_schedule is not None and not time_limit:
        raise ValueError("time_schedule follows the fraction of time_limit spent: pass "
                         "time_limit (seconds) too")
    if time_limit is not None and not float(time_limit) > 0:
        raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}")


def _training_setup(audio_gen, optimizer, minibatch_size, time_schedule):
    """guards.training_setup of this call: the generator's features and training corpus."""
    return guards.training_setup(asdict(audio_gen.feature_config), audio_gen.train_audio_paths,
                                 audio_gen.train_durations, optimizer, minibatch_size,
                                 time_schedule)


def _warn_if_another_setup(name, finished, audio_gen, optimizer, minibatch_size, time_schedule):
    """A run's name says its features and model, not its corpus, optimizer or batch size: a
    call that asks for another of those gets the trained run, and is told so."""
    setup = _training_setup(audio_gen, fresh_optimizer(optimizer), minibatch_size, time_schedule)
    if not audio_gen.train_audio_paths:      # only loading: this call names no corpus
        del setup["corpus"]
    differences = guards.setup_differences(finished.get("setup") or {}, setup)
    if differences:
        warnings.warn(f"run '{name}' was trained with another setup than this call asks for ("
                      + "; ".join(differences) + f"); the trained run is kept: {guards.RETRAIN_HINT}, "
                      f"or {guards.OWN_FOLDER_HINT}", stacklevel=3)


def _check_resumable(name, pickle_path, backup_dir, finished, setup, epochs):
    """An interrupted run resumes from its backup, and a finished one continues to more
    epochs, only with the setup it was started with."""
    if finished is not None:
        guards.check_same_setup(name, finished, setup, f"continue to {epochs} epochs")
    elif (Path(backup_dir) / BACKUP_METADATA).exists() and pickle_path.exists():
        guards.check_same_setup(name, R.load_pickle(pickle_path), setup, "resume from its backup")


def _fit(model, train_data, valid_data, epochs, verbose, backup_dir, callbacks):
    """model.fit, with a failed write (a full disk, a folder gone read-only) told as what it
    means for the run: the last good backup is kept and a rerun resumes from it."""
    try:
        model.fit(train_data, validation_data=valid_data, epochs=epochs, verbose=verbose,
                  callbacks=callbacks)
    except OSError as err:           # h5py's text can span lines: one line here
        raise guards.RunError(f"writing the run's files failed ({' '.join(str(err).split())}); "
                              f"the last good backup is kept in {backup_dir}: fix the cause "
                              "(free space, permissions) and run again to resume") from err


def load_model(audio_gen_or_path, model_builder=None, results_dir=None, precision=None):
    """Load a trained model with its results record and exact `output_length`.

    `T.load_model(audio_gen, builder)` as in the seed (the name follows from both), or
    `T.load_model("results/NAME.keras")` (vui.train.trained.load_model); `precision` as
    the run was trained (it is part of the name).
    """
    if model_builder is None:
        return trained.load_model(audio_gen_or_path)
    name = model_name(audio_gen_or_path, model_builder, precision=precision)
    return trained.load_model(R.run_paths(name, results_dir)[1])


def _load_initial_weights(model, path, audio_gen):
    """Copy a trained model's weights into `model`, after checking that they fit: the same
    layer shapes, and features of the same kind (weights learnt on MFCC mean nothing on a
    spectrogram of the same width)."""
    source = load_model(path)
    ours = asdict(audio_gen.feature_config)
    theirs = model_info(source).feature_settings
    if theirs != ours:
        raise ValueError(f"initial_weights {path}: trained on features {theirs}, but this "
                         f"generator computes {ours}")
    expected = [tuple(w.shape) for w in model.weights]
    found = [tuple(w.shape) for w in source.weights]
    if found != expected:
        raise ValueError(f"initial_weights {path}: its weight shapes {found} do not match the "
                         f"builder's {expected}: expected a model of the same architecture")
    model.set_weights(source.get_weights())


def tune_language_model(model, audio_gen, lm_text=None, order=3, alphas=None, betas=None,
                        beam_width=None, max_utterances=None, verbose=1):
    """Build a word n-gram LM and pick its weight (alpha) and word bonus (beta) on validation.

    The LM comes from the training transcripts by default, or from `lm_text` (a text file, one
    sentence a line, or a corpus index). The result is saved in the model's record, so
    `decoder="beam_lm"` works from then on, and `vui transcribe --decoder beam_lm` too: the
    model's exports in their default folders take the new LM (vui.export.writers).
    """
    from vui.decode import lm
    from vui.decode import lm_tuning
    record = model.vui_record
    lm_path = model.vui_pickle_path.with_suffix(".arpa").resolve()   # from any folder
    lm.build_lm_from_index(lm_text or audio_gen.train_texts, lm_path, order=order)
    paths = audio_gen.partition_data("validation")[0]
    n = len(paths) if max_utterances is None else min(max_utterances, len(paths))
    probs = predict_probabilities(
        model, [normalized_features(model, audio_gen, "validation", i) for i in range(n)])
    options = {k: v for k, v in dict(alphas=alphas, betas=betas, beam_width=beam_width).items() if v}
    tuning = lm_tuning.tune_lm_weights(probs, audio_gen.valid_texts[:n], lm_path,
                                       progress=bool(verbose), **options)
    record["lm"] = {"path": str(lm_path), "order": order, "source": str(lm_text or "train transcripts"),
                    **{k: tuning[k] for k in ("alpha", "beta", "wer", "cer", "beam_width", "grid")}}
    R.save_record(model.vui_pickle_path, record)
    if verbose:
        print(f"LM {lm_path.name}: alpha {tuning['alpha']}, beta {tuning['beta']} -> validation "
              f"WER {tuning['wer']:.2%}, CER {tuning['cer']:.2%} (beam {tuning['beam_width']})")
        for note in lm_tuning.edges_reached(tuning):
            print(f"note: {note}")
    _update_exports(model, record["lm"], verbose)
    return record["lm"]


def _update_exports(model, lm, verbose):
    """The model's current exports (vui export's default folders) take the new LM, so that an
    exported runtime decodes beam_lm with it, as the Keras model does."""
    from vui.export.writers import update_language_model
    from vui.infer.runtimes import current_exports
    for folder in current_exports(model.vui_pickle_path.with_suffix(".keras")):
        update_language_model(folder, lm)
        if verbose:
            print(f"{folder}: now carries this LM")


def compare_decoders(model, audio_gen, partition="validation", decoders=("greedy", "beam", "beam_lm"),
                     max_utterances=None, verbose=1):
    """CER/WER and real-time factor of each decoder on a partition, saved in the model's record
    (the comparison table shows them as columns)."""
    rows = {}
    for kind in decoders:
        if kind == "beam_lm" and not model.vui_record.get("lm"):
            continue
        result = evaluate(model, audio_gen, partition, decoder=kind,
                          max_utterances=max_utterances, verbose=verbose)
        rows[kind] = {"cer": result.cer, "wer": result.wer, "partition": partition,
                      "real_time_factor": result.real_time_factor}
    model.vui_record.setdefault("decoders", {}).update(rows)
    R.save_record(model.vui_pickle_path, model.vui_record)
    return rows


def _finished_record(pickle_path, model_path):
    """The record of a completed run, or None (none, or interrupted: that one resumes from its
    backup instead)."""
    if not (pickle_path.exists() and model_path.exists()):
        return None
    record = R.load_pickle(pickle_path)
    return record if record.get("completed") else None


def _continue_from(model, model_path, done):
    """Start from a completed run's saved model, its weights and its optimizer's state, at
    epoch `done`: the seed notebook reruns a finished configuration with more epochs (200
    after 100) and expects training to go on. `_initial_epoch` is where Keras'
    BackupAndRestore puts a resumed run, so every callback sees one starting epoch."""
    model.load_weights(model_path)
    model._initial_epoch = done


def _build_optimizer(model):
    """The optimizer's variables made now, not inside the first traced training step: on
    TensorFlow, without a distribution strategy, Keras defers them to that trace, and a
    tf.function that creates variables is traced twice (seconds per model; docs/experiments/
    scale.md, "One trace per training step"). A resumed run's weights load into them."""
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _clear_backup(backup_dir):
    import shutil
    shutil.rmtree(backup_dir, ignore_errors=True)


def _dataset(audio_gen, partition, model, minibatch_size, sort_by_duration, augment, training):
    return audio_gen.dataset(partition, output_length=model.output_length,
                             batch_size=minibatch_size,
                             sort_by_duration=sort_by_duration or None,
                             shuffle=None if training else False,
                             augment=augment if training else None)


def _run_callbacks(record, pickle_path, backup_dir, train_data, loss_limit, time_limit,
                   time_schedule):
    """The run's own callbacks, in the order they must run: the backup (which puts a resumed
    model back), the dataset's epoch, the history (which restores a resumed record), the clock
    that reads it, the learning-rate schedule, the stoppers. Returns (callbacks, stoppers,
    the loss guard)."""
    clock = TrainingClock(record)
    schedule = [] if time_schedule is None else [TimeBudgetSchedule(time_schedule, time_limit, clock)]
    loss_guard = guards.LossGuard(loss_limit)
    stoppers = [loss_guard, TimeLimit(time_limit, clock)]
    return ([guards.AtomicBackupAndRestore(backup_dir, record["name"]),
             DatasetEpochSync(train_data), HistoryRecorder(record, pickle_path), clock,
             *schedule, *stoppers], stoppers, loss_guard)


def _new_record(name, audio_gen, builder, model, epochs, minibatch_size, seed, setup,
                initial_weights, precision):
    """The run's record as it starts: what was trained, on what, how; the history to come."""
    stats = audio_gen.normalization_stats()
    return {
        "name": name, "loss": [], "val_loss": [], "epoch_times": [], "learning_rate": [],
        "model_config": builder.to_config(),
        "feature_config": asdict(audio_gen.feature_config),
        "normalization": {k: np.asarray(v) for k, v in stats.items()},
        "speaker_norm": _speaker_norm_record(audio_gen),
        "params": int(model.count_params()), "epochs_requested": epochs,
        "minibatch_size": minibatch_size, "seed": seed, "backend": keras.backend.backend(),
        "train_utterances": len(audio_gen.train_audio_paths),
        "train_index": getattr(audio_gen, "index_files", {}).get("train"),
        "train_audio_seconds": float(np.sum(audio_gen.train_durations)),
        "completed": False, "stopped": None, "cer": None, "wer": None,
        "setup": setup, "time_schedule": setup["time_schedule"],
        "initial_weights": None if initial_weights is None else str(initial_weights),
        "precision": precision or precision_.FLOAT32,
    }


def _speaker_norm_record(audio_gen):
    """The generator's training-time speaker shift as a dict (vui.train.trained.model_info
    reads it back), or None."""
    config = getattr(audio_gen, "speaker_norm", None)
    return None if config is None else asdict(config)
