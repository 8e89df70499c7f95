"""Trained model + audio to text: evaluation, the Recognizer, batch transcription."""
