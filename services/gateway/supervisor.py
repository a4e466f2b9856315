"""Per-run supervisor: runs one job under bubblewrap, streams its output to log.jsonl, enforces its limits.

LocalExecutor starts it detached (``python -m arenahub.gateway.supervisor RUN_DIR --daemonize``):
it double-forks into its own session, so the gateway can die and restart while the job goes on.
The supervisor is bwrap's parent and sets PR_SET_PDEATHSIG on it, and bwrap runs with
``--die-with-parent``: if the supervisor itself dies, the sandbox's PID namespace dies with it
and the executor reports the run as lost. It writes every output line as a record to
``log.jsonl`` and, last, ``result.json``; SIGTERM (sent by cancel()) stops the job.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import json
import os
import platform
import selectors
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from arenahub.core.bwrap import build_bwrap_argv, build_keyring_seccomp
from arenahub.gateway.executors.logfile import LineSplitter
from arenahub.core.host import read_system_layout
from arenahub.gateway.executors.runfiles import LogWriter, disk_usage, uids_in_use
from arenahub.gateway.executors.runconfig import (
    CANCEL_FILE,
    ETC_DIR,
    LOG_FILE,
    RESULT_FILE,
    RUN_CONFIG,
    SUPERVISOR_FILE,
    SUPERVISOR_LOG,
    WORK_DIR,
    SupervisorConfig,
)
from arenahub.gateway.executors.sandbox import (
    NVIDIA_CONTROL_NODES,
    JobSandboxInputs,
    RunEnding,
    decide_result,
    describe_limits,
    make_etc_files,
    make_job_sandbox,
)
from arenahub.gateway.limits import (
    CgroupError,
    JobCgroup,
    apply_rlimits,
    cgroup_name,
    load_cgroup_layout,
    plan_rlimits,
)

_PR_SET_PDEATHSIG = 1
_KEYCTL_JOIN_SESSION_KEYRING = 1
_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}
_DRAIN_AFTER_KILL_S = 5.0


class SetupError(RuntimeError):
    """The sandbox could not be prepared; the message becomes the run's reason."""


class Supervisor:
    """Runs the job described by ``<run_dir>/run.json`` once, from setup to result.json."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.config = SupervisorConfig.from_json((run_dir / RUN_CONFIG).read_text())
        self.log = LogWriter(run_dir / LOG_FILE, self.config.max_log_bytes)
        self.stop_signal: int | None = None
        self.slot_fd: int | None = None
        self.cgroup: JobCgroup | None = None

    def run(self) -> int:
        """Run the job and write result.json; returns the supervisor's exit status (0)."""
        limits = self.config.spec.limits
        try:
            ending = self._run()
        except SetupError as exc:
            ending = RunEnding(exit_code=None, setup_error=str(exc))
        except Exception as exc:  # the run must end with a result whatever went wrong
            traceback.print_exc()
            ending = RunEnding(exit_code=None, setup_error=f"internal supervisor error ({type(exc).__name__})")
        finally:
            if self.cgroup is not None:
                self.cgroup.remove()
        status, reason = decide_result(ending, limits)
        self.log.system(f"Job {status}: {reason}")
        result = {"status": status, "exit_code": ending.exit_code, "reason": reason, "finished_at": time.time()}
        _write_atomically(self.run_dir / RESULT_FILE, json.dumps(result))
        return 0

    def _run(self) -> RunEnding:
        config, spec = self.config, self.config.spec
        wakeup_r, wakeup_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wakeup_w)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

        uid = self._acquire_uid()
        work_dir = self._prepare_files(uid)
        self._setup_cgroup(uid)
        rlimits = plan_rlimits(spec.limits, has_memory_cgroup=self.cgroup is not None, has_gpus=bool(spec.gpus))
        _write_atomically(self.run_dir / SUPERVISOR_FILE, json.dumps({
            "pid": os.getpid(), "uid": uid, "cgroup_name": cgroup_name(uid) if self.cgroup else None,
            "cgroups": sorted(map(str, self.cgroup.dirs.values())) if self.cgroup else [],
            "rlimits": {str(k): v for k, v in rlimits.items()},
        }))

        status_r, status_w = os.pipe2(os.O_CLOEXEC)
        seccomp_fd = _memfd("seccomp", build_keyring_seccomp(platform.machine()))
        inputs = JobSandboxInputs(
            spec=spec,
            work_dir=str(work_dir),
            etc_dir=str(self.run_dir / ETC_DIR),
            uid=uid,
            gid=uid,
            system_layout=read_system_layout(),
            python_paths=config.python_paths,
            gpu_devices=config.gpu_devices,
            gpu_control_nodes=tuple(n for n in NVIDIA_CONTROL_NODES if os.path.exists(n)),
            setpriv=config.setpriv,
            bwrap=config.bwrap,
            status_fd=status_w,
            seccomp_fd=seccomp_fd,
        )
        sandbox = make_job_sandbox(inputs)
        argv = build_bwrap_argv(sandbox)
        # The options travel through a memfd, so the sandbox's pid 1 shows "bwrap --args N -- <command>"
        # and no host paths; bwrap wants the command itself on its real command line.
        split = len(argv) - len(sandbox.argv) - 1  # the index of the "--" before the command
        args_fd = _memfd("bwrap-args", b"".join(a.encode() + b"\0" for a in argv[1:split]))
        gpus = ",".join(map(str, spec.gpus)) or "none"
        self.log.system(f"Job {spec.job_id} starting: {' '.join(spec.argv)} (GPUs {gpus}; {describe_limits(spec.limits)})")
        proc = subprocess.Popen(
            [argv[0], "--args", str(args_fd), *argv[split:]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(args_fd, status_w, seccomp_fd),
            env={},  # bwrap's own environment is what the sandbox's pid 1 shows in /proc/1/environ
            cwd="/",
            preexec_fn=_child_setup(self.cgroup, rlimits, os.getpid()),
        )
        for fd in (status_w, args_fd, seccomp_fd):
            os.close(fd)
        try:
            return self._follow(proc, status_r, wakeup_r, work_dir)
        finally:
            os.close(status_r)

    def _follow(self, proc: subprocess.Popen[bytes], status_r: int, wakeup_r: int, work_dir: Path) -> RunEnding:
        """Stream output, watch limits and signals until the sandbox has exited; say how it ended."""
        limits = self.config.spec.limits
        if proc.stdout is None or proc.stderr is None:
            raise RuntimeError("bwrap was started without output pipes")
        streams = {proc.stdout.fileno(): ("stdout", LineSplitter()), proc.stderr.fileno(): ("stderr", LineSplitter())}
        selector = selectors.DefaultSelector()
        for fd in [*streams, status_r, wakeup_r]:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        status_buf, status = b"", dict[str, int]()  # bwrap --json-status-fd: child-pid, exit-code, ...
        first_stderr: str | None = None
        start = time.monotonic()
        deadline, next_check = start + limits.wall_s, start + self.config.check_interval_s
        ending: dict[str, object] = {}
        killed_at: float | None = None

        def kill(**why: object) -> None:
            nonlocal killed_at
            ending.update(why)
            killed_at = time.monotonic()
            # SIGKILL to the sandbox's pid 1 makes the kernel kill its whole PID namespace.
            for pid in (status.get("child-pid"), proc.pid):
                if pid and proc.poll() is None:
                    _kill_quietly(int(pid))
            if self.cgroup is not None:
                self.cgroup.kill_all()

        while True:
            watched = set(selector.get_map()) - {wakeup_r}
            if not watched and proc.poll() is not None:
                break
            now = time.monotonic()
            timeout = max(0.0, min(deadline, next_check) - now)
            for key, _ in selector.select(timeout if watched else min(timeout, 0.05)):
                data = _read_available(key.fd)
                if data is None or key.fd == wakeup_r:
                    continue  # a spurious wakeup, or a signal byte (the handler already ran)
                if key.fd in streams:
                    name, splitter = streams[key.fd]
                    lines = splitter.feed(data) if data else splitter.flush()
                    if name == "stderr" and lines and first_stderr is None:
                        first_stderr = lines[0]
                    self.log.write(name, lines)
                elif key.fd == status_r:
                    status_buf += data
                    *complete, status_buf = status_buf.split(b"\n")
                    for line in filter(None, complete):
                        status.update(json.loads(line))
                if not data:
                    selector.unregister(key.fd)
                    streams.pop(key.fd, None)
            now = time.monotonic()
            if killed_at is None:
                if self.stop_signal is not None:
                    kill(cancelled=True, cancel_reason=self._cancel_reason())
                elif now >= deadline:
                    kill(timed_out=True)
                elif now >= next_check:
                    self._check_limits(work_dir, kill)
            elif now - killed_at > _DRAIN_AFTER_KILL_S:
                break  # something outside the sandbox holds the pipes open; stop waiting for them
            if now >= next_check:
                next_check = now + self.config.check_interval_s
        proc.wait()
        selector.close()
        code = status.get("exit-code")
        exit_code = int(code) if code is not None else (128 - proc.returncode if proc.returncode < 0 else proc.returncode)
        setup_error = ""
        if not ending and ("child-pid" not in status or (exit_code == 1 and (first_stderr or "").startswith("bwrap: "))):
            setup_error = first_stderr or f"bwrap exited with code {exit_code} before the job started"
        oom = self.cgroup.oom_killed() if self.cgroup is not None else False
        return RunEnding(exit_code=exit_code, oom_killed=oom, setup_error=setup_error, **ending)  # type: ignore[arg-type]

    def _check_limits(self, work_dir: Path, kill: Callable[..., None]) -> None:
        limits = self.config.spec.limits
        if (self.run_dir / CANCEL_FILE).exists():
            kill(cancelled=True, cancel_reason=self._cancel_reason())
        elif self.cgroup is not None and self.cgroup.cpu_usage_s() >= limits.cpu_s:
            kill(cpu_exceeded=True)
        elif disk_usage(work_dir) > limits.disk_bytes:
            kill(disk_exceeded=True)

    def _cancel_reason(self) -> str:
        if (self.run_dir / CANCEL_FILE).exists():
            # The executor writes why (e.g. the GPU quota notice); an empty file is a user's cancel.
            try:
                written = (self.run_dir / CANCEL_FILE).read_text(errors="replace").strip()[:500]
            except OSError:
                written = ""
            return written or "cancelled on request"
        return f"stopped by signal {self.stop_signal} sent to the supervisor (host shutdown?)"

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.stop_signal = signum

    def _acquire_uid(self) -> int:
        """Lock the first free sandbox uid (held until this process exits); raises SetupError."""
        slots = Path(self.config.slots_dir)
        busy = uids_in_use()
        for uid in range(self.config.uid_base, self.config.uid_base + self.config.uid_count):
            fd = os.open(slots / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            if uid in busy:  # a process of an earlier run still holds this uid: never share it
                os.close(fd)
                continue
            self.slot_fd = fd
            return uid
        raise SetupError(
            f"all {self.config.uid_count} sandbox uids ({self.config.uid_base}...) are busy; "
            "raise LocalExecutor(uid_count=...) or wait for running jobs to end"
        )

    def _prepare_files(self, uid: int) -> Path:
        """Hand the code copy (made by the executor) to ``uid``; write the sandbox's /etc files."""
        work_dir = self.run_dir / WORK_DIR
        for root, dirs, files in os.walk(work_dir):  # never follows symlinks: lchown only
            for name in [*dirs, *files]:
                os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)
        os.chown(work_dir, uid, uid)
        etc = self.run_dir / ETC_DIR
        etc.mkdir(mode=0o755, exist_ok=True)
        for name, text in make_etc_files(uid, uid).items():
            (etc / name).write_text(text)
            (etc / name).chmod(0o644)
        return work_dir

    def _setup_cgroup(self, uid: int) -> None:
        if not self.config.use_cgroups:
            self.log.system("cgroups are disabled for this executor; limits are enforced with rlimits only.")
            return
        layout = load_cgroup_layout()
        if layout is None:
            self.log.system("No usable cgroup hierarchy on this host; limits are enforced with rlimits only.")
            return
        cgroup = JobCgroup(layout, cgroup_name(uid))
        try:
            cgroup.create(self.config.spec.limits)
        except CgroupError as exc:
            print(f"cgroup setup failed for uid {uid}: {exc}", file=sys.stderr)
            self.log.system("Could not create this job's cgroup; limits are enforced with rlimits only.")
            return
        self.cgroup = cgroup


def _child_setup(cgroup: JobCgroup | None, rlimits: dict[int, tuple[int, int]], parent: int) -> Callable[[], None]:
    """What runs in the forked child before it execs bwrap (as root, still in the supervisor's image)."""
    libc = ctypes.CDLL(None, use_errno=True)
    keyctl_nr = _SYS_KEYCTL.get(platform.machine())

    def setup() -> None:
        if cgroup is not None:
            cgroup.add_self()
        apply_rlimits(rlimits)
        if keyctl_nr is not None:  # a fresh, empty session keyring for the whole sandbox
            libc.syscall(keyctl_nr, _KEYCTL_JOIN_SESSION_KEYRING, None)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the supervisor died before prctl took effect
            os._exit(1)
        os.umask(0o022)

    return setup


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name, 0)  # inheritable on purpose: bwrap reads it
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _read_available(fd: int) -> bytes | None:
    """Up to 64 KiB from a non-blocking fd: b"" at end of file, None when nothing is there yet."""
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return None


def _kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _daemonize(run_dir: Path) -> None:
    """Fork into the background: the parent prints the supervisor's pid and exits at once."""
    pid = os.fork()
    if pid:
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()
        os._exit(0)
    os.setsid()
    log_fd = os.open(run_dir / SUPERVISOR_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    os.close(null_fd)


def main(argv: list[str] | None = None) -> int:
    """Command line entry: supervise the run in RUN_DIR."""
    parser = argparse.ArgumentParser(description="Supervise one sandboxed arenahub run.")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--daemonize", action="store_true", help="fork into the background, print the pid")
    args = parser.parse_args(argv)
    os.chdir("/")
    if args.daemonize:
        _daemonize(args.run_dir)
    return Supervisor(args.run_dir).run()


if __name__ == "__main__":
    sys.exit(main())
