"""What train_utils builds on. Modules: `trained` (a run's model and record, loaded), `history`
(the per-epoch record), `guards` (run locks, atomic backups, the loss limit, a resumed run's
same set-up), `optimizers` (the seed's SGD and the checks), `schedule` (a learning rate over a
time budget, the time limit), `precision` (mixed precision), `distribute` (data parallel under
keras.distribution), `comparison` (loss curves and the results table)."""
