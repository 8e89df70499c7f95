"""Decoder comparison: CER, WER, utterances per second and real-time factor for each decoder.

With a trained model (the integrator's run; the targets are on the embedded corpus's held-out
speakers and sentences, i.e. its test partition):

    .venv/bin/python benchmarks/bench_decoding.py --model results/NAME.keras --corpus data/embedded

  builds a 3-gram LM from the corpus's training transcripts (unless --lm is given), picks alpha
  and beta on the validation partition (unless the model's record, --alpha/--beta or a saved
  results/NAME.lm.json already give them; the choice is saved there), then decodes the evaluation
  partition with greedy, beam, beam+LM and, for comparison, keras.ops.ctc_decode's beam search.

Without a model (checks the script and gives decoder speeds on realistic shapes):

    .venv/bin/python benchmarks/bench_decoding.py --synthetic

  synthesises softmax outputs for corpus-like sentences with acoustic confusions (see
  `synthesise`); the LM is built from *other* sentences, so test words can be out of vocabulary.

Real-time factor = decoding seconds / audio seconds (decoding only; the acoustic model's own
factor is printed separately). All rows are measured in one run, on the same outputs.
"""
import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from char_map import BLANK_INDEX, NUM_CLASSES, text_to_int_sequence  # noqa: E402
from vui.decode.decoders import DEFAULT_BEAM_WIDTH, make_decoder  # noqa: E402
from vui.decode.metrics import cer_wer  # noqa: E402
from vui.features.speaker_norm import PER_CHOICES as NORM_CHOICES  # noqa: E402
from vui.data.tts_corpus import EMBEDDED_ROOT  # noqa: E402

FRAME_SECONDS = 0.01          # synthetic outputs: one frame per 10 ms feature step
LM_ORDER = 3
SYNTH_CONFUSION_RATE = 0.2    # share of characters whose frames favour a wrong letter
SYNTH_SEED = 0
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def synthesise(text, rng, confusion_rate=SYNTH_CONFUSION_RATE):
    """Softmax-like outputs for text: each character 1-3 frames then 1-4 blank frames; some
    characters lose to a wrong letter (greedy spells it wrong, the truth stays second)."""
    rows = []
    for label in text_to_int_sequence(text):
        wrong = 2 + rng.integers(26) if label > 1 and rng.random() < confusion_rate else None
        for _ in range(rng.integers(1, 4)):
            p = rng.dirichlet(np.full(NUM_CLASSES, 0.05)) * 0.1
            if wrong is not None:
                p[wrong] += 0.5
                p[label] += 0.4
            else:
                p[label] += 0.9
            rows.append(p / p.sum())
        for _ in range(rng.integers(1, 5)):
            p = rng.dirichlet(np.full(NUM_CLASSES, 0.05)) * 0.05
            p[BLANK_INDEX] += 0.95
            rows.append(p / p.sum())
    return np.array(rows, dtype=np.float32)


def synthetic_data(n_test, n_valid):
    """(lm_sentences, valid, test) with valid/test = (probs_list, references, audio_seconds)."""
    from vui.data import sentences
    pool = sentences.load_sentences()
    rng = np.random.default_rng(SYNTH_SEED)
    order = rng.permutation(len(pool))
    pool = [pool[i] for i in order]
    test, valid, lm_text = pool[:n_test], pool[n_test:n_test + n_valid], pool[n_test + n_valid:]

    def outputs(texts):
        probs = [synthesise(t, rng) for t in texts]
        return probs, texts, sum(len(p) for p in probs) * FRAME_SECONDS
    return lm_text, outputs(valid), outputs(test)


def model_data(model_path, corpus, eval_index, max_utterances, speaker_norm=None):
    """Validation and evaluation outputs of a trained model: (probs, references, audio_seconds)
    per partition, plus the acoustic model's seconds on the evaluation partition. With
    `speaker_norm` ("speaker"/"utterance", vui.features.speaker_norm) the evaluation partition's
    features are shifted to the training mean; the validation partition, which only tunes
    the LM weights, stays as trained (shifted too for a model trained with a speaker shift:
    vui.train.trained.model_info)."""
    import data_generator as DG
    import train_utils as T
    from vui.infer.inference import normalized_features, predict_probabilities
    from vui.features.speaker_norm import as_config, normalize_speakers
    from vui.train.trained import model_info
    model = T.load_model(str(model_path))
    trained = model_info(model).speaker_norm
    gen = DG.AudioGeneratorCached.for_corpus(model.vui_record["feature_config"], corpus,
                                             eval_index)
    out, acoustic_seconds = {}, 0.0
    for part in ("validation", "test"):
        paths, durations, texts = gen.partition_data(part)
        n = min(len(paths), max_utterances or len(paths))
        feats = [normalized_features(model, gen, part, i) for i in range(n)]
        shift = as_config(speaker_norm) if speaker_norm and part == "test" else trained
        if shift is not None:
            feats = normalize_speakers(feats, gen.speakers(part)[:n], shift)
        start = time.perf_counter()
        probs = predict_probabilities(model, feats, verbose=1)
        acoustic_seconds = time.perf_counter() - start
        out[part] = (probs, list(texts[:n]), float(np.sum(durations[:n])))
    return model, out["validation"], out["test"], acoustic_seconds


def keras_beam_decoder(beam_width):
    """keras.ops.ctc_decode beam search as a decode function, for the comparison row. It wants
    logits or log-probabilities: given probabilities it re-applies a softmax and loses letters."""
    import keras
    from char_map import int_sequence_to_text

    def decode(probs):
        if len(probs) == 0:
            return ""
        logp = np.log(np.clip(probs, 1e-12, 1.0))[None].astype("float32")
        paths, _ = keras.ops.ctc_decode(logp, np.array([len(probs)]), strategy="beam_search",
                                        beam_width=beam_width, mask_index=BLANK_INDEX)
        return int_sequence_to_text(keras.ops.convert_to_numpy(paths)[0, 0])
    return decode


def run_decoder(name, decode, probs, references, audio_seconds):
    from tqdm.auto import tqdm
    decode(probs[0])  # warm-up (tracing, LM loading caches) is not timed
    start = time.perf_counter()
    hypotheses = [decode(p) for p in tqdm(probs, desc=name, leave=False)]
    seconds = time.perf_counter() - start
    cer, wer = cer_wer(references, hypotheses)
    return {"decoder": name, "CER": cer, "WER": wer, "utt/s": len(probs) / seconds,
            "RTF": seconds / audio_seconds, "hypotheses": hypotheses}


def choose_weights(args, model, valid, lm_path, weights_path):
    """alpha/beta from the command line, the model's record, a saved file, or a fresh search."""
    from vui.decode.lm_tuning import load_lm_weights, save_lm_weights, tune_lm_weights
    if args.alpha is not None and args.beta is not None:
        return args.alpha, args.beta, "command line"
    record_lm = (getattr(model, "vui_record", None) or {}).get("lm") if model else None
    if record_lm and not args.tune:
        return record_lm["alpha"], record_lm["beta"], "model record"
    if weights_path and os.path.isfile(weights_path) and not args.tune:
        saved = load_lm_weights(weights_path)
        if os.path.abspath(saved["lm_path"]) == os.path.abspath(lm_path):
            return saved["alpha"], saved["beta"], weights_path
    probs, refs, _ = valid
    n = min(len(probs), args.tune_utterances)
    timed = {}
    for workers in args.grid_workers:      # each value in turn, on the same outputs
        start = time.perf_counter()
        result = tune_lm_weights(probs[:n], refs[:n], lm_path, beam_width=args.beam_width,
                                 workers=workers)
        timed[workers] = (time.perf_counter() - start, result)
    if len(timed) > 1:
        print(f"alpha/beta grid ({len(result['grid'])} points x {n} utterances) by decoding "
              "processes (worker start-up included):")
        first = next(iter(timed.values()))
        for workers, (seconds, other) in timed.items():
            same = "same grid" if other == first[1] else "DIFFERENT grid"
            print(f"  workers {'default' if workers is None else workers}: {seconds:.1f} s "
                  f"({first[0] / seconds:.2f}x the first; {same})")
    print("alpha/beta grid (validation WER):")
    for g in result["grid"]:
        print(f"  alpha {g['alpha']:<5g} beta {g['beta']:<4g} CER {g['cer']:.2%}  WER {g['wer']:.2%}")
    if weights_path:
        save_lm_weights(result, weights_path)
    return result["alpha"], result["beta"], f"grid search on {n} validation utterances"


def build_lm(args, lm_text):
    from vui.decode.lm import build_arpa, build_lm_from_index
    if args.lm:
        return args.lm
    path = Path(args.lm_dir) / ("synthetic_o%d.arpa" % LM_ORDER if args.synthetic else
                                f"{Path(args.corpus).name}_train_o{LM_ORDER}.arpa")
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.synthetic:
            build_arpa(lm_text, path, order=LM_ORDER)
        else:
            build_lm_from_index(Path(args.corpus) / "train_corpus.json", path, order=LM_ORDER)
    print(f"built {path} in {time.perf_counter() - start:.1f} s")
    return str(path)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="results/NAME.keras of a trained model")
    p.add_argument("--synthetic", action="store_true", help="synthesised outputs, no model")
    p.add_argument("--corpus", default=str(EMBEDDED_ROOT), help="corpus folder with *_corpus.json")
    p.add_argument("--eval-index", help="index to evaluate (default: CORPUS/test_corpus.json)")
    p.add_argument("--max-utterances", type=int, default=None)
    p.add_argument("--lm", help="ARPA/KenLM file (default: built from the training transcripts)")
    p.add_argument("--lm-dir", default="results/lm")
    p.add_argument("--beam-width", type=int, default=DEFAULT_BEAM_WIDTH)
    p.add_argument("--alpha", type=float)
    p.add_argument("--beta", type=float)
    p.add_argument("--tune", action="store_true", help="search alpha/beta even if saved")
    p.add_argument("--tune-utterances", type=int, default=200)
    p.add_argument("--grid-workers", type=int, nargs="+", default=[None],
                   help="decoding processes for the alpha/beta grid (0: none); several values "
                   "are each timed on the same outputs (default: one per core)")
    p.add_argument("--speaker-norm", default=None, choices=NORM_CHOICES,
                   help="shift the evaluated speakers' features to the training mean "
                        "(vui.features.speaker_norm)")
    p.add_argument("--no-keras", action="store_true", help="skip the keras beam-search row")
    p.add_argument("--show", type=int, default=3, help="example transcripts to print")
    args = p.parse_args(argv)
    if bool(args.model) == bool(args.synthetic):
        p.error("give exactly one of --model PATH or --synthetic")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.synthetic:
        n = args.max_utterances or 200
        lm_text, valid, test = synthetic_data(n, min(n, args.tune_utterances))
        model, acoustic_seconds, weights_path = None, None, None
    else:
        eval_index = args.eval_index or str(Path(args.corpus) / "test_corpus.json")
        model, valid, test, acoustic_seconds = model_data(args.model, args.corpus, eval_index,
                                                          args.max_utterances, args.speaker_norm)
        lm_text, weights_path = None, str(Path(args.model).with_suffix(".lm.json"))
    lm_path = build_lm(args, lm_text)
    alpha, beta, source = choose_weights(args, model, valid, lm_path, weights_path)
    probs, references, audio_seconds = test
    print(f"\n{len(probs)} utterances, {audio_seconds:.0f} audio seconds; LM {lm_path}; "
          f"alpha {alpha:g}, beta {beta:g} ({source})")
    if acoustic_seconds is not None:
        print(f"acoustic model: {acoustic_seconds:.1f} s, real-time factor "
              f"{acoustic_seconds / audio_seconds:.4f}")
    decoders = [("greedy", make_decoder("greedy").decode),
                (f"beam w{args.beam_width}", make_decoder("beam", beam_width=args.beam_width).decode),
                (f"beam+LM w{args.beam_width}",
                 make_decoder("beam_lm", beam_width=args.beam_width, lm_path=lm_path, alpha=alpha,
                              beta=beta).decode)]
    if not args.no_keras:
        decoders.append((f"keras beam w{args.beam_width}", keras_beam_decoder(args.beam_width)))
    rows = [run_decoder(name, fn, probs, references, audio_seconds) for name, fn in decoders]
    print(f"\n{'decoder':<16}{'CER':>8}{'WER':>8}{'utt/s':>10}{'RTF':>10}")
    for r in rows:
        print(f"{r['decoder']:<16}{r['CER']:>8.2%}{r['WER']:>8.2%}{r['utt/s']:>10.1f}"
              f"{r['RTF']:>10.5f}")
    greedy, lm = rows[0], rows[2]
    print(f"\nbeam+LM / greedy: WER x{lm['WER'] / max(greedy['WER'], 1e-9):.2f}, "
          f"CER x{lm['CER'] / max(greedy['CER'], 1e-9):.2f}")
    for i in range(min(args.show, len(references))):
        print(f"\n{'TRUE':<16}{references[i]}")
        for r in rows[:3]:
            print(f"{r['decoder']:<16}{r['hypotheses'][i]}")
    return rows


if __name__ == "__main__":
    main()
