"""Transcribe with an exported network (ONNX, LiteRT, SavedModel) or the Keras model, through one
interface, `Runtime`: numpy features -> network -> decoder.

    runtime = open_runtime("results/NAME.exports/onnx")     # an export folder (vui export)
    runtime.probabilities([feats])                           # softmax per utterance, cut
    runtime.transcribe(["a.wav"], decoder="greedy", words=True)   # rows, as transcribe_files
    transcribe_with_runtime(["a.wav"], "results/NAME.keras", runtime="auto")

An export is read through its bundle (vui.export.bundle): the features are computed with numpy
(utils.compute_features), normalised and shifted as the model was trained, batched and padded
exactly as the Keras path pads (vui.infer.inference.predict_probabilities: files sorted by
length, up to 32 a batch, lengths padded to a multiple of 32: a bidirectional layer reads the
padding, so the same padding gives the same outputs), and cut with the bundle's output-length
rule. The ONNX and LiteRT paths import neither Keras nor TensorFlow (LiteRT does when its
export needed TensorFlow's ops, which the bundle says); that is what makes a fresh
`vui transcribe` process start fast.

`runtime="auto"` picks, for a trained model `results/NAME.keras`, its first export under
`results/NAME.exports/<format>/` (where `vui export` writes by default) in FASTEST_FIRST order
whose library is installed and which was exported from the model file as it is now (the
bundle keeps the file's sha256); without one, the Keras model itself. It decodes beam_lm with
the language model the model has tuned (its JSON says which), even if the export was made
before; `vui lm tune` also copies the new LM into the exports, so their folders stand alone.
"""
import importlib.util
import shlex
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

import utils
from vui.export.bundle import BUNDLE_FILE, NETWORK_FILES, ExportError, read_bundle
from vui.decode.words import speech_frames
from vui.export.networks import open_network
from vui.features.speaker_norm import one_utterance_input
from vui.infer.inference import feature_batch
from vui.infer.transcribe import read_inputs

RUNTIMES = ("onnx", "litert", "savedmodel", "keras")
# Fastest first for a fresh process transcribing files (load time + first pass; measured in
# docs/experiments/inference.md): ONNX; LiteRT loads as fast but runs its
# batch-1 network slower; SavedModel runs warm as fast as ONNX but imports TensorFlow. Keras is
# the fallback when no export can be used.
FASTEST_FIRST = ("onnx", "litert", "savedmodel")
RUNTIME_PACKAGES = {"onnx": "onnxruntime", "litert": "ai_edge_litert",
                    "savedmodel": "tensorflow", "keras": "keras"}
EXPORTS_SUFFIX = ".exports"       # results/NAME.keras -> results/NAME.exports/<format>/
EXPORT_FILES = (BUNDLE_FILE, *NETWORK_FILES.values())   # a path to one of them: its export
TIME_DECIMALS = 4


@dataclass(eq=False)
class Runtime:
    """An exported (or Keras) network with its bundle: audio in, transcripts out."""
    bundle: object                # vui.export.bundle.Bundle
    network: object               # vui.export.networks: run(x) -> softmax
    kind: str                     # "onnx", "litert", "savedmodel" or "keras"

    @property
    def name(self):
        return self.bundle.model_name

    @property
    def seconds_per_frame(self):
        return self.bundle.seconds_per_frame

    @property
    def feature_config(self):
        return self.bundle.feature_config

    def output_length(self, frames):
        return self.bundle.output_length(frames)

    def raw_features(self, audio, name=None):
        """Un-normalised features of a file path or a waveform at the model's sample rate."""
        return utils.features_of(audio, self.bundle.feature_config, name)

    def features(self, audio, name=None):
        """Normalised features, shifted by their own mean when the model was trained with an
        input shift (one file is its own speaker), as Recognizer.features."""
        return one_utterance_input(self.raw_features(audio, name), self.bundle.mean,
                                   self.bundle.std, self.bundle.input_shift)

    def probabilities(self, features):
        """Softmax outputs, one (frames, 29) array per feature matrix, cut to its length."""
        features = feature_batch(features)
        out = [None] * len(features)
        for batch, frames in batch_plan([len(f) for f in features], self.bundle.max_batch,
                                        self.bundle.pad_frames_to):
            x = np.zeros((len(batch), frames, self.bundle.feature_dim), np.float32)
            for row, i in enumerate(batch):
                x[row, :len(features[i])] = features[i]
            probs = self.network.run(x)
            for row, i in enumerate(batch):
                out[i] = probs[row, :self.output_length(len(features[i]))]
        return out

    def decoder(self, kind=None, hotwords=None):
        """A decoder by name (default: the bundle's); "beam_lm" with the exported LM and its
        tuned weights; or a decoder object, returned as it is."""
        from vui.decode.decoders import make_decoder
        kind = kind or self.bundle.decoder.kind
        if not isinstance(kind, str):
            return kind
        defaults = self.bundle.decoder
        options = {"beam_width": defaults.beam_width, "hotwords": hotwords}
        if kind == "beam_lm":
            if self.bundle.lm_file is None:
                where, then = ((f"the model {self.name!r}", "") if self.kind == "keras" else
                               (f"the export {self.bundle.path}", ", then export again"))
                raise ValueError(f"decoder 'beam_lm' needs a language model: {where} has none "
                                 f"(tune one with `vui lm tune`{then})")
            options.update(lm_path=self.bundle.lm_file, alpha=defaults.alpha, beta=defaults.beta)
        return make_decoder(kind, **options)

    def transcribe(self, paths, decoder=None, words=False, hotwords=None):
        """One dict per file, as vui.infer.transcribe.transcribe_files: file, transcript,
        decoder, audio_seconds, seconds (features + network + decoder), and with words=True
        "words" (text, start, end seconds, confidence). An unreadable file gets "error"."""
        chosen = self.decoder(decoder, hotwords)
        audios = {}                   # kept for the word times' speech frames
        rows, feats = self._read(paths, audios if words else None)
        readable = sorted(feats)
        start = time.perf_counter()
        probs = self.probabilities([feats[i] for i in readable])
        share = (time.perf_counter() - start) / max(len(readable), 1)
        for i, p in zip(readable, probs):
            start = time.perf_counter()
            rows[i].update(transcript=chosen.decode(p), decoder=chosen.name, runtime=self.kind)
            if words:
                rows[i]["words"] = [_word_json(w) for w in self.words(
                    chosen, p, audios[rows[i]["file"]])]
            rows[i]["seconds"] = round(rows[i]["seconds"] + share + time.perf_counter() - start,
                                       TIME_DECIMALS)
        return rows

    def words(self, decoder, probs, audio):
        """The words of one utterance's probabilities, their edges at the speech in `audio`
        (vui.decode.words.snap_to_speech)."""
        speech = speech_frames(audio, self.bundle.feature_config.sample_rate,
                               self.seconds_per_frame, len(probs))
        return decoder.decode_words(probs, self.seconds_per_frame, speech=speech)

    def _read(self, paths, audios=None):
        """(a row per file, {row index: normalised features} for the files that read); each
        file's waveform goes into `audios` (by path) when it is given."""
        def featurize(audio, name=None):
            if audios is not None:
                audios[name] = audio
            return self.features(audio, name)
        return read_inputs(paths, self.bundle.feature_config.sample_rate, featurize)


def batch_plan(lengths, max_batch, pad_to):
    """[(indices, padded frames)]: utterances sorted by length, `max_batch` a batch, each batch
    padded to its longest rounded up to a multiple of `pad_to`: predict_probabilities' plan."""
    order = np.argsort(lengths)
    plan = []
    for first in range(0, len(order), max_batch):
        batch = order[first:first + max_batch]
        longest = max(lengths[i] for i in batch)
        plan.append((batch, -(-longest // pad_to) * pad_to))
    return plan


def _word_json(word):
    return {"text": word.text, "start": word.start, "end": word.end,
            "confidence": round(float(word.confidence), 4)}


# ---- opening a runtime ----

def open_runtime(export_dir, threads=None):
    """The Runtime of an export folder (its vui_bundle.json and network, both checked)."""
    bundle = read_bundle(export_dir)
    return Runtime(bundle, open_network(bundle, threads=threads), bundle.format)


def keras_runtime(model):
    """The Runtime of a trained Keras model (a Recognizer, T.load_model's model or a path):
    the same features, batching and decoding as the exports, with Keras computing."""
    from vui.export.describe import bundle_for
    from vui.export.networks import KerasNetwork
    from vui.infer.recognizer import Recognizer
    if isinstance(model, (str, Path)):
        model = Recognizer.load(model)
    recognizer = Recognizer.from_model(model)
    tuned_lm = (recognizer.info.lm or {}).get("path")       # `vui lm tune`'s, where it lies
    bundle = bundle_for(recognizer, "keras", getattr(recognizer.model, "name", "keras"),
                        lm_path=tuned_lm)
    return Runtime(bundle, KerasNetwork(recognizer.model), "keras")


def default_export_dir(model_path, fmt):
    """Where `vui export` writes a model's `fmt` export unless told: results/NAME.exports/fmt."""
    path = Path(model_path)
    return path.with_name(path.stem + EXPORTS_SUFFIX) / fmt


def load_runtime(source=None, runtime="auto", threads=None):
    """A Runtime from an export folder (or a file in it, such as its model.onnx), a folder of
    exports (NAME.exports), or a trained model (a .keras path or run name; None: the default
    model); see the module's docstring."""
    if runtime not in ("auto", *RUNTIMES):
        raise ValueError(f"unknown runtime {runtime!r}; expected auto or one of {RUNTIMES}")
    path = None if source is None else Path(source)
    if path is not None and path.name in EXPORT_FILES and (path.parent / BUNDLE_FILE).is_file():
        path = path.parent            # its network or bundle file: the export is its folder
    if path is not None and (path / BUNDLE_FILE).is_file():
        return _open_export(path, runtime, threads)
    if path is not None and path.is_dir() and path.name.endswith(EXPORTS_SUFFIX):
        model = path.with_name(path.name[:-len(EXPORTS_SUFFIX)] + ".keras")
        return _best_export(model, runtime, threads, exports=path)
    if path is not None and path.is_dir():
        read_bundle(path)             # raises: names the missing bundle
    model = _model_path(source)
    if runtime == "keras":
        return keras_runtime(model)
    return _best_export(model, runtime, threads)


def _open_export(path, runtime, threads):
    bundle = read_bundle(path)
    if runtime not in ("auto", bundle.format):
        raise ValueError(f"{path} is a {bundle.format} export; runtime {runtime!r} cannot run "
                         f"it (use --runtime {bundle.format} or auto, or pass the .keras model)")
    return Runtime(bundle, open_network(bundle, threads=threads), bundle.format)


def _best_export(model, runtime, threads, exports=None):
    """The first usable export of `model` (only `runtime`'s unless auto); auto falls back to
    the Keras model, a named runtime without a usable export is an error saying why."""
    for fmt in FASTEST_FIRST if runtime == "auto" else (runtime,):
        folder = (exports / fmt) if exports is not None else default_export_dir(model, fmt)
        reason = unusable_export(folder, model, fmt)
        if reason is None:
            return with_model_lm(open_runtime(folder, threads=threads), model_lm(model))
        if runtime != "auto":
            raise ExportError(reason)
    return keras_runtime(model)


def with_model_lm(runtime, lm):
    """`runtime` decoding beam_lm with `lm` (the model's tuned LM, by absolute path) instead
    of the LM its export carries: an export made before `vui lm tune` (or copied from before
    it) decodes as the model does. None: the export's own."""
    if lm is None:
        return runtime
    decoder = replace(runtime.bundle.decoder, lm_path=str(Path(lm["path"]).resolve()),
                      alpha=lm.get("alpha"), beta=lm.get("beta"))
    return replace(runtime, bundle=replace(runtime.bundle, decoder=decoder))


def unusable_export(folder, model, fmt):
    """Why the `fmt` export in `folder` cannot stand in for `model` now, or None: none there,
    its runtime missing, or its network from an earlier .keras file. (Its language model may
    be older than the model's: _best_export gives it the model's.)"""
    if not (Path(folder) / BUNDLE_FILE).is_file():
        return (f"no {fmt} export of {model} at {folder}: run `vui export "
                f"{shlex.quote(str(model))} --format {fmt}`")        # ready to paste
    if importlib.util.find_spec(RUNTIME_PACKAGES[fmt]) is None:
        return f"the {fmt} runtime is not installed: pip install {RUNTIME_PACKAGES[fmt]}"
    if not network_is_current(read_bundle(folder), model):
        return (f"{folder} was exported from an earlier version of {model}: run `vui "
                f"export {shlex.quote(str(model))} --format {fmt}` again")
    return None


def network_is_current(bundle, model):
    """Whether the bundle's network was exported from the .keras file `model` as it is now
    (the bundle keeps the file's sha256; an export without one is taken as current)."""
    wanted = bundle.source.get("sha256")
    if not Path(model).is_file() or wanted is None:
        return True
    from vui.export.describe import file_sha256
    return file_sha256(model) == wanted


def model_lm(model):
    """The language model `model` (a .keras path) has tuned, as its JSON metadata records it
    ({"path", "alpha", "beta", ...}), or None: none, its file gone, or no readable metadata
    (the network does not need it)."""
    from vui import results as R
    try:
        metadata = R.load_metadata(model) if Path(model).is_file() else None
    except ValueError:
        return None
    lm = R.tuned_lm((metadata or {}).get("lm"), model)
    return lm if lm and Path(lm.get("path") or "").is_file() else None


def current_exports(model):
    """The export folders of `model` (a .keras path) where `vui export` writes by default whose
    network is the model's as it is now, whatever their language model."""
    current = []
    for folder in (default_export_dir(model, fmt) for fmt in FASTEST_FIRST):
        try:
            if (folder / BUNDLE_FILE).is_file() and network_is_current(read_bundle(folder), model):
                current.append(folder)
        except ExportError:           # a damaged export is refused by name where it is opened
            pass
    return current


def _model_path(source):
    from vui import results as R
    return R.default_model() if source is None else R.resolve_model_path(source)


def transcribe_with_runtime(paths, runtime_dir_or_model=None, runtime="auto", decoder="greedy",
                            json=False, hotwords=None, threads=None):
    """Rows as transcribe_files gives them (plus "runtime"; with json=True each file's
    "words"), from the runtime load_runtime picks; `vui transcribe --runtime` calls this."""
    engine = load_runtime(runtime_dir_or_model, runtime, threads=threads)
    return engine.transcribe(paths, decoder=decoder, words=json, hotwords=hotwords)
