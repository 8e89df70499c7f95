"""The CTC loss against keras.ops.ctc_loss and against a brute-force path sum."""
import itertools

import numpy as np
import pytest
from keras import ops

from char_map import BLANK_INDEX, NUM_CLASSES
from vui.model.ctc import CTCLoss, ctc_nll


def _random_batch(rng, batch=3, time=12, max_label=4):
    logits = rng.normal(size=(batch, time, NUM_CLASSES)).astype("float32")
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    out_len = np.array([time, time - 3, time - 5])[:batch]
    lab_len = np.array([4, 2, 3])[:batch]
    labels = np.full((batch, max_label), BLANK_INDEX)
    for i, n in enumerate(lab_len):
        labels[i, :n] = rng.integers(0, BLANK_INDEX, size=n)
    labels[0, 0] = 0  # the apostrophe is class 0: it must not vanish in a sparse conversion
    y_true = np.concatenate([out_len[:, None], lab_len[:, None], labels], axis=1).astype("int32")
    return probs, y_true, labels, lab_len, out_len


def test_matches_keras_ops_ctc_loss():
    probs, y_true, labels, lab_len, out_len = _random_batch(np.random.default_rng(0))
    ours = ops.convert_to_numpy(ctc_nll(y_true, probs))
    reference = ops.convert_to_numpy(ops.ctc_loss(
        labels, np.log(probs), lab_len, out_len, mask_index=BLANK_INDEX))
    np.testing.assert_allclose(ours, reference, rtol=1e-4)




def test_matches_brute_force_path_sum_on_a_tiny_case():
    rng = np.random.default_rng(1)
    # Only 3 classes carry mass so the brute force stays small; the rest get ~0 probability.
    probs = np.full((4, NUM_CLASSES), 1e-12)
    probs[:, [0, 2, BLANK_INDEX]] = rng.dirichlet(np.ones(3), size=4)
    probs /= probs.sum(-1, keepdims=True)
    label = [2, 0]
    y_true = np.array([[4, 2, 2, 0]], dtype="int32")
    expected = _brute_force_nll_small(probs, label, classes=[0, 2, BLANK_INDEX])
    ours = ops.convert_to_numpy(ctc_nll(y_true, probs[None].astype("float32")))[0]
    assert ours == pytest.approx(expected, rel=1e-4)


def _brute_force_nll_small(probs, label, classes):
    total = 0.0
    for path in itertools.product(classes, repeat=len(probs)):
        collapsed = [c for i, c in enumerate(path) if c != BLANK_INDEX and (i == 0 or c != path[i - 1])]
        if collapsed == label:
            total += np.prod([probs[t, c] for t, c in enumerate(path)])
    return -np.log(total)


def test_loss_object_is_the_batch_mean():
    probs, y_true, *_ = _random_batch(np.random.default_rng(2))
    per_utt = ops.convert_to_numpy(ctc_nll(y_true, probs))
    assert float(CTCLoss()(y_true.astype("float32"), probs)) == pytest.approx(per_utt.mean(), rel=1e-5)
