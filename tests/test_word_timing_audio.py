"""Word times and confidences on real speech (issue 41, point 4).

tests/test_words.py checks vui.decode.words' rule on hand-made posteriors. Here a model trained
through the user's path (T.train_model on an index of espeak-ng speech) transcribes utterances
whose word positions are known to the sample: each word is spoken on its own, its leading and
trailing silence trimmed by amplitude (TRIM_DB below the word's peak), and the words are joined
with silences of set lengths. Transcribed as `vui transcribe --json` does (the model's Keras
runtime, `transcribe(paths, words=True)`), with the greedy and with the beam decoder, every
word's start and end lie within one output frame (`seconds_per_frame`) of those positions, and a word mixed with white noise is less
confident than the same word clean. `pytest -s` prints every word's timing error and the
confidences.

The vocabulary is four words (two voices, one and two speeds) in every order of one to three
words, spoken whole by espeak-ng and also joined from the single words with random silences, so
the model learns to put the word delimiter into a pause. The test utterances are four words
long, an order never trained, and two of them use a speed or voice setting never trained.

The model is convolutional only (two Conv1D layers of stride 2: 40 ms output frames, each seeing
about 0.1 s of audio either side). CTC fixes which characters are emitted, not on which frames,
so a model's word times are only as good as the alignment it learnt: a recurrent layer sees the
whole utterance and can emit a word's letters in a neighbouring pause or word, which no rule on
its outputs can undo; a convolution's letters stay within its receptive field of the word's
sound, but may still move within it. The seed is fixed and training on a CPU is deterministic,
so the model is the same every run.

Times from the letters' frames alone missed the known positions by up to 1.25 frames with
this model (more with others): the posteriors hold nothing finer (they are near 0 or 1 at a
word's edges). The runtimes therefore move each word's edges to the speech around its letters
(vui.decode.words.snap_to_speech), and the timing test checks those times.
"""
import itertools

import keras
import numpy as np
import pytest
import soundfile

import data_generator as DG
import models as M
import train_utils as T
from conftest import speak, write_index
from vui import results as R
from vui.decode.words import Word
from vui.infer.runtimes import load_runtime

RATE = 16000
WORDS = ("cat", "dog", "fish", "sun")
TRAIN_VOICES = (("en-us", 150), ("en-gb", 180))     # (espeak-ng voice, words per minute)
TRIM_DB = -40                # a word's sound: from its first to its last sample above this level
                             # relative to its peak (from -30 to -50 dB, starts move by under 2 ms,
                             # ends by up to 17 ms: the g of "dog" fades slowly)
TRAIN_LEAD = (0.02, 0.08)    # seconds of silence before the first word of a joined utterance
TRAIN_GAP = (0.1, 0.6)       # ... between two words
TRAIN_TAIL = (0.1, 0.4)      # ... after the last word
EPOCHS = 20
SEED = 1
TEST_LEAD, TEST_TAIL = 0.05, 0.3
TEST_GAPS = (0.35, 0.5, 0.4)                        # seconds between the four test words
NOISE_SNR_DB = 10            # white noise over one word, relative to that word's own power
NOISE_DRAWS = 5

# (word order, voice, speed): the trained voices, and a speed and a voice setting never trained
TEST_UTTERANCES = [
    (("cat", "dog", "fish", "sun"), "en-us", 150),
    (("sun", "fish", "dog", "cat"), "en-us", 150),
    (("dog", "sun", "cat", "fish"), "en-us", 190),
    (("fish", "cat", "sun", "dog"), "en-gb", 170),
]


def silence(seconds):
    return np.zeros(int(round(seconds * RATE)), np.float32)


def spoken_word(word, folder, voice, speed):
    """One word spoken alone: (the whole file's path, its sound trimmed by amplitude)."""
    path = folder / f"{word}-{voice}-{speed}.wav"
    if not path.exists():
        speak(word, str(path), RATE, voice=voice, speed=speed)
    audio = soundfile.read(path, dtype="float32")[0]
    loud = np.flatnonzero(np.abs(audio) > np.abs(audio).max() * 10 ** (TRIM_DB / 20))
    return path, audio[loud[0]:loud[-1] + 1]


def joined(sounds, gaps, lead, tail):
    """Sounds joined by silences: the waveform and each sound's (start, end) in seconds."""
    parts, spans, at = [silence(lead)], [], len(silence(lead))
    for sound, gap in zip(sounds, list(gaps) + [tail]):
        spans.append((at / RATE, (at + len(sound)) / RATE))
        parts += [sound, silence(gap)]
        at += len(sound) + len(parts[-1])
    return np.concatenate(parts), spans


def training_corpus(folder):
    """Index entries: each word alone, every order of two and three words spoken whole, and
    every order of two and three words joined from the single words with random silences."""
    rng = np.random.default_rng(0)
    entries = []

    def add(path, text):
        entries.append({"key": str(path), "text": text,
                        "duration": soundfile.info(str(path)).frames / RATE})

    for voice, speed in TRAIN_VOICES:
        sounds = {}
        for word in WORDS:
            path, sounds[word] = spoken_word(word, folder, voice, speed)
            add(path, word)
        for n in (2, 3):
            for order in itertools.permutations(WORDS, n):
                text, stem = " ".join(order), f"{'-'.join(order)}-{voice}-{speed}"
                speak(text, str(folder / f"{stem}.wav"), RATE, voice=voice, speed=speed)
                add(folder / f"{stem}.wav", text)
                audio, _ = joined([sounds[w] for w in order], rng.uniform(*TRAIN_GAP, n - 1),
                                  rng.uniform(*TRAIN_LEAD), rng.uniform(*TRAIN_TAIL))
                soundfile.write(folder / f"{stem}-pauses.wav", audio, RATE, subtype="PCM_16")
                add(folder / f"{stem}-pauses.wav", text)
    return write_index(folder / "index.jsonl", entries)


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory):
    """The model trained on the vocabulary, opened as a user opens a saved run."""
    base = tmp_path_factory.mktemp("word-timing")
    (base / "audio").mkdir()
    index = training_corpus(base / "audio")
    gen = DG.AudioGeneratorCached(spectrogram=False, mfcc_dim=13, minibatch_size=8, n_jobs=1,
                                  cache_dir=base / "cache")
    gen.load_train_data(index)
    gen.load_validation_data(index)
    builder = M.RNNModel(cnn_config=M.CNNConfig(filters=128, kernel_size=7, conv_stride=2,
                                                cnn_layers=2, conv_border_mode="same",
                                                cnn_dropout_rate=0),
                         rnn_layers=0, dropout_rate=0, name_suffix="WordTiming")
    name = T.train_model(gen, builder, epochs=EPOCHS, minibatch_size=8, verbose=0, seed=SEED,
                         optimizer=lambda: keras.optimizers.Adam(1e-2),
                         results_dir=base / "results", evaluate_after=False)
    return load_runtime(R.run_paths(name, base / "results")[1], "keras")


def spoken_utterance(words, voice, speed, folder):
    """The words spoken separately, trimmed and joined: waveform and known (start, end)s."""
    sounds = [spoken_word(w, folder, voice, speed)[1] for w in words]
    return joined(sounds, TEST_GAPS, TEST_LEAD, TEST_TAIL)


def recognised_words(recognizer, audio, folder, decoder="greedy"):
    """The words `vui transcribe --json` gives for the waveform (written as a float WAV)."""
    path = folder / "utterance.wav"
    soundfile.write(path, audio, RATE, subtype="FLOAT")
    row = recognizer.transcribe([path], decoder=decoder, words=True)[0]
    return [Word(**word) for word in row["words"]]


@pytest.mark.parametrize("decoder", ["greedy", "beam"])   # beam: pyctcdecode's word frames
def test_word_times_are_within_one_output_frame(recognizer, tmp_path, decoder):
    spf = recognizer.seconds_per_frame
    errors = []                  # (word, utterance, start error, end error) in seconds
    for words, voice, speed in TEST_UTTERANCES:
        audio, known = spoken_utterance(words, voice, speed, tmp_path)
        found = recognised_words(recognizer, audio, tmp_path, decoder)
        assert [w.text for w in found] == list(words)
        print(f"\n{' '.join(words)} ({voice}, {speed} wpm, {decoder}), output frame "
              f"{spf * 1000:g} ms:")
        for word, (start, end) in zip(found, known):
            errors.append((word.text, " ".join(words), word.start - start, word.end - end))
            print(f"  {word.text:5} start {word.start:6.3f} s (known {start:6.3f}: "
                  f"{errors[-1][2] / spf:+.2f} frames, {errors[-1][2] * 1000:+4.0f} ms)   "
                  f"end {word.end:6.3f} s (known {end:6.3f}: {errors[-1][3] / spf:+.2f} frames, "
                  f"{errors[-1][3] * 1000:+4.0f} ms)")
    late = [(w, u, round(s / spf, 2), round(e / spf, 2)) for w, u, s, e in errors
            if max(abs(s), abs(e)) > spf]
    assert not late, f"more than one output frame ({spf} s) off (word, utterance, start and " \
                     f"end error in frames): {late}"


@pytest.mark.parametrize("noisy", WORDS)
def test_a_noisy_word_is_less_confident_than_clean(recognizer, tmp_path, noisy):
    """White noise over one word only, NOISE_DRAWS times: on average over the draws, the word
    found there is less confident than every word of the clean utterance."""
    words, voice, speed = TEST_UTTERANCES[0]
    clean, known = spoken_utterance(words, voice, speed, tmp_path)
    at = words.index(noisy)
    first, last = (int(round(t * RATE)) for t in known[at])
    noise_power = np.mean(clean[first:last] ** 2) / 10 ** (NOISE_SNR_DB / 10)
    before = recognised_words(recognizer, clean, tmp_path)
    assert [w.text for w in before] == list(words)
    print(f"\n'{noisy}' with white noise at {NOISE_SNR_DB} dB SNR; clean: "
          + "  ".join(f"{w.text} {w.confidence:.4f}" for w in before))
    noisy_confidences = []
    for draw in range(NOISE_DRAWS):
        audio = clean.copy()
        noise = np.random.default_rng(draw).normal(size=last - first) * np.sqrt(noise_power)
        audio[first:last] += noise.astype(np.float32)
        after = recognised_words(recognizer, audio, tmp_path)
        print(f"  draw {draw}: " + "  ".join(f"{w.text} {w.confidence:.4f}" for w in after))
        # the noise may change the word's letters, not the words around it or their number
        assert len(after) == len(words)
        assert [w.text for i, w in enumerate(after) if i != at] == \
            [w for i, w in enumerate(words) if i != at]
        noisy_confidences.append(after[at].confidence)
    print(f"  '{noisy}': clean {before[at].confidence:.4f}, noisy {np.mean(noisy_confidences):.4f}"
          f" on average")
    assert np.mean(noisy_confidences) < min(w.confidence for w in before)
