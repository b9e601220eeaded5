"""The tooling behind ``fmnist-course``: finding, checking, running and reporting the notebooks.

This layer imports the notebook layer (``fmnist_helpers``), never the other way round, and a
command never imports another command: what two commands share is in a shared module
(docs/design.md, "The two layers", lists every module):

- ``catalog``: the notebooks, their parameters (papermill's inspection) and the presets;
- ``preflight``: the one check before anything runs (data, parameter names, types and values);
- ``execute``: ``run_notebook``, the one way to execute a notebook;
- ``folders``: stamped run folders; ``report``: headline metrics and run reports;
- ``cluster``: the Dask engine that sweeps and grading submit to; ``worker``: the task a worker
  runs (one notebook, its results returned as bytes);
- ``measured``: the results in ``results/`` and the README's tables; ``notebook_files``: clean
  metadata, stubbed answers, student copies; ``hygiene``: a committed notebook is clean;
- ``run``, ``sweep``, ``grade``, ``student``, ``refresh``, ``readme``, ``predict``, ``website``: the
  commands; ``cli``: the command line;
- ``options``: the option dataclasses the commands share (``Folders``, ``ClusterOptions``);
  ``links``: where a notebook finds an earlier notebook's outputs (one rule for run, sweep, grade);
- ``environment``: the environment every kernel gets.
"""
