"""Corpus index I/O and the LibriSpeech indexer, against a tiny LibriSpeech-shaped tree."""
import json
import os

import numpy as np
import pytest
import soundfile as sf

from vui.data import corpus_index as CI
from vui.data import librispeech as LS

SR = 16000


def _flac(path, seconds):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    t = np.arange(int(seconds * SR)) / SR
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), SR, format="FLAC")


@pytest.fixture
def tree(tmp_path):
    """Two speakers: good clips, one too long, one garbage flac, one missing flac, one flac
    without a transcript line, one malformed transcript line, one transcript with digits."""
    root = tmp_path / "dev-clean"
    ch1, ch2 = root / "19" / "198", root / "26" / "495"
    _flac(str(ch1 / "19-198-0000.flac"), 1.5)
    _flac(str(ch1 / "19-198-0001.flac"), 12.0)
    _flac(str(ch1 / "19-198-0004.flac"), 1.0)          # no transcript line
    (ch1 / "19-198-0002.flac").write_bytes(b"not a flac file at all")
    (ch1 / "19-198.trans.txt").write_text(
        "19-198-0000 NORTHANGER ABBEY\n19-198-0001 A VERY LONG CLIP\n"
        "19-198-0002 BROKEN AUDIO\n19-198-0003 MISSING AUDIO\n")
    _flac(str(ch2 / "26-495-0000.flac"), 2.25)
    _flac(str(ch2 / "26-495-0001.flac"), 1.0)
    _flac(str(ch2 / "26-495-0002.flac"), 1.0)
    (ch2 / "26-495.trans.txt").write_text(
        "26-495-0000 IT'S A WELL-KNOWN FACT\n26-495-0001 CHAPTER 7\n26-495-0002\n")
    return root


def test_index_librispeech_keeps_good_drops_long_reports_bad(tree, tmp_path, capsys):
    out = tmp_path / "idx" / "train_corpus.json"
    report = LS.index_librispeech(str(tree), str(out), max_duration=10.0, progress=False)
    entries = CI.read_index(out)
    assert [(os.path.basename(e["key"]), e["duration"], e["text"]) for e in entries] == [
        ("19-198-0000.flac", 1.5, "northanger abbey"),
        ("26-495-0000.flac", 2.25, "it's a well known fact")]
    assert all(os.path.isabs(e["key"]) for e in entries)
    assert [e["speaker"] for e in entries] == ["19", "26"]
    assert report.kept == 2 and report.too_long == 1
    reasons = dict(report.skipped)
    assert "not readable audio" in reasons[str(tree / "19" / "198" / "19-198-0002.flac")]
    assert "does not exist" in reasons[str(tree / "19" / "198" / "19-198-0003.flac")]
    assert "outside the alphabet" in reasons[str(tree / "26" / "495" / "26-495-0001.flac")]
    assert "no transcript line" in reasons[str(tree / "19" / "198" / "19-198-0004.flac")]
    assert "expected 'UTTERANCE-ID TRANSCRIPT'" in reasons[f"{tree / '26' / '495' / '26-495.trans.txt'}:3"]
    assert len(report.skipped) == 5
    err = capsys.readouterr().err
    assert "dropped 1 clips over 10 s" in err and "19-198-0002.flac" in err


def test_an_evaluation_subset_indexed_for_training_is_noted(tree, tmp_path, capsys):
    LS.index_librispeech(str(tree), str(tmp_path / "valid_corpus.json"), progress=False)
    assert "note:" not in capsys.readouterr().err
    LS.index_librispeech(str(tree), str(tmp_path / "train_corpus.json"), progress=False)
    assert "note: dev-clean is a LibriSpeech evaluation subset, indexed here as training" \
        in capsys.readouterr().err


def test_max_duration_none_keeps_long_clip(tree, tmp_path):
    entries, report = LS.collect_entries(str(tree), max_duration=None, progress=False)
    assert sorted(e["duration"] for e in entries) == [1.5, 2.25, 12.0]
    assert report.too_long == 0


def test_main_cli_writes_index_and_fails_clearly(tree, tmp_path, capsys):
    out = tmp_path / "i.json"
    assert LS.main([str(tree), str(out), "--max-duration", "20", "--no-progress"]) == 0
    assert len(CI.read_index(out)) == 3
    assert LS.main([str(tmp_path / "nowhere"), str(out), "--no-progress"]) == 2
    assert "nowhere" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="trans.txt"):
        LS.collect_entries(str(empty), progress=False)


# --- issue 38 item 7: LibriSpeech indexing never loses or alters data silently ----------------

def _chapter(root, speaker, chapter, utts, transcript=None, seconds=0.25):
    """speaker/chapter folder with one short FLAC per utterance number in `utts`, and the
    transcript written as the given bytes (None: no transcript file)."""
    folder = root / speaker / chapter
    for utt in utts:
        _flac(str(folder / f"{speaker}-{chapter}-{utt:04d}.flac"), seconds)
    folder.mkdir(parents=True, exist_ok=True)
    if transcript is not None:
        (folder / f"{speaker}-{chapter}{LS.TRANSCRIPT_SUFFIX}").write_bytes(transcript)
    return folder


def _good_chapter(root):
    return _chapter(root, "19", "198", [0], b"19-198-0000 NORTHANGER ABBEY\n")


def _indexed(entries):
    return {os.path.basename(e["key"]): e["text"] for e in entries}


def _kinds(report):
    return {path: kind for (path, _), kind in zip(report.skipped, report.kinds)}


def test_chapter_without_transcript_is_reported_by_folder(tmp_path):
    root = tmp_path / "dev-clean"
    _good_chapter(root)
    lost = _chapter(root, "32", "21", [0, 1])
    entries, report = LS.collect_entries(str(root), progress=False)
    assert _indexed(entries) == {"19-198-0000.flac": "northanger abbey"}
    assert report.skipped == [(str(lost), "2 audio files but no *.trans.txt (expected "
                               "32-21.trans.txt in this folder); none of them were indexed")]
    assert _kinds(report) == {str(lost): LS.REASON_NO_TRANSCRIPT}


def test_latin1_transcript_is_kept_out_whole_and_named_with_its_first_bad_byte(tmp_path):
    root = tmp_path / "dev-clean"
    _good_chapter(root)
    folder = _chapter(root, "26", "495", [0, 1],
                      "26-495-0000 PLAIN WORDS\n26-495-0001 CAFÉ AU LAIT\n".encode("latin-1"))
    entries, report = LS.collect_entries(str(root), progress=False)
    assert _indexed(entries) == {"19-198-0000.flac": "northanger abbey"}   # never "caf au lait"
    trans = str(folder / "26-495.trans.txt")
    assert _kinds(report) == {trans: LS.REASON_NOT_UTF8}      # its audio is not reported twice
    message = dict(report.skipped)[trans]
    assert message.startswith("not UTF-8 text: byte 0xc9 at line 2, column 16 cannot be decoded")
    assert "none of its lines and none of the 2 audio files in its folder were indexed" in message


def test_utf8_byte_order_mark_is_not_part_of_the_first_utterance_id(tmp_path):
    root = tmp_path / "dev-clean"
    _chapter(root, "19", "198", [0, 1],
             "19-198-0000 NORTHANGER ABBEY\n19-198-0001 DON'T\n".encode("utf-8-sig"))
    entries, report = LS.collect_entries(str(root), progress=False)
    assert _indexed(entries) == {"19-198-0000.flac": "northanger abbey",
                                 "19-198-0001.flac": "don't"}
    assert report.skipped == []


def test_a_byte_order_mark_does_not_move_where_a_bad_byte_is_named(tmp_path):
    root = tmp_path / "dev-clean"
    folder = _chapter(root, "26", "495", [0, 1], b"\xef\xbb\xbf" +
                      "26-495-0000 PLAIN WORDS\n26-495-0001 CAFÉ AU LAIT\n".encode("latin-1"))
    _, report = LS.collect_entries(str(root), progress=False)
    message = dict(report.skipped)[str(folder / "26-495.trans.txt")]
    assert message.startswith("not UTF-8 text: byte 0xc9 at line 2, column 16 cannot be decoded")


def test_a_tab_between_id_and_text_is_read_as_a_space(tmp_path):
    root = tmp_path / "dev-clean"
    _chapter(root, "19", "198", [0], b"19-198-0000\tNORTHANGER ABBEY\n")
    entries, report = LS.collect_entries(str(root), progress=False)
    assert _indexed(entries) == {"19-198-0000.flac": "northanger abbey"} and not report.skipped


def test_wav_files_in_the_layout_are_indexed_and_a_second_format_is_named(tmp_path):
    root = tmp_path / "dev-clean"
    folder = _chapter(root, "19", "198", [0], b"19-198-0000 NORTHANGER ABBEY\n"
                      b"19-198-0001 A WAV FILE\n19-198-0002 NOWHERE\n")
    t = np.arange(SR // 4) / SR
    sf.write(folder / "19-198-0001.wav", (0.3 * np.sin(2 * np.pi * 220 * t)), SR)
    sf.write(folder / "19-198-0000.wav", (0.3 * np.sin(2 * np.pi * 220 * t)), SR)
    entries, report = LS.collect_entries(str(root), progress=False)
    assert _indexed(entries) == {"19-198-0000.flac": "northanger abbey",
                                 "19-198-0001.wav": "a wav file"}
    reasons = dict(report.skipped)
    assert reasons[str(folder / "19-198-0000.wav")] == \
        "the same utterance as 19-198-0000.flac, which was indexed; this file was not"
    assert reasons[str(folder / "19-198-0002.flac")] == \
        "19-198.trans.txt:3 names this audio file, but it does not exist (nor as .wav)"
    assert report.counts() == {LS.REASON_MISSING_AUDIO: 1, LS.REASON_SECOND_AUDIO: 1}


def test_a_root_of_training_and_evaluation_subsets_is_refused(tmp_path, capsys):
    root = tmp_path / "LibriSpeech"
    _good_chapter(root / "train-clean-100")
    _good_chapter(root / "dev-clean")
    out = tmp_path / "all.json"
    assert LS.main([str(root), str(out), "--no-progress"]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "holds training subsets (train-clean-100) and evaluation subsets (dev-clean)" in err
    assert str(root / "train-clean-100") in err          # how to index it instead


@pytest.mark.parametrize("out", ["folder", "new/"])
def test_an_index_path_that_is_a_folder_is_refused_before_any_work(tmp_path, capsys, out):
    root = tmp_path / "dev-clean"
    _good_chapter(root)
    (tmp_path / "folder").mkdir()
    target = f"{tmp_path}/{out}"           # pathlib would drop a trailing slash
    assert LS.main([str(root), target, "--no-progress"]) == 2
    assert f"{target!r} is a folder; expected the index file to write, e.g." in \
        capsys.readouterr().err
    assert not (tmp_path / "new").exists() and list((tmp_path / "folder").iterdir()) == []


def test_an_index_path_under_a_file_is_refused_before_any_work(tmp_path, capsys):
    root = tmp_path / "dev-clean"
    _good_chapter(root)
    (tmp_path / "f").write_text("")
    assert LS.main([str(root), str(tmp_path / "f" / "i.json"), "--no-progress"]) == 2
    assert f"is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_max_duration_must_be_positive(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit_:
        LS.main([str(tmp_path), str(tmp_path / "i.json"), "--max-duration", value])
    assert exit_.value.code == 2
    assert f"expected a finite number > 0, got {value!r}" in capsys.readouterr().err


def test_line_without_audio_and_audio_without_line_are_each_reported(tmp_path):
    root = tmp_path / "dev-clean"
    folder = _chapter(root, "19", "198", [0, 4],
                      b"19-198-0000 NORTHANGER ABBEY\n\n19-198-0003 MISSING AUDIO\n")
    entries, report = LS.collect_entries(str(root), progress=False)
    assert _indexed(entries) == {"19-198-0000.flac": "northanger abbey"}
    missing, unlisted = str(folder / "19-198-0003.flac"), str(folder / "19-198-0004.flac")
    reasons = dict(report.skipped)
    assert reasons[missing] == ("19-198.trans.txt:3 names this audio file, but it does not exist "
                               "(nor as .wav)")
    assert reasons[unlisted] == "no transcript line in 19-198.trans.txt names it"
    assert _kinds(report) == {missing: LS.REASON_MISSING_AUDIO,
                              unlisted: LS.REASON_UNLISTED_AUDIO}


@pytest.mark.parametrize("text, shown", [
    ("COST \u20ac FIVE", "'\u20ac' (U+20AC)"),          # a symbol normalisation used to delete
    ("CAF\ufffd AU LAIT", "'\ufffd' (U+FFFD)"),         # a decode that went wrong before saving
    ("CHAPTER 7", "'7'"),                                # kept by normalisation, then refused
    ("SALT & PEPPER", "'&'"),                            # said as a word: refused, not dropped
])
def test_text_the_alphabet_cannot_spell_is_reported_never_shortened(tmp_path, text, shown):
    root = tmp_path / "dev-clean"
    _good_chapter(root)
    folder = _chapter(root, "26", "495", [0], f"26-495-0000 {text}\n".encode("utf-8"))
    entries, report = LS.collect_entries(str(root), progress=False)
    assert _indexed(entries) == {"19-198-0000.flac": "northanger abbey"}
    audio = str(folder / "26-495-0000.flac")
    assert _kinds(report) == {audio: LS.REASON_OUTSIDE_ALPHABET}
    message = dict(report.skipped)[audio]
    assert message.startswith("26-495.trans.txt:1: transcript has characters outside the alphabet")
    assert shown in message and repr(text) in message


def test_punctuation_still_normalises_to_spaces():
    assert LS.deleted_characters("IT'S A WELL-KNOWN FACT, \u201cSHE\u201d SAID.") == []
    assert LS.deleted_characters("DON\u2019T `EM") == []         # folded to apostrophes
    assert LS.deleted_characters("A \u20ac\ufffd\x00B") == ["\x00", "\u20ac", "\ufffd"]


def test_two_lines_for_one_recording_are_both_kept_out(tmp_path):
    root = tmp_path / "dev-clean"
    folder = _chapter(root, "19", "198", [0, 1],
                      b"19-198-0000 NORTHANGER ABBEY\n19-198-0001 ONE\n19-198-0001 TWO\n")
    entries, report = LS.collect_entries(str(root), progress=False)
    assert _indexed(entries) == {"19-198-0000.flac": "northanger abbey"}
    trans = str(folder / "19-198.trans.txt")
    assert report.skipped == [
        (f"{trans}:2", "19-198-0001.flac is also named at 19-198.trans.txt:3; its label is "
                       "ambiguous, so no line for it was used"),
        (f"{trans}:3", "19-198-0001.flac is also named at 19-198.trans.txt:2; its label is "
                       "ambiguous, so no line for it was used")]
    assert report.counts() == {LS.REASON_DUPLICATE_LINE: 2}


def test_summary_counts_each_reason_and_shows_the_first_paths(tmp_path):
    root = tmp_path / "dev-clean"
    _good_chapter(root)
    n = LS.SHOWN_PER_REASON + 2
    folder = _chapter(root, "26", "495", range(n), b"")
    report = LS.index_librispeech(str(root), str(tmp_path / "i.json"), progress=False)
    assert report.counts() == {LS.REASON_UNLISTED_AUDIO: n}
    text = report.summary(10.0)
    assert f"skipped {n} (kept out of the index, not altered" in text
    assert f"  {n} x audio without a transcript line:" in text
    assert str(folder / f"26-495-{LS.SHOWN_PER_REASON - 1:04d}.flac") in text
    assert str(folder / f"26-495-{LS.SHOWN_PER_REASON:04d}.flac") not in text
    assert text.endswith("    ... and 2 more")


def test_cli_exits_0_and_reports_when_some_are_indexed(tmp_path, capsys):
    root = tmp_path / "dev-clean"
    _good_chapter(root)
    lost = _chapter(root, "32", "21", [0])
    out = tmp_path / "i.json"
    assert LS.main([str(root), str(out), "--no-progress"]) == 0
    assert _indexed(CI.read_index(out)) == {"19-198-0000.flac": "northanger abbey"}
    err = capsys.readouterr().err
    assert "  1 x chapter without a transcript:" in err and str(lost) in err


def test_cli_fails_clearly_and_writes_nothing_when_nothing_is_indexed(tmp_path, capsys):
    root = tmp_path / "dev-clean"
    folder = _chapter(root, "26", "495", [0], "26-495-0000 CAFÉ\n".encode("latin-1"))
    out = tmp_path / "i.json"
    assert LS.main([str(root), str(out), "--no-progress"]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert str(folder / "26-495.trans.txt") in err
    assert err.rstrip().endswith(
        f"error: no utterances indexed from {str(root)!r} (1 problem reported above, 0 clips "
        f"over the length limit); {str(out)!r} was not written")
    with pytest.raises(LS.NothingIndexedError):
        LS.index_librispeech(str(root), str(out), progress=False)


def test_write_read_round_trip_keeps_metadata_and_filters(tmp_path):
    path = tmp_path / "c.json"
    rows = [{"key": "/a.flac", "duration": 1.0, "text": "a", "family": "kal",
             "variant": {"rate": 1.1}},
            {"key": "b.flac", "duration": 11.0, "text": "b"}]
    assert CI.write_index(path, rows) == 2
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]
    got = CI.read_index(path)
    assert got[0] == rows[0]
    assert got[1]["key"] == str(tmp_path / "b.flac")        # relative -> next to the index
    assert [e["text"] for e in CI.read_index(path, max_duration=10.0)] == ["a"]


@pytest.mark.parametrize("line, message", [
    ("{not json", "line 2: not valid JSON"),
    ('{"key": "a.flac", "text": "x"}', "missing field(s) ['duration']"),
    ('{"key": "a.flac", "duration": -1, "text": "x"}', "positive number"),
    ('{"key": "a.flac", "duration": "2", "text": "x"}', "positive number"),
    ('{"key": "", "duration": 1, "text": "x"}', "non-empty audio path"),
    ('{"key": "a.flac", "duration": 1, "text": " "}', "non-empty transcript"),
    ('[1, 2]', "expected a JSON object"),
])
def test_read_index_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.json"
    path.write_text('{"key": "ok.flac", "duration": 1, "text": "ok"}\n' + line + "\n")
    with pytest.raises(CI.CorpusIndexError) as err:
        CI.read_index(path)
    assert str(path) in str(err.value) and message in str(err.value)
    entries, [(label, reason)] = CI.read_index_lenient(path)     # a partition keeps the rest
    assert len(entries) == 1 and message.removeprefix("line 2: ") in reason
    assert f"{label}: {reason}".count(str(path)) == 1            # the file named once


def test_write_index_refuses_bad_entry_and_leaves_old_file(tmp_path):
    path = tmp_path / "c.json"
    CI.write_index(path, [{"key": "a", "duration": 1, "text": "a"}])
    with pytest.raises(CI.CorpusIndexError, match="entry 1"):
        CI.write_index(path, [{"key": "a", "duration": 1, "text": "a"}, {"key": "b"}])
    assert len(CI.read_index(path)) == 1


def test_a_line_that_is_not_utf8_is_left_out_by_itself_and_named(tmp_path):
    path = tmp_path / "i.json"
    good = json.dumps({"key": "/a.wav", "duration": 1.0, "text": "a"}).encode()
    path.write_bytes(b"\xef\xbb\xbf" + good + b"\n" + '{"key": "/b.wav", "duration": 1.0, '
                     '"text": "caf\u00e9"}\n'.encode("latin-1") + good.replace(b"/a", b"/c"))
    entries, bad = CI.read_index_lenient(path)          # the BOM is no part of line 1
    assert [e["key"] for e in entries] == ["/a.wav", "/c.wav"]
    assert bad == [("/b.wav", f"{path}, line 2: not UTF-8 (byte 0xe9 at column 48); expected "
                              "UTF-8 JSON lines")]


def test_an_index_that_is_a_folder_or_empty_is_named_so(tmp_path):
    with pytest.raises(CI.CorpusIndexError, match=r"is a folder; expected its JSON-lines file, "
                                                  r"e\.g\. .*train_corpus\.json"):
        CI.read_index_lenient(tmp_path)
    (tmp_path / "empty.json").write_text("\n")
    with pytest.raises(CI.CorpusIndexError, match=r"empty\.json' is empty; expected one"):
        CI.read_index_lenient(tmp_path / "empty.json")
    with pytest.raises(ValueError, match="is a folder; expected an audio file"):
        CI.audio_duration(tmp_path)


def test_read_index_missing_file_says_how_to_build(tmp_path):
    with pytest.raises(CI.CorpusIndexError, match="vui.data.tts_corpus"):
        CI.read_index(tmp_path / "none.json")


def test_audio_duration_errors_name_file(tmp_path):
    empty = tmp_path / "empty.flac"
    sf.write(str(empty), np.zeros(0, np.float32), SR, format="FLAC")
    with pytest.raises(ValueError, match="empty.flac"):
        CI.audio_duration(empty)
    (tmp_path / "zero.flac").touch()
    with pytest.raises(ValueError, match=r"zero.flac' is empty \(0 bytes\)"):
        CI.audio_duration(tmp_path / "zero.flac")
    _flac(str(tmp_path / "ok.flac"), 0.5)
    assert CI.audio_duration(tmp_path / "ok.flac") == 0.5
    noise = np.random.default_rng(0).uniform(-0.3, 0.3, 3 * SR).astype(np.float32)
    sf.write(str(tmp_path / "whole.flac"), noise, SR, format="FLAC")
    whole = (tmp_path / "whole.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(whole[:len(whole) // 2])     # a download that stopped
    assert sf.info(str(tmp_path / "cut.flac")).duration == 3.0         # the header still says 3 s
    with pytest.raises(ValueError, match=r"cut.flac' is truncated or damaged: its header "
                                         r"promises 3.00 s"):
        CI.audio_duration(tmp_path / "cut.flac")


def test_report_summary_lists_each_skipped_file():
    r = CI.IndexReport(kept=2, kept_seconds=7200.0, too_long=1, too_long_seconds=36.0)
    r.skip("/x/a.flac", "broken")
    text = r.summary(10.0)
    assert "kept 2 utterances (2.00 h)" in text and "dropped 1 clips over 10 s" in text
    assert "/x/a.flac: broken" in text
    json.dumps(r.skipped)


def test_bench_families_groups_error_rates_by_the_index_family(tmp_path):
    import json
    from conftest import load_benchmark
    bench = load_benchmark("bench_families")
    index = tmp_path / "valid_corpus.json"
    entries = [{"key": k, "duration": 1.0, "text": "ab cd", "family": f, "engine": e, "voice": v}
               for k, f, e, v in (("a.wav", "slt", "flite", "slt"),
                                  ("b.wav", "espeak", "espeak-ng", "en-us+m3"),
                                  ("c.wav", "slt", "festival", "cmu_us_slt_arctic_hts"))]
    index.write_text("".join(json.dumps(e) + "\n" for e in entries))
    families = bench.family_of(index)
    assert families == {str(tmp_path / "a.wav"): "slt", str(tmp_path / "b.wav"): "espeak",
                        str(tmp_path / "c.wav"): "slt"}
    assert bench.family_of(index, by="voice") == {
        str(tmp_path / "a.wav"): "flite:slt", str(tmp_path / "b.wav"): "espeak-ng:en-us+m3",
        str(tmp_path / "c.wav"): "festival:cmu_us_slt_arctic_hts"}
    with pytest.raises(ValueError, match="by='speaker'"):
        bench.family_of(index, by="speaker")
    paths = [str(tmp_path / k) for k in ("a.wav", "b.wav", "c.wav")]
    rows = bench.per_family(paths, ["ab cd", "ab cd", "ef gh"], ["ab cd", "xb cd", "ef gh"],
                            families)
    assert rows[0] == ("espeak", 1, 0.2, 0.5)          # worst first: 1 of 5 characters wrong
    assert rows[1] == ("slt", 2, 0.0, 0.0)
    assert rows[2][:2] == ("all", 3) and abs(rows[2][2] - 1 / 15) < 1e-9
