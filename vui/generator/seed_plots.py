"""The seed notebook's figures of one utterance: its waveform, MFCC and spectrogram.

Why a module of its own: plotting is for the notebook only; matplotlib is imported inside each
function, so training and the command line never load it. The seed calls these through
data_generator (`DG.plot_raw_audio`, `DG.plot_mfcc_feature`, `DG.plot_spectrogram_feature`),
which re-exports them.
"""
import numpy as np

import utils as U


def plot_raw_audio(vis_raw_audio, sample_rate=U.SAMPLE_RATE):
    """Waveform against time in seconds; returns the figure."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(12, 3))
    ax.plot(np.arange(len(vis_raw_audio)) / sample_rate, vis_raw_audio)
    ax.set(title="Audio Signal", xlabel="Time (s)", ylabel="Amplitude")
    return fig


def _plot_feature(feature, title, ylabel):
    import matplotlib.pyplot as plt
    from mpl_toolkits.axes_grid1 import make_axes_locatable
    fig, ax = plt.subplots(figsize=(12, 5))
    image = ax.imshow(np.asarray(feature).T, cmap="jet", aspect="auto", origin="lower")
    ax.set(title=title, xlabel="Time (frames of 10 ms)", ylabel=ylabel)
    cax = make_axes_locatable(ax).append_axes("right", size="3%", pad=0.05)
    fig.colorbar(image, cax=cax)
    return fig


def plot_mfcc_feature(vis_mfcc_feature):
    """Normalised MFCC as an image (coefficients up, time across); returns the figure."""
    return _plot_feature(vis_mfcc_feature, "Normalized MFCC", "MFCC Coefficient")


def plot_spectrogram_feature(vis_spectrogram_feature):
    """Normalised log spectrogram as an image (frequency up, time across); returns the figure."""
    return _plot_feature(vis_spectrogram_feature, "Normalized Spectrogram", "Frequency bin")
