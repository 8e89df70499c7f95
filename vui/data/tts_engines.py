"""Debian's English text-to-speech voices (espeak-ng, festival, flite) and how to drive them.

Each voice knows its engine, its name for that engine and its *family*: the recorded speaker
behind it (festival kal_diphone and flite kal/kal16 are all Kal, so one family 'kal'), or
'espeak' for every espeak-ng formant voice. Only voices in Debian main are listed: espeak-ng's
mbrola voices (mb/...) need the non-free mbrola binary and voices, so they are left out.

Prosody knobs per engine, measured on Debian 12 with librosa.pyin (median f0, duration):
- espeak-ng: -s words a minute, -p pitch 0-99, SSML <prosody range="N%"> widens intonation.
- flite: duration_stretch, int_f0_target_mean and int_f0_target_stddev (pitch and intonation);
  rms ignores the f0 target (its pitch stays ~100 Hz), the others follow it.
- festival diphone voices (kal, ked): Duration_Stretch and int_lr_params target f0 mean/std.
- festival cmu_us_slt_arctic_hts: neither Duration_Stretch nor int_lr_params changes its output,
  so it varies by speaker only in the post-processing gain.
"""
import os
import shutil
import subprocess
from dataclasses import dataclass

ESPEAK = "espeak-ng"
ESPEAK_DEFAULT_WPM = 175
FESTIVAL_VOICE_ROOT = "/usr/share/festival/voices"
# voice -> (family, natural f0 in Hz measured with pyin, or None where pitch cannot be set)
FESTIVAL_VOICES = {"kal_diphone": ("kal", 97.0), "ked_diphone": ("ked", 97.0),
                   "cmu_us_slt_arctic_hts": ("slt", None)}
FLITE_VOICES = {"kal": ("kal", 88.0), "kal16": ("kal", 85.0), "awb": ("awb", 130.0),
                "rms": ("rms", None), "slt": ("slt", 174.0)}
SUBPROCESS_TIMEOUT_S = 120


class EngineError(RuntimeError):
    """A speech engine is missing or failed (names the engine, voice and text)."""


@dataclass(frozen=True)
class Voice:
    engine: str        # "espeak-ng" | "festival" | "flite"
    name: str          # the engine's own name, e.g. "en-gb-scotland+m3", "kal16"
    family: str        # recorded speaker behind the voice; "espeak" for formant voices
    base_f0: float = None   # Hz; None where the engine offers no pitch control


def _run(cmd, what, input_text=None):
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=SUBPROCESS_TIMEOUT_S,
                              input=input_text, text=input_text is not None)
    except FileNotFoundError:
        raise EngineError(f"{cmd[0]} is not installed; run scripts/setup.sh") from None
    except subprocess.TimeoutExpired:
        raise EngineError(f"{what}: timed out after {SUBPROCESS_TIMEOUT_S} s") from None
    if done.returncode != 0:
        err = done.stderr if isinstance(done.stderr, str) else done.stderr.decode("utf-8", "replace")
        raise EngineError(f"{what}: exit status {done.returncode}: {err.strip()[-300:]}")
    return done


def espeak_accents():
    """espeak-ng's English accents that need no mbrola (gmw/ voice files), sorted."""
    out = _run([ESPEAK, "--voices=en"], "espeak-ng --voices=en").stdout.decode()
    accents = set()
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5 and cols[4].startswith("gmw/") and cols[1].startswith("en"):
            accents.add(cols[1])
    return sorted(accents)


def espeak_variants():
    """Variant names usable after '+' (files in voices/!v without spaces), sorted."""
    out = _run([ESPEAK, "--voices=variant"], "espeak-ng --voices=variant").stdout.decode()
    names = set()
    for line in out.splitlines()[1:]:
        if "!v/" in line:
            name = line.split("!v/", 1)[1].split("  ")[0].strip()
            if name and " " not in name:   # "Mr serious" cannot be named after '+'
                names.add(name)
    return sorted(names)


def festival_voices():
    """Installed festival voices among FESTIVAL_VOICES (looked up in the voice folders)."""
    if shutil.which("festival") is None:
        return []
    installed = set()
    if os.path.isdir(FESTIVAL_VOICE_ROOT):
        for lang in os.listdir(FESTIVAL_VOICE_ROOT):
            installed.update(os.listdir(os.path.join(FESTIVAL_VOICE_ROOT, lang)))
    return [Voice("festival", name, fam, f0) for name, (fam, f0) in FESTIVAL_VOICES.items()
            if name in installed]


def flite_voices():
    """flite's built-in voices among FLITE_VOICES (awb_time only speaks clock times)."""
    if shutil.which("flite") is None:
        return []
    listed = _run(["flite", "-lv"], "flite -lv").stdout.decode().split(":", 1)[-1].split()
    return [Voice("flite", name, fam, f0) for name, (fam, f0) in FLITE_VOICES.items()
            if name in listed]


def all_voices():
    """Every English voice in Debian main that is installed here, espeak-ng first."""
    if shutil.which(ESPEAK) is None:
        raise EngineError("espeak-ng is not installed; run scripts/setup.sh")
    voices = [Voice("espeak-ng", f"{accent}+{variant}", "espeak")
              for accent in espeak_accents() for variant in espeak_variants()]
    return voices + festival_voices() + flite_voices()


def espeak_command(voice_name, text, wav_path, rate, pitch, range_pct):
    """espeak-ng command line; the SSML wrapper carries the intonation range."""
    ssml = f'<speak><prosody range="{range_pct:.0f}%">{text}</prosody></speak>'
    return [ESPEAK, "-m", "-v", voice_name, "-s", str(int(round(ESPEAK_DEFAULT_WPM * rate))),
            "-p", str(int(round(pitch))), "-w", wav_path, ssml]


def flite_command(voice_name, text, wav_path, rate, f0_mean=None, f0_std=None):
    cmd = ["flite", "-voice", voice_name, "--setf", f"duration_stretch={1.0 / rate:.3f}"]
    if f0_mean is not None:
        cmd += ["--setf", f"int_f0_target_mean={f0_mean:.1f}",
                "--setf", f"int_f0_target_stddev={f0_std:.1f}"]
    return cmd + ["-t", text, "-o", wav_path]


def festival_script(voice_name, items):
    """Scheme that synthesises many utterances with one voice load (festival's start-up and
    voice load cost ~0.2-0.5 s, more than a short utterance): items are
    (text, wav_path, rate, f0_mean or None, f0_std or None)."""
    lines = [f"(voice_{voice_name})"]
    for text, wav_path, rate, f0_mean, f0_std in items:
        lines.append(f"(Parameter.set 'Duration_Stretch {1.0 / rate:.3f})")
        if f0_mean is not None:
            lines.append(f"(set! int_lr_params '((target_f0_mean {f0_mean:.1f}) "
                         f"(target_f0_std {f0_std:.1f}) (model_f0_mean 170) (model_f0_std 34)))")
        lines.append(f'(utt.save.wave (SynthText "{text}") "{wav_path}" \'riff)')
    return "\n".join(lines) + "\n"


def run_espeak(voice_name, text, wav_path, rate, pitch, range_pct):
    _run(espeak_command(voice_name, text, wav_path, rate, pitch, range_pct),
         f"espeak-ng voice {voice_name} text {text!r}")


def run_flite(voice_name, text, wav_path, rate, f0_mean=None, f0_std=None):
    _run(flite_command(voice_name, text, wav_path, rate, f0_mean, f0_std),
         f"flite voice {voice_name} text {text!r}")


def run_festival(voice_name, items, script_path):
    """Synthesise a batch; a failing item shows up as a missing wav, not a lost batch."""
    with open(script_path, "w", encoding="ascii") as out:
        out.write(festival_script(voice_name, items))
    _run(["festival", "-b", script_path], f"festival voice {voice_name} ({len(items)} texts)")
