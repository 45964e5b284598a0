"""Where stages run: on this machine, inside the container image, or as SLURM job arrays.

* :mod:`harness.launch.plan` -- the pending stages of ``dvc.yaml`` in dependency waves;
* :mod:`harness.launch.container` -- the argv running a stage locally / in docker / apptainer;
* :mod:`harness.launch.jobs` -- one stage as a (requeueable) job;
* :mod:`harness.launch.sweep` -- ``harness sweep``: run the waves and commit them to dvc.lock.
"""
