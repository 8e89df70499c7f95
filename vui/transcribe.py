"""Transcribe audio files with a saved model, outside any corpus or generator."""
import time
from pathlib import Path

import numpy as np

import utils
from utils import normalize_with
from vui.inference import as_decoder, predict_probabilities, robust_decoder
from vui.speaker_norm import as_config, normalize_speakers, trained_with


def load_for_inference(model_path):
    """The model (with its record) and the feature settings it was trained with."""
    from vui.trained import load_model
    model = load_model(model_path, history=False)   # its JSON metadata: nothing unpickled
    return model, feature_config_of(model)


def feature_config_of(model):
    """The feature settings a loaded model was trained with, from its record."""
    return utils.FeatureConfig(**model.vui_record["feature_config"])


def transcribe_files(model, feature_config, paths, decoder="greedy", warp_search=None,
                     one_speaker=False, gate=None, speaker_norm=None):
    """One dict per file: file, transcript, audio seconds, wall seconds (features + model + decoder).

    `warp_search` (a vui.warp_search.WarpSearchConfig, or True for its defaults) decodes each
    file at the vocal-tract warp its output is most confident under (the dict gains "warp");
    with `one_speaker` the files are taken as one talker's and share the warp that suits
    them all (vui.warp_search measured that per speaker is the better choice).
    `gate` (a vui.model_gate.ModelGate) sends each file, or with `one_speaker` all of them
    together (a gate calibrated per speaker only), to gate.robust when `model` is unsure of it
    (the dict gains "routed").
    `speaker_norm` shifts each file's features, or with `one_speaker` all files' pooled, to
    the training mean (vui.speaker_norm; True, "speaker", "utterance" or a SpeakerNormConfig;
    with `warp_search`, after each warp); with `gate`, only the routed files'. None (the
    default): as the model was trained (vui.speaker_norm.trained_with); False: no shift.
    A file that cannot be read gives a dict with an "error" instead of stopping the others.
    """
    check_gate_for_one_speaker(gate.per if gate is not None else None, one_speaker)
    main_decoder = as_decoder(decoder, model)
    rows, feats = _read_features(paths, feature_config)
    readable = sorted(feats)
    kept_probs, routed = {}, set()
    if gate is not None:
        kept_probs, routed = _route(model, gate, feats, rows, readable, one_speaker)
    asked = as_config(speaker_norm)
    main_shift = trained_with(model) if speaker_norm is None else (asked if gate is None else None)
    sides = [(model, main_decoder, [i for i in readable if i not in routed], main_shift)]
    if routed:
        sides.append((gate.robust, robust_decoder(decoder, main_decoder, gate.robust),
                      [i for i in readable if i in routed], asked))
    for side_model, side_decoder, indices, shift in sides:
        _decode_side(side_model, side_decoder, indices, feats, rows, feature_config,
                     warp_search, one_speaker, kept_probs, shift)
    for row in rows:
        if "seconds" in row:
            row["seconds"] = round(row["seconds"], 4)
    return rows


def check_gate_for_one_speaker(gate_per, one_speaker):
    """A gate calibrated per utterance has a threshold for one clip's score; a talker's pooled
    score over many clips is steadier and sits elsewhere, so routing them together on it would
    misuse the threshold."""
    if one_speaker and gate_per == "utterance":
        raise ValueError("the gate was calibrated per utterance: its threshold is for one file's "
                         "score, not for one speaker's files together; calibrate it per speaker "
                         "(vui evaluate --gate-per speaker --save-gate) or leave out one_speaker")


def _read_features(paths, feature_config):
    """(a row per file, {row index: its un-normalised features} for the files that read)."""
    rows, feats = [], {}
    for path in paths:
        start = time.perf_counter()
        try:
            audio = utils.load_audio(path, feature_config.sample_rate)
            feats[len(rows)] = utils.compute_features(audio, feature_config, name=str(path))
        except (ValueError, OSError) as err:
            rows.append({"file": str(path), "error": str(err)})
            continue
        rows.append({"file": str(path),
                     "audio_seconds": round(len(audio) / feature_config.sample_rate, 3),
                     "seconds": time.perf_counter() - start})
    return rows, feats


def _route(model, gate, feats, rows, indices, one_speaker):
    """({index: `model`'s unwarped output} for the files it keeps, the routed indices): each
    file is its own speaker, or with `one_speaker` all are one."""
    stats = model.vui_record["normalization"]
    probs = []
    for i in indices:
        start = time.perf_counter()
        probs.append(predict_probabilities(model, [_normalised(feats[i], stats)])[0])
        rows[i]["seconds"] += time.perf_counter() - start
    mask = gate.routed(probs, [0] * len(indices) if one_speaker else list(indices))
    for i, r in zip(indices, mask):
        rows[i]["routed"] = bool(r)
    kept = {i: p for i, p, r in zip(indices, probs, mask) if not r}
    return kept, {i for i, r in zip(indices, mask) if r}


def _decode_side(model, decoder, indices, feats, rows, feature_config, warp_search,
                 one_speaker, known_probs, shift=None):
    """Decode `indices` with `model` (its own normalisation), speaker-normalised (`shift`, a
    SpeakerNormConfig) and/or warp-searched when asked; `known_probs` holds unwarped outputs
    already computed (the gate's, never for a shifted side), reused, not rerun."""
    stats = model.vui_record["normalization"]
    normalised = {i: _normalised(feats[i], stats) for i in indices}
    if warp_search and shift is not None and one_speaker and len(indices) > 1:
        return _search_together(model, decoder, indices, normalised, rows, feature_config,
                                stats, warp_search, shift)
    if shift is not None and not warp_search and indices:   # with the warp search: after each warp
        groups = [0] * len(indices) if one_speaker else list(indices)
        normalised = dict(zip(indices, normalize_speakers([normalised[i] for i in indices],
                                                          groups, shift)))
    searches = {}
    for i in indices:
        start = time.perf_counter()
        known = [known_probs[i]] if i in known_probs else None
        if warp_search:
            searches[i] = _search_group(model, [normalised[i]], feature_config,
                                        stats, warp_search, known, shift)
            probs = searches[i].chosen_probs()[0]
            rows[i]["warp"] = searches[i].chosen_alphas()[0]
        else:
            probs = known[0] if known else predict_probabilities(model, [normalised[i]])[0]
        rows[i].update(transcript=decoder.decode(probs), decoder=decoder.name)
        rows[i]["seconds"] += time.perf_counter() - start
    if one_speaker and len(searches) > 1:
        _share_one_warp(rows, searches, decoder)


def _search_together(model, decoder, indices, normalised, rows, feature_config, stats, config,
                     shift):
    """One talker's files warp-searched as one, each warp followed by one shift of them all
    to the training mean (their pooled mean moves with the warp): the warp that suits them
    all. The search's time is shared out evenly among the files."""
    start = time.perf_counter()
    search = _search_group(model, [normalised[i] for i in indices], feature_config, stats,
                           config, shift=shift)
    for i, alpha, probs in zip(indices, search.chosen_alphas(), search.chosen_probs()):
        rows[i].update(transcript=decoder.decode(probs), decoder=decoder.name, warp=alpha)
    share = (time.perf_counter() - start) / len(indices)
    for i in indices:
        rows[i]["seconds"] += share


def _normalised(feats, stats):
    """Features normalised with a model's own training statistics (each side of a gate has its
    own)."""
    return normalize_with(feats, stats["mean"], stats["std"])


def _search_group(model, feats, feature_config, stats, config, known=None, shift=None):
    """search_warps over `feats` (one file's features, or one talker's files), one factor
    chosen for them all; with `shift` (a SpeakerNormConfig), all of them shifted together
    after each warp."""
    from vui.warp_search import WarpSearchConfig, search_warps
    config = (WarpSearchConfig() if config is True else config).validate()
    group = [0] * len(feats)
    search = search_warps(model, feats, feature_config, stats["mean"], stats["std"],
                          config.alphas, config.score, known={1.0: known} if known else None,
                          transform=(lambda warped: normalize_speakers(warped, group, shift))
                          if shift is not None else None)
    search.choose(group)
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
