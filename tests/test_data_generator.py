"""The cached generator against real espeak-ng files, broken files and a real keras model.fit."""
import os
import re

import keras
import numpy as np
import pytest
import soundfile

import char_map
import data_generator as DG
import utils as U
from conftest import speak, write_index


@pytest.fixture
def gen_factory(tmp_path):
    def make(**kwargs):
        kwargs.setdefault("cache_dir", str(tmp_path / "cache"))
        return DG.AudioGeneratorCached(**kwargs)
    return make


@pytest.fixture
def loaded(gen_factory, speech_corpus):
    gen = gen_factory(minibatch_size=4)
    gen.load_train_data(speech_corpus["index"])
    return gen


def all_batches(dataset):
    return [dataset[i] for i in range(len(dataset))]


def test_features_match_utils_and_are_cached_on_disk(loaded, speech_corpus, gen_factory,
                                                     monkeypatch):
    entries = speech_corpus["entries"]
    assert loaded.train_audio_paths == [e["key"] for e in entries]
    assert loaded.train_texts[0] == "a great rascal put in north"
    assert loaded.input_dim == 161
    paths, durations, texts = loaded.partition_data("train")
    assert paths == loaded.train_audio_paths and texts == loaded.train_texts
    assert durations == [e["duration"] for e in entries]
    assert loaded.partition_data("train").durations is loaded.train_durations
    for i, e in enumerate(entries):
        expected = U.compute_features(U.load_audio(e["key"]), loaded.feature_config)
        np.testing.assert_array_equal(loaded.featurize(e["key"]), expected)
        assert os.path.isfile(loaded.cache.disk_path(e["key"]))

    def must_not_compute(*args, **kwargs):
        raise AssertionError("features were recomputed despite the disk cache")
    monkeypatch.setattr(U, "features_from_file", must_not_compute)
    restarted = gen_factory(minibatch_size=4)      # a "restarted notebook": empty memory
    restarted.load_train_data(speech_corpus["index"])
    np.testing.assert_array_equal(restarted.featurize(entries[2]["key"]),
                                  loaded.featurize(entries[2]["key"]))
    np.testing.assert_array_equal(restarted.feats_mean, loaded.feats_mean)


def test_cache_key_follows_settings_and_file_changes(gen_factory, corpus_copy):
    spec, mfcc = gen_factory(), gen_factory(spectrogram=False, mfcc_dim=26)
    path = corpus_copy["entries"][0]["key"]
    assert spec.featurize(path).shape[1] == 161 and mfcc.featurize(path).shape[1] == 26
    assert spec.cache.dir != mfcc.cache.dir
    before = spec.cache.disk_path(path)
    audio, rate = soundfile.read(path)
    soundfile.write(path, audio[:len(audio) // 2], rate)
    os.utime(path, ns=(1, 1))
    fresh = gen_factory()
    assert fresh.cache.disk_path(path) != before
    assert fresh.featurize(path).shape[0] < spec.featurize(path).shape[0]


def test_normalisation_statistics_come_from_training_frames(loaded):
    frames = np.concatenate([loaded.featurize(p) for p in loaded.train_audio_paths])
    np.testing.assert_allclose(loaded.feats_mean, frames.mean(axis=0), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(loaded.feats_std, frames.std(axis=0), rtol=1e-4, atol=1e-4)
    normed = np.concatenate([loaded.get_features("train", i) for i in range(6)])
    np.testing.assert_allclose(normed.mean(axis=0), 0, atol=1e-3)
    np.testing.assert_allclose(normed.std(axis=0), 1, atol=1e-3)


def test_statistics_travel_to_a_fresh_generator(loaded, gen_factory, speech_corpus):
    stats = loaded.normalization_stats()
    fresh = gen_factory(minibatch_size=4)
    fresh.load_validation_data(speech_corpus["index"])
    with pytest.raises(RuntimeError, match="load_train_data"):
        fresh.dataset("validation")
    with pytest.raises(RuntimeError, match="set_normalization"):
        fresh.normalize(loaded.featurize(loaded.train_audio_paths[0]))
    fresh.set_normalization(**stats)
    ours = fresh.dataset("valid", shuffle=False)[0][0]
    theirs = loaded.dataset("train", shuffle=False)[0][0]
    np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError, match=r"expected \(161,\)"):
        fresh.set_normalization(np.zeros(13), np.ones(13))


def test_batch_contract(loaded):
    data = loaded.dataset("train", shuffle=False, output_length=lambda n: (n - 11) // 2 + 1)
    assert isinstance(data, keras.utils.PyDataset)
    batches = all_batches(data)
    assert [x.shape[0] for x, _ in batches] == [4, 2]        # last partial batch included
    for b, (x, y) in enumerate(batches):
        assert x.dtype == np.float32 and y.dtype == np.int32
        assert x.shape[1] % 8 == 0 and x.shape[2] == 161 and (y.shape[1] - 2) % 8 == 0
        for row in range(x.shape[0]):
            i = b * 4 + row
            feats = loaded.get_features("train", i)
            n = feats.shape[0]
            np.testing.assert_array_equal(x[row, :n], feats)
            assert not x[row, n:].any()
            label = char_map.text_to_int_sequence(loaded.train_texts[i])
            assert y[row, 0] == (n - 11) // 2 + 1 and y[row, 1] == len(label)
            assert char_map.int_sequence_to_text(y[row, 2:]) == loaded.train_texts[i]
            assert (y[row, 2 + len(label):] == char_map.BLANK_INDEX).all()
    with pytest.raises(IndexError):
        data[2]


def _epoch_orders(data, epochs=3):
    orders = []
    for _ in range(epochs):
        orders.append([t for b in range(len(data)) for t in data.batch_texts(b)])
        data.on_epoch_end()
    return orders


def test_shuffle_reshuffles_each_epoch_reproducibly(loaded):
    orders = _epoch_orders(loaded.dataset("train", shuffle=True, batch_size=1))
    assert all(sorted(o) == sorted(loaded.train_texts) for o in orders)
    assert len({tuple(o) for o in orders}) > 1
    assert orders == _epoch_orders(loaded.dataset("train", shuffle=True, batch_size=1))
    fixed = _epoch_orders(loaded.dataset("train", shuffle=False))
    assert all(o == loaded.train_texts for o in fixed)


def test_sort_by_duration_holds_across_epochs(loaded):
    by_duration = [t for _, t in sorted(zip(loaded.train_durations, loaded.train_texts))]
    plain = _epoch_orders(loaded.dataset("train", sort_by_duration=True, shuffle=False))
    assert all(o == by_duration for o in plain)
    data = loaded.dataset("train", sort_by_duration=True, shuffle=True, batch_size=2,
                          duration_jitter=0)
    expected_batches = {frozenset(by_duration[i:i + 2]) for i in range(0, 6, 2)}
    for _ in range(4):
        assert {frozenset(data.batch_texts(b)) for b in range(len(data))} == expected_batches
        data.on_epoch_end()


def test_jittered_duration_batches_vary_but_stay_narrow():
    durations = np.linspace(1.0, 8.0, 400)
    gen = DG.AudioGeneratorCached.__new__(DG.AudioGeneratorCached)
    data = DG.UtteranceDataset.__new__(DG.UtteranceDataset)
    data.indices, data.durations = np.arange(400), durations
    data.sort_by_duration, data.shuffle, data.batch_size = True, True, 20
    data.duration_jitter, data.rng = 0.1, np.random.default_rng(0)
    data.epoch = 0
    contents = []
    for _ in range(3):
        data._plan()
        batches = data.batches
        assert sorted(np.concatenate(batches).tolist()) == list(range(400))
        spread = [durations[b].max() / durations[b].min() for b in batches]
        assert np.median(spread) < 1.3                    # random batches: ~5
        padded = sum(durations[b].max() * len(b) for b in batches)
        assert durations.sum() / padded > 0.9             # random batches: ~0.5
        contents.append({frozenset(b.tolist()) for b in batches})
    assert len({frozenset(c) for c in contents}) == 3    # batch contents change every epoch
    with pytest.raises(ValueError, match="duration_jitter"):
        DG.UtteranceDataset(gen, "train", duration_jitter=1.5)


def test_batches_feed_keras_fit(loaded):
    def ctc(y_true, y_pred):
        y_true = keras.ops.cast(y_true, "int32")
        return keras.ops.ctc_loss(y_true[:, 2:], y_pred, y_true[:, 1], y_true[:, 0],
                                  mask_index=char_map.BLANK_INDEX)
    inputs = keras.Input((None, loaded.input_dim))
    model = keras.Model(inputs, keras.layers.Dense(char_map.NUM_CLASSES)(inputs))
    model.compile(optimizer="adam", loss=ctc)
    data = loaded.dataset("train", shuffle=True)
    history = model.fit(data, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert all(np.isfinite(history.history["loss"]))


def test_keras_threaded_batches_arrive_in_order_each_epoch(loaded):
    """Keras' enqueuer makes batches on DATASET_WORKERS threads; fit must still see batch i of
    the epoch's plan at step i, with that epoch's augmentation."""
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter
    masked = lambda feats, rng: feats * rng.uniform(0.5, 1.5)   # draws from the per-epoch rng
    hook = type("Hook", (), {"features": staticmethod(masked)})()   # stateless: both may share it
    data = loaded.dataset("train", shuffle=True, sort_by_duration=True, batch_size=2, augment=hook)
    assert data.workers == DG.DATASET_WORKERS > 1
    reference = loaded.dataset("train", shuffle=True, sort_by_duration=True, batch_size=2,
                               augment=hook)
    adapter = PyDatasetAdapter(data)
    for _ in range(2):
        adapter.on_epoch_begin()
        served = list(adapter.get_numpy_iterator())
        adapter.on_epoch_end()
        expected = [reference[i] for i in range(len(reference))]
        reference.on_epoch_end()
        assert len(served) == len(expected)
        for (x, y), (x_ref, y_ref) in zip(served, expected):
            np.testing.assert_array_equal(y, y_ref)
            np.testing.assert_allclose(x, x_ref)


def test_check_alignable_counts_repeats_and_names_the_utterance():
    label = char_map.text_to_int_sequence("aa")
    DG.check_alignable(label, 3, "u1")
    with pytest.raises(DG.AlignmentError, match=r"'u1'.*needs 3 output frames.*only 2"):
        DG.check_alignable(label, 2, "u1")
    with pytest.raises(DG.AlignmentError, match="empty transcript"):
        DG.check_alignable([], 10, "u2")


def test_unalignable_utterances_are_left_out_with_one_warning(gen_factory, corpus_copy,
                                                              monkeypatch):
    from vui.generator import batches
    entries = list(corpus_copy["entries"])
    rusks = entries[2]["key"]            # "italian rusks": about 1.1 s, ~110 frames
    entries.append({"key": rusks, "duration": entries[2]["duration"], "text": "word " * 40})
    index = write_index(corpus_copy["dir"] / "long_text.jsonl", entries)
    gen = gen_factory(minibatch_size=8)
    gen.load_train_data(index)
    with pytest.warns(UserWarning, match="left out 1 of 7") as caught:
        data = gen.dataset("train", shuffle=False)
    assert rusks in str(caught[0].message)
    assert sum(x.shape[0] for x, _ in all_batches(data)) == 6
    # batches hold partition indices: the left-out utterance (index 6) is in none of them
    assert sorted(i for b in data.batches for i in b) == [0, 1, 2, 3, 4, 5]
    assert data.batch_texts(0) == [gen.train_texts[i] for i in data.batches[0]]
    with pytest.raises(DG.AlignmentError, match=r"no utterance.* gives 5 output frames and "
                                                r"its transcript needs \d+"), \
            pytest.warns(UserWarning, match=r"left out 7 of 7") as caught:
        gen.dataset("train", output_length=lambda n: 5)
    assert str(caught[0].message).count("\n") == 7      # a line per utterance, up to a cap
    monkeypatch.setattr(batches, "MAX_LISTED_UNALIGNABLE", 3)   # a corpus of thousands
    with pytest.raises(DG.AlignmentError), pytest.warns(UserWarning) as caught:
        gen.dataset("train", output_length=lambda n: 5)
    assert str(caught[0].message).splitlines()[1:][-1] == "  ... and 4 more"
    assert len(str(caught[0].message).splitlines()) == 1 + 3 + 1


def test_bad_files_are_skipped_and_reported_once(gen_factory, corpus_copy):
    root, entries = corpus_copy["dir"], list(corpus_copy["entries"])
    (root / "corrupt.wav").write_bytes(b"RIFF....WAVEfmt " + os.urandom(300))
    soundfile.write(root / "silent.wav", np.zeros(16000, np.float32), 16000)
    long_path = root / "long.wav"
    speak("this sentence is long enough", str(long_path))
    bad = [("missing.wav", 1.0, "hello"), ("corrupt.wav", 1.0, "hello"),
           ("silent.wav", 1.0, "hello"), (entries[0]["key"], 1.0, "  "),
           (entries[1]["key"], 1.0, "room 101"), (str(long_path), 30.0, "too long")]
    for key, duration, text in bad:
        entries.append({"key": str(root / key), "duration": duration, "text": text})
    index = write_index(root / "mixed.jsonl", entries)
    with open(index, "a") as f:
        f.write("{not json\n")
    gen = gen_factory()
    with pytest.warns(UserWarning) as caught:
        gen.load_train_data(index)
    summary = [str(w.message) for w in caught if "skipped" in str(w.message)]
    assert len(summary) == 1 and "skipped 7 of 13" in summary[0]
    assert "mixed.jsonl, line 13" in summary[0]
    for key, reason in [("missing.wav", "does not exist"), ("corrupt.wav", "cannot read"),
                        ("silent.wav", "silent"), (entries[0]["key"], "empty transcript"),
                        (entries[1]["key"], "outside the alphabet"),
                        ("long.wav", "max_duration")]:
        assert any(key in line and reason in line for line in summary[0].splitlines()), key
    assert len(gen.train_audio_paths) == 6 and len(gen.skipped["train"]) == 7


def test_a_corpus_whose_audio_has_moved_says_to_index_it_again(gen_factory, speech_corpus,
                                                               tmp_path):
    from conftest import write_index
    moved = [dict(e, key=str(tmp_path / "old-place" / os.path.basename(e["key"])))
             for e in speech_corpus["entries"]]
    index = write_index(tmp_path / "moved.jsonl", moved)
    with pytest.raises(ValueError, match=r"none of its 6 utterances can be used .* does not "
                                         r"exist.*expected its audio files where the index says"
                                         r" they are: an index holds absolute paths"):
        gen_factory().load_train_data(index)


def test_a_clip_longer_than_its_index_says_is_held_to_max_duration(gen_factory, speech_corpus,
                                                                    tmp_path):
    long_path = str(tmp_path / "long.wav")
    real = speak("this sentence is said slowly and is longer than the rest", long_path, speed=120)
    limit = max(e["duration"] for e in speech_corpus["entries"]) + 0.1
    assert real > limit + 0.5
    understated = {"key": long_path, "duration": 0.5, "text": "longer than the rest"}
    index = write_index(tmp_path / "understated.jsonl", speech_corpus["entries"] + [understated])
    gen = gen_factory(max_duration=limit)
    with pytest.warns(UserWarning, match=r"skipped 1 of 7") as caught:
        gen.load_train_data(index)
    line = next(l for l in str(caught[0].message).splitlines() if long_path in l)
    said = re.search(rf"its audio is ([\d.]+) s, over max_duration={limit}, though its "
                     r"index says 0.50 s", line)
    assert said and real - 0.03 <= float(said.group(1)) <= real + 0.005, line  # to one hop
    assert long_path not in gen.train_audio_paths and len(gen.train_audio_paths) == 6


def test_featurize_raises_naming_a_bad_file(gen_factory, tmp_path):
    with pytest.raises(U.AudioError, match="nowhere.wav"):
        gen_factory().featurize(tmp_path / "nowhere.wav")
    with pytest.raises(ValueError, match="unknown partition 'dev'"):
        gen_factory().partition_data("dev")
    with pytest.raises(ValueError, match="has no utterances"):
        gen_factory().dataset("test")


class HalfVolumePlusOne:
    """A trivial augmentation: half the waveform, then add 1 to every normalised feature."""

    def waveform(self, audio, sample_rate, rng):
        assert sample_rate == 16000 and isinstance(rng, np.random.Generator)
        return audio * 0.5

    def features(self, feats, rng):
        return feats + 1.0


def test_augment_hook_is_applied_to_training_batches_only(loaded):
    x, _ = loaded.dataset("train", shuffle=False, augment=HalfVolumePlusOne())[0]
    path = loaded.train_audio_paths[0]
    quiet = U.compute_features(U.load_audio(path) * 0.5, loaded.feature_config)
    expected = loaded.normalize(quiet) + 1.0
    np.testing.assert_allclose(x[0, :len(expected)], expected, rtol=1e-5, atol=1e-4)
    plain, _ = loaded.dataset("train", shuffle=False)[0]
    assert not np.allclose(x[0, :len(expected)], plain[0, :len(expected)])
    with pytest.raises(ValueError, match="training partition only"):
        loaded.dataset("test", augment=HalfVolumePlusOne())


def test_process_pool_gives_the_same_features(gen_factory, speech_corpus, tmp_path):
    serial = gen_factory()
    serial.load_train_data(speech_corpus["index"])
    pooled = gen_factory(n_jobs=2, cache_dir=str(tmp_path / "pool_cache"))
    pooled.load_train_data(speech_corpus["index"])
    for path in serial.train_audio_paths:
        np.testing.assert_array_equal(serial.featurize(path), pooled.featurize(path))


def test_the_pool_names_a_bad_file_and_keeps_every_other(speech_corpus, tmp_path):
    config = U.FeatureConfig("mfcc")
    bad = tmp_path / "not-audio.wav"
    bad.write_bytes(b"RIFF but not a wave file at all")
    good = [e["key"] for e in speech_corpus["entries"]]
    cache = DG.FeatureCache(config, str(tmp_path / "cache"))
    errors = cache.fill(good[:3] + [str(bad)] + good[3:], n_jobs=2)
    assert list(errors) == [str(bad)] and "not-audio.wav" in errors[str(bad)]
    reread = DG.FeatureCache(config, str(tmp_path / "cache"))   # from disk, not memory
    for path in good:
        np.testing.assert_array_equal(reread.lookup(path), U.features_from_file(path, config))


@pytest.mark.parametrize("damage", ["truncated", "nan", "width", "dims", "ints"])
def test_a_damaged_cache_file_is_recomputed(speech_corpus, tmp_path, damage):
    config = U.FeatureConfig("mfcc", mfcc_dim=13)
    path = speech_corpus["entries"][0]["key"]
    cache = DG.FeatureCache(config, str(tmp_path / "cache"))
    truth = cache.get(path)
    if damage == "truncated":
        with open(cache.disk_path(path), "wb") as f:
            f.write(b"\x93NUMPY truncated")
    else:                                          # as another program or a bad disk left it
        np.save(cache.disk_path(path), {
            "nan": np.where(np.arange(truth.size).reshape(truth.shape) == 7, np.nan, truth),
            "width": truth[:, :12], "dims": truth[None], "ints": truth.astype(np.int16)}[damage])
    reread = DG.FeatureCache(config, str(tmp_path / "cache"))
    assert reread.lookup(path) is None
    np.testing.assert_array_equal(reread.get(path), truth)
    np.testing.assert_array_equal(np.load(cache.disk_path(path)), truth)   # mended on disk


def test_a_large_corpus_is_featurised_on_every_core_by_default():
    from vui.features.cache import POOL_MIN_FILES, pool_workers
    from vui.cpu_threads import usable_cores
    assert pool_workers(None, POOL_MIN_FILES - 1) == 1       # a pool's start-up would cost more
    assert pool_workers(None, POOL_MIN_FILES) == usable_cores()
    assert pool_workers(4, 2) == 2 and pool_workers(1, 10_000) == 1


def test_seed_helpers(speech_corpus, tmp_path, capsys):
    cache = str(tmp_path / "cache")
    lines = DG.test_gen(desc_file=speech_corpus["index"], cache_dir=cache)
    assert capsys.readouterr().out.splitlines() == lines and len(lines) == 6
    assert lines[0].startswith("(1, ") and ", 161) (1, 13) italian rusks" in lines[0]
    frames = [int(line.split(",")[1]) for line in lines]
    assert frames == sorted(frames)
    text, audio, mfcc, spec, path = DG.vis_train_features(
        index=1, mfcc_classes=26, desc_file=speech_corpus["index"], cache_dir=cache)
    assert text == "the room was empty when he entered"
    assert path == speech_corpus["entries"][1]["key"]
    assert audio.ndim == 1 and mfcc.shape == (spec.shape[0], 26) and spec.shape[1] == 161
    assert "There are 6 total training examples." in capsys.readouterr().out
    for fig in (DG.plot_raw_audio(audio), DG.plot_mfcc_feature(mfcc),
                DG.plot_spectrogram_feature(spec)):
        assert fig.axes and fig.axes[0].get_title()


def test_normalize_rejects_the_wrong_feature_width(loaded):
    with pytest.raises(ValueError, match=r"expected \(time, 161\)"):
        loaded.normalize(np.zeros((10, 13)))


def test_a_feature_constant_in_training_does_not_explode(loaded):
    mean, std = np.zeros(161), np.ones(161)
    std[160] = 0.0                      # e.g. a band silent in every training clip
    loaded.set_normalization(mean, std)
    feats = np.full((4, 161), 2.0, np.float32)
    normed = loaded.normalize(feats)
    assert normed[0, 0] == 2.0
    np.testing.assert_allclose(normed[:, 160], 2.0 / DG.STD_FLOOR, rtol=1e-6)


@pytest.mark.parametrize("config", [U.FeatureConfig("spectrogram", max_freq=4000),
                                    U.FeatureConfig("mfcc", mfcc_dim=26, step_ms=20),
                                    U.FeatureConfig("raw")])
def test_generator_for_a_models_recorded_features(config):
    from dataclasses import asdict
    assert DG.AudioGeneratorCached.for_features(config).feature_config == config
    gen = DG.AudioGeneratorCached.for_features(asdict(config), minibatch_size=3)
    assert gen.feature_config == config and gen.minibatch_size == 3


def test_a_corpus_folder_opens_by_preset_or_by_a_models_settings(speech_corpus, tmp_path,
                                                                  monkeypatch):
    import shutil
    folder = tmp_path / "corpus"
    folder.mkdir()
    for part in ("train", "valid", "test"):
        shutil.copy(speech_corpus["index"], folder / f"{part}_corpus.json")
    cache = tmp_path / "cache"
    gen = DG.AudioGeneratorCached.for_corpus("mfcc13", folder, cache_dir=cache)
    assert gen.feature_config == U.FeatureConfig("mfcc", mfcc_dim=13)
    assert len(gen.train_texts) == len(gen.valid_texts) == 6 and gen.test_texts == []
    stats = {k: v + 1.0 for k, v in gen.normalization_stats().items()}    # not the folder's
    scoring = DG.AudioGeneratorCached.for_corpus(gen.feature_config, folder, partitions=("test",),
                                                 stats=stats, cache_dir=cache)
    assert scoring.train_texts == [] and len(scoring.test_texts) == 6      # nothing featurised
    np.testing.assert_array_equal(scoring.normalization_stats()["mean"], stats["mean"])
    loaded, load = [], DG.AudioGeneratorCached.load_partition
    monkeypatch.setattr(DG.AudioGeneratorCached, "load_partition",
                        lambda gen, part, index: (loaded.append(part), load(gen, part, index)))
    DG.AudioGeneratorCached.for_corpus("mfcc13", folder, partitions=("validation", "valid"),
                                       cache_dir=cache)
    assert loaded == ["train", "validation"]                     # each index read once
    monkeypatch.undo()
    (folder / "valid_corpus.json").unlink()
    with pytest.raises(FileNotFoundError, match="no validation index .*valid_corpus.json"):
        DG.AudioGeneratorCached.for_corpus("mfcc13", folder, partitions=("validation",),
                                           stats=stats, cache_dir=cache)
    with pytest.raises(ValueError, match="features 'mel': expected one of"):
        DG.AudioGeneratorCached.for_corpus("mel", folder)


def test_speakers_come_from_the_index_or_the_path(gen_factory, corpus_copy):
    entries = [dict(e) for e in corpus_copy["entries"]]
    entries[0]["speaker"] = "kal-slow"
    del entries[1]["speaker"]
    from conftest import write_index
    index = write_index(corpus_copy["dir"] / "speakers.jsonl", entries)
    gen = gen_factory()
    gen.load_test_data(index)
    assert gen.speakers("test")[:3] == ["kal-slow", entries[1]["key"], "espeak-en-us"]
    assert len(gen.speakers("test")) == len(gen.partition_data("test")[0])


def test_a_cache_folder_that_cannot_be_written_costs_a_warning_not_the_run(gen_factory, loaded,
                                                                          speech_corpus, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    gen = gen_factory(minibatch_size=4, cache_dir=str(blocked / "cache"))
    with pytest.warns(UserWarning, match=r"cannot write the feature cache") as said:
        gen.load_train_data(speech_corpus["index"])
    told = [str(w.message) for w in said if "feature cache" in str(w.message)]
    assert len(told) == 1 and "not-a-folder" in told[0] and "set VUI_CACHE_DIR" in told[0]
    assert gen.cache.disk_error                           # said once, then memory only
    for i in range(len(speech_corpus["entries"])):
        assert np.array_equal(gen.get_features("train", i), loaded.get_features("train", i))
    assert not list(tmp_path.glob("**/*.tmp.npy"))


def test_the_holdout_partition_loads_as_the_seeds_partitions_do(gen_factory, speech_corpus):
    gen = gen_factory()
    gen.load_train_data(speech_corpus["index"])
    gen.load_holdout_data(speech_corpus["index"])
    paths, durations, texts = gen.partition_data("holdout")
    assert list(paths) == [e["key"] for e in speech_corpus["entries"]]
    assert list(texts) == [e["text"] for e in speech_corpus["entries"]]
    assert gen.get_features("holdout", 0).shape[1] == gen.input_dim
    assert gen.speakers("holdout") == ["espeak-en-us"] * len(paths)


@pytest.mark.parametrize("value", [0, -1, float("nan"), "abc", None])
def test_max_duration_must_be_a_positive_number_of_seconds(value):
    with pytest.raises(ValueError, match=r"max_duration must be a number of seconds > 0, got"):
        DG.AudioGeneratorCached(max_duration=value)
    assert DG.AudioGeneratorCached(max_duration=float("inf")).max_duration == float("inf")
