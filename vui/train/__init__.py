"""What train_utils builds on: loading trained runs, schedules, comparisons."""
