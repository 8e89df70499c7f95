"""Transcribe audio files with a saved model, outside any corpus or generator."""
import time
from pathlib import Path

import utils
from vui.infer.inference import as_decoder, batch_of, decoder_for_model
from vui.infer.strategy import Context, regroup, run_strategy
from vui.infer.recognizer import Recognizer


def load_for_inference(model_path):
    """The Recognizer of a saved model: its JSON metadata, nothing unpickled."""
    return Recognizer.load(model_path)


def transcribe_files(recognizer, paths, decoder="greedy", strategy=None):
    """One dict per file: file, transcript, decoder, audio seconds, wall seconds (features +
    model + decoder). `recognizer`: a Recognizer, or a model from T.load_model.

    `strategy` (a vui.infer.strategy.Strategy, e.g. one of vui.research.strategies) produces
    the outputs; None: the model as trained (a model trained with a speaker shift: each file
    shifted by its own mean). Each file is its own speaker unless the strategy pools them
    (vui.research.strategies.OneSpeaker: one talker's files, shifted, searched or routed
    together); what it reports per file joins the file's dict ("warp", "routed").
    A file that cannot be read gives a dict with an "error" instead of stopping the others.
    """
    recognizer = Recognizer.from_model(recognizer)
    main = as_decoder(decoder, recognizer)
    rows, feats = _read_features(recognizer, paths)
    readable = sorted(feats)
    members = {}
    for index, label in zip(readable, regroup(strategy, readable)):
        members.setdefault(label, []).append(index)
    for label, indices in members.items():
        _transcribe_group(recognizer, strategy, decoder, main, indices, [label] * len(indices),
                          feats, rows)
    for row in rows:
        if "seconds" in row:
            row["seconds"] = round(row["seconds"], 4)
    return rows


def _transcribe_group(recognizer, strategy, name, main, indices, labels, feats, rows):
    """One group's files through the strategy and their decoders; its time shared out evenly
    among them (one file a group: its own)."""
    start = time.perf_counter()
    model = recognizer.model
    context = _files_context(indices, feats, recognizer.feature_config, name, main)
    outcome = run_strategy(strategy, model, context.features_for(model, range(len(indices))),
                           labels, context)
    for j, (i, d, probs) in enumerate(zip(indices, outcome.decoders_or(main), outcome.probs)):
        rows[i].update(transcript=d.decode(probs), decoder=d.name,
                       **{key: values[j] for key, values in outcome.extras.items()})
    share = (time.perf_counter() - start) / len(indices)
    for i in indices:
        rows[i]["seconds"] += share


def _files_context(indices, feats, feature_config, name, decoder):
    """The Context of files `indices` (`feats`: their un-normalised features), each model
    normalising them with its own training statistics (each side of a gate has its own)."""
    def features_for(other, rows):
        normalize = Recognizer.from_model(other).normalize
        return [normalize(feats[indices[j]]) for j in rows]
    return Context(feature_config, None, features_for,
                   lambda other: decoder_for_model(name, decoder, other))


def _read_features(recognizer, paths):
    """(a row per file, {row index: its un-normalised features} for the files that read)."""
    return read_inputs(paths, recognizer.feature_config.sample_rate, recognizer.raw_features)


def read_inputs(paths, sample_rate, featurize):
    """(a row per input, {row index: featurize(audio, name=path)} for the inputs that read):
    a missing, folder or unreadable input gets an "error" row and stops no other. Every
    transcription path (Keras, the exported runtimes) reads its files here."""
    rows, feats = [], {}
    for path in batch_of(paths, "transcribe"):
        start = time.perf_counter()
        try:
            _check_audio_path(path)
            audio = utils.load_audio(path, sample_rate)
            feats[len(rows)] = featurize(audio, name=str(path))
        except (ValueError, OSError) as err:
            rows.append({"file": str(path), "error": str(err)})
            continue
        rows.append({"file": str(path), "audio_seconds": round(len(audio) / sample_rate, 3),
                     "seconds": time.perf_counter() - start})
    return rows, feats


def _check_audio_path(path):
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; expected an audio file (WAV, FLAC, ...)")
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
