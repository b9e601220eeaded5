"""The tooling behind ``fmnist-course``: finding, checking, running and reporting the notebooks.

This layer imports the notebook layer (``fmnist_helpers``), never the other way round:

- ``catalog``: the notebooks, their parameters (papermill's inspection) and the presets;
- ``preflight``: the one check before anything runs (data, parameter names, types and values);
- ``execute``: ``run_notebook``, the one way to execute a notebook;
- ``folders``: stamped run folders; ``report``: headline metrics and run reports;
- ``cluster``: the Dask engine that sweeps and grading submit to; ``worker``: the task a worker
  runs (one notebook, its results returned as bytes);
- ``run``, ``sweep``, ``grade``, ``student``, ``refresh``, ``readme``: the commands; ``cli``: the
  command line;
- ``environment``: the environment every kernel gets.
"""
