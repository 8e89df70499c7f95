"""Corpora: index files, the embedded TTS corpus, LibriSpeech trees."""
