"""Embedded TTS corpus: sentences, the held-out plan, and a tiny real build with every engine."""
import json
import os

import numpy as np
import pytest
import soundfile as sf

from vui.data import corpus_index as CI
from vui.data import corpus_plan as P
from vui.data import sentences as S
from vui.data import tts_corpus as T
from vui.data import tts_engines as E


@pytest.fixture(scope="module")
def voices():
    return E.all_voices()


def test_clean_sentences_filters_and_dedups():
    raw = ["The cat sat.", "the  CAT sat", "It costs 5 dollars", "Hi there",
           "café au lait is nice", "well-known facts are boring"]
    assert S.clean_sentences(raw) == ["the cat sat", "well known facts are boring"]


def test_real_sources_give_many_in_alphabet_sentences():
    wordnet = S.load_sentences(("wordnet",))
    assert len(wordnet) > 30000
    both = S.load_sentences()
    assert len(both) > len(wordnet)
    assert all(set(s) <= set("' abcdefghijklmnopqrstuvwxyz") for s in both)
    assert all(S.MIN_WORDS <= len(s.split()) <= S.MAX_WORDS for s in both)
    with pytest.raises(ValueError, match="unknown sentence source"):
        S.load_sentences(("bible",))
    with pytest.raises(S.SentenceSourceError, match="wordnet-base"):
        S.wordnet_examples("/nonexistent")


def test_split_is_disjoint_and_seeded():
    pool = [f"sentence number {w}" for w in "abcdefghijklmnopqrstuvwxyz"]
    a = S.split_sentences(pool, {"train": 10, "valid": 5, "test": 5}, seed=1)
    assert a == S.split_sentences(list(reversed(pool)), {"train": 10, "valid": 5, "test": 5}, 1)
    assert a != S.split_sentences(pool, {"train": 10, "valid": 5, "test": 5}, seed=2)
    assert not set(a["train"]) & set(a["valid"]) and not set(a["valid"]) & set(a["test"])
    with pytest.raises(ValueError, match="only 26"):
        S.split_sentences(pool, {"train": 30}, 0)


def test_voice_inventory_covers_debian_engines(voices):
    families = {v.family for v in voices}
    assert {"espeak", "kal", "ked", "slt", "awb", "rms"} <= families
    names = {v.name for v in voices}
    assert {"kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts", "kal16", "slt"} <= names
    assert {"en-gb-scotland+klatt", "en-us+m3", "en-029+f5"} <= names
    assert not any(v.name.startswith("awb_time") or "mb-" in v.name for v in voices)


def _cell(s):
    return (s.engine, s.voice, s.rate, s.pitch)


def test_plan_holds_out_speakers_and_covers_families(voices):
    sizes = {"train": 4500, "valid": 400, "test": 400}
    plan = P.plan_speakers(voices, sizes, seed=0)
    assert plan == P.plan_speakers(voices, sizes, seed=0)
    train = {_cell(s) for s in plan["train"]}
    train_espeak = {s.voice for s in plan["train"] if s.family == "espeak"}
    for part in ("valid", "test"):
        assert not {_cell(s) for s in plan[part]} & train
        assert not {s.voice for s in plan[part] if s.family == "espeak"} & train_espeak
    assert {s.family for s in plan["train"]} == {s.family for s in plan["valid"]} \
        == {v.family for v in voices}
    assert not {_cell(s) for s in plan["valid"]} & {_cell(s) for s in plan["test"]}
    ids = [s.speaker_id for part in plan.values() for s in part]
    assert len(ids) == len(set(ids))


def test_plan_holdout_family_only_in_holdout(voices):
    sizes = {"train": 400, "valid": 40, "test": 40, "holdout": 40}
    plan = P.plan_speakers(voices, sizes, holdout_families=("slt", "kal"), seed=3)
    assert {s.family for s in plan["holdout"]} == {"slt", "kal"}
    for part in ("train", "valid", "test"):
        assert not {s.family for s in plan[part]} & {"slt", "kal"}


def test_raise_pitches_lifts_only_recorded_training_voices(voices):
    sizes = {"train": 4500, "valid": 400, "test": 400, "holdout": 40}
    plan = P.plan_speakers(voices, sizes, holdout_families=("slt",), seed=2)
    raised = P.raise_pitches(plan, 0.5, seed=2)
    assert raised == P.raise_pitches(plan, 0.5, seed=2) != P.raise_pitches(plan, 0.5, seed=3)
    for part in ("valid", "test", "holdout"):
        assert raised[part] == plan[part]
    eligible = [(a, b) for a, b in zip(plan["train"], raised["train"])
                if a.engine != "espeak-ng" and a.pitch is not None]
    ratios = [b.pitch / a.pitch for a, b in eligible]
    assert set(np.round(ratios, 6)) <= {1.0} | set(P.HIGH_PITCH_GRID)
    assert sum(r > 1 for r in ratios) == round(0.5 * len(eligible)) > 10
    assert all(a == b for a, b in zip(plan["train"], raised["train"])
               if a.engine == "espeak-ng" or a.pitch is None)
    # the highest raised pitch reaches above the held-out slt voice's own f0 (174 Hz)
    assert max(b.pitch for _, b in eligible) > E.FLITE_VOICES["slt"][1]
    assert P.raise_pitches(plan, 0.0, seed=2) == plan
    with pytest.raises(ValueError, match="high_pitch_share=1.5"):
        P.raise_pitches(plan, 1.5)


def test_high_pitch_share_leaves_old_fingerprints_alone(voices):
    assert "high_pitch_share" not in T.CorpusConfig().fingerprint(voices)
    assert T.CorpusConfig(high_pitch_share=0.3).fingerprint(voices)["high_pitch_share"] == 0.3


def test_jobs_jitter_prosody_within_engine_limits(voices):
    plan = P.plan_speakers(voices, {"train": 200}, seed=0)
    jobs = P.plan_jobs(plan, {"train": [f"text {i}" for i in range(200)]}, seed=0)
    assert len({j.utt_id for j in jobs}) == 200
    for j in jobs:
        assert abs(j.rate / j.speaker.rate - 1) <= P.RATE_JITTER + 1e-9 or j.rate == 1.0
        if j.speaker.engine == "espeak-ng":
            assert 0 <= j.pitch <= 99 and P.ESPEAK_RANGE_PCT[0] <= j.intonation <= 100 * 1.5
    assert len({j.variant()["rate"] for j in jobs}) > 100


def test_finish_audio_trims_resamples_and_is_atomic(tmp_path):
    sr = 22050
    tone = 0.5 * np.sin(2 * np.pi * 300 * np.arange(sr // 2) / sr)
    sf.write(tmp_path / "in.wav", np.concatenate([np.zeros(sr), tone, np.zeros(sr)]), sr)
    out = str(tmp_path / "a" / "out.flac")
    duration = T.finish_audio(str(tmp_path / "in.wav"), out)
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype, info.format) == \
        (16000, 1, "PCM_16", "FLAC")
    assert abs(duration - (0.5 + 2 * T.KEEP_SILENCE_S)) < 0.03
    assert os.listdir(tmp_path / "a") == ["out.flac"]
    sf.write(tmp_path / "silent.wav", np.zeros(sr), sr)
    with pytest.raises(ValueError, match="no sound"):
        T.finish_audio(str(tmp_path / "silent.wav"), str(tmp_path / "s.flac"))


def _entries(root, part):
    return CI.read_index(os.path.join(root, f"{part}_corpus.json"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Six train, three valid, three test utterances: every family speaks once in train."""
    root = str(tmp_path_factory.mktemp("emb"))
    cfg = T.CorpusConfig(n_train=6, n_valid=3, n_test=3, seed=5, workers=1)
    return root, cfg, T.build_embedded_corpus(root, cfg, progress=False)


def test_tiny_build_writes_librispeech_tree_and_indexes(tiny):
    root, _, result = tiny
    assert result.counts == {"train": 6, "valid": 3, "test": 3} and result.generated == 12
    assert not result.report.skipped
    train = _entries(root, "train")
    assert {e["family"] for e in train} == {"espeak", "kal", "ked", "slt", "awb", "rms"}
    for part in ("train", "valid", "test"):
        for e in _entries(root, part):
            assert set(e) >= {"key", "duration", "text", "engine", "voice", "family", "variant"}
            info = sf.info(e["key"])
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert abs(info.frames / 16000 - e["duration"]) < 1e-3
            assert 0.5 < e["duration"] < 10.0
            spk, chap, _ = os.path.basename(e["key"]).split("-")
            assert e["key"].startswith(os.path.join(root, part, spk, chap) + os.sep)
            trans = os.path.join(os.path.dirname(e["key"]), f"{spk}-{chap}.trans.txt")
            lines = dict(l.split(" ", 1) for l in open(trans).read().splitlines())
            assert lines[os.path.basename(e["key"])[:-5]] == e["text"].upper()
    train_text = {e["text"] for e in train}
    assert not train_text & {e["text"] for e in _entries(root, "valid")}
    voices = json.load(open(os.path.join(root, "voices.json")))
    assert {v["partition"] for v in voices.values()} == {"train", "valid", "test"}


def test_rerun_reuses_and_repairs(tiny):
    root, cfg, _ = tiny
    keys = [e["key"] for e in _entries(root, "train")]
    os.remove(keys[0])
    with open(keys[1], "wb") as f:
        f.write(b"truncated")
    before = os.path.getmtime(keys[2])
    again = T.build_embedded_corpus(root, cfg, progress=False)
    assert (again.generated, again.reused) == (2, 10)
    assert os.path.getmtime(keys[2]) == before and sf.info(keys[1]).frames > 0
    with pytest.raises(ValueError, match="other settings"):
        T.build_embedded_corpus(root, T.CorpusConfig(n_train=7, n_valid=3, n_test=3, seed=5,
                                                     workers=1), progress=False)
    # The demo reuses a corpus of any size through the settings it was built with.
    saved = T.saved_settings(root)
    assert T.CorpusConfig(**saved, workers=1) == cfg
    assert T.build_embedded_corpus(root, **saved, workers=1, progress=False).reused == 12
    assert T.saved_settings(os.path.join(root, "nothing-here")) == {}


def test_holdout_build_and_failing_voice_is_reported(tmp_path, voices):
    broken = E.Voice("festival", "no_such_voice", "ked", 100.0)
    chosen = [v for v in voices if v.name in ("en-us+m3", "slt")] + [broken]
    cfg = T.CorpusConfig(n_train=3, n_valid=2, n_test=2, n_holdout=2, seed=0,
                         holdout_families=("slt",), workers=1)
    result = T.build_embedded_corpus(str(tmp_path), cfg, progress=False, voices=chosen)
    assert {e["voice"] for e in _entries(str(tmp_path), "holdout")} == {"slt"}
    assert "slt" not in {e["family"] for p in ("train", "valid", "test")
                         for e in _entries(str(tmp_path), p)}
    bad = [path for path, reason in result.report.skipped if "no_such_voice" in reason]
    assert bad and all(not os.path.exists(p) for p in bad)
    assert result.counts["train"] + len(result.report.skipped) >= 3
    with pytest.raises(ValueError, match="match no installed voice"):
        T.build_embedded_corpus(str(tmp_path / "x"), T.CorpusConfig(holdout_families=("zzz",)),
                                voices=chosen)


def test_cli_help_and_bad_option(capsys):
    with pytest.raises(SystemExit) as done:
        T.main(["--help"])
    assert done.value.code == 0 and "--holdout-families" in capsys.readouterr().out
    assert T.main(["--root", "/nonexistent/x", "--holdout-families", "zzz",
                   "--no-progress"]) == 2


def test_same_seed_gives_identical_bytes(tmp_path, voices):
    chosen = [v for v in voices if v.engine == "flite" or v.name.startswith("en-gb+")]
    cfg = T.CorpusConfig(n_train=4, n_valid=2, n_test=2, seed=11, workers=1)
    digests = []
    for name in ("a", "b"):
        root = tmp_path / name
        T.build_embedded_corpus(str(root), cfg, progress=False, voices=chosen)
        digests.append({str(p.relative_to(root)): p.read_bytes()
                        for p in sorted(root.rglob("*")) if p.suffix in (".flac", ".txt")})
    assert sum(k.endswith(".flac") for k in digests[0]) == 8
    assert digests[0] == digests[1]
