"""What data_generator builds on: batches and the seed's plot helpers."""
