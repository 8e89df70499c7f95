"""A trained model as one object: everything inference needs, nothing it must look up.

`Recognizer.load("results/NAME.keras")` bundles the Keras model with the feature settings,
the training partition's normalisation statistics, the input shift it was trained with (if
any) and its tuned language-model weights, read from the JSON metadata beside the model, so
opening a model runs no code of its author's. `features(audio)`, `probabilities(features)`
and `transcribe(paths)` are the whole inference path; evaluation over a corpus
(vui.infer.inference.evaluate) and the research methods build on the same pieces.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import utils
from utils import normalize_with
from vui import results as R
from vui.infer.inference import as_decoder, predict_probabilities
from vui.features.speaker_norm import SpeakerNormConfig, trained_with, utterance_shifts


@dataclass(frozen=True)
class Recognizer:
    model: object                         # the Keras model, with vui_record and output_length
    feature_config: utils.FeatureConfig
    mean: np.ndarray
    std: np.ndarray
    speaker_norm: SpeakerNormConfig | None = None

    @classmethod
    def from_model(cls, model):
        """From a model that carries its record (T.load_model's, or train_model's)."""
        record = model.vui_record
        stats = record["normalization"]
        return cls(model, utils.FeatureConfig(**record["feature_config"]),
                   np.asarray(stats["mean"], np.float32), np.asarray(stats["std"], np.float32),
                   trained_with(model))

    @classmethod
    def load(cls, model_path):
        """`results/NAME.keras` (or its `.pickle`, or a run's name) and its metadata."""
        from vui.train.trained import load_model
        return cls.from_model(load_model(model_path, history=False))

    @property
    def name(self):
        return self.model.vui_record.get("name")

    def save(self, model_path):
        """The model and its metadata (and, for `T.load_model`, its record) at model_path."""
        model_path = Path(model_path)
        R.save_model_atomically(self.model, model_path)
        R.save_record(model_path.with_suffix(".pickle"), self.model.vui_record)

    def features(self, audio):
        """Normalised features of a file path or a 16 kHz waveform, shifted by their own mean
        when the model was trained with a speaker shift (one file: its own frames)."""
        config, name = self.feature_config, None
        if isinstance(audio, (str, Path)):
            audio, name = utils.load_audio(str(audio), config.sample_rate), str(audio)
        raw = utils.compute_features(np.asarray(audio, np.float32), config, name=name)
        feats = normalize_with(raw, self.mean, self.std)
        if self.speaker_norm is None:
            return feats
        return feats - utterance_shifts([feats], [0], self.speaker_norm)[0]

    def probabilities(self, features):
        """Softmax outputs, one (frames, 29) array per feature matrix, cut to its length."""
        return predict_probabilities(self.model, list(features))

    def decoder(self, kind="greedy"):
        """A decoder by name ("greedy", "beam", "beam_lm" with the tuned weights) or object."""
        return as_decoder(kind, self.model)

    def transcribe(self, audio, decoder="greedy"):
        """Transcripts of file paths or waveforms, in order."""
        decode = self.decoder(decoder).decode
        return [decode(p) for p in self.probabilities([self.features(a) for a in audio])]
