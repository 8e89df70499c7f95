"""Transcribe audio files with a saved model, outside any corpus or generator."""
import time
from pathlib import Path

import numpy as np

import utils
from data_generator import normalize_with
from vui.inference import as_decoder, predict_probabilities


def load_for_inference(model_path):
    """The model (with its record) and the feature settings it was trained with."""
    import train_utils
    model = train_utils.load_model(str(model_path))
    config = utils.FeatureConfig(**model.vui_record["feature_config"])
    return model, config


def transcribe_files(model, feature_config, paths, decoder="greedy", warp_search=None,
                     one_speaker=False):
    """One dict per file: file, transcript, audio seconds, wall seconds (features + model + decoder).

    `warp_search` (a vui.warp_search.WarpSearchConfig, or True for its defaults) decodes each
    file at the vocal-tract warp its output is most confident under (the dict gains "warp");
    with `one_speaker` the files are taken as one talker's and share the warp that suits
    them all (vui.warp_search measured that per speaker is the better choice).
    A file that cannot be read gives a dict with an "error" instead of stopping the others.
    """
    stats = model.vui_record["normalization"]
    decoder = as_decoder(decoder, model)
    out, searches = [], {}
    for i, path in enumerate(paths):
        start = time.perf_counter()
        try:
            audio = utils.load_audio(path, feature_config.sample_rate)
            feats = utils.compute_features(audio, feature_config, name=str(path))
        except (ValueError, OSError) as err:
            out.append({"file": str(path), "error": str(err)})
            continue
        feats = normalize_with(feats, stats["mean"], stats["std"])
        row = {"file": str(path), "audio_seconds": round(len(audio) / feature_config.sample_rate, 3)}
        if warp_search:
            searches[len(out)] = _search_one(model, feats, feature_config, stats, warp_search)
            probs = searches[len(out)].chosen_probs()[0]
            row["warp"] = searches[len(out)].chosen_alphas()[0]
        else:
            probs = predict_probabilities(model, [feats])[0]
        row.update(transcript=decoder.decode(probs), seconds=time.perf_counter() - start,
                   decoder=decoder.name)
        out.append(row)
    if one_speaker and len(searches) > 1:
        _share_one_warp(out, searches, decoder)
    for row in out:
        if "seconds" in row:
            row["seconds"] = round(row["seconds"], 4)
    return out


def _search_one(model, feats, feature_config, stats, config):
    from vui.warp_search import WarpSearchConfig, search_warps
    config = (WarpSearchConfig() if config is True else config).validate()
    search = search_warps(model, [feats], feature_config, stats["mean"], stats["std"],
                          config.alphas, config.score)
    search.choose()
    return search


def _share_one_warp(rows, searches, decoder):
    """Re-decode every searched file at the one factor WarpSearch.choose picks for them all."""
    from vui.warp_search import WarpSearch
    alphas = next(iter(searches.values())).alphas
    pooled = WarpSearch(alphas, {a: [s.probs[a][0] for s in searches.values()] for a in alphas},
                        np.hstack([s.scores for s in searches.values()]),
                        np.concatenate([s.frames for s in searches.values()]))
    pooled.choose([0] * len(searches))
    for index, alpha, probs in zip(searches, pooled.chosen_alphas(), pooled.chosen_probs()):
        start = time.perf_counter()
        rows[index].update(transcript=decoder.decode(probs), warp=alpha)
        rows[index]["seconds"] += time.perf_counter() - start


def existing_files(paths):
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"no such audio file(s): {', '.join(map(str, missing))}")
    return [Path(p) for p in paths]
