"""Probabilities to text: greedy/beam/LM decoders, the n-gram LM, CER/WER."""
