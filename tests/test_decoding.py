"""Decoders on hand-made probability matrices, against brute force and keras.ops.ctc_decode, and
pyctcdecode's code paths run on numpy 2 (the reason setup.sh may install it with --no-deps)."""
import gc
import itertools
import pickle
import re
import warnings

import numpy as np
import pytest

from char_map import BLANK_INDEX, NUM_CLASSES, char_map, int_sequence_to_text
from conftest import frames
from vui.decode import decoders as D
from vui.decode.lm import build_arpa
from vui.decode.metrics import cer_wer, seen_word_errors

LM_SENTENCES = ["the cat sat on the mat", "the cat sat", "a cat sat on a mat", "the dog sat",
                "the dog ran to the cat", "a dog ran home", "the cat ran home", "the bird sat",
                "a bird flew home", "the bird flew to the mat", "the dog sat on the mat"]



def spell(text, p=0.9, ambiguous=None):
    """Frames spelling text, one character per frame followed by a blank frame; `ambiguous`
    maps a position in text to a {char: prob} spec used instead."""
    specs = []
    for i, ch in enumerate(text):
        specs.append((ambiguous or {}).get(i, {ch: p}))
        specs.append({"": 0.9})
    return frames(*specs)


@pytest.fixture(scope="module")
def lm_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("lm") / "tiny.arpa"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny corpus: fallback discounts
        build_arpa(LM_SENTENCES, path, order=3)
    return str(path)


def brute_force_best(probs):
    """Most probable labelling: sum over all paths of the classes that carry mass."""
    active = [c for c in range(NUM_CLASSES) if probs[:, c].max() > 1e-3]
    totals = {}
    for path in itertools.product(active, repeat=len(probs)):
        p = np.prod(probs[np.arange(len(probs)), path], dtype=np.float64)
        text = int_sequence_to_text(D.greedy_indices(np.eye(NUM_CLASSES)[list(path)]))
        totals[text] = totals.get(text, 0.0) + p
    return max(totals, key=totals.get)


def test_beam_finds_best_path_that_greedy_misses():
    # Each frame: blank 0.6, "a" 0.4. Greedy takes blank, blank -> "" (probability 0.36), but the
    # three paths a-a, a-blank, blank-a all spell "a": 0.16 + 0.24 + 0.24 = 0.64.
    probs = frames({"a": 0.4}, {"a": 0.4}, floor=0.0)
    assert D.make_decoder("greedy").decode(probs) == ""
    assert D.make_decoder("beam").decode(probs) == "a"


def test_beam_matches_brute_force_on_random_matrices():
    rng = np.random.default_rng(7)
    beam, greedy = D.make_decoder("beam", beam_width=64), D.make_decoder("greedy")
    differs = 0
    for _ in range(25):
        probs = np.full((6, NUM_CLASSES), 1e-9)
        probs[:, [char_map["a"], char_map["b"], BLANK_INDEX]] = rng.dirichlet([1, 1, 1], size=6)
        probs /= probs.sum(axis=1, keepdims=True)
        best = brute_force_best(probs)
        assert beam.decode(probs) == best
        differs += greedy.decode(probs) != best
    assert differs > 0  # the matrices do contain cases where greedy is wrong


def test_greedy_collapses_repeats_and_keeps_blank_separated_doubles():
    probs = frames({"h": 0.9}, {"e": 0.9}, {"l": 0.9}, {"l": 0.9}, {"": 0.9}, {"l": 0.9},
                   {"o": 0.9}, {"o": 0.9})
    assert D.make_decoder("greedy").decode(probs) == "hello"
    assert D.make_decoder("beam").decode(probs) == "hello"


def test_greedy_agrees_with_keras_ctc_decode():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    batch, time = 16, 40
    logits = rng.normal(size=(batch, time, NUM_CLASSES)) * 3
    logits[..., BLANK_INDEX] += 2
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    lengths = rng.integers(1, time + 1, size=batch)
    decoded, _ = keras.ops.ctc_decode(probs.astype("float32"), lengths, strategy="greedy",
                                      mask_index=BLANK_INDEX)
    decoded = keras.ops.convert_to_numpy(decoded)[0]
    ours = D.make_decoder("greedy").decode_batch(probs, lengths)
    # Keras' best path, read as its words one space apart (the decoder drops stray spaces)
    assert ours == [" ".join(int_sequence_to_text(row).split()) for row in decoded]
    assert any(int_sequence_to_text(row) != " ".join(int_sequence_to_text(row).split())
               for row in decoded)   # stray spaces were there to drop
    assert sum(len(t) for t in ours) > batch  # not trivially all empty


@pytest.mark.parametrize("kind", D.DECODER_KINDS)
def test_empty_and_all_blank_outputs_decode_to_empty_string(kind, lm_path):
    decoder = D.make_decoder(kind, lm_path=lm_path)
    assert decoder.decode(np.zeros((0, NUM_CLASSES), np.float32)) == ""
    assert decoder.decode(frames(*[{"": 1.0}] * 12)) == ""
    assert decoder.decode_batch(np.stack([frames(*[{"": 1.0}] * 5)] * 2), [0, 5]) == ["", ""]


def test_lm_moves_decoding_to_in_vocabulary_sentence(lm_path):
    # "the cat sat" whose vowel in "cat" sounds a little more like "e": greedy and plain beam
    # search spell the non-word "cet"; the LM's vocabulary and n-grams pull it back.
    probs = spell("the cat sat", ambiguous={5: {"e": 0.5, "a": 0.4}})
    assert D.make_decoder("greedy").decode(probs) == "the cet sat"
    assert D.make_decoder("beam").decode(probs) == "the cet sat"
    decoder = D.make_decoder("beam_lm", lm_path=lm_path, alpha=0.5, beta=1.0)
    assert decoder.decode(probs) == "the cat sat"
    decoder.set_weights(alpha=0.0, beta=0.0)  # no LM weight: back to the acoustic choice
    assert decoder.decode(probs) == "the cet sat"


def test_a_small_vocabulary_loads_without_pyctcdecode_s_warning(lm_path, caplog):
    probs = spell("the cat")                 # the LM loads at a decoder's first decode
    D.make_decoder("beam_lm", lm_path=lm_path).decode(probs)
    assert not [r for r in caplog.records if "unigrams" in r.getMessage()]
    D.make_decoder("beam_lm", lm_path=lm_path, unigrams=["zebra", "quokka"]).decode(probs)
    assert "Only 2 unigrams" in caplog.text and "are incompatible" in caplog.text


def test_set_weights_equals_fresh_decoder(lm_path):
    rng = np.random.default_rng(3)
    probs_list = [spell(s, ambiguous={1: {"a": 0.3, "o": 0.3, "e": 0.3}}) for s in LM_SENTENCES]
    probs_list = [np.clip(p + rng.uniform(0, 0.05, p.shape), 0, None) for p in probs_list]
    probs_list = [p / p.sum(1, keepdims=True) for p in probs_list]
    reused = D.make_decoder("beam_lm", lm_path=lm_path, alpha=2.0, beta=3.0)
    reused.decode(probs_list[0])                  # built: its LM loaded with the old weights
    reused.set_weights(alpha=0.7, beta=0.5)
    fresh = D.make_decoder("beam_lm", lm_path=lm_path, alpha=0.7, beta=0.5)
    assert reused.decode_batch(probs_list) == fresh.decode_batch(probs_list)
    assert "alpha 0.7" in reused.name and "beta 0.5" in reused.name


def test_a_dropped_or_closed_lm_decoder_frees_its_language_model(lm_path):
    """pyctcdecode keeps every decoder's LM in a class-level dict: a server that drops decoders
    from its cache (one per set of hot words) must not keep their LMs."""
    from pyctcdecode.decoder import BeamSearchDecoderCTC
    loaded = BeamSearchDecoderCTC.model_container
    dropped = D.make_decoder("beam_lm", lm_path=lm_path, hotwords=["boat"])
    key = dropped._decoder._model_key
    assert loaded[key] is not None
    del dropped
    gc.collect()
    assert key not in loaded
    closed = D.make_decoder("beam_lm", lm_path=lm_path)
    key = closed._decoder._model_key
    closed.close()
    assert key not in loaded
    closed.close()                      # a second close, and the collection after, are no-ops
    del closed
    gc.collect()


def test_a_decoder_spec_rebuilds_the_same_decoder_and_nothing_loads_before_a_decode(lm_path):
    """What a decoding worker gets (vui.decode.parallel): small, hashable and picklable; built,
    it decodes as the decoder it came from. Making a decoder and its spec loads no LM."""
    from pyctcdecode.decoder import BeamSearchDecoderCTC
    probs = spell("the dog sat", ambiguous={4: {"d": 0.45, "b": 0.5}})
    loaded = set(BeamSearchDecoderCTC.model_container)
    decoders = [D.make_decoder("greedy"), D.BeamDecoder(beam_width=8, hotwords=["dog:4"]),
                D.BeamLMDecoder(lm_path, alpha=0.7, beta=0.5, beam_prune_logp=-12.0)]
    specs = [d.spec() for d in decoders]
    assert set(BeamSearchDecoderCTC.model_container) == loaded
    for decoder, spec in zip(decoders, specs):
        copy = pickle.loads(pickle.dumps(spec))
        assert copy == spec and hash(copy) == hash(spec)
        rebuilt = copy.build()
        assert type(rebuilt) is type(decoder) and rebuilt.name == decoder.name
        assert rebuilt.decode_words(probs, 0.02) == decoder.decode_words(probs, 0.02)
    assert decoders[1].decode(probs) == "the dog sat"             # the hot word travelled
    assert len(pickle.dumps(specs[2])) < 1000                     # the LM's words stay in it
    reweighted = D.BeamLMDecoder(lm_path)
    reweighted.set_weights(alpha=2.0)                             # before its first decode
    assert dict(reweighted.spec().options)["alpha"] == 2.0
    assert reweighted.decode(probs) == D.BeamLMDecoder(lm_path, alpha=2.0).decode(probs)


JOB_UNDER_WAY_SECONDS = 2
INTERRUPTED_CHILD = r"""
import faulthandler, os, signal, sys, threading
import numpy as np
faulthandler.register(signal.SIGUSR1, all_threads=True)   # the test's view of a hang
# Ctrl-C as at a terminal: a suite started in the background (`cmd &`) passes SIGINT ignored
# to every process, and Python then keeps ignoring it
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, sys.argv[1])
from char_map import NUM_CLASSES
from vui.decode.decoders import make_decoder
from vui.decode.parallel import DecodePool
if __name__ == "__main__":
    beam = make_decoder("beam", beam_width=64, beam_prune_logp=-50.0, token_min_logp=-50.0)
    long_and_flat = np.full((200_000, NUM_CLASSES), 1.0 / NUM_CLASSES, np.float32)   # minutes
    with DecodePool(1) as pool:
        pool.warm_up(beam)
        print("worker", pool._executor.submit(os.getpid).result(), flush=True)
        if sys.argv[2] == "thread":   # the kernel may hand a Ctrl-C to any thread: here, not main
            threading.Timer(float(sys.argv[3]), lambda: signal.pthread_kill(
                threading.get_ident(), signal.SIGINT)).start()
        pool.decode_all(beam, [long_and_flat])
"""


@pytest.mark.parametrize("received_by", ["main", "thread"])
def test_an_interrupted_pool_stops_its_workers_mid_job(tmp_path, received_by):
    """Ctrl-C while workers decode: the caller stops at once and leaves no worker behind (a
    pool shut down politely would first wait minutes for the job, or hang at exit), also when
    the signal reaches another of its threads than the main one (a wait without a timeout
    never saw it: vui.processes.result)."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    script = tmp_path / "child.py"
    script.write_text(INTERRUPTED_CHILD)
    root = str(Path(__file__).resolve().parents[1])
    child = subprocess.Popen([sys.executable, str(script), root, received_by,
                              str(JOB_UNDER_WAY_SECONDS)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    worker = None
    try:
        worker = int(child.stdout.readline().split()[1])
        time.sleep(JOB_UNDER_WAY_SECONDS)                 # the long job has reached the worker
        if received_by == "main":
            child.send_signal(signal.SIGINT)
        try:
            _, err = child.communicate(timeout=30)
        except subprocess.TimeoutExpired:     # say where it hangs: every thread's stack
            child.send_signal(signal.SIGUSR1)
            time.sleep(1)
            child.kill()
            _kill_if_alive(worker)            # it holds the child's pipes open
            pytest.fail("still running 30 s after Ctrl-C; its threads:\n"
                        + child.communicate(timeout=30)[1][-8000:])
        left_running = _kill_if_alive(worker)
    finally:
        child.kill()
        if worker is not None:
            _kill_if_alive(worker)    # a failed test must not leave a minutes-long job running
    assert child.returncode != 0 and "KeyboardInterrupt" in err
    assert not left_running


def _kill_if_alive(pid):
    """Whether process `pid` was still there (it is not now)."""
    import os
    import signal
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


UNGUARDED_SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from char_map import NUM_CLASSES
from vui.decode.lm_tuning import tune_lm_weights
print("the script's body ran", flush=True)
rng = np.random.default_rng(0)
probs = [rng.dirichlet(np.ones(NUM_CLASSES) * 0.3, size=40) for _ in range(6)]
grids = [tune_lm_weights(probs, ["the cat sat"] * 6, sys.argv[2], alphas=(0.0, 1.0),
                         betas=(0.0,), progress=False, workers=w)["grid"] for w in (1, 0)]
print("same grid" if grids[0] == grids[1] else "different grids")
"""


def test_a_script_without_a_main_guard_tunes_in_worker_processes(lm_path, tmp_path):
    """A researcher's plain script (no `if __name__ == "__main__":`) runs once: the decoding
    workers do not import it again, as spawned processes otherwise would."""
    import subprocess
    import sys
    from pathlib import Path
    script = tmp_path / "plain_script.py"
    script.write_text(UNGUARDED_SCRIPT)
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, str(script), root, lm_path], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["the script's body ran", "same grid"]


def test_beam_decoders_pickle_and_copy_with_their_settings(lm_path):
    import copy
    probs = spell("the dog sat", ambiguous={4: {"d": 0.45, "b": 0.5}})
    for decoder in (D.BeamDecoder(beam_width=8, hotwords=["dog:4"]),
                    D.BeamLMDecoder(lm_path, alpha=0.7, beta=0.5)):
        expected = decoder.decode(probs)                     # built: pyctcdecode objects held
        for twin in (pickle.loads(pickle.dumps(decoder)), copy.deepcopy(decoder)):
            assert twin.name == decoder.name and twin.decode(probs) == expected


def test_the_default_pool_decodes_in_one_process_per_core():
    import os
    from vui.decode import parallel
    with parallel.DecodePool() as pool:
        assert pool.workers == parallel.default_workers() >= 1
        assert pool._executor.submit(os.getpid).result() != os.getpid()


def test_a_pool_reports_its_progress_and_keeps_other_decoders_here():
    """decode_all's progress counts every utterance once, in workers or here; a decoder of the
    caller's own class (which no DecoderSpec rebuilds) decodes in the calling process."""
    from vui.decode import parallel

    class Shouting(D.BeamDecoder):
        kind = "shouting"

        def decode(self, probs):
            return super().decode(probs).upper()

    probs = [spell(text) for text in ("the cat", "a dog", "sat", "on the mat", "tea")]
    beam = D.BeamDecoder(beam_width=8)
    with parallel.DecodePool(1) as pool:
        for decoder in (beam, Shouting(beam_width=8)):
            done = []
            assert pool.decode_all(decoder, probs, progress=done.append) == \
                [decoder.decode(p) for p in probs]
            assert sum(done) == len(probs)
    assert Shouting(beam_width=8).decode(probs[0]) == "THE CAT"


def test_a_dead_worker_costs_only_the_jobs_not_yet_taken(monkeypatch):
    """decode_all after a worker dies mid-list: the jobs already taken are kept, the rest run
    once more on a fresh pool; every transcript once, in order, and counted once."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool
    from vui.decode import parallel

    class Executor:      # runs each job here; its job number `breaks_at` finds its worker dead
        def __init__(self, breaks_at=None):
            self.breaks_at, self.jobs = breaks_at, []

        def submit(self, job, *args):
            self.jobs.append(args)
            future = Future()
            if len(self.jobs) - 1 == self.breaks_at:
                future.set_exception(BrokenProcessPool("a worker was killed"))
            else:
                future.set_result(job(*args))
            return future

        def shutdown(self, wait=True, cancel_futures=False):
            pass

    probs = [spell(t) for t in ("the cat", "a dog", "sat", "on the mat", "tea", "to", "be", "or")]
    beam = D.BeamDecoder(beam_width=8)
    dying, fresh = Executor(breaks_at=2), Executor()
    monkeypatch.setattr(parallel.DecodePool, "_new_executor", lambda self: dying)
    pool = parallel.DecodePool(1)
    monkeypatch.setattr(parallel.DecodePool, "_new_executor", lambda self: fresh)
    done = []
    assert pool.decode_all(beam, probs, progress=done.append) == [beam.decode(p) for p in probs]
    assert sum(done) == len(probs)
    assert len(dying.jobs) == 4 and fresh.jobs == dying.jobs[2:]   # 2 utterances a job
    pool.close()


def test_hot_words_share_a_workers_decoder_and_its_language_model(lm_path):
    """A server's clients each choosing hot words: one decoder (one LM) per worker, the hot
    words set for each job, with the words the in-process decoders give."""
    from vui.decode import parallel
    probs = spell("the dog sat", ambiguous={4: {"d": 0.45, "b": 0.5}})
    decoders = [D.BeamLMDecoder(lm_path, beam_width=16, hotwords=h, beam_prune_logp=-20.0)
                for h in (None, ["bog:30"], ["dog:3"], None)]
    with parallel.DecodePool(1) as pool:
        got = [pool.decode_words(d, probs, 0.02) for d in decoders]
        built = pool._executor.submit(parallel.decoders_built).result()
    assert got == [d.decode_words(probs, 0.02) for d in decoders]
    assert [" ".join(w.text for w in words) for words in got][:2] == ["the dog sat",
                                                                      "the bog sat"]
    assert built == 1


def test_decode_batch_cuts_padding():
    a, b = spell("the cat"), spell("a dog")
    padded = np.zeros((2, max(len(a), len(b)) + 3, NUM_CLASSES), np.float32)
    padded[:, :, char_map["z"]] = 1.0  # padding that would decode as "z" if not cut
    padded[0, :len(a)], padded[1, :len(b)] = a, b
    for kind in ("greedy", "beam"):
        assert D.make_decoder(kind).decode_batch(padded, [len(a), len(b)]) == ["the cat", "a dog"]


def test_pyctcdecode_paths_on_numpy2(lm_path):
    """What could break under numpy 2: every pyctcdecode option our decoders use."""
    probs = spell("the dog sat", ambiguous={4: {"d": 0.45, "b": 0.5}})
    plain = D.BeamDecoder(beam_width=16)
    assert plain.decode(probs) == "the bog sat"
    hot = D.BeamDecoder(beam_width=16, hotwords=["dog"])  # hotword trie and scorer
    assert hot.decode(probs) == "the dog sat"
    narrow = D.BeamDecoder(beam_width=1, beam_prune_logp=-0.5, token_min_logp=-1.0)  # pruning
    assert narrow.decode(probs) == "the bog sat"
    beams = D.BeamLMDecoder(lm_path, beam_width=16).decode_beams(probs)
    text, _, word_frames, logit_score, combined = beams[0]
    assert text == "the dog sat" and [w for w, _ in word_frames] == ["the", "dog", "sat"]
    assert isinstance(logit_score, float) and type(logit_score) is not np.float32
    assert combined >= beams[-1][4]
    # history pruning and the batch path (no pool) of pyctcdecode itself
    owner = D.BeamLMDecoder(lm_path)          # keeps the LM loaded while `raw` runs
    raw = owner._decoder
    batch = raw.decode_beams_batch(None, [np.log(probs.astype(np.float64))] * 2,
                                   prune_history=True)
    assert [b[0][0] for b in batch] == ["the dog sat"] * 2


def test_unigrams_come_from_the_arpa_file(lm_path):
    decoder = D.BeamLMDecoder(lm_path)
    assert set(decoder.unigrams) == set(" ".join(LM_SENTENCES).split())


def test_bad_input_errors(lm_path, tmp_path):
    greedy = D.make_decoder("greedy")
    with pytest.raises(ValueError, match=r"shape \(time, 29\)"):
        greedy.decode(np.ones((10, 28)) / 28)
    with pytest.raises(ValueError, match="logits or log-probabilities"):
        greedy.decode(np.log(spell("a")))
    with pytest.raises(ValueError, match="NaN"):
        greedy.decode(np.full((3, NUM_CLASSES), np.nan))
    with pytest.raises(ValueError, match="length 9 of utterance 0"):
        greedy.decode_batch(np.stack([spell("ab")]), [9])
    with pytest.raises(ValueError, match="2 utterances but 1 lengths"):
        greedy.decode_batch([spell("a"), spell("b")], [2])
    with pytest.raises(ValueError, match="unknown decoder kind 'viterbi'"):
        D.make_decoder("viterbi")
    with pytest.raises(ValueError, match="needs lm_path"):
        D.make_decoder("beam_lm")
    with pytest.raises(FileNotFoundError, match="missing.arpa"):
        D.make_decoder("beam_lm", lm_path=tmp_path / "missing.arpa")
    with pytest.raises(ValueError, match="beam_width"):
        D.make_decoder("beam", beam_width=0)


def test_make_decoder_passes_its_settings_on(lm_path):
    decoder = D.make_decoder("beam_lm", beam_width=8, lm_path=lm_path, alpha=0.3, beta=2.0)
    assert (decoder.kind, decoder.beam_width, decoder.alpha, decoder.beta) == ("beam_lm", 8, 0.3, 2.0)
    assert D.make_decoder("greedy").name == "greedy" and "width 8" in decoder.name


def test_cer_wer():
    # "the cat sat" vs "the cet sat": 1 of 11 characters, 1 of 3 words; plus an exact pair.
    cer, wer = cer_wer(["The cat, sat!", "a dog"], ["the cet sat", "a dog"])
    assert cer == pytest.approx(1 / 16) and wer == pytest.approx(1 / 5)
    assert cer_wer(["a b"], [""]) == (pytest.approx(1.0), pytest.approx(1.0))
    with pytest.raises(ValueError, match="2 references and 1 hypotheses"):
        cer_wer(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="at least one"):
        cer_wer([], [])


def test_seen_word_errors_attributes_errors_to_seen_and_unseen_words():
    vocabulary = {"the", "cat", "sat", "on", "a"}
    refs = ["The cat sat on a mat.", "the zebra sat"]
    hyps = ["the cat sad on a mat", "the zebra sat down"]
    split = seen_word_errors(refs, hyps, vocabulary)
    # seen: the cat sat on a the sat = 7 words, one error (sat -> sad)
    # unseen: mat zebra = 2 words, none wrong; "down" is an insertion
    assert split == {"seen": (7, 1), "unseen": (2, 0), "inserted": 1}
    dropped = seen_word_errors(["zebra mat the"], ["the"], vocabulary)
    assert dropped == {"seen": (1, 0), "unseen": (2, 2), "inserted": 0}


def test_benchmark_synthesiser_and_row(lm_path):
    from conftest import load_benchmark
    bench = load_benchmark("bench_decoding")
    rng = np.random.default_rng(0)
    clean = [bench.synthesise(t, rng, confusion_rate=0.0) for t in LM_SENTENCES[:3]]
    assert all(p.shape[1] == NUM_CLASSES and np.allclose(p.sum(1), 1) for p in clean)
    row = bench.run_decoder("greedy", D.make_decoder("greedy").decode, clean, LM_SENTENCES[:3],
                            audio_seconds=1.0)
    assert row["hypotheses"] == LM_SENTENCES[:3] and row["WER"] == 0.0 and row["utt/s"] > 0
    noisy = [bench.synthesise(t, rng, confusion_rate=1.0) for t in LM_SENTENCES[:3]]
    assert D.make_decoder("greedy").decode_batch(noisy) != LM_SENTENCES[:3]


@pytest.mark.parametrize("width", [0, -3, 1.5, True, "8", None])
def test_a_beam_width_that_is_not_a_positive_whole_number_is_refused_by_name(width):
    with pytest.raises(ValueError, match=rf"beam_width must be a positive integer, got "
                                         rf"{re.escape(repr(width))}"):
        D.make_decoder("beam", beam_width=width)
    assert D.make_decoder("beam", beam_width=np.int64(4)).beam_width == 4
