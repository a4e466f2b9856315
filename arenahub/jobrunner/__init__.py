"""Trusted code that runs inside a job's pod from the job-runner image, beside the participant's code (stdlib only).

``arenahub.jobrunner.outputframe`` packs, frames, verifies and unpacks a test run's outputs;
``python3 -m arenahub.jobrunner.collector`` is the collector sidecar that prints them as one frame.
"""
