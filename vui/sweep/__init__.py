"""Sweeps: many training runs at once, as Ray Tune trials (`T.sweep`, `vui sweep CONFIG`).

Each trial is one `train_model` call in its own Ray worker process, which builds its own
generator from a `GenSpec` (a generator cannot travel to another process) and writes the same
results/ files as a notebook run. So a sweep's runs compare with `T.plot_comparison` and
`T.comparison_table` like any others, and running a sweep again loads its finished runs and
resumes the ones that died (train_model's backups and locks do that).

Modules: `spec` (what a trial needs: the generator's description, the builders), `trial`
(the function each Ray worker runs), `progress` (the Keras callback that reports each epoch to
Tune and prints it), `outcome` (what became of each trial: the table), `cluster` (which Ray,
and locks left by nodes that left), `runner` (`run_sweep`: its options, Tune, the scheduler).
None imports train_utils: the training function comes in as an argument, and
train_utils.sweep hands it over.
"""
