"""Transcribe audio files with a saved model, outside any corpus or generator."""
import time
from pathlib import Path

import utils
from data_generator import normalize_with
from vui.inference import as_decoder, predict_probabilities


def load_for_inference(model_path):
    """The model (with its record) and the feature settings it was trained with."""
    import train_utils
    model = train_utils.load_model(str(model_path))
    config = utils.FeatureConfig(**model.vui_record["feature_config"])
    return model, config


def transcribe_files(model, feature_config, paths, decoder="greedy"):
    """One dict per file: file, transcript, audio seconds, wall seconds (features + model + decoder).

    A file that cannot be read gives a dict with an "error" instead of stopping the others.
    """
    stats = model.vui_record["normalization"]
    decoder = as_decoder(decoder, model)
    out = []
    for path in paths:
        start = time.perf_counter()
        try:
            audio = utils.load_audio(path, feature_config.sample_rate)
            feats = utils.compute_features(audio, feature_config, name=str(path))
        except (ValueError, OSError) as err:
            out.append({"file": str(path), "error": str(err)})
            continue
        probs = predict_probabilities(model, [normalize_with(feats, stats["mean"], stats["std"])])[0]
        text = decoder.decode(probs)
        out.append({"file": str(path), "transcript": text,
                    "audio_seconds": round(len(audio) / feature_config.sample_rate, 3),
                    "seconds": round(time.perf_counter() - start, 4), "decoder": decoder.name})
    return out


def existing_files(paths):
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"no such audio file(s): {', '.join(map(str, missing))}")
    return [Path(p) for p in paths]
