"""A trained model as one object: everything inference needs, nothing it must look up.

`Recognizer.load("results/NAME.keras")` bundles the Keras model with its ModelInfo (feature
settings, the training partition's normalisation statistics, the input shift it was trained
with, its tuned language-model weights), read from the JSON metadata beside the model, so
opening a model runs no code of its author's. `features(audio)`, `probabilities(features)` and
`transcribe(audio)` are the whole inference path; `vui.infer.transcribe.transcribe_files` and
`vui.infer.evaluation.evaluate` take a Recognizer (or the Keras model T.load_model returns).
"""
from dataclasses import dataclass
from pathlib import Path

import utils
from utils import normalize_with
from vui import results as R
from vui.features.speaker_norm import one_utterance_input
from vui.infer.inference import as_decoder, batch_of, predict_probabilities
from vui.train.trained import ModelInfo, load_model, model_info

STRIDE_PROBE_FRAMES = 10_000      # input frames whose output length gives the model's stride


@dataclass(frozen=True, eq=False)
class Recognizer:
    model: object                         # the Keras model (with its record and output_length)
    info: ModelInfo

    def __post_init__(self):
        missing = [f for f in ("feature_config", "mean") if getattr(self.info, f) is None]
        if missing:
            raise ValueError(f"model {self.info.name or '(unnamed)'}: its record has no "
                             f"{' or '.join(missing)}; expected a model from T.train_model or "
                             "T.load_model")

    @classmethod
    def from_model(cls, model):
        """From a model that carries its record (T.load_model's, or train_model's); a
        Recognizer is returned as it is."""
        return model if isinstance(model, cls) else cls(model, model_info(model))

    @classmethod
    def load(cls, model_path):
        """`results/NAME.keras` (or its `.pickle`, or a run's name) and its metadata."""
        return cls.from_model(load_model(model_path, history=False))

    @property
    def name(self):
        return self.info.name

    @property
    def feature_config(self):
        return self.info.feature_config

    @property
    def seconds_per_frame(self):
        """The duration of one output frame: the feature step times the model's total stride
        (its output length over a long input gives the stride exactly, whatever the layers)."""
        frames = STRIDE_PROBE_FRAMES
        stride = round(frames / self.model.output_length(frames))
        return self.feature_config.step_ms / 1000 * stride

    def save(self, model_path):
        """The model and its metadata (and, for `T.load_model`, its record) at model_path."""
        model_path = Path(model_path)
        R.save_model_atomically(self.model, model_path)
        R.save_record(model_path.with_suffix(".pickle"), self.model.vui_record)

    def raw_features(self, audio, name=None):
        """Un-normalised features of a file path or a waveform at the model's sample rate
        (`name`: the waveform's, for error messages)."""
        return utils.features_of(audio, self.feature_config, name)

    def normalize(self, raw):
        """Features normalised with the model's training statistics."""
        return normalize_with(raw, self.info.mean, self.info.std)

    def features(self, audio):
        """Normalised features of one file or waveform, shifted by their own mean when the
        model was trained with a speaker shift (one file: its own frames)."""
        return one_utterance_input(self.raw_features(audio), self.info.mean, self.info.std,
                                   self.info.speaker_norm)

    def probabilities(self, features):
        """Softmax outputs, one (frames, 29) array per feature matrix, cut to its length."""
        return predict_probabilities(self.model, features)

    def decoder(self, kind="greedy", hotwords=None):
        """A decoder by name ("greedy", "beam", "beam_lm" with the tuned weights) or object;
        hotwords: words the beam decoders favour."""
        return as_decoder(kind, self, hotwords)

    def transcribe(self, audio, decoder="greedy"):
        """Transcripts of file paths or waveforms, in order."""
        decode = self.decoder(decoder).decode
        audio = batch_of(audio, "transcribe", item_ndim=1)
        return [decode(p) for p in self.probabilities([self.features(a) for a in audio])]
