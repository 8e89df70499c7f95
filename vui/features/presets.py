"""Named feature settings (AudioGeneratorCached arguments) for the command line and the
benchmarks. A module of its own, importing nothing, so `vui --help` stays instant."""

FEATURE_PRESETS = {
    "spectrogram": dict(spectrogram=True),
    "raw": dict(raw=True),
    "mfcc13": dict(spectrogram=False, mfcc_dim=13),
    "mfcc26": dict(spectrogram=False, mfcc_dim=26),
    # each utterance's own mean subtracted first (cepstral mean normalisation)
    "mfcc26-cmn": dict(spectrogram=False, mfcc_dim=26, utterance_mean=True),
}
