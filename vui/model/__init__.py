"""What models builds on: the CNN front end and the CTC loss."""
