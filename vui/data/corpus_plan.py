"""Who says what in the embedded corpus: speakers per partition and one job per utterance.

A *speaker* is a voice plus a base rate, pitch and intonation (a grid cell); each utterance
jitters those a little so no two utterances of a speaker sound identical. Held-out guarantees:
- validation and test speakers are voice/grid-cell combinations training never hears (espeak-ng
  voices = accent+variant held out whole; festival/flite voices held out by grid cell);
- validation, test and holdout sentences are disjoint from training's (vui.data.sentences);
- families named in `holdout_families` appear only in the separate 'holdout' partition.
Everything is drawn from random.Random(seed), so a plan is a pure function of its inputs.
"""
import dataclasses
import itertools
import math
import os
import random
from dataclasses import dataclass

PARTITIONS = ("train", "valid", "test")
HOLDOUT = "holdout"
# Share of speakers per family (espeak-ng is half: ~800 formant voices, and it is the fastest).
FAMILY_SHARE = {"espeak": 0.45, "kal": 0.15, "slt": 0.12, "ked": 0.10, "awb": 0.09, "rms": 0.09}
UTTERANCES_PER_SPEAKER = {"train": 40, "valid": 20, "test": 20, HOLDOUT: 20}
RATE_GRID = (0.8, 0.9, 1.0, 1.1, 1.2)            # x normal speed
PITCH_GRID = (0.85, 0.93, 1.0, 1.08, 1.16)       # x the voice's natural f0
# x a raised speaker's pitch: lifts the male recorded voices (kal 88-97 Hz, ked 97, awb 130) into
# the female range (slt 174 Hz) that no other recorded voice reaches (raise_pitches).
HIGH_PITCH_GRID = (1.4, 1.65, 1.9)
ESPEAK_PITCH_GRID = (30, 40, 50, 60, 70)         # espeak-ng -p (0-99, default 50)
RATE_JITTER = 0.03                               # per utterance, +- fraction
PITCH_JITTER = 0.02
ESPEAK_RANGE_PCT = (50.0, 150.0)                 # per-utterance intonation range, SSML %
F0_STD_FRACTION = (0.12, 0.30)                   # per-utterance f0 std / f0 mean (flite, festival)
ESPEAK_HELD_OUT_VOICES = 40                      # espeak accent+variant voices per eval partition
HELD_OUT_CELLS = 2                               # grid cells per festival/flite voice per partition
FIRST_SPEAKER_ID = 100


@dataclass(frozen=True)
class Speaker:
    speaker_id: int
    partition: str
    engine: str
    voice: str
    family: str
    rate: float
    pitch: float       # espeak-ng -p value, or f0 mean in Hz, or None (no pitch control)

    @property
    def chapter_id(self):
        return self.speaker_id * 10 + 1


@dataclass(frozen=True)
class Job:
    speaker: Speaker
    utterance: int
    text: str
    rate: float
    pitch: float
    intonation: float  # espeak-ng range %, or f0 std in Hz, or None

    @property
    def utt_id(self):
        return f"{self.speaker.speaker_id}-{self.speaker.chapter_id}-{self.utterance:04d}"

    def relpath(self):
        s = self.speaker
        return os.path.join(s.partition, str(s.speaker_id), str(s.chapter_id),
                            self.utt_id + ".flac")

    def variant(self):
        """Per-utterance prosody, recorded in the index's `variant` field."""
        return {"rate": round(self.rate, 3),
                "pitch": None if self.pitch is None else round(self.pitch, 1),
                "intonation": None if self.intonation is None else round(self.intonation, 1)}


def voice_cells(voice):
    """(rate, pitch) grid cells a voice can really produce (see vui.data.tts_engines' notes)."""
    if voice.engine == "espeak-ng":
        return list(itertools.product(RATE_GRID, ESPEAK_PITCH_GRID))
    if voice.engine == "festival" and voice.base_f0 is None:
        return [(1.0, None)]     # the HTS voice ignores rate and pitch settings
    pitches = [None] if voice.base_f0 is None else [voice.base_f0 * p for p in PITCH_GRID]
    return list(itertools.product(RATE_GRID, pitches))


def _pools(voices, partitions, holdout_families, rng):
    """{partition: {family: [(voice, cell), ...]}} with eval cells never in train."""
    pools = {p: {} for p in partitions}
    espeak = sorted((v for v in voices if v.family == "espeak"), key=lambda v: v.name)
    rng.shuffle(espeak)
    espeak_rank = {v: i // ESPEAK_HELD_OUT_VOICES for i, v in enumerate(espeak)}
    for voice in sorted(voices, key=lambda v: (v.engine, v.name)):
        if voice.family in holdout_families:
            share = {HOLDOUT: voice_cells(voice)}
        elif voice.family == "espeak":
            part = {0: "valid", 1: "test"}.get(espeak_rank[voice], "train")
            share = {part: [rng.choice(voice_cells(voice))]}
        else:
            cells = voice_cells(voice)
            rng.shuffle(cells)
            k = min(HELD_OUT_CELLS, (len(cells) - 1) // 3)
            share = {"valid": cells[:k], "test": cells[k:2 * k], "train": cells[2 * k:]}
        for part, cells in share.items():
            if part in pools:
                pools[part].setdefault(voice.family, []).extend((voice, c) for c in cells)
    return pools


def _family_counts(families, n_speakers):
    """Largest-remainder split of n_speakers by FAMILY_SHARE, at least one per family."""
    weights = {f: FAMILY_SHARE.get(f, min(FAMILY_SHARE.values())) for f in families}
    total = sum(weights.values())
    n = max(n_speakers, len(families))
    exact = {f: n * w / total for f, w in weights.items()}
    counts = {f: max(1, int(x)) for f, x in exact.items()}
    for f in sorted(families, key=lambda f: exact[f] - int(exact[f]), reverse=True):
        if sum(counts.values()) >= n:
            break
        counts[f] += 1
    return counts


def plan_speakers(voices, sizes, holdout_families=(), seed=0):
    """Speakers for each partition in `sizes` ({partition: n_utterances})."""
    rng = random.Random(seed)
    pools = _pools(voices, list(sizes), set(holdout_families), rng)
    speakers, next_id = {}, FIRST_SPEAKER_ID
    for part, n_utts in sizes.items():
        if n_utts <= 0:
            speakers[part] = []
            continue
        fams = sorted(f for f, cells in pools[part].items() if cells)
        if not fams:
            raise ValueError(f"no voices available for partition {part!r} (holdout families "
                             f"{sorted(holdout_families)}; installed families "
                             f"{sorted({v.family for v in voices})})")
        wanted = math.ceil(n_utts / UTTERANCES_PER_SPEAKER[part])
        chosen = []
        for fam, count in _family_counts(fams, min(wanted, n_utts)).items():
            cells = sorted(pools[part][fam], key=lambda vc: (vc[0].engine, vc[0].name, str(vc[1])))
            rng.shuffle(cells)
            chosen += [cells[i % len(cells)] for i in range(count)]
        rng.shuffle(chosen)
        speakers[part] = []
        for voice, (rate, pitch) in chosen:
            speakers[part].append(Speaker(next_id, part, voice.engine, voice.name,
                                          voice.family, rate, pitch))
            next_id += 1
    return speakers


def raise_pitches(speakers, share, seed=0):
    """A copy of `speakers` in which `share` of the training speakers whose engine takes an f0
    target (festival diphone and flite voices, not espeak-ng) speak at HIGH_PITCH_GRID times
    their pitch. The training set's only high voices are otherwise espeak-ng's formant ones,
    so a model never hears a recorded talker in the female range. Its own rng: the other
    partitions' plans, and every sentence, stay exactly what they were without it."""
    if not 0 <= share <= 1:
        raise ValueError(f"high_pitch_share={share!r}: expected a fraction in [0, 1]")
    train = list(speakers.get("train", []))
    eligible = [i for i, s in enumerate(train) if s.engine != "espeak-ng" and s.pitch is not None]
    rng = random.Random(f"{seed}-high-pitch")
    for i in sorted(rng.sample(eligible, round(share * len(eligible)))):
        train[i] = dataclasses.replace(train[i], pitch=train[i].pitch * rng.choice(HIGH_PITCH_GRID))
    return {**speakers, "train": train} if "train" in speakers else dict(speakers)


def _job(speaker, utterance, text, rng):
    rate = speaker.rate * rng.uniform(1 - RATE_JITTER, 1 + RATE_JITTER)
    if speaker.engine == "festival" and speaker.pitch is None:
        return Job(speaker, utterance, text, 1.0, None, None)
    pitch = None if speaker.pitch is None else (
        speaker.pitch * rng.uniform(1 - PITCH_JITTER, 1 + PITCH_JITTER))
    if speaker.engine == "espeak-ng":
        intonation = rng.uniform(*ESPEAK_RANGE_PCT)
    else:
        intonation = None if pitch is None else pitch * rng.uniform(*F0_STD_FRACTION)
    return Job(speaker, utterance, text, rate, pitch, intonation)


def plan_jobs(speakers, sentences, seed=0):
    """One Job per sentence, sentences dealt round-robin to the partition's speakers."""
    rng = random.Random(seed + 1)
    jobs = []
    for part, spk in speakers.items():
        texts = list(sentences.get(part, []))
        for i, text in enumerate(texts):
            jobs.append(_job(spk[i % len(spk)], i // len(spk), text, rng))
    return jobs
